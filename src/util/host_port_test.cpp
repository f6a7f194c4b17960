// Tests for the host, address and port grammar config, tool and net share.
#include "util/host_port.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

namespace coco {
namespace {

using namespace std::string_literals;

TEST(PortNumber, DigitsFromOneTo65535) {
  EXPECT_EQ(*parsePortNumber("1"), 1);
  EXPECT_EQ(*parsePortNumber("65535"), 65535);
  EXPECT_EQ(*parsePortNumber("08080"), 8080);
  for (std::string bad : {""s, "0"s, "65536"s, "99999999999"s, "-1"s, "+1"s, " 1"s, "1 "s, "0x10"s, "1\0"s, "8\08"s})
    EXPECT_FALSE(parsePortNumber(bad)) << "'" << bad << "'";
}

TEST(IpLiterals, StandardFormsOnly) {
  EXPECT_EQ(*parseIpv4("192.0.2.7"), inet_addr("192.0.2.7"));
  EXPECT_TRUE(parseIpv6("::1"));
  EXPECT_TRUE(parseIpv6("2001:db8::1"));
  EXPECT_TRUE(parseIpv6("::ffff:1.2.3.4"));
  for (std::string bad : {""s, "1.2.3"s, "127.1"s, "01.2.3.4"s, "1.2.3.4.5"s, "256.1.1.1"s, " 1.2.3.4"s, "0x7f.0.0.1"s,
                          "127.0.0.1\0junk"s, "127.0.0.1\0"s})
    EXPECT_FALSE(parseIpv4(bad)) << "'" << bad << "'";
  for (std::string bad : {""s, "::1%lo"s, "[::1]"s, "::1\0"s, "::1\0:2"s, ":::"s, std::string(100, ':')})
    EXPECT_FALSE(parseIpv6(bad)) << "'" << bad << "'";
}

TEST(IpLiterals, ClassifyAddress) {
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

TEST(ResolveHostIPv4, NamesAndLiterals) {
  auto literal = resolveHostIPv4("127.0.0.1");
  ASSERT_TRUE(literal) << literal.error().describe();
  EXPECT_EQ(*literal, std::vector<in_addr_t>{htonl(INADDR_LOOPBACK)});
  auto name = resolveHostIPv4("localhost");
  ASSERT_TRUE(name) << name.error().describe();
  ASSERT_FALSE(name->empty());
  EXPECT_EQ(classifyAddress(name->front()), AddressKind::Loopback);
  EXPECT_FALSE(resolveHostIPv4("no-such-host.invalid"));
  EXPECT_FALSE(resolveHostIPv4(""));
  EXPECT_FALSE(resolveHostIPv4("::1"));  // IPv6 only
}

TEST(HostPort, SplitsAndJoins) {
  auto a = splitHostPort("example.com:8443");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "example.com");
  EXPECT_EQ(a->port, 8443);
  auto b = splitHostPort("[::1]:53");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_TRUE(b->bracketed);
  EXPECT_EQ(b->port, 53);
  auto c = splitHostPort("2001:db8::1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "2001:db8::1");
  EXPECT_FALSE(c->port);
  for (const char* bad : {"a:b:c", "[::1", "[::1]x", "[::1]:", "a:", "a:0", "[example.com]:80", "[1.2.3.4]", "[[::1]]"})
    EXPECT_FALSE(splitHostPort(bad)) << bad;
  EXPECT_EQ(joinHostPort("::1", 80), "[::1]:80");
  EXPECT_EQ(joinHostPort("10.0.0.1", 80), "10.0.0.1:80");
}

TEST(HostName, Normalises) {
  EXPECT_EQ(*normalizeHostName("WWW.Example.org."), "www.example.org");
  EXPECT_EQ(*normalizeHostName("_dmarc.example.org"), "_dmarc.example.org");
  EXPECT_EQ(*normalizeHostName("localhost"), "localhost");
  EXPECT_EQ(*normalizeHostName("1.2.3.example"), "1.2.3.example");
  for (std::string bad : {""s, "."s, ".."s, "a..b"s, ".a"s, "-a.b"s, "a-.b"s, "a.*.b"s, "a b"s, "a/b"s, "127.1"s,
                          "1.2.3.4"s, "a.b\0c"s, std::string(254, 'a'), std::string(64, 'a')})
    EXPECT_FALSE(normalizeHostName(bad)) << "'" << bad << "'";
}

TEST(HostPattern, Forms) {
  auto name = parseHostPattern("API.Example.com");
  ASSERT_TRUE(name) << name.error().message();
  EXPECT_EQ(name->name, "api.example.com");
  EXPECT_EQ(name->ports, kDefaultHostPorts);
  EXPECT_EQ(formatHostPattern(*name), "api.example.com");

  auto port = parseHostPattern("git.example.com:22");
  ASSERT_TRUE(port);
  EXPECT_EQ(port->ports, std::vector<uint16_t>{22});
  EXPECT_EQ(formatHostPattern(*port), "git.example.com:22");

  auto wild = parseHostPattern("*.Example.com.:8443");
  ASSERT_TRUE(wild);
  EXPECT_TRUE(wild->subdomainsOnly);
  EXPECT_EQ(formatHostPattern(*wild), "*.example.com:8443");

  auto addr = parseHostPattern("192.0.2.7:8080");
  ASSERT_TRUE(addr);
  EXPECT_TRUE(addr->isAddress);
  EXPECT_EQ(addr->address, inet_addr("192.0.2.7"));
  EXPECT_EQ(formatHostPattern(*addr), "192.0.2.7:8080");
  EXPECT_EQ(formatHostPattern(*parseHostPattern("192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(formatHostPattern(*parseHostPattern("a.example:080")), "a.example:80");
}

// F5: "[example.com]:443" passed config validation and failed the gateway on every run.
TEST(HostPattern, RefusesBracketsAndIpv6) {
  EXPECT_EQ(parseHostPattern("[example.com]:443").error().message(),
            "allowed host '[example.com]:443': brackets hold an IPv6 address, not 'example.com'");
  EXPECT_EQ(parseHostPattern("[::1]:443").error().message(),
            "allowed host '[::1]:443': IPv6 addresses cannot be allowed (the sandbox has no IPv6 route)");
  for (const char* bad : {"[example.com]:443", "[::1]:443", "[::1]", "::1", "2001:db8::1", "[1.2.3.4]:80"})
    EXPECT_FALSE(parseHostPattern(bad)) << bad;
}

TEST(HostPattern, RefusesBadEntries) {
  for (std::string bad : {""s, ":"s, "example.com:"s, "example.com:0"s, "example.com:65536"s, "example.com:x"s,
                          "exa mple.com"s, "a..b"s, ".example.com"s, "*."s, "*"s, "*.1.2.3.4"s, "ex/ample"s,
                          "https://a.b"s, "a:b:c"s, "127.1"s, "a.b\0:80"s, "1.2.3.4\0:80"s, std::string(64, 'a')})
    EXPECT_FALSE(parseHostPattern(bad)) << "'" << bad << "'";
}

TEST(PublishedPort, Forms) {
  auto p = parsePublishedPort("8080:80");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(*p, (PublishedPort{"127.0.0.1", 8080, 80}));
  EXPECT_EQ(*parsePublishedPort("5173"), (PublishedPort{"127.0.0.1", 5173, 5173}));
  EXPECT_EQ(*parsePublishedPort("0.0.0.0:3000:3001/tcp"), (PublishedPort{"0.0.0.0", 3000, 3001}));
  EXPECT_EQ(*parsePublishedPort("[::1]:65535:1"), (PublishedPort{"::1", 65535, 1}));
  EXPECT_EQ(*parsePublishedPort("[::]:8080"), (PublishedPort{"::", 8080, 8080}));
  EXPECT_EQ(formatPublishedPort({"::1", 8080, 80}), "[::1]:8080:80");
  EXPECT_EQ(formatPublishedPort({"127.0.0.1", 8080, 80}), "127.0.0.1:8080:80");
  for (const char* spec : {"[::1]:8080:80", "127.0.0.1:1:2", "[2001:db8::1]:443:8443"})
    EXPECT_EQ(formatPublishedPort(*parsePublishedPort(spec)), spec);
}

TEST(PublishedPort, BadSpecs) {
  struct Case {
    std::string spec;
    const char* message;
  };
  const Case cases[] = {
      {"0:80", "bad port '0' in '0:80': ports are numbers from 1 to 65535"},
      {"8080:65536", "bad port '65536' in '8080:65536': ports are numbers from 1 to 65535"},
      {"80:", "bad port '' in '80:': ports are numbers from 1 to 65535"},
      {"http:80", "bad port 'http' in 'http:80': ports are numbers from 1 to 65535"},
      {"-1:80", "bad port '-1' in '-1:80': ports are numbers from 1 to 65535"},
      {"+1:80", "bad port '+1' in '+1:80': ports are numbers from 1 to 65535"},
      {"99999999999:80", "bad port '99999999999' in '99999999999:80': ports are numbers from 1 to 65535"},
      {"8080:80/udp", "bad port '8080:80/udp': only tcp ports can be published"},
      {"localhost:1:2", "bad port 'localhost:1:2': 'localhost' is not an IPv4 address"},
      {"[1.2.3.4]:1:2", "bad port '[1.2.3.4]:1:2': '1.2.3.4' is not an IPv6 address"},
      {"[::1:1:2", "bad port '[::1:1:2': unclosed '[' in the address"},
      {"[::1]1:2", "bad port '[::1]1:2': write [ADDR]:HOST:CONTAINER or [ADDR]:PORT"},
      {"1:2:3:4", "bad port '1:2:3:4': write HOST:CONTAINER or ADDR:HOST:CONTAINER"},
      {"", "bad port '': write HOST:CONTAINER or ADDR:HOST:CONTAINER"},
      {"8000-8010:8000-8010", "bad port '8000-8010' in '8000-8010:8000-8010': ports are numbers from 1 to 65535"},
  };
  for (const Case& c : cases) {
    auto p = parsePublishedPort(c.spec);
    ASSERT_FALSE(p.ok()) << c.spec;
    EXPECT_EQ(p.error().message(), c.message);
  }
  for (const char* bad : {":80", "80:0", "80:70000", "a:b", "8080:80x", " 80:80", ":1:2", "[::1", "[]:1:2", "80:+80",
                          "[::1]", "[::1]:1:2:3"})
    EXPECT_FALSE(parsePublishedPort(bad)) << "accepted '" << bad << "'";
}

// F7: the address was handed to inet_pton as a C string, which ends at the NUL,
// so "127.0.0.1\0junk" was accepted and the podman argument cut short.
TEST(PublishedPort, RefusesEmbeddedNul) {
  auto p = parsePublishedPort("127.0.0.1\0junk:8080:80"s);
  ASSERT_FALSE(p);
  EXPECT_FALSE(parsePublishedPort("[::1\0junk]:8080:80"s));
  EXPECT_FALSE(parsePublishedPort("8080\0:80"s));
}

}  // namespace
}  // namespace coco
