#include "sys/loopback.hpp"

#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace coco::sys {
namespace {

bool loIsUp() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, "lo", 3);
  bool up = ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
  ::close(fd);
  return up;
}

// In a fresh user+net namespace (as the sandbox has) lo starts down.
TEST(Loopback, BringsLoUpInAFreshNetns) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) ::_exit(77);
    if (loIsUp()) ::_exit(2);
    int index = bringLoopbackUp();
    if (index <= 0) ::_exit(3);
    if (!loIsUp()) ::_exit(4);
    ::_exit(bringLoopbackUp() == index ? 0 : 5);  // already up: fine, same interface
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "unprivileged user namespaces are off here";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace coco::sys
