// Tests for the relay loop over real loopback TCP connections: both
// directions, half-close each way, a reader that stops, many connections at
// once and past the cap, resets each way, connect failures and fallbacks.
#include "net/relay.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "util/unique_fd.hpp"

namespace coco::net {
namespace {

sockaddr_in loopbackAny() {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

// A listener on 127.0.0.1 and its address.
std::pair<UniqueFd, sockaddr_in> listener(int backlog = 128) {
  UniqueFd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa = loopbackAny();
  socklen_t len = sizeof sa;
  EXPECT_EQ(::bind(l.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  EXPECT_EQ(::listen(l.get(), backlog), 0);
  ::getsockname(l.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  return {std::move(l), sa};
}

// A connected TCP pair on 127.0.0.1: {client end, server end}.
std::pair<UniqueFd, UniqueFd> tcpPair() {
  auto [l, sa] = listener(1);
  UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  UniqueFd s(::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
  return {std::move(c), std::move(s)};
}

void setTimeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Reads to EOF; `err` gets the errno that ended it (0 at a clean EOF).
std::string readAll(int fd, int* err = nullptr) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (err) *err = n < 0 ? errno : 0;
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

void writeAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << std::strerror(errno);
    off += static_cast<size_t>(n);
  }
}

void resetClose(UniqueFd& fd) {
  linger l{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd.reset();
}

std::string pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(i * 131 + (i >> 11));
  return s;
}

// Every connection's end, as the loop reported it.
std::mutex statsMu;
std::vector<RelayStats> ended;
void recordEnd(const std::string&, const RelayStats& st) {
  std::lock_guard lock(statsMu);
  ended.push_back(st);
}

// A RelayLoop running on its own thread, and a destination listener.
class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }
  void TearDown() override { finishLoop(); }

  void start(RelayLimits limits) {
    auto made = RelayLoop::create(limits);
    ASSERT_TRUE(made) << made.error().describe();
    loop_ = std::move(*made);
    loop_->onDone(recordEnd);
    {
      std::lock_guard lock(statsMu);
      ended.clear();
    }
    thread_ = std::thread([this] { loop_->run(); });
  }

  // Stops the loop and returns how many connections it still held.
  size_t finishLoop() {
    if (!loop_) return 0;
    loop_->stop();
    thread_.join();
    size_t left = loop_->size();
    loop_.reset();
    return left;
  }

  // A relayed connection: {the tool's end, the destination's end}.
  std::pair<UniqueFd, UniqueFd> relayed() {
    auto [tool, captured] = tcpPair();
    EXPECT_TRUE(loop_->submit(std::move(captured), {dest_.second}, "test"));
    UniqueFd far(::accept4(dest_.first.get(), nullptr, nullptr, SOCK_CLOEXEC));
    EXPECT_TRUE(far.valid());
    setTimeouts(tool.get(), 20);
    setTimeouts(far.get(), 20);
    return {std::move(tool), std::move(far)};
  }

  std::vector<RelayStats> endedNow() {
    std::lock_guard lock(statsMu);
    return ended;
  }

  std::pair<UniqueFd, sockaddr_in> dest_ = listener(512);
  std::unique_ptr<RelayLoop> loop_;
  std::thread thread_;
};

TEST_F(RelayTest, ToolHalfClosesFirstAndStillGetsTheAnswer) {
  auto [tool, far] = relayed();
  writeAll(tool.get(), "request");
  ::shutdown(tool.get(), SHUT_WR);
  EXPECT_EQ(readAll(far.get()), "request");  // EOF arrived after the data
  writeAll(far.get(), "response after EOF");
  ::shutdown(far.get(), SHUT_WR);
  int err = -1;
  EXPECT_EQ(readAll(tool.get(), &err), "response after EOF");
  EXPECT_EQ(err, 0);
  finishLoop();
  auto st = endedNow();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].aToB, 7u);
  EXPECT_EQ(st[0].bToA, 18u);
  EXPECT_FALSE(st[0].failed);
}

TEST_F(RelayTest, DestinationHalfClosesFirstAndStillGetsTheRequest) {
  auto [tool, far] = relayed();
  writeAll(far.get(), "banner");
  ::shutdown(far.get(), SHUT_WR);
  EXPECT_EQ(readAll(tool.get()), "banner");                  // the tool saw EOF ...
  writeAll(tool.get(), "sent after the destination's EOF");  // ... and may still send
  ::shutdown(tool.get(), SHUT_WR);
  EXPECT_EQ(readAll(far.get()), "sent after the destination's EOF");
  EXPECT_EQ(finishLoop(), 0u);  // both directions ended: the connection is gone
}

TEST_F(RelayTest, BulkBothWaysAtOnce) {
  auto [tool, far] = relayed();
  std::string big = pattern(16 << 20);
  auto up = std::async(std::launch::async, [&, fd = tool.get()] {
    writeAll(fd, big);
    ::shutdown(fd, SHUT_WR);
  });
  auto down = std::async(std::launch::async, [&, fd = far.get()] {
    writeAll(fd, big);
    ::shutdown(fd, SHUT_WR);
  });
  auto atFar = std::async(std::launch::async, [fd = far.get()] { return readAll(fd); });
  std::string atTool = readAll(tool.get());
  up.get();
  down.get();
  EXPECT_TRUE(atFar.get() == big);
  EXPECT_TRUE(atTool == big);
}

// What the kernel may buffer in the sockets on a path: each TCP socket's
// largest send and receive buffer.
size_t socketBufferCeiling() {
  auto maxOf = [](const char* path) {
    std::ifstream in(path);
    size_t lo = 0, def = 0, max = 0;
    in >> lo >> def >> max;
    return max;
  };
  return maxOf("/proc/sys/net/ipv4/tcp_rmem") + maxOf("/proc/sys/net/ipv4/tcp_wmem");
}

// Sends without blocking until the path stays full for `quietMs` (a stop
// condition, not a speed check); returns the bytes accepted.
size_t fillUntilStuck(int fd, size_t limit, int quietMs) {
  std::string chunk(1 << 16, 'z');
  size_t total = 0;
  while (total < limit) {
    ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      total += static_cast<size_t>(n);
      continue;
    }
    if (errno != EAGAIN) break;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, quietMs) != 1) break;
  }
  return total;
}

