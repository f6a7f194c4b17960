// The status line: what it draws, where, and how wide.
#include "util/status_line.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

#include "util/size.hpp"
#include "util/terminal_text.hpp"

namespace coco {

namespace {

constexpr auto kPlainEvery = std::chrono::seconds(10);
constexpr const char* kClear = "\r\033[K";

// East Asian wide and emoji ranges take two columns (the common part of wcwidth's table).
bool isWide(int32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
         (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
         (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
         (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd);
}

// Past a CSI sequence (ESC [ parameters final) starting at i, as tools print for colour.
size_t skipCsi(std::string_view text, size_t i) {
  size_t j = i + 2;
  while (j < text.size() && (text[j] < 0x40 || text[j] > 0x7e)) ++j;
  return j < text.size() ? j + 1 : j;
}

}  // namespace

Terminal Terminal::ofStderr() {
  Terminal t;
  t.tty = ::isatty(STDERR_FILENO) == 1;
  struct winsize ws {};
  if (t.tty && ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0) t.width = ws.ws_col;
  if (t.tty) t.fd = STDERR_FILENO;
  const char* ci = std::getenv("CI");
  t.ci = ci && *ci && std::strcmp(ci, "0") != 0 && std::strcmp(ci, "false") != 0;
  const char* term = std::getenv("TERM");
  t.dumb = term && std::strcmp(term, "dumb") == 0;
  return t;
}

std::string formatElapsed(std::chrono::steady_clock::duration elapsed) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
  if (s < 0) s = 0;
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string clipToColumns(std::string_view text, size_t columns) {
  std::string out;
  size_t used = 0;
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\033' && i + 1 < text.size() && text[i + 1] == '[') {
      i = skipCsi(text, i);
      continue;
    }
    size_t length;
    int32_t cp = decodeUtf8(text, i, length);
    bool control = isControl(cp);
    size_t width = control ? 1 : isWide(cp) ? 2 : 1;
    if (used + width > columns) break;
    if (cp == '\t')
      out += ' ';
    else if (control)
      out += '?';
    else
      out.append(text.substr(i, length));
    used += width;
    i += length;
  }
  return out;
}

StatusLine::StatusLine(Terminal terminal, Writer write, Clock clock)
    : terminal_(terminal), write_(std::move(write)), clock_(std::move(clock)), start_(clock_()) {}

// A resized terminal (SIGWINCH goes to the foreground process, which may be a
// sandbox) is seen at the next draw: one ioctl per draw, and draws are rare.
size_t StatusLine::columns() const {
  struct winsize ws {};
  if (terminal_.fd >= 0 && ::ioctl(terminal_.fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return terminal_.width > 0 ? static_cast<size_t>(terminal_.width) : 80;
}

std::string StatusLine::stepPrefix() const {
  return steps_ > 0 ? fmt::format("coco: [{}/{}] ", step_, steps_) : std::string("coco: ");
}

std::string StatusLine::stamp() const { return "[" + formatElapsed(clock_() - start_) + "] "; }

// The live line: the step, its elapsed time, its title and what it does now.
// One column short of the width: a full line would leave the cursor waiting
// to wrap, and some terminals then move it down on the next character.
void StatusLine::drawLive() {
  std::string text = stepPrefix();
  if (open_)
    text += formatElapsed(clock_() - stepStart_) + " " + title_ + (detail_.empty() ? "" : ": " + detail_);
  else
    text += detail_;
  write_(kClear + clipToColumns(text, columns() - 1));
  drawn_ = true;
}

// A line that stays. On a terminal the line starts with \r: while a sandbox
// runs the terminal is raw, and a newline alone does not return the cursor.
void StatusLine::emitLine(const std::string& text, bool clip) {
  if (terminal_.live()) {
    write_(kClear + clipToColumns(text, clip ? columns() - 1 : std::string::npos) + "\n");
    drawn_ = false;
    if (open_) drawLive();
    return;
  }
  write_(stamp() + clipToColumns(text, std::string::npos) + "\n");
}

void StatusLine::begin(std::string title, unsigned step, unsigned steps) {
  done();
  title_ = std::move(title);
  step_ = step;
  steps_ = step > 0 ? steps : 0;
  stepStart_ = lastPlain_ = clock_();
  detail_.clear();
  lastPlainText_.clear();
  open_ = true;
  if (terminal_.live())
    drawLive();
  else
    write_(stamp() + clipToColumns(stepPrefix() + title_, std::string::npos) + "\n");
}

void StatusLine::status(std::string text) {
  detail_ = std::move(text);
  if (terminal_.live()) return drawLive();
  auto now = clock_();
  if (detail_.empty() || detail_ == lastPlainText_ || now - lastPlain_ < kPlainEvery) return;
  lastPlain_ = now;
  lastPlainText_ = detail_;
  write_(stamp() + clipToColumns(stepPrefix() + detail_, std::string::npos) + "\n");
}

void StatusLine::bytes(const std::string& id, uint64_t done, uint64_t total) {
  std::string text = id.empty() ? formatSize(done) : id + " " + formatSize(done);
  if (total > 0) text += " / " + formatSize(total);
  status(std::move(text));
}

void StatusLine::line(const std::string& text) { emitLine(text, false); }

void StatusLine::done(const std::string& text) {
  if (!open_) return;
  open_ = false;
  std::string head = stepPrefix() + (text.empty() ? title_ : text);
  std::string suffix = " (" + formatElapsed(clock_() - stepStart_) + ")";
  // A narrow terminal cuts the text, not the time it took.
  size_t room = columns() - 1;
  if (terminal_.live() && room > suffix.size()) head = clipToColumns(head, room - suffix.size());
  emitLine(head + suffix, true);
  step_ = steps_ = 0;
  detail_.clear();
}

void StatusLine::clear() {
  if (!drawn_) return;
  write_(kClear);
  drawn_ = false;
}

}  // namespace coco
