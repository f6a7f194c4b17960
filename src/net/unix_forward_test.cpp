// Tests for UnixForward: what a client of the socket reaches (the one
// destination, nothing else), the socket's mode and lifetime, bad input.
#include "net/unix_forward.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "util/temp_dir.hpp"

namespace coco::net {
namespace {

// A listener on 127.0.0.1 (port picked by the kernel) and its address.
std::pair<UniqueFd, sockaddr_in> listener() {
  UniqueFd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  EXPECT_EQ(::bind(l.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  EXPECT_EQ(::listen(l.get(), 16), 0);
  ::getsockname(l.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  return {std::move(l), sa};
}

UniqueFd connectUnix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.data(), path.size());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return {};
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

bool readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) == 1;
}

UniqueFd acceptWithin(int l, int ms) {
  if (!readable(l, ms)) return {};
  return UniqueFd(::accept4(l, nullptr, nullptr, SOCK_CLOEXEC));
}

std::string recvSome(int fd) {
  char buf[256];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

class UnixForwardTest : public ::testing::Test {
 protected:
  TempDir dir_{"coco-forward"};
  std::string path_ = dir_.path() + "/X7";
};

// Whatever a client sends, its connection goes to the one destination; a listener
// on another port (another display's) never sees a connection.
TEST_F(UnixForwardTest, EveryConnectionGoesToTheOneDestinationOnly) {
  auto [target, targetAddr] = listener();
  auto [other, otherAddr] = listener();
  auto f = UnixForward::start(path_, {targetAddr}, "x11");
  ASSERT_TRUE(f) << f.error().describe();
  for (int i = 0; i < 3; ++i) {
    UniqueFd c = connectUnix(path_);
    ASSERT_TRUE(c);
    // A client that asks for another port in its bytes is still relayed to this one.
    std::string ask = "CONNECT 127.0.0.1:" + std::to_string(ntohs(otherAddr.sin_port)) + "\r\n\r\n";
    ASSERT_EQ(::send(c.get(), ask.data(), ask.size(), MSG_NOSIGNAL), static_cast<ssize_t>(ask.size()));
    UniqueFd s = acceptWithin(target.get(), 5000);
    ASSERT_TRUE(s) << "connection " << i;
    ASSERT_TRUE(readable(s.get(), 5000));
    EXPECT_EQ(recvSome(s.get()), ask);
    ASSERT_EQ(::send(s.get(), "reply", 5, MSG_NOSIGNAL), 5);
    EXPECT_EQ(recvSome(c.get()), "reply");
  }
  EXPECT_FALSE(readable(other.get(), 200)) << "a connection reached the other port";
}

// A client that ends its side after its request still gets the whole answer (half-close both ways).
TEST_F(UnixForwardTest, HalfCloseCarriesTheAnswerBack) {
  auto [target, targetAddr] = listener();
  auto f = UnixForward::start(path_, {targetAddr}, "x11");
  ASSERT_TRUE(f) << f.error().describe();
  UniqueFd c = connectUnix(path_);
  ASSERT_TRUE(c);
  ASSERT_EQ(::send(c.get(), "hello", 5, MSG_NOSIGNAL), 5);
  ASSERT_EQ(::shutdown(c.get(), SHUT_WR), 0);
  UniqueFd s = acceptWithin(target.get(), 5000);
  ASSERT_TRUE(s);
  std::string got;
  for (std::string part; readable(s.get(), 5000) && !(part = recvSome(s.get())).empty();) got += part;
  EXPECT_EQ(got, "hello");
  ASSERT_EQ(::send(s.get(), "pong", 4, MSG_NOSIGNAL), 4);
  s.reset();
  std::string back;
  for (std::string part; readable(c.get(), 5000) && !(part = recvSome(c.get())).empty();) back += part;
  EXPECT_EQ(back, "pong");
}

// The socket is the user's alone, a stale file at its path is replaced, and it
// is gone (its connections reset) when the forward ends.
TEST_F(UnixForwardTest, SocketIsPrivateAndEndsWithTheForward) {
  auto [target, targetAddr] = listener();
  ASSERT_TRUE(fs::writeFileAtomic(path_, "stale", 0644));
  auto f = UnixForward::start(path_, {targetAddr}, "x11");
  ASSERT_TRUE(f) << f.error().describe();
  struct stat st;
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  UniqueFd c = connectUnix(path_);
  ASSERT_TRUE(c);
  UniqueFd s = acceptWithin(target.get(), 5000);
  ASSERT_TRUE(s);
  f->reset();
  EXPECT_NE(::lstat(path_.c_str(), &st), 0) << "the socket outlived the forward";
  ASSERT_TRUE(readable(c.get(), 5000));
  EXPECT_EQ(recvSome(c.get()), "") << "the client's connection stays open";
  ASSERT_TRUE(readable(s.get(), 5000));
  EXPECT_EQ(recvSome(s.get()), "") << "the destination's connection stays open";
  EXPECT_FALSE(connectUnix(path_));
}

// Nothing listening at the destination: the client's connection ends, the forward goes on.
TEST_F(UnixForwardTest, AClosedDestinationEndsTheClientOnly) {
  sockaddr_in closed;
  {
    auto [l, sa] = listener();
    closed = sa;
  }
  auto f = UnixForward::start(path_, {closed}, "x11");
  ASSERT_TRUE(f) << f.error().describe();
  for (int i = 0; i < 2; ++i) {
    UniqueFd c = connectUnix(path_);
    ASSERT_TRUE(c);
    ASSERT_TRUE(readable(c.get(), 5000));
    EXPECT_EQ(recvSome(c.get()), "");
  }
}

TEST_F(UnixForwardTest, RefusesBadInput) {
  auto [target, targetAddr] = listener();
  // A directory of coco's own must be one: not a symlink to another, not open to others.
  std::string real = dir_.path() + "/real", link = dir_.path() + "/link";
  ASSERT_TRUE(fs::makeDirs(real, 0700).ok());
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  EXPECT_FALSE(UnixForward::start(link + "/X7", {targetAddr}, "x11", true));
  struct stat st;
  EXPECT_NE(::lstat((real + "/X7").c_str(), &st), 0) << "a socket was made through the link";
  ASSERT_EQ(::chmod(real.c_str(), 0755), 0);
  EXPECT_FALSE(UnixForward::start(real + "/X7", {targetAddr}, "x11", true));
  ASSERT_EQ(::chmod(real.c_str(), 0700), 0);
  auto own = UnixForward::start(real + "/X7", {targetAddr}, "x11", true);
  ASSERT_TRUE(own) << own.error().describe();
  own->reset();
  EXPECT_NE(::lstat(real.c_str(), &st), 0) << "the empty directory outlived the forward";
  EXPECT_FALSE(UnixForward::start(path_, {}, "x11"));
  EXPECT_FALSE(UnixForward::start(dir_.path() + "/" + std::string(120, 'x'), {targetAddr}, "x11"));
  EXPECT_FALSE(UnixForward::start(dir_.path() + "/missing/X7", {targetAddr}, "x11"));
}

}  // namespace
}  // namespace coco::net
