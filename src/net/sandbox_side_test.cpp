// Tests for the sandbox half's failure reporting: a failed step is named to the caller.
#include "net/sandbox_side.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace coco::net {
namespace {

// In a new user namespace without a network namespace of its own, the process
// holds no CAP_NET_ADMIN over the host's netns, so the first step (bringing up
// lo) fails with EPERM; the caller learns that step, as the engine's
// ChildReport then names it ("setting up the sandbox network: bringing up lo").
TEST(SandboxNetSetup, AFailedStepIsNamedToTheCaller) {
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipefd[0]);
    int result[2] = {-1, -1};
    if (::unshare(CLONE_NEWUSER) == 0) {
      uint32_t step = kStepNone;
      SandboxNetPlan plan;
      plan.mode = NetworkMode::Allowlist;
      result[0] = sandboxNetSetup(plan, -1, &step);
      result[1] = static_cast<int>(step);
    }
    (void)!::write(pipefd[1], result, sizeof result);
    ::_exit(0);
  }
  ::close(pipefd[1]);
  int result[2] = {-1, -1};
  ASSERT_EQ(::read(pipefd[0], result, sizeof result), static_cast<ssize_t>(sizeof result));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_NE(result[0], -1) << "unshare(CLONE_NEWUSER) failed: this kernel gives no user namespaces";
  EXPECT_EQ(result[0], EPERM) << std::strerror(result[0]);
  EXPECT_EQ(result[1], static_cast<int>(kStepLoopback));
  EXPECT_STREQ(setupStepName(static_cast<uint32_t>(result[1])), "bringing up lo");
}

}  // namespace
}  // namespace coco::net
