#include "util/result.hpp"

#include <gtest/gtest.h>

namespace coco {
namespace {

Result<int> half(int x) {
  if (x % 2) return Error::make("{} is odd", x);
  return x / 2;
}

Result<int> quarter(int x) {
  COCO_ASSIGN(int h, half(x));
  COCO_ASSIGN(int q, half(h));
  return q;
}

Status check(int x) {
  COCO_TRY(half(x));
  return {};
}

TEST(Result, ValueAndError) {
  EXPECT_EQ(*half(8), 4);
  EXPECT_EQ(half(3).error().message(), "3 is odd");
  EXPECT_EQ(*quarter(8), 2);
  EXPECT_EQ(quarter(6).error().message(), "3 is odd");
  EXPECT_TRUE(check(2).ok());
  EXPECT_FALSE(check(1).ok());
}

TEST(Error, ErrnoAndWrap) {
  errno = ENOENT;
  Error e = Error::fromErrno("open {}", "/x").wrap("reading config");
  EXPECT_EQ(e.code(), ENOENT);
  EXPECT_EQ(e.message(), "reading config: open /x");
  EXPECT_EQ(e.describe(), "reading config: open /x: No such file or directory");
}

}  // namespace
}  // namespace coco
