#include "sys/fd_passing.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/unique_fd.hpp"

namespace coco::sys {
namespace {

struct Pair {
  Pair(int type = SOCK_SEQPACKET) {
    int s[2];
    EXPECT_EQ(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, s), 0);
    a.reset(s[0]);
    b.reset(s[1]);
  }
  UniqueFd a, b;
};

bool sameFile(int x, int y) {
  struct stat sx, sy;
  return ::fstat(x, &sx) == 0 && ::fstat(y, &sy) == 0 && sx.st_dev == sy.st_dev && sx.st_ino == sy.st_ino;
}

TEST(FdPassing, OneFdArrivesCloseOnExec) {
  Pair p(SOCK_STREAM);
  UniqueFd file(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_EQ(sendFd(p.a.get(), file.get()), 0);
  UniqueFd got(recvFd(p.b.get()));
  ASSERT_TRUE(got);
  EXPECT_TRUE(sameFile(got.get(), file.get()));
  EXPECT_TRUE(::fcntl(got.get(), F_GETFD) & FD_CLOEXEC);
}

TEST(FdPassing, MessageWithoutFdIsAnError) {
  Pair p;
  char byte = 'm';
  ASSERT_EQ(sendFds(p.a.get(), &byte, 1, nullptr, 0), 0);
  EXPECT_EQ(recvFd(p.b.get()), -EBADMSG);
  p.a.reset();
  EXPECT_EQ(recvFd(p.b.get()), -ECONNRESET);
}

TEST(FdPassing, SeveralFdsWithData) {
  Pair p;
  int pipes[2];
  ASSERT_EQ(::pipe2(pipes, O_CLOEXEC), 0);
  UniqueFd r(pipes[0]), w(pipes[1]);
  int fds[3] = {r.get(), w.get(), r.get()};
  uint32_t msg = 0x636f6e31;
  ASSERT_EQ(sendFds(p.a.get(), &msg, sizeof msg, fds, 3), 0);
  uint32_t got = 0;
  int in[3] = {-1, -1, -1};
  size_t n = 0;
  ASSERT_EQ(recvFds(p.b.get(), &got, sizeof got, in, 3, &n), static_cast<ssize_t>(sizeof got));
  ASSERT_EQ(n, 3u);
  UniqueFd a(in[0]), b(in[1]), c(in[2]);
  EXPECT_EQ(got, msg);
  EXPECT_TRUE(sameFile(a.get(), r.get()));
  EXPECT_TRUE(sameFile(b.get(), w.get()));
  EXPECT_TRUE(sameFile(c.get(), r.get()));
}

TEST(FdPassing, TooManyFdsAreTruncationNotALeak) {
  Pair p;
  UniqueFd file(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int fds[3] = {file.get(), file.get(), file.get()};
  char byte = 'm';
  ASSERT_EQ(sendFds(p.a.get(), &byte, 1, fds, 3), 0);
  int in[1] = {-1};
  size_t n = 0;
  EXPECT_EQ(recvFds(p.b.get(), &byte, 1, in, 1, &n), -EMSGSIZE);
  EXPECT_LE(n, 1u);  // what arrived is the caller's to close; the kernel closed the rest
  if (n) ::close(in[0]);
  EXPECT_EQ(sendFds(p.a.get(), &byte, 1, fds, kMaxPassedFds + 1), -EINVAL);
}

}  // namespace
}  // namespace coco::sys
