// Tests for the relay over real loopback TCP connections: both directions,
// half-close, bulk data and resets.
#include "net/relay.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <numeric>
#include <string>

#include "util/unique_fd.hpp"

namespace coco::net {
namespace {

// A connected TCP pair on 127.0.0.1.
std::pair<UniqueFd, UniqueFd> tcpPair() {
  UniqueFd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  EXPECT_EQ(::bind(l.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  EXPECT_EQ(::listen(l.get(), 1), 0);
  ::getsockname(l.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  UniqueFd s(::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
  return {std::move(c), std::move(s)};
}

std::string readAll(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

void writeAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    off += static_cast<size_t>(n);
  }
}

struct Relayed {
  UniqueFd left, right;  // the two outer ends
  UniqueFd innerA, innerB;
  std::future<RelayStats> done;
};

Relayed startRelay() {
  Relayed r;
  auto [x1, y1] = tcpPair();
  auto [x2, y2] = tcpPair();
  r.left = std::move(x1);
  r.right = std::move(y2);
  r.innerA = std::move(y1);
  r.innerB = std::move(x2);
  int a = r.innerA.get(), b = r.innerB.get();
  r.done = std::async(std::launch::async, [a, b] { return relay(a, b); });
  return r;
}

TEST(Relay, HalfCloseLetsTheOtherSideAnswer) {
  Relayed r = startRelay();
  writeAll(r.left.get(), "request");
  ::shutdown(r.left.get(), SHUT_WR);
  EXPECT_EQ(readAll(r.right.get()), "request");  // EOF arrived after the data
  writeAll(r.right.get(), "response after EOF");
  ::shutdown(r.right.get(), SHUT_WR);
  EXPECT_EQ(readAll(r.left.get()), "response after EOF");
  RelayStats st = r.done.get();
  EXPECT_EQ(st.aToB, 7u);
  EXPECT_EQ(st.bToA, 18u);
  EXPECT_FALSE(st.failed);
}

TEST(Relay, BulkBothWays) {
  Relayed r = startRelay();
  std::string big(8 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + (i >> 11));
  auto sender = std::async(std::launch::async, [&] {
    writeAll(r.left.get(), big);
    ::shutdown(r.left.get(), SHUT_WR);
  });
  auto back = std::async(std::launch::async, [&] {
    writeAll(r.right.get(), big);
    ::shutdown(r.right.get(), SHUT_WR);
  });
  std::string atRight = readAll(r.right.get());
  std::string atLeft = readAll(r.left.get());
  sender.get();
  back.get();
  EXPECT_TRUE(atRight == big);
  EXPECT_TRUE(atLeft == big);
  RelayStats st = r.done.get();
  EXPECT_EQ(st.aToB, big.size());
  EXPECT_EQ(st.bToA, big.size());
}

TEST(Relay, ResetEndsBothDirections) {
  Relayed r = startRelay();
  writeAll(r.left.get(), "x");
  linger l{1, 0};
  ::setsockopt(r.left.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  r.left.reset();
  readAll(r.right.get());  // returns: EOF or reset, not a hang
  RelayStats st = r.done.get();
  EXPECT_TRUE(st.failed);
}

TEST(Relay, ShutdownFromOutsideStopsIt) {
  Relayed r = startRelay();
  ::shutdown(r.innerA.get(), SHUT_RDWR);
  ::shutdown(r.innerB.get(), SHUT_RDWR);
  r.done.get();
  SUCCEED();
}

TEST(Relay, WorksOverUnixSockets) {
  int p1[2], p2[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p1), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p2), 0);
  UniqueFd left(p1[0]), a(p1[1]), b(p2[0]), right(p2[1]);
  auto done = std::async(std::launch::async, [&] { return relay(a.get(), b.get()); });
  writeAll(left.get(), "hello");
  ::shutdown(left.get(), SHUT_WR);
  EXPECT_EQ(readAll(right.get()), "hello");
  ::shutdown(right.get(), SHUT_WR);
  EXPECT_EQ(readAll(left.get()), "");
  EXPECT_EQ(done.get().aToB, 5u);
}

}  // namespace
}  // namespace coco::net
