// Tests for the allowed_hosts rules and address classification.
#include "net/allowlist.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace coco::net {
namespace {

Allowlist list(std::vector<std::string> entries) {
  auto l = Allowlist::parse(entries);
  EXPECT_TRUE(l) << l.error().describe();
  return *l;
}

TEST(Allowlist, PlainNameAllowsItselfAndSubdomainsOnWebPorts) {
  auto l = list({"example.com"});
  EXPECT_TRUE(l.allows("example.com", 443));
  EXPECT_TRUE(l.allows("example.com", 80));
  EXPECT_TRUE(l.allows("a.b.example.com", 443));
  EXPECT_FALSE(l.allows("example.com", 22));
  EXPECT_FALSE(l.allows("badexample.com", 443));
  EXPECT_FALSE(l.allows("example.com.evil.net", 443));
  EXPECT_FALSE(l.allows("com", 443));
  EXPECT_TRUE(l.allowsName("www.example.com"));
  EXPECT_FALSE(l.allowsName("example.org"));
}

TEST(Allowlist, PortEntryAllowsOnlyThatPort) {
  auto l = list({"git.example.com:22"});
  EXPECT_TRUE(l.allows("git.example.com", 22));
  EXPECT_FALSE(l.allows("git.example.com", 443));
  EXPECT_TRUE(l.allowsName("git.example.com"));
}

TEST(Allowlist, WildcardAllowsOnlySubdomains) {
  auto l = list({"*.example.com"});
  EXPECT_FALSE(l.allows("example.com", 443));
  EXPECT_TRUE(l.allows("cdn.example.com", 443));
  EXPECT_FALSE(l.allowsName("example.com"));
  auto p = list({"*.example.com:8443"});
  EXPECT_TRUE(p.allows("x.example.com", 8443));
  EXPECT_FALSE(p.allows("x.example.com", 443));
}

TEST(Allowlist, NamesAreCaseInsensitiveAndTrailingDotFree) {
  auto l = list({"Example.COM."});
  EXPECT_TRUE(l.allows("example.com", 443));
  EXPECT_EQ(l.entries()[0].name, "example.com");
}

TEST(Allowlist, EntriesCombine) {
  auto l = list({"a.example", "a.example:8080"});
  EXPECT_TRUE(l.allows("a.example", 443));
  EXPECT_TRUE(l.allows("a.example", 8080));
  EXPECT_FALSE(l.allows("a.example", 8081));
}

TEST(Allowlist, LiteralAddressEntries) {
  auto l = list({"192.0.2.7:8080"});
  EXPECT_TRUE(l.allowsAddress(inet_addr("192.0.2.7"), 8080));
  EXPECT_FALSE(l.allowsAddress(inet_addr("192.0.2.7"), 80));
  EXPECT_FALSE(l.allowsAddress(inet_addr("192.0.2.8"), 8080));
  EXPECT_FALSE(l.allowsName("192.0.2.7"));
}

TEST(Allowlist, RefusesBadEntries) {
  const std::vector<std::string> bad = {"", ":", "example.com:", "example.com:0", "example.com:65536",
                                        "example.com:x", "exa mple.com", "a..b", ".example.com", "*.", "*",
                                        "ex/ample", std::string(64, 'a'), "[::1]:80"};
  for (const auto& entry : bad) EXPECT_FALSE(parseAllowEntry(entry)) << "'" << entry << "'";
}

TEST(Allowlist, NormalizeName) {
  EXPECT_EQ(*normalizeName("WWW.Example.org."), "www.example.org");
  EXPECT_EQ(*normalizeName("_dmarc.example.org"), "_dmarc.example.org");
  EXPECT_FALSE(normalizeName("."));
  EXPECT_FALSE(normalizeName(std::string(254, 'a')));
}

TEST(Allowlist, ClassifyAddress) {
  auto kind = [](const char* a) { return classifyAddress(inet_addr(a)); };
  EXPECT_EQ(kind("127.0.0.1"), AddressKind::Loopback);
  EXPECT_EQ(kind("127.255.0.9"), AddressKind::Loopback);
  EXPECT_EQ(kind("0.0.0.0"), AddressKind::Unspecified);
  EXPECT_EQ(kind("169.254.169.254"), AddressKind::Metadata);
  EXPECT_EQ(kind("169.254.1.1"), AddressKind::LinkLocal);
  EXPECT_EQ(kind("10.1.2.3"), AddressKind::Private);
  EXPECT_EQ(kind("172.16.0.1"), AddressKind::Private);
  EXPECT_EQ(kind("172.31.255.255"), AddressKind::Private);
  EXPECT_EQ(kind("172.32.0.1"), AddressKind::Public);
  EXPECT_EQ(kind("192.168.1.1"), AddressKind::Private);
  EXPECT_EQ(kind("100.64.0.1"), AddressKind::SharedCgnat);
  EXPECT_EQ(kind("198.18.0.1"), AddressKind::Synthetic);
  EXPECT_EQ(kind("198.19.255.254"), AddressKind::Synthetic);
  EXPECT_EQ(kind("198.20.0.1"), AddressKind::Public);
  EXPECT_EQ(kind("224.0.0.1"), AddressKind::Multicast);
  EXPECT_EQ(kind("255.255.255.255"), AddressKind::Reserved);
  EXPECT_EQ(kind("192.0.2.1"), AddressKind::Public);
  EXPECT_EQ(formatAddress(inet_addr("192.0.2.1")), "192.0.2.1");
}

}  // namespace
}  // namespace coco::net
