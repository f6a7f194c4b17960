// Tests for port specs: every accepted form and a table of rejected ones.
#include <gtest/gtest.h>

#include "tool/plan.hpp"

namespace coco::tool {
namespace {

TEST(PortSpec, HostContainerDefaultsToLoopback) {
  auto p = parsePortSpec("8080:80");
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->hostAddr, "127.0.0.1");
  EXPECT_EQ(p->hostPort, 8080);
  EXPECT_EQ(p->containerPort, 80);
}

TEST(PortSpec, SinglePortMeansBothSides) {
  auto p = parsePortSpec("8080");
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->hostPort, 8080);
  EXPECT_EQ(p->containerPort, 8080);
}

TEST(PortSpec, ExplicitAddress) {
  auto p = parsePortSpec("0.0.0.0:3000:3001");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->hostAddr, "0.0.0.0");
  EXPECT_EQ(p->hostPort, 3000);
  EXPECT_EQ(p->containerPort, 3001);
  auto v6 = parsePortSpec("[::1]:1:65535");
  ASSERT_TRUE(v6.ok()) << v6.error().describe();
  EXPECT_EQ(v6->hostAddr, "::1");
  EXPECT_EQ(v6->containerPort, 65535);
}

TEST(PortSpec, RejectsBadSpecs) {
  for (const char* bad : {"", ":80", "80:", "0:80", "80:0", "65536:80", "80:70000", "-1:80", "a:b",
                          "8080:80x", " 80:80", "1:2:3:4", ":1:2", "[::1]1:2", "[::1", "[]:1:2", "80:+80"}) {
    auto p = parsePortSpec(bad);
    EXPECT_FALSE(p.ok()) << "accepted '" << bad << "'";
  }
}

TEST(PortList, ParsesCsvSkippingEmptyItems) {
  auto l = parsePortList("8080:80, 127.0.0.2:9000:90,,");
  ASSERT_TRUE(l.ok()) << l.error().describe();
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[1].hostAddr, "127.0.0.2");
  EXPECT_EQ((*l)[1].containerPort, 90);
  auto empty = parsePortList("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(PortList, OneBadItemFailsTheList) {
  auto l = parsePortList("8080:80,nope");
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.error().message().find("nope"), std::string::npos);
}

TEST(IsTrue, AcceptsOneAndTrueOnly) {
  EXPECT_TRUE(isTrue("1"));
  EXPECT_TRUE(isTrue("true"));
  EXPECT_TRUE(isTrue("TRUE"));
  for (const char* no : {"", "0", "false", "yes", "2", " true"}) EXPECT_FALSE(isTrue(no)) << no;
}

}  // namespace
}  // namespace coco::tool