TEST_F(RelayTest, DestinationThatStopsReadingHoldsTheToolBackAndOthersGoOn) {
  finishLoop();
  RelayLimits limits;
  limits.pipeSize = 64 << 10;
  start(limits);
  auto [tool, far] = relayed();  // `far` never reads until the end
  size_t limit = 512u << 20;
  size_t sent = fillUntilStuck(tool.get(), limit, 1500);
  // Bounded by the sockets' buffers on both legs and one pipe, not by the
  // amount sent: a relay that buffers in user space takes all 512 MiB.
  size_t ceiling = 2 * socketBufferCeiling() + limits.pipeSize;
  EXPECT_LT(sent, limit);
  EXPECT_LE(sent, ceiling) << "sent " << sent;
  // The one loop still serves another connection meanwhile.
  auto [tool2, far2] = relayed();
  writeAll(tool2.get(), "other");
  ::shutdown(tool2.get(), SHUT_WR);
  EXPECT_EQ(readAll(far2.get()), "other");
  // Nothing was lost: the stalled bytes all arrive, in order, once read.
  ::shutdown(tool.get(), SHUT_WR);
  std::string got = readAll(far.get());
  EXPECT_EQ(got.size(), sent);
  EXPECT_EQ(got.find_first_not_of('z'), std::string::npos);
}

TEST_F(RelayTest, ManyConnectionsAtOnceAndTheOnePastTheCapIsReset) {
  finishLoop();
  RelayLimits limits;
  limits.maxConnections = 100;
  start(limits);
  std::vector<std::pair<UniqueFd, UniqueFd>> open;
  for (int i = 0; i < 100; ++i) open.push_back(relayed());
  for (size_t i = 0; i < open.size(); ++i) writeAll(open[i].first.get(), "to " + std::to_string(i) + ";");
  for (size_t i = 0; i < open.size(); ++i) writeAll(open[i].second.get(), "from " + std::to_string(i) + ";");
  for (size_t i = 0; i < open.size(); ++i) {
    char buf[64];
    std::string want = "to " + std::to_string(i) + ";";
    ssize_t n = ::recv(open[i].second.get(), buf, want.size(), MSG_WAITALL);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))), want);
    want = "from " + std::to_string(i) + ";";
    n = ::recv(open[i].first.get(), buf, want.size(), MSG_WAITALL);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))), want);
  }
  auto [extra, captured] = tcpPair();
  setTimeouts(extra.get(), 20);
  loop_->submit(std::move(captured), {dest_.second}, "one too many");
  int err = 0;
  EXPECT_EQ(readAll(extra.get(), &err), "");
  EXPECT_EQ(err, ECONNRESET);
  EXPECT_EQ(finishLoop(), 100u);
}

