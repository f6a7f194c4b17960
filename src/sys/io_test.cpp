#include "sys/io.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "util/unique_fd.hpp"

namespace coco::sys {
namespace {

TEST(Io, WritesAndReadsMoreThanAPipeHolds) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  std::string big(1 << 20, 'x');
  big[12345] = 'y';
  std::thread writer([&] { EXPECT_EQ(writeAll(w.get(), big.data(), big.size()), 0); });
  std::string got(big.size(), '\0');
  EXPECT_EQ(readExact(r.get(), got.data(), got.size()), 0);
  writer.join();
  EXPECT_EQ(got, big);
}

TEST(Io, ReadExactReportsAnEarlyEnd) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  ASSERT_EQ(writeAll(w.get(), "abc", 3), 0);
  w.reset();
  char buf[4];
  EXPECT_EQ(readExact(r.get(), buf, sizeof buf), -ENODATA);
  EXPECT_EQ(readExact(-1, buf, 1), -EBADF);
}

TEST(Io, SendAllToAClosedPeerIsEpipeNotSigpipe) {
  int s[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
  UniqueFd a(s[0]), b(s[1]);
  b.reset();
  EXPECT_EQ(sendAll(a.get(), "x", 1), -EPIPE);  // the test would die of SIGPIPE otherwise
}

TEST(Io, WriteAllReportsErrors) { EXPECT_EQ(writeAll(-1, "x", 1), -EBADF); }

}  // namespace
}  // namespace coco::sys
