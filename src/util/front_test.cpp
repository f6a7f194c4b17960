// The front's hand-over refusals, in forked children (front::start marks the whole process).
#include "util/front.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

namespace coco {
namespace {

struct Ended {
  int code = -1;
  std::string err;
};

// Runs `body` in a forked child marked as the front (after `before`); its exit code and what it
// wrote to stderr.
Ended asFront(void (*body)(), void (*before)() = nullptr) {
  int p[2];
  if (::pipe(p) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(p[1], 2);
    static char arg0[] = "coco", arg1[] = "list";
    static char* argv[] = {arg0, arg1, nullptr};
    if (before) before();
    front::start(argv);
    body();
    ::_exit(0);
  }
  ::close(p[1]);
  Ended out;
  char buf[512];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) out.err.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  out.code = WIFEXITED(status) ? WEXITSTATUS(status) : 200;
  return out;
}

TEST(Front, OnlyAStartedProcessIsTheFront) {
  EXPECT_FALSE(front::active());
  front::needFull("nothing: this is no front");  // returns
  Ended e = asFront([] { ::_exit(front::active() ? 7 : 8); });
  EXPECT_EQ(e.code, 7);
}

// What the front hands to coco-full (and sys::ignoredSignalsAtStart to the tool) is what its
// parent left ignored when it started, SIGCHLD included, read before coco ignores anything itself.
TEST(Front, KeepsTheSignalsIgnoredAtItsStart) {
  Ended e = asFront(
      [] {
        struct sigaction ignore = {};
        ignore.sa_handler = SIG_IGN;
        ::sigaction(SIGTERM, &ignore, nullptr);  // after start: not the parent's
        uint64_t at = front::ignoredAtStart();
        auto bit = [at](int sig) { return (at >> (sig - 1)) & 1; };
        ::_exit(bit(SIGHUP) && bit(SIGCHLD) && bit(SIGRTMIN + 2) && !bit(SIGTERM) && !bit(SIGINT) ? 7 : 8);
      },
      [] {
        struct sigaction ignore = {}, dfl = {};
        ignore.sa_handler = SIG_IGN;
        dfl.sa_handler = SIG_DFL;
        for (int sig : {SIGHUP, SIGCHLD, SIGRTMIN + 2}) ::sigaction(sig, &ignore, nullptr);
        // Whatever the test runner left ignored (a shell's `&` ignores SIGINT).
        for (int sig : {SIGINT, SIGTERM}) ::sigaction(sig, &dfl, nullptr);
      });
  EXPECT_EQ(e.code, 7);
  EXPECT_EQ(front::ignoredAtStart(), 0u);  // this process is no front
}

// A test program has no coco-full beside it: the hand-over says so and ends the process.
TEST(Front, WithoutACocoFullTheHandOverSaysSo) {
  Ended e = asFront([] { front::handOff("pulling"); });
  EXPECT_EQ(e.code, 125);
  EXPECT_NE(e.err.find("pulling needs coco-full, which this coco cannot find"), std::string::npos) << e.err;
}

// Attack: once a run has started (its sandbox may be running) nothing hands over: a second
// start would run the tool again. The run ends with an error instead.
TEST(Front, AfterTheRunStartedNothingHandsOver) {
  Ended e = asFront([] {
    front::settle();
    front::needFull("libcurl.so.4");
  });
  EXPECT_EQ(e.code, 125);
  EXPECT_NE(e.err.find("libcurl.so.4 needs coco-full, and this run has started"), std::string::npos) << e.err;
}

}  // namespace
}  // namespace coco
