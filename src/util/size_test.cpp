#include "util/size.hpp"

#include <gtest/gtest.h>

namespace coco {
namespace {

TEST(Size, Formats) {
  EXPECT_EQ(formatSize(0), "0 B");
  EXPECT_EQ(formatSize(512), "512 B");
  EXPECT_EQ(formatSize(1024), "1 KiB");
  EXPECT_EQ(formatSize(1536), "1.5 KiB");
  EXPECT_EQ(formatSize(512ull << 20), "512 MiB");
  EXPECT_EQ(formatSize(2ull << 30), "2 GiB");
  EXPECT_EQ(formatSize(3ull << 29), "1.5 GiB");
  EXPECT_EQ(formatSize(4ull << 40), "4 TiB");
  EXPECT_EQ(formatSize(UINT64_MAX), "16.0 EiB");
}

}  // namespace
}  // namespace coco
