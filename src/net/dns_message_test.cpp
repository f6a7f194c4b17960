// Tests for the DNS codec: round trips, and malformed packets that must be
// refused without reading out of bounds or looping.
#include "net/dns_message.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>

namespace coco::net::dns {
namespace {

std::vector<uint8_t> header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an = 0) {
  return {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), static_cast<uint8_t>(flags >> 8),
          static_cast<uint8_t>(flags), 0, static_cast<uint8_t>(qd), 0, static_cast<uint8_t>(an), 0, 0, 0, 0};
}

std::vector<uint8_t> operator+(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const std::vector<uint8_t> kTypeAIn = {0, 1, 0, 1};

TEST(DnsMessage, TcpFramingPutsTheLengthFirst) {
  std::vector<uint8_t> message(300, 7);
  auto framed = tcpFramed(message);
  ASSERT_EQ(framed.size(), 302u);
  EXPECT_EQ(framed[0], 1);
  EXPECT_EQ(framed[1], 44);
  EXPECT_TRUE(std::equal(message.begin(), message.end(), framed.begin() + 2));
  EXPECT_EQ(tcpFramed({}), (std::vector<uint8_t>{0, 0}));
}

TEST(DnsMessage, QueryRoundTrip) {
  auto q = buildQuery(0x1234, "Example.COM", kTypeA);
  ASSERT_TRUE(q);
  auto parsed = parseQuery(*q);
  ASSERT_TRUE(parsed) << parsed.error().describe();
  EXPECT_EQ(parsed->id, 0x1234);
  EXPECT_EQ(parsed->question.name, "Example.COM");
  EXPECT_EQ(parsed->question.type, kTypeA);
  EXPECT_EQ(parsed->question.qclass, kClassIn);
}

TEST(DnsMessage, ResponseCarriesAddressesAndEchoesQuestion) {
  auto q = parseQuery(*buildQuery(7, "a.example", kTypeA));
  ASSERT_TRUE(q);
  in_addr_t a = inet_addr("198.18.0.1"), b = inet_addr("198.18.0.2");
  auto reply = buildResponse(*q, Rcode::NoError, {a, b}, 300);
  auto ans = parseResponse(reply, 7, "A.EXAMPLE", kTypeA);
  ASSERT_TRUE(ans) << ans.error().describe();
  EXPECT_EQ(ans->rcode, Rcode::NoError);
  EXPECT_EQ(ans->addresses, (std::vector<in_addr_t>{a, b}));
  EXPECT_EQ(ans->minTtl, 300u);
  auto h = parseHeader(reply);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->isResponse());
  EXPECT_TRUE(h->flags & 0x0100);  // RD echoed
  EXPECT_TRUE(h->flags & 0x0080);  // RA
}

TEST(DnsMessage, NxDomainAndNoData) {
  auto q = parseQuery(*buildQuery(9, "x.example", kTypeAaaa));
  auto nx = parseResponse(buildResponse(*q, Rcode::NxDomain), 9, "x.example", kTypeAaaa);
  ASSERT_TRUE(nx);
  EXPECT_EQ(nx->rcode, Rcode::NxDomain);
  auto nodata = parseResponse(buildResponse(*q, Rcode::NoError), 9, "x.example", kTypeAaaa);
  ASSERT_TRUE(nodata);
  EXPECT_EQ(nodata->rcode, Rcode::NoError);
  EXPECT_TRUE(nodata->addresses.empty());
}

TEST(DnsMessage, ResponseMustMatchQuery) {
  auto q = parseQuery(*buildQuery(9, "x.example", kTypeA));
  auto reply = buildResponse(*q, Rcode::NoError, {inet_addr("192.0.2.1")}, 5);
  EXPECT_FALSE(parseResponse(reply, 10, "x.example", kTypeA));
  EXPECT_FALSE(parseResponse(reply, 9, "y.example", kTypeA));
  EXPECT_FALSE(parseResponse(reply, 9, "x.example", kTypeAaaa));
  EXPECT_FALSE(parseResponse(*buildQuery(9, "x.example", kTypeA), 9, "x.example", kTypeA));  // not a response
}

TEST(DnsMessage, ParsesCompressedAnswersAndSkipsOtherTypes) {
  // question x.example A; answer 1: CNAME at ptr(12) -> y.<ptr 14>; answer 2: A of y.example.
  auto pkt = header(1, 0x8180, 1, 2) + std::vector<uint8_t>{1, 'x', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0} +
             kTypeAIn + std::vector<uint8_t>{0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 'y', 0xc0, 14} +
             std::vector<uint8_t>{0xc0, 39, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2, 9};
  auto ans = parseResponse(pkt, 1, "x.example", kTypeA);
  ASSERT_TRUE(ans) << ans.error().describe();
  EXPECT_EQ(ans->addresses, std::vector<in_addr_t>{inet_addr("192.0.2.9")});
  EXPECT_EQ(ans->minTtl, 30u);
}

struct BadPacket {
  const char* what;
  std::vector<uint8_t> bytes;
};

