// The user's terminal: a tool gets a pipe or the sandbox's own pty, never the terminal itself.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <termios.h>

#include "harness.hpp"

namespace cocotest {
namespace {

std::string describe(const TerminalRun& r) {
  return "exit " + std::to_string(r.exitCode) + (r.timedOut ? " (timed out)" : "") + "\n--- terminal ---\n" +
         r.terminal + "\n--- stdout ---\n" + r.out + "--- stderr ---\n" + r.err;
}

bool sameSettings(const termios& a, const termios& b) {
  return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_lflag == b.c_lflag && a.c_cflag == b.c_cflag;
}

class TtyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    COCO_REQUIRE_SANDBOX();
    env_.writeTool("probe", probeTool());
    env_.writeTool("unconfined", probeTool(R"("seccomp": "unconfined")"));
    env_.writeTool("shell", R"({"command": "sh", "network": "none"})");
  }
  Env env_;
};

// `eslint . | less`: stdin and stderr are the terminal, stdout a pipe.
TEST_F(TtyTest, PipedOutputKeepsTheTerminalOutOfReach) {
  TerminalRun r = env_.runOnTerminal({"run", "probe", "tty-attack"}, {0, 2});
  ASSERT_FALSE(r.timedOut) << describe(r);
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "changed: 0")) << describe(r);
  EXPECT_TRUE(sameSettings(r.before, r.after)) << "the tool changed the user's terminal\n" << describe(r);
}

TEST_F(TtyTest, SttyInAPipelineDoesNotStick) {
  TerminalRun r = env_.runOnTerminal({"run", "shell", "-c", "stty raw -echo; stty raw -echo <&2; echo done"}, {0, 2});
  ASSERT_FALSE(r.timedOut) << describe(r);
  EXPECT_TRUE(contains(r.out, "done")) << describe(r);
  EXPECT_TRUE(sameSettings(r.before, r.after)) << "stty stuck after coco exited\n" << describe(r);
}

// `echo x | tool`: stdout and stderr are the terminal; what the tool writes still shows there.
TEST_F(TtyTest, OutputToTheTerminalIsRelayedNotHandedOver) {
  TerminalRun r = env_.runOnTerminal({"run", "probe", "tty-attack"}, {1, 2});
  ASSERT_FALSE(r.timedOut) << describe(r);
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.terminal, "changed: 0")) << describe(r);
  EXPECT_TRUE(sameSettings(r.before, r.after)) << "the tool changed the user's terminal\n" << describe(r);
}

// Without seccomp's TIOCSTI rule the terminal must still be out of reach.
TEST_F(TtyTest, NoTerminalIoctlsEvenWithoutSeccomp) {
  TerminalRun r = env_.runOnTerminal({"run", "unconfined", "tiocsti"}, {0, 2});
  ASSERT_FALSE(r.timedOut) << describe(r);
  EXPECT_TRUE(contains(r.out, "allowed: 0")) << describe(r);
  r = env_.runOnTerminal({"run", "unconfined", "tty-attack"}, {0, 2});
  EXPECT_TRUE(contains(r.out, "changed: 0")) << describe(r);
  EXPECT_TRUE(sameSettings(r.before, r.after)) << describe(r);
}

// Interactive use keeps its pty: the tool may change the sandbox's pty, and the
// user's terminal comes back as it was.
TEST_F(TtyTest, InteractiveToolGetsTheSandboxPty) {
  TerminalRun r = env_.runOnTerminal({"run", "probe", "fds"}, {0, 1, 2});
  ASSERT_FALSE(r.timedOut) << describe(r);
  EXPECT_TRUE(contains(r.terminal, "fd0: /dev/pts/0")) << describe(r);
  r = env_.runOnTerminal({"run", "probe", "tty-attack"}, {0, 1, 2});
  EXPECT_TRUE(sameSettings(r.before, r.after)) << describe(r);
}

// A stdin that is no terminal is passed through as it is: no relay, no copy.
TEST_F(TtyTest, PipesThatAreNoTerminalArePassedThrough) {
  TerminalRun r = env_.runOnTerminal({"run", "probe", "fds"}, {2}, "input");
  ASSERT_FALSE(r.timedOut) << describe(r);
  EXPECT_TRUE(contains(r.out, "fd0: pipe:[" + std::to_string(r.pipeInode[0]) + "]")) << describe(r);
  EXPECT_TRUE(contains(r.out, "fd1: pipe:[" + std::to_string(r.pipeInode[1]) + "]")) << describe(r);
  EXPECT_FALSE(contains(r.out, "fd2: /dev/pts")) << describe(r);
}

// The tool's stdin when it is the terminal and the tool's output is not: empty,
// so a pager reading the terminal (`tool | less`) keeps every keystroke.
TEST_F(TtyTest, TerminalStdinWithoutAPtyReadsNothing) {
  TerminalRun r = env_.runOnTerminal({"run", "shell", "-c", "read line; echo status:$?"}, {0, 2}, "", 20);
  ASSERT_FALSE(r.timedOut) << describe(r);
  EXPECT_TRUE(contains(r.out, "status:1")) << describe(r);
}

// coco started from a terminal, with every stdio a pipe: the tool must not share coco's
// session, whose controlling terminal that is (TIOCSTI, reading keystrokes from /dev/tty).
TEST_F(TtyTest, WithATerminalNearTheToolLeadsASessionOfItsOwn) {
  TerminalRun r = env_.runOnTerminal({"run", "probe", "session"}, {});
  ASSERT_FALSE(r.timedOut) << describe(r);
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "session-leader: 1\n")) << describe(r);
  EXPECT_TRUE(contains(r.out, "group-leader: 1\n")) << describe(r);
  EXPECT_TRUE(contains(r.out, "ctty: none")) << describe(r);
}

// Without a controlling terminal the tool still leads a process group of its own, so
// kill(0, ...) reaches the sandbox only, never coco's group; it has no terminal to open.
TEST_F(TtyTest, WithoutATerminalTheToolLeadsAProcessGroupOfItsOwn) {
  int tty = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
  bool testHasTerminal = tty >= 0;
  if (tty >= 0) close(tty);
  RunResult r = env_.run({"run", "probe", "session"});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "group-leader: 1\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "ctty: none")) << r.out;
  // setsid only where a terminal is near (it costs a scheduler autogroup, ~1.5 ms).
  EXPECT_TRUE(contains(r.out, testHasTerminal ? "session-leader: 1\n" : "session-leader: 0\n")) << r.out;

  // The attack: a signal to the tool's whole process group. Were that group coco's, it would
  // be this test's too (coco runs in it). Landlock's signal scope (ABI 6 and later) stops that
  // signal as well; the group of its own is what holds on kernels without it.
  RunResult k = env_.run({"run", "shell", "-c", "kill -TERM 0; echo survived"});
  EXPECT_EQ(k.exitCode, 128 + SIGTERM) << k.out << k.err;
  EXPECT_FALSE(contains(k.out, "survived")) << k.out;
}

}  // namespace
}  // namespace cocotest
