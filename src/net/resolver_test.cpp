// Tests for upstream selection and the upstream resolver, against a tiny DNS
// server on 127.0.0.1.
#include "net/resolver.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "net/dns_message.hpp"
#include "util/unique_fd.hpp"

namespace coco::net {
namespace {

TEST(Resolver, ParseEndpoint) {
  auto v4 = parseEndpoint("127.0.0.1:5353");
  ASSERT_TRUE(v4);
  EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in*>(&v4->addr)->sin_port), 5353);
  auto def = parseEndpoint("192.0.2.1");
  ASSERT_TRUE(def);
  EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in*>(&def->addr)->sin_port), 53);
  auto v6 = parseEndpoint("[::1]:54");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->addr.ss_family, AF_INET6);
  EXPECT_TRUE(parseEndpoint("::1"));
  for (const char* bad : {"", "x", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:70000", "[::1", "[::1]:x", "1.2.3:53"}) {
    EXPECT_FALSE(parseEndpoint(bad)) << bad;
  }
}

TEST(Resolver, NameserverFromResolvConf) {
  auto ep = nameserverFromResolvConf("# comment\nsearch lan\nnameserver\tfe80::1%eth0\nnameserver 10.0.0.2 # x\n");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->text, "10.0.0.2");
  auto v6 = nameserverFromResolvConf("nameserver 2001:db8::1\n");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->addr.ss_family, AF_INET6);
  EXPECT_FALSE(nameserverFromResolvConf("search x\n"));
  EXPECT_FALSE(nameserverFromResolvConf("nameservers 1.2.3.4\n"));
}

TEST(Resolver, ChooseUpstreamPrefersConfiguredThenEnv) {
  EXPECT_EQ(chooseUpstream("127.0.0.9:99")->text, "127.0.0.9:99");
  ::setenv("COCO_DNS_UPSTREAM", "127.0.0.8:98", 1);
  EXPECT_EQ(chooseUpstream("")->text, "127.0.0.8:98");
  ::setenv("COCO_DNS_UPSTREAM", "bogus", 1);
  EXPECT_FALSE(chooseUpstream(""));
  ::unsetenv("COCO_DNS_UPSTREAM");
}

// Answers "a.test" with 192.0.2.1 and 192.0.2.2, "big.test" truncated over UDP
// (full over TCP is not served: the resolver then fails), others NXDOMAIN;
// "slow.test" is never answered.
class TinyDns {
 public:
  TinyDns() {
    fd_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t len = sizeof sa;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TinyDns() {
    stop_ = true;
    thread_.join();
  }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  int queries() const { return queries_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      uint8_t buf[512];
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      ssize_t n = ::recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len);
      if (n <= 0) continue;
      ++queries_;
      auto q = dns::parseQuery(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
      if (!q || q->question.name == "slow.test") continue;
      std::vector<uint8_t> reply;
      if (q->question.name == "a.test") {
        reply = dns::buildResponse(*q, dns::Rcode::NoError, {inet_addr("192.0.2.1"), inet_addr("192.0.2.2")}, 5);
      } else if (q->question.name == "big.test") {
        reply = dns::buildResponse(*q, dns::Rcode::NoError);
        reply[2] |= 0x02;
      } else {
        reply = dns::buildResponse(*q, dns::Rcode::NxDomain);
      }
      ::sendto(fd_.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
    }
  }

  UniqueFd fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

TEST(Resolver, ResolvesAndCaches) {
  TinyDns server;
  UpstreamResolver r(*parseEndpoint(server.endpoint()));
  EXPECT_FALSE(r.cached("a.test"));
  Resolution a = r.resolve("a.test");
  EXPECT_EQ(a.status, Resolution::Status::Ok);
  EXPECT_EQ(a.addresses, (std::vector<in_addr_t>{inet_addr("192.0.2.1"), inet_addr("192.0.2.2")}));
  EXPECT_EQ(server.queries(), 1);
  ASSERT_TRUE(r.cached("a.test"));
  r.resolve("a.test");
  EXPECT_EQ(server.queries(), 1);
  EXPECT_EQ(r.resolve("missing.test").status, Resolution::Status::NxDomain);
  EXPECT_EQ(r.cached("missing.test")->status, Resolution::Status::NxDomain);
}

// A tool looking up endless distinct names grew the cache (coco's memory) by one entry each.
TEST(Resolver, TheCacheStaysBounded) {
  TinyDns server;
  UpstreamResolver r(*parseEndpoint(server.endpoint()));
  for (size_t i = 0; i < UpstreamResolver::kMaxCached + 100; ++i) {
    EXPECT_EQ(r.resolve("n" + std::to_string(i) + ".test").status, Resolution::Status::NxDomain);
    ASSERT_LE(r.cacheSize(), UpstreamResolver::kMaxCached);
  }
  EXPECT_TRUE(r.cached("n" + std::to_string(UpstreamResolver::kMaxCached + 99) + ".test"));
}

TEST(Resolver, TimeoutIsAFailureAndNotCached) {
  TinyDns server;
  UpstreamResolver r(*parseEndpoint(server.endpoint()));
  EXPECT_EQ(r.resolve("slow.test").status, Resolution::Status::Failed);
  EXPECT_FALSE(r.cached("slow.test"));
  EXPECT_EQ(r.resolve("big.test").status, Resolution::Status::Failed);  // TC, and no TCP server
}

}  // namespace
}  // namespace coco::net
