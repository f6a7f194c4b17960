#include "sys/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "util/temp_dir.hpp"

namespace coco::sys {
namespace {

TEST(Process, ExitCodeOfFollowsTheShell) {
  EXPECT_EQ(exitCodeOf(0), 0);
  EXPECT_EQ(exitCodeOf(3 << 8), 3);
  EXPECT_EQ(exitCodeOf(SIGKILL), 128 + SIGKILL);
  EXPECT_EQ(exitCodeOf(SIGTERM), 128 + SIGTERM);
  EXPECT_EQ(exitCodeOf(0x7f | (SIGSTOP << 8)), 125);  // stopped
}

RunResult mustRun(const SpawnOptions& o) {
  auto r = run(o);
  EXPECT_TRUE(r.ok()) << r.error().describe();
  return r.ok() ? *r : RunResult{-1, {}};
}

TEST(Process, CapturesOutputAndStatus) {
  SpawnOptions o{.argv = {"sh", "-c", "echo hello; exit 3"}, .out = Stdio::Capture};
  auto r = mustRun(o);
  EXPECT_EQ(r.exitCode, 3);
  EXPECT_EQ(r.output, "hello\n");
  o.argv = {"sh", "-c", "kill -TERM $$"};
  EXPECT_EQ(mustRun(o).exitCode, 128 + SIGTERM);
}

TEST(Process, CapturesStderrAloneOrWithStdoutInOnePipe) {
  SpawnOptions both{.argv = {"sh", "-c", "echo out; echo err >&2; echo out2"},
                    .out = Stdio::Capture,
                    .err = Stdio::Capture};
  EXPECT_EQ(mustRun(both).output, "out\nerr\nout2\n");
  SpawnOptions errOnly{
      .argv = {"sh", "-c", "echo out; echo err >&2"}, .out = Stdio::Null, .err = Stdio::Capture};
  EXPECT_EQ(mustRun(errOnly).output, "err\n");
}

TEST(Process, CapsTheOutput) {
  SpawnOptions o{.argv = {"sh", "-c", "head -c 100000 /dev/zero"}, .out = Stdio::Capture, .captureLimit = 1000};
  auto r = run(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), EFBIG);
}

TEST(Process, RunsInTheDirectoryAndEnvironmentAsked) {
  TempDir dir;
  SpawnOptions o{.argv = {"/bin/sh", "-c", "pwd; echo \"$ONLY\"; echo \"${HOME-unset}\""},
                 .searchPath = false,
                 .env = std::vector<std::string>{"ONLY=x"},
                 .cwd = dir.path(),
                 .out = Stdio::Capture};
  EXPECT_EQ(mustRun(o).output, dir.path() + "\nx\nunset\n");
}

TEST(Process, WithoutSearchPathANameIsNotLookedUp) {
  SpawnOptions o{.argv = {"sh", "-c", "true"}, .searchPath = false};
  auto r = run(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ENOENT);
  o.searchPath = true;
  o.argv = {"coco-no-such-program-anywhere"};
  r = run(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ENOENT);
}

TEST(Process, StdioToDevNull) {
  SpawnOptions o{.argv = {"sh", "-c", "echo out; echo err >&2; readlink /proc/self/fd/2; cat"},
                 .in = Stdio::Null, .out = Stdio::Capture, .err = Stdio::Null};
  EXPECT_EQ(mustRun(o).output, "out\n/dev/null\n");  // cat reads /dev/null: no hang
}

TEST(Process, SignalsStartAtTheirDefaults) {
  struct sigaction ignore = {}, old = {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGUSR1, &ignore, &old);
  sigset_t block, oldMask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  ::sigprocmask(SIG_BLOCK, &block, &oldMask);
  SpawnOptions o{.argv = {"sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status"}, .out = Stdio::Capture};
  auto r = mustRun(o);
  ::sigprocmask(SIG_SETMASK, &oldMask, nullptr);
  ::sigaction(SIGUSR1, &old, nullptr);
  // SigIgn/SigBlk of grep itself: SIGUSR1 not ignored, SIGUSR2 not blocked.
  auto mask = [&](const char* key) {
    auto at = r.output.find(key);
    return at == std::string::npos ? ~0ull : std::stoull(r.output.substr(at + std::strlen(key)), nullptr, 16);
  };
  EXPECT_EQ(mask("SigIgn:\t") & (1ull << (SIGUSR1 - 1)), 0u) << r.output;
  EXPECT_EQ(mask("SigBlk:\t"), 0u) << r.output;
}

TEST(Process, IgnoredSignalsSaysWhatIsIgnoredButNeverSigchld) {
  struct sigaction ignore = {}, oldHup = {}, oldChld = {}, oldRt = {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGHUP, &ignore, &oldHup);
  ::sigaction(SIGCHLD, &ignore, &oldChld);
  ::sigaction(SIGRTMIN + 1, &ignore, &oldRt);
  uint64_t mask = ignoredSignalsNow();
  ::sigaction(SIGHUP, &oldHup, nullptr);
  ::sigaction(SIGCHLD, &oldChld, nullptr);
  ::sigaction(SIGRTMIN + 1, &oldRt, nullptr);
  EXPECT_TRUE(isIgnored(mask, SIGHUP));
  EXPECT_TRUE(isIgnored(mask, SIGRTMIN + 1));
  EXPECT_FALSE(isIgnored(mask, SIGCHLD));
  EXPECT_FALSE(isIgnored(mask, SIGTERM));
  EXPECT_FALSE(isIgnored(ignoredSignalsNow(), SIGHUP));
  EXPECT_FALSE(isIgnored(~uint64_t{0}, 0));
  EXPECT_FALSE(isIgnored(~uint64_t{0}, 65));
}

TEST(Process, OnlyStdioClosesTheRest) {
  int fd = ::open("/dev/null", O_RDONLY);  // deliberately inheritable
  ASSERT_GE(fd, 3);
  std::string probe = "test -e /proc/self/fd/" + std::to_string(fd) + " && echo open || echo closed";
  SpawnOptions o{.argv = {"sh", "-c", probe}, .out = Stdio::Capture};
  EXPECT_EQ(mustRun(o).output, "open\n");
  o.onlyStdio = true;
  EXPECT_EQ(mustRun(o).output, "closed\n");
  ::close(fd);
}

TEST(Process, SpawnAndWaitSeparately) {
  auto pid = spawn(SpawnOptions{.argv = {"sh", "-c", "exit 7"}});
  ASSERT_TRUE(pid.ok());
  EXPECT_EQ(waitExitCode(*pid), 7);
  EXPECT_EQ(waitExitCode(*pid), -ECHILD);
}

TEST(Process, EmptyArgvIsAnError) { EXPECT_FALSE(run(SpawnOptions{}).ok()); }

}  // namespace
}  // namespace coco::sys