std::vector<BadPacket> badQueries() {
  auto h = header(1, 0x0100, 1);
  return {
      {"empty", {}},
      {"short header", {0, 1, 1, 0, 0}},
      {"no question", header(1, 0x0100, 0)},
      {"two questions", header(1, 0x0100, 2) + std::vector<uint8_t>{0} + kTypeAIn + std::vector<uint8_t>{0} + kTypeAIn},
      {"is a response", header(1, 0x8100, 1) + std::vector<uint8_t>{1, 'a', 0} + kTypeAIn},
      {"label past end", h + std::vector<uint8_t>{5, 'a', 'b'}},
      {"no terminator", h + std::vector<uint8_t>{1, 'a'}},
      {"type cut", h + std::vector<uint8_t>{1, 'a', 0, 0}},
      {"pointer to itself", h + std::vector<uint8_t>{0xc0, 12} + kTypeAIn},
      {"pointer forward", h + std::vector<uint8_t>{0xc0, 14, 1, 'a', 0} + kTypeAIn},
      {"pointer loop via label", h + std::vector<uint8_t>{1, 'a', 0xc0, 12} + kTypeAIn},
      {"pointer into header", h + std::vector<uint8_t>{0xc0, 0} + kTypeAIn},
      {"pointer cut", h + std::vector<uint8_t>{1, 'a', 0xc0}},
      {"extended label type", h + std::vector<uint8_t>{0x41, 'a', 0} + kTypeAIn},
      {"reserved label type", h + std::vector<uint8_t>{0x80, 'a', 0} + kTypeAIn},
      {"dot inside label", h + std::vector<uint8_t>{3, 'a', '.', 'b', 0} + kTypeAIn},
      {"nul inside label", h + std::vector<uint8_t>{3, 'a', 0, 'b', 0} + kTypeAIn},
      {"space inside label", h + std::vector<uint8_t>{3, 'a', ' ', 'b', 0} + kTypeAIn},
  };
}

TEST(DnsMessage, RefusesMalformedQueries) {
  for (const auto& bad : badQueries()) {
    EXPECT_FALSE(parseQuery(bad.bytes)) << bad.what;
  }
}

TEST(DnsMessage, RefusesNamesLongerThan255) {
  std::vector<uint8_t> name;
  for (int i = 0; i < 5; ++i) {
    name.push_back(60);
    name.insert(name.end(), 60, 'a');
  }
  name.push_back(0);
  EXPECT_FALSE(parseQuery(header(1, 0, 1) + name + kTypeAIn));
  EXPECT_FALSE(buildQuery(1, std::string(300, 'a'), kTypeA));
  EXPECT_FALSE(buildQuery(1, std::string(64, 'a') + ".example", kTypeA));
  EXPECT_FALSE(buildQuery(1, "a..example", kTypeA));
}

TEST(DnsMessage, LongPointerChainIsBounded) {
  // Record 1's data holds 100 names "a" + pointer to the previous one, each
  // pointer valid on its own (backwards); record 2's owner points at the last.
  auto pkt = header(1, 0x8180, 1, 2) + std::vector<uint8_t>{1, 'x', 0} + kTypeAIn;
  pkt.insert(pkt.end(), {0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 0});  // owner root, TXT, rdlength patched below
  size_t rdlenAt = pkt.size() - 2;
  size_t rdata = pkt.size();
  size_t prev = 12 + 2;  // the root label ending the question name "x"
  for (int i = 0; i < 100; ++i) {
    size_t here = pkt.size();
    pkt.insert(pkt.end(), {1, 'a', static_cast<uint8_t>(0xc0 | (prev >> 8)), static_cast<uint8_t>(prev)});
    prev = here;
  }
  size_t rdlen = pkt.size() - rdata;
  pkt[rdlenAt] = static_cast<uint8_t>(rdlen >> 8);
  pkt[rdlenAt + 1] = static_cast<uint8_t>(rdlen);
  pkt.insert(pkt.end(), {static_cast<uint8_t>(0xc0 | (prev >> 8)), static_cast<uint8_t>(prev), 0, 1, 0, 1, 0, 0, 0,
                         1, 0, 4, 192, 0, 2, 1});
  EXPECT_FALSE(parseResponse(pkt, 1, "x", kTypeA));
}

TEST(DnsMessage, RefusesBadRecords) {
  auto q = parseQuery(*buildQuery(3, "x", kTypeA));
  auto good = buildResponse(*q, Rcode::NoError, {inet_addr("192.0.2.1")}, 1);
  for (size_t cut = 0; cut < good.size(); ++cut) {
    std::vector<uint8_t> truncated(good.begin(), good.begin() + static_cast<ptrdiff_t>(cut));
    EXPECT_FALSE(parseResponse(truncated, 3, "x", kTypeA)) << "cut at " << cut;
  }
  auto longRdata = good;
  longRdata[longRdata.size() - 5] = 200;  // rdlength low byte
  EXPECT_FALSE(parseResponse(longRdata, 3, "x", kTypeA));
  auto moreAnswers = good;
  moreAnswers[7] = 5;  // ancount says 5, one present
  EXPECT_FALSE(parseResponse(moreAnswers, 3, "x", kTypeA));
}

TEST(DnsMessage, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  auto seed = *buildQuery(5, "www.example.org", kTypeA);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> p = seed;
    int flips = 1 + static_cast<int>(rng() % 6);
    for (int f = 0; f < flips; ++f) p[rng() % p.size()] = static_cast<uint8_t>(rng());
    p.resize(rng() % (p.size() + 8), static_cast<uint8_t>(rng()));
    (void)parseQuery(p);
    (void)parseResponse(p, 5, "www.example.org", kTypeA);
    (void)parseHeader(p);
  }
}

TEST(DnsMessage, HeaderOnlyResponse) {
  Header h{0xbeef, 0x0100, 1, 0, 0, 0};
  auto r = buildHeaderOnlyResponse(h, Rcode::FormErr);
  auto back = parseHeader(r);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, 0xbeef);
  EXPECT_EQ(back->rcode(), Rcode::FormErr);
  EXPECT_EQ(back->qdcount, 0);
}

}  // namespace
}  // namespace coco::net::dns
