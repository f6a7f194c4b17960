// Tests for the synthetic address pool.
#include "net/address_pool.hpp"
#include "net/allowlist.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <set>

namespace coco::net {
namespace {

TEST(AddressPool, StablePerNameAndReversible) {
  AddressPool pool;
  auto a = pool.addressFor("a.example");
  auto b = pool.addressFor("b.example");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(*pool.addressFor("a.example"), *a);
  EXPECT_EQ(pool.nameFor(*a), "a.example");
  EXPECT_EQ(pool.nameFor(*b), "b.example");
  EXPECT_EQ(formatAddress(*a), "198.18.0.1");
  EXPECT_TRUE(pool.contains(*a));
  EXPECT_TRUE(pool.contains(inet_addr("198.19.255.255")));
  EXPECT_FALSE(pool.contains(inet_addr("198.20.0.0")));
  EXPECT_FALSE(pool.nameFor(inet_addr("198.18.9.9")));
  EXPECT_EQ(pool.size(), 2u);
}

TEST(AddressPool, SkipsDotZeroAndDot255AndExhausts) {
  AddressPool pool(0xc6120000, 23);  // 512 addresses: two /24s
  std::set<in_addr_t> seen;
  int n = 0;
  for (;; ++n) {
    auto a = pool.addressFor("n" + std::to_string(n));
    if (!a) {
      EXPECT_EQ(a.error().code(), ENOSPC);
      break;
    }
    uint32_t last = ntohl(*a) & 0xff;
    EXPECT_NE(last, 0u);
    EXPECT_NE(last, 255u);
    EXPECT_TRUE(seen.insert(*a).second);
  }
  EXPECT_EQ(n, 508);  // offsets 1..511 less 0.255, 1.0 and 1.255
  EXPECT_TRUE(pool.addressFor("n0"));  // known names still answer
}

// Attack (review 53): the names are the tool's, and each held two entries of up to 253 bytes for
// the run; the /15 alone let 130,000 names grow coco's memory by ~85 MB. At most kMaxNames get
// an address; known names still answer after that.
TEST(AddressPool, HandsOutAtMostKMaxNamesAddresses) {
  AddressPool pool;
  std::string pad(200, 'x');
  for (size_t i = 0; i < AddressPool::kMaxNames; ++i)
    ASSERT_TRUE(pool.addressFor(pad + std::to_string(i) + ".test")) << i;
  auto past = pool.addressFor("one-more.test");
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code(), ENOSPC);
  EXPECT_NE(past.error().describe().find("more than 16384 names"), std::string::npos) << past.error().describe();
  EXPECT_EQ(pool.size(), AddressPool::kMaxNames);
  EXPECT_TRUE(pool.addressFor(pad + "0.test"));
}

}  // namespace
}  // namespace coco::net
