#include "util/fs.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace coco::fs {
namespace {

TEST(Fs, Normalize) {
  EXPECT_EQ(normalize("/a/./b//c/../d"), "/a/b/d");
  EXPECT_EQ(normalize("/../x"), "/x");
  EXPECT_EQ(normalize("/"), "/");
  EXPECT_EQ(normalize("a/../.."), "..");
  EXPECT_EQ(normalize(""), ".");
}

TEST(Fs, AtomicWriteAndRemove) {
  char tmpl[] = "/tmp/coco-fs-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ASSERT_TRUE(makeDirs(dir + "/a/b/c").ok());
  ASSERT_TRUE(writeFileAtomic(dir + "/a/b/c/f", "hello").ok());
  EXPECT_EQ(*readFile(dir + "/a/b/c/f"), "hello");
  ASSERT_TRUE(writeFileAtomic(dir + "/a/b/c/f", "bye").ok());
  EXPECT_EQ(*readFile(dir + "/a/b/c/f"), "bye");
  EXPECT_FALSE(writeFileAtomic(dir + "/missing/f", "x").ok());
  ASSERT_TRUE(removeTree(dir).ok());
  EXPECT_FALSE(exists(dir));
  EXPECT_FALSE(readFile(dir + "/nope").ok());
}

TEST(Fs, ReadFileAtMostStopsPastTheCap) {
  char tmpl[] = "/tmp/coco-fs-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ASSERT_TRUE(writeFileAtomic(dir + "/f", std::string(100000, 'x')).ok());
  EXPECT_EQ(readFileAtMost(dir + "/f", 100000)->size(), 100000u);
  auto over = readFileAtMost(dir + "/f", 99999);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code(), EFBIG);
  EXPECT_NE(over.error().message().find(dir + "/f"), std::string::npos) << over.error().message();
  ASSERT_TRUE(removeTree(dir).ok());
}

}  // namespace
}  // namespace coco::fs
