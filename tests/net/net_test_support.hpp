// Helpers for the net integration tests: an upstream DNS server that logs
// every name it is asked, a TCP echo server, and output capture.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "net/dns_message.hpp"
#include "util/unique_fd.hpp"

namespace coco::net::testing {

inline constexpr const char* kEchoName = "echo.allowed.test";

// Allowed names whose upstream answer is a CGNAT or cloud metadata address.
inline constexpr std::pair<const char*, const char*> kLocalAnswers[] = {
    {"cgnat.allowed.test", "100.64.1.1"},
    {"metadata.allowed.test", "169.254.169.254"},
};

inline sockaddr_in loopback(uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  return sa;
}

inline uint16_t boundPort(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

inline void setTimeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// A DNS server on loopback that logs every name it is asked and sends what
// `answer` makes of the query (nothing when that is empty). The tests point the
// gateway's upstream (COCO_DNS_UPSTREAM) at one to see which lookups coco's
// policy let through.
class LoggingDnsServer {
 public:
  using Answer = std::function<std::vector<uint8_t>(const dns::Query&, std::span<const uint8_t> packet)>;
  explicit LoggingDnsServer(Answer answer) : answer_(std::move(answer)) {
    fd_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa = loopback(0);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    port_ = boundPort(fd_.get());
    thread_ = std::thread([this] { serve(); });
  }
  ~LoggingDnsServer() {
    stop_ = true;
    thread_.join();
  }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Every name asked so far.
  std::set<std::string> asked() {
    std::lock_guard lock(mu_);
    return asked_;
  }
  // The names asked since the last take() (also those asked before that).
  std::set<std::string> take() {
    std::lock_guard lock(mu_);
    return std::exchange(recent_, {});
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      uint8_t buf[1500];
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      ssize_t n = ::recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len);
      if (n <= 0) continue;
      std::span<const uint8_t> packet(buf, static_cast<size_t>(n));
      auto q = dns::parseQuery(packet);
      if (!q) continue;
      {
        std::lock_guard lock(mu_);
        asked_.insert(q->question.name);
        recent_.insert(q->question.name);
      }
      std::vector<uint8_t> reply = answer_(*q, packet);
      if (!reply.empty()) ::sendto(fd_.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
    }
  }

  Answer answer_;
  UniqueFd fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::set<std::string> asked_, recent_;
};

// The upstream resolver the gateway is pointed at: answers every *.allowed.test
// name but "missing.allowed.test" with 127.0.0.1 (kLocalAnswers: with an
// address a sandbox may not reach), and logs every name asked.
class UpstreamDns : public LoggingDnsServer {
 public:
  UpstreamDns() : LoggingDnsServer([](const dns::Query& q, std::span<const uint8_t>) { return answer(q); }) {}

 private:
  static std::vector<uint8_t> answer(const dns::Query& q) {
    const std::string& name = q.question.name;
    bool exists = name.ends_with(".allowed.test") && name != "missing.allowed.test";
    in_addr_t address = htonl(INADDR_LOOPBACK);
    for (const auto& [n, a] : kLocalAnswers)
      if (name == n) address = ::inet_addr(a);
    return exists ? dns::buildResponse(q, dns::Rcode::NoError, {address}, 60)
                  : dns::buildResponse(q, dns::Rcode::NxDomain);
  }
};

// A TCP server on 127.0.0.1 (an ephemeral port) that hands each accepted
// connection to `handle`, on its own thread when `threadPerConnection` (so
// many can be open at once), else on the accepting thread.
class LoopbackServer {
 public:
  using Handler = std::function<void(UniqueFd)>;
  explicit LoopbackServer(Handler handle, bool threadPerConnection = false, int backlog = 16)
      : handle_(std::move(handle)), perConnection_(threadPerConnection) {
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa = loopback(0);
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    EXPECT_EQ(::listen(fd_.get(), backlog), 0);
    port_ = boundPort(fd_.get());
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackServer() {
    stop_ = true;
    thread_.join();
    for (auto& t : each_) t.join();
  }
  uint16_t port() const { return port_; }
  int connections() const { return connections_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      UniqueFd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c) continue;
      ++connections_;
      if (perConnection_) each_.emplace_back([this, fd = c.release()] { handle_(UniqueFd(fd)); });
      else handle_(std::move(c));
    }
  }

  Handler handle_;
  bool perConnection_;
  UniqueFd fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
  std::vector<std::thread> each_;
};

// Echoes until EOF (`timeoutSecs` per receive), then closes.
inline void echoUntilEof(UniqueFd c, int timeoutSecs = 5) {
  setTimeouts(c.get(), timeoutSecs);
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(c.get(), buf, sizeof buf, 0)) > 0) ::send(c.get(), buf, static_cast<size_t>(n), MSG_NOSIGNAL);
}

// Echoes each connection until EOF, then closes; counts connections.
class EchoServer : public LoopbackServer {
 public:
  EchoServer() : LoopbackServer([](UniqueFd c) { echoUntilEof(std::move(c)); }) {}
};

// Sends `fd` (1 or 2) to a file for the scope, so the test can read what was
// printed; finish() restores it and echoes the text to the real fd.
class FdCapture {
 public:
  explicit FdCapture(int fd) : target_(fd) {
    char path[] = "/tmp/coco-net-test-out-XXXXXX";
    file_.reset(::mkstemp(path));
    ::unlink(path);
    saved_.reset(::dup(target_));
    ::dup2(file_.get(), target_);
  }
  ~FdCapture() { restore(); }
  std::string finish() {
    restore();
    std::string out;
    char buf[4096];
    ssize_t n;
    ::lseek(file_.get(), 0, SEEK_SET);
    while ((n = ::read(file_.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    ssize_t unused = ::write(target_, out.data(), out.size());
    (void)unused;
    return out;
  }

 private:
  void restore() {
    if (saved_) ::dup2(saved_.get(), target_);
    saved_.reset();
  }
  int target_;
  UniqueFd file_, saved_;
};

inline size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace coco::net::testing