TEST_F(RelayTest, DestinationResetReachesTheToolAsAReset) {
  auto [tool, far] = relayed();
  writeAll(tool.get(), "x");
  char b;
  ASSERT_EQ(::recv(far.get(), &b, 1, 0), 1);
  resetClose(far);
  int err = 0;
  readAll(tool.get(), &err);
  EXPECT_EQ(err, ECONNRESET);  // a clean EOF would tell the tool the reply was complete
  finishLoop();
  auto st = endedNow();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_TRUE(st[0].failed);
}

TEST_F(RelayTest, ToolResetReachesTheDestinationAsAReset) {
  auto [tool, far] = relayed();
  writeAll(far.get(), "y");
  char b;
  ASSERT_EQ(::recv(tool.get(), &b, 1, 0), 1);
  resetClose(tool);
  int err = 0;
  readAll(far.get(), &err);
  EXPECT_EQ(err, ECONNRESET);
}

TEST_F(RelayTest, AClosedDestinationResetsTheToolAndTheNextAddressIsTried) {
  sockaddr_in closed;
  {
    auto [l, sa] = listener();
    closed = sa;
  }  // nothing listens there any more
  auto [tool, captured] = tcpPair();
  setTimeouts(tool.get(), 20);
  loop_->submit(std::move(captured), {closed}, "closed");
  int err = 0;
  readAll(tool.get(), &err);
  EXPECT_EQ(err, ECONNRESET);

  auto [tool2, captured2] = tcpPair();
  setTimeouts(tool2.get(), 20);
  loop_->submit(std::move(captured2), {closed, dest_.second}, "fallback");
  UniqueFd far(::accept4(dest_.first.get(), nullptr, nullptr, SOCK_CLOEXEC));
  writeAll(tool2.get(), "via the second address");
  ::shutdown(tool2.get(), SHUT_WR);
  EXPECT_EQ(readAll(far.get()), "via the second address");
}

TEST_F(RelayTest, AGivenSocketIsConnectedAndRelayed) {
  auto [tool, captured] = tcpPair();
  setTimeouts(tool.get(), 20);
  UniqueFd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));  // as a published port's
  loop_->submit(std::move(captured), {dest_.second}, "published", std::move(socket));
  UniqueFd far(::accept4(dest_.first.get(), nullptr, nullptr, SOCK_CLOEXEC));
  setTimeouts(far.get(), 20);
  writeAll(far.get(), "hello");
  ::shutdown(far.get(), SHUT_WR);
  EXPECT_EQ(readAll(tool.get()), "hello");
}

TEST_F(RelayTest, StoppingResetsWhatIsStillOpen) {
  auto [tool, far] = relayed();
  writeAll(tool.get(), "x");
  char b;
  ASSERT_EQ(::recv(far.get(), &b, 1, 0), 1);
  finishLoop();  // the loop's destructor closes every connection
  int err = 0;
  readAll(tool.get(), &err);
  EXPECT_EQ(err, ECONNRESET);
}

TEST_F(RelayTest, PipesAreReusedNotMadePerConnection) {
  for (int i = 0; i < 20; ++i) {
    auto [tool, far] = relayed();
    writeAll(tool.get(), "ping");
    ::shutdown(tool.get(), SHUT_WR);
    EXPECT_EQ(readAll(far.get()), "ping");
  }
  loop_->stop();
  thread_.join();
  EXPECT_LE(loop_->pooledPipes(), 2u);  // sequential connections share one or two pipes
  EXPECT_GE(loop_->pooledPipes(), 1u);
  loop_.reset();
}

}  // namespace
}  // namespace coco::net
