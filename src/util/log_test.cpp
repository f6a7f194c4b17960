// The logger's one line per write, and its bounded wait on a stderr coco made non-blocking.
#include "util/log.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace coco::log {
namespace {

// In a child, whose stderr it may change: stderr a full non-blocking pipe, as after coco gave up
// on a stalled terminal. A line waits for room (the reader drains the pipe 0.5 s later) and
// arrives whole; once the pipe stays full, a line is dropped after at most the budget (5 s in
// all), not waited for without end.
TEST(Log, ANonBlockingStderrGetsABoundedWaitForRoom) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(p[0]);
    ::dup2(p[1], STDERR_FILENO);
    ::fcntl(STDERR_FILENO, F_SETFL, ::fcntl(STDERR_FILENO, F_GETFL) | O_NONBLOCK);
    std::string fill(4096, 'x');
    while (::write(STDERR_FILENO, fill.data(), fill.size()) > 0) {
    }
    notice("after-the-wait");  // the parent starts reading 0.5 s from now
    ::sleep(1);                // the parent stops reading: the pipe fills again
    while (::write(STDERR_FILENO, fill.data(), fill.size()) > 0) {
    }
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 5; ++i) notice("dropped");
    auto spent = std::chrono::steady_clock::now() - start;
    ::_exit(spent < std::chrono::seconds(8) ? 0 : 3);
  }
  ::close(p[1]);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::string got;
  char buf[65536];
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
  ::fcntl(p[0], F_SETFL, O_NONBLOCK);
  while (std::chrono::steady_clock::now() < until) {
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    else std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);  // not reading: the child's last lines are dropped
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "3: the dropped lines took longer than the budget";
  EXPECT_NE(got.find("coco: after-the-wait\n"), std::string::npos);
  ::close(p[0]);
}

}  // namespace
}  // namespace coco::log
