// The status line's exact bytes on a fake terminal with a fake clock.
#include "util/status_line.hpp"

#include <gtest/gtest.h>
#include <pty.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <functional>

#include <sstream>
#include <vector>

#include "util/log.hpp"

namespace coco {
namespace {

using namespace std::chrono_literals;

struct Fake {
  std::string out;
  std::chrono::steady_clock::time_point now{};

  StatusLine line(Terminal t) {
    return StatusLine(
        t, [this](std::string_view s) { out += s; }, [this] { return now; });
  }
};

Terminal tty(int width) { return Terminal{true, width, false, false}; }

// Every line of `out`, split at \n; a live line's redraws split at \r.
std::vector<std::string> screenLines(const std::string& out) {
  std::vector<std::string> lines;
  std::string cur;
  for (char c : out) {
    if (c == '\n' || c == '\r') {
      lines.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  lines.push_back(cur);
  return lines;
}

// Terminal columns of a line drawn by the status line (\033[K takes none).
size_t columnsOf(std::string line) {
  for (size_t at; (at = line.find("\033[K")) != std::string::npos;) line.erase(at, 3);
  size_t n = 0;
  for (unsigned char c : line) n += (c & 0xc0) != 0x80;
  return n;
}

TEST(StatusLine, LiveLineIsRedrawnInPlaceWithStepAndElapsedTime) {
  Fake f;
  auto s = f.line(tty(80));
  s.begin("installing eslint (npm:eslint)", 1, 2);
  EXPECT_EQ(f.out, "\r\033[Kcoco: [1/2] 0:00 installing eslint (npm:eslint)");
  f.out.clear();
  f.now += 42s;
  s.status("mise npm:eslint@9.1.0 install");
  EXPECT_EQ(f.out, "\r\033[Kcoco: [1/2] 0:42 installing eslint (npm:eslint): mise npm:eslint@9.1.0 install");
  f.out.clear();
  f.now += 30s;
  s.status("mise npm:eslint@9.1.0 install");  // unchanged: only the time moves
  EXPECT_EQ(f.out, "\r\033[Kcoco: [1/2] 1:12 installing eslint (npm:eslint): mise npm:eslint@9.1.0 install");
  f.out.clear();
  s.done("installed eslint 9.1.0");  // the final line stays
  EXPECT_EQ(f.out, "\r\033[Kcoco: [1/2] installed eslint 9.1.0 (1:12)\n");
  f.out.clear();
  s.begin("starting eslint once", 2, 2);
  f.now += 3s;
  s.done();
  EXPECT_EQ(f.out,
            "\r\033[Kcoco: [2/2] 0:00 starting eslint once\r\033[Kcoco: [2/2] starting eslint once (0:03)\n");
}

TEST(StatusLine, ANewStepEndsTheOpenOne) {
  Fake f;
  auto s = f.line(tty(80));
  s.begin("getting Debian", 1, 2);
  f.now += 65s;
  f.out.clear();
  s.begin("running setup", 2, 2);
  EXPECT_EQ(f.out, "\r\033[Kcoco: [1/2] getting Debian (1:05)\n\r\033[Kcoco: [2/2] 0:00 running setup");
}

TEST(StatusLine, LinesThatStayAreDrawnAboveTheLiveLine) {
  Fake f;
  auto s = f.line(tty(80));
  s.begin("getting Debian", 1, 2);
  f.now += 2s;
  f.out.clear();
  s.line("coco: pulling docker.io/library/debian:trixie-slim");
  EXPECT_EQ(
      f.out,
      "\r\033[Kcoco: pulling docker.io/library/debian:trixie-slim\n\r\033[Kcoco: [1/2] 0:02 getting Debian");
  // Without an open step nothing is drawn below it.
  Fake g;
  auto t = g.line(tty(80));
  t.line("coco: hello");
  EXPECT_EQ(g.out, "\r\033[Kcoco: hello\n");
}

TEST(StatusLine, BytesUseTheProjectsSizeFormat) {
  Fake f;
  auto s = f.line(tty(100));
  s.begin("getting Debian", 1, 2);
  f.out.clear();
  s.bytes("3f2a1b", 3u << 20, 40u << 20);
  EXPECT_EQ(f.out, "\r\033[Kcoco: [1/2] 0:00 getting Debian: 3f2a1b 3 MiB / 40 MiB");
  f.out.clear();
  s.bytes("3f2a1b", 1536, 0);  // unknown total
  EXPECT_EQ(f.out, "\r\033[Kcoco: [1/2] 0:00 getting Debian: 3f2a1b 1.5 KiB");
  // Outside a step: the bytes alone.
  Fake g;
  auto t = g.line(tty(100));
  t.bytes("ab12", 512, 2048);
  EXPECT_EQ(g.out, "\r\033[Kcoco: ab12 512 B / 2 KiB");
}

TEST(StatusLine, NoDrawnLineIsWiderThanTheTerminal) {
  for (int width : {10, 20, 40, 79, 80, 132}) {
    Fake f;
    auto s = f.line(tty(width));
    s.begin("building the base image on docker.io/library/debian:trixie-slim (node, npm, python3, git, mise)",
            2, 2);
    f.now += 3725s;
    s.status("Setting up libc6:amd64 (2.41-12) ... and a very long tail that goes on and on and on");
    s.bytes("3f2a1b", 123456789, 987654321);
    s.done();
    for (const auto& l : screenLines(f.out)) EXPECT_LT(columnsOf(l), static_cast<size_t>(width)) << l;
    // The elapsed time came before the title, so a narrow line still shows it.
    if (width >= 20) {
      EXPECT_NE(f.out.find("coco: [2/2] 1:02:05"), std::string::npos) << width;
      EXPECT_NE(f.out.find(" (1:02:05)\n"), std::string::npos) << width;
    }
  }
}

// A real terminal (a pty) made narrower while the line is up: the next draw
// fits the new width, and widening it again gives the room back.
TEST(StatusLine, FollowsATerminalResize) {
  int master = -1, slave = -1;
  struct winsize ws {};
  ws.ws_col = 60;
  ws.ws_row = 24;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, &ws), 0) << strerror(errno);
  Fake f;
  Terminal t = tty(60);
  t.fd = slave;
  auto s = f.line(t);
  s.begin(std::string(200, 'x'), 1, 1);
  EXPECT_EQ(columnsOf(screenLines(f.out).back()), 59u);
  ws.ws_col = 25;
  ASSERT_EQ(::ioctl(master, TIOCSWINSZ, &ws), 0);
  s.status("now narrower");
  EXPECT_EQ(columnsOf(screenLines(f.out).back()), 24u);
  ws.ws_col = 100;
  ASSERT_EQ(::ioctl(master, TIOCSWINSZ, &ws), 0);
  s.status("wider again");
  EXPECT_EQ(columnsOf(screenLines(f.out).back()), 99u);
  ::close(slave);
  ::close(master);
}

TEST(StatusLine, UnknownWidthIsEighty) {
  Fake f;
  auto s = f.line(tty(0));
  s.begin(std::string(200, 'x'), 1, 1);
  EXPECT_EQ(columnsOf(screenLines(f.out).back()), 79u);
}

TEST(StatusLine, PlainLinesWithoutATerminal) {
  Fake f;
  auto s = f.line(Terminal{false, 0, false, false});
  s.begin("installing eslint (npm:eslint)", 1, 2);
  f.now += 4s;
  s.status("resolving");        // under 10 s after the last line: not shown
  s.bytes("ab12", 1024, 4096);  // neither
  f.now += 7s;
  s.status("mise install");  // 11 s: shown
  f.now += 5s;
  s.status("mise still installing");  // 5 s later: not shown
  f.now += 10s;
  s.status("mise still installing");  // shown: 10 s passed and it is new to the log
  f.now += 20s;
  s.status("mise still installing");  // already in the log
  s.line("  ab12 downloaded (4 KiB)");
  f.now += 1s;
  s.done("installed eslint 9.1.0");
  EXPECT_EQ(f.out,
            "[0:00] coco: [1/2] installing eslint (npm:eslint)\n"
            "[0:11] coco: [1/2] mise install\n"
            "[0:26] coco: [1/2] mise still installing\n"
            "[0:46]   ab12 downloaded (4 KiB)\n"
            "[0:47] coco: [1/2] installed eslint 9.1.0 (0:47)\n");
}

TEST(StatusLine, CiAndDumbTerminalsGetPlainLinesWithoutCarriageReturns) {
  for (Terminal t : {Terminal{true, 80, true, false}, Terminal{true, 80, false, true}}) {
    Fake f;
    auto s = f.line(t);
    s.begin("getting Debian", 1, 2);
    f.now += 12s;
    s.status("I: downloading packages with apt...");
    s.bytes("ab", 1, 2);
    s.line("coco: pulling x");
    s.done();
    s.clear();
    EXPECT_EQ(f.out.find('\r'), std::string::npos) << f.out;
    EXPECT_EQ(f.out.find('\033'), std::string::npos) << f.out;
    EXPECT_EQ(f.out,
              "[0:00] coco: [1/2] getting Debian\n"
              "[0:12] coco: [1/2] I: downloading packages with apt...\n"
              "[0:12] coco: pulling x\n"
              "[0:12] coco: [1/2] getting Debian (0:12)\n");
  }
}

TEST(StatusLine, ClearRemovesTheLiveLineOnce) {
  Fake f;
  auto s = f.line(tty(80));
  s.clear();
  EXPECT_EQ(f.out, "");
  s.begin("x", 1, 1);
  f.out.clear();
  s.clear();
  s.clear();
  EXPECT_EQ(f.out, "\r\033[K");
}

TEST(ClipToColumns, CutsUtf8BetweenCharacters) {
  EXPECT_EQ(clipToColumns("héllo wörld", 5), "héllo");
  EXPECT_EQ(clipToColumns("héllo", 2), "hé");
  EXPECT_EQ(clipToColumns("日本語のテキスト", 5), "日本");  // two columns each
  EXPECT_EQ(clipToColumns("日本語", 6), "日本語");
  EXPECT_EQ(clipToColumns("a€b", 2), "a€");         // three bytes, one column
  EXPECT_EQ(clipToColumns("🦀🦀", 3), "🦀");  // four bytes, two columns
  EXPECT_EQ(clipToColumns("abc", 0), "");
  EXPECT_EQ(clipToColumns("abc", std::string::npos), "abc");
  // Every cut of a mixed string is valid UTF-8 that is a prefix of it.
  std::string mixed = "aé€🦀日b";
  for (size_t n = 0; n < 12; ++n) {
    std::string cut = clipToColumns(mixed, n);
    EXPECT_EQ(mixed.compare(0, cut.size(), cut), 0) << n;
    EXPECT_TRUE(cut.empty() || (static_cast<unsigned char>(mixed[cut.size()]) & 0xc0) != 0x80 ||
                cut.size() == mixed.size())
        << n;
  }
}

TEST(ClipToColumns, ControlsAndBrokenUtf8CannotReachTheTerminal) {
  // An install's log is the sandbox's text: no escape of it reaches the terminal.
  EXPECT_EQ(clipToColumns("\033[31mred\033[0m ok", 80), "red ok");
  EXPECT_EQ(clipToColumns("a\033]0;title\007b", 80), "a?]0;title?b");
  EXPECT_EQ(clipToColumns("a\rb\nc\td\x7f", 80), "a?b?c d?");
  EXPECT_EQ(clipToColumns("\xc2\x9b"
                          "2J",
                          80),
            "?2J");  // C1 CSI
  EXPECT_EQ(clipToColumns("\xff\xc3(\xe2\x82", 80),
            "?"
            "?(?"
            "?");                                       // invalid and truncated sequences
  EXPECT_EQ(clipToColumns("\xed\xa0\x80", 80), "???");  // a surrogate
  EXPECT_EQ(clipToColumns("\xc0\xaf", 80), "??");       // overlong '/'
  EXPECT_EQ(clipToColumns("\033[", 80), "");
}

// What log lines write to file descriptor 2 after `before` ran.
std::string logged(const std::function<void()>& before) {
  char path[] = "/tmp/coco-status-log-XXXXXX";
  int file = ::mkstemp(path);
  int saved = ::dup(STDERR_FILENO);
  ::dup2(file, STDERR_FILENO);
  before();
  log::warn("disk {}", "full");
  log::notice("a notice");
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string text(4096, '\0');
  ssize_t n = ::pread(file, text.data(), text.size(), 0);
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  ::close(file);
  ::unlink(path);
  return text;
}

// A log line while the live line is drawn takes its place instead of being appended to it.
TEST(StatusLine, LogLinesClearTheLiveLineFirst) {
  EXPECT_EQ(logged([] {}), "coco: warning: disk full\ncoco: a notice\n");
  EXPECT_EQ(logged([] { log::setLiveLine(true); }), "\r\033[Kcoco: warning: disk full\ncoco: a notice\n");
  // --quiet drops notices, not warnings.
  EXPECT_EQ(logged([] { log::setQuiet(true); }), "coco: warning: disk full\n");
  log::setQuiet(false);
}

TEST(FormatElapsed, MinutesAndHours) {
  EXPECT_EQ(formatElapsed(0s), "0:00");
  EXPECT_EQ(formatElapsed(7s), "0:07");
  EXPECT_EQ(formatElapsed(72s), "1:12");
  EXPECT_EQ(formatElapsed(3723s), "1:02:03");
  EXPECT_EQ(formatElapsed(-5s), "0:00");
  EXPECT_EQ(formatElapsed(1999ms), "0:01");
}

}  // namespace
}  // namespace coco
