// Tests for COCO_EXTRA_PORTS lists (the port grammar itself: util/host_port_test.cpp).
#include <gtest/gtest.h>

#include "tool/plan.hpp"

namespace coco::tool {
namespace {

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
