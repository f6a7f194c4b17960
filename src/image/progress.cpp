// Progress events drawn by the status line (util/status_line): one renderer for pulls, bootstraps and
// installs.
#include "image/progress.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <memory>
#include <mutex>

#include "sys/io.hpp"
#include "util/log.hpp"
#include "util/size.hpp"

namespace coco::image {

namespace {

// Events arrive from the install's heartbeat thread as well as the main thread.
struct Renderer {
  explicit Renderer(StatusLine l) : line(std::move(l)) {}
  std::mutex mutex;
  StatusLine line;

  void operator()(const ProgressEvent& e) {
    std::lock_guard<std::mutex> lock(mutex);
    switch (e.kind) {
      case ProgressEvent::Kind::Step:
        if (e.step > 0)
          line.begin(e.text, e.step, e.steps);
        else
          line.line("coco: " + e.text);
        break;
      case ProgressEvent::Kind::Bytes:
        line.bytes(e.text.empty() ? e.id : e.id + " " + e.text, e.done, e.total);
        break;
      case ProgressEvent::Kind::ItemDone:
        line.line(e.total ? fmt::format("  {} {} ({})", e.id, e.text, formatSize(e.total))
                          : fmt::format("  {} {}", e.id, e.text));
        break;
      case ProgressEvent::Kind::Status:
        line.status(e.text);
        break;
      case ProgressEvent::Kind::Done:
        line.done(e.text);
        break;
    }
  }
};

}  // namespace

ProgressFn statusLineProgress(const Terminal& terminal, StatusLine::Writer write, StatusLine::Clock clock) {
  auto r = std::make_shared<Renderer>(StatusLine(terminal, std::move(write), std::move(clock)));
  return [r](const ProgressEvent& e) { (*r)(e); };
}

ProgressFn stderrProgress() {
  if (log::quietEnabled()) return noProgress();
  Terminal terminal = Terminal::ofStderr();
  // With COCO_DEBUG an install writes to the terminal itself: a line redrawn in
  // place would mix into its output, plain lines do not.
  if (log::debugEnabled()) terminal.tty = false;
  return statusLineProgress(terminal, [](std::string_view s) {
    (void)sys::writeAll(STDERR_FILENO, s.data(), s.size());
    // A live line is drawn when the write leaves the cursor after text on its line.
    log::setLiveLine(!s.empty() && s.back() != '\n' && s != "\r\033[K");
  });
}

ProgressFn noProgress() {
  return [](const ProgressEvent&) {};
}

}  // namespace coco::image
