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

TEST(Error, KindSurvivesWrapAndDropsOnlyAClassifyingErrno) {
  // An errno from a failing call stays: without it "open /x" says nothing.
  errno = EACCES;
  Error plain = Error::fromErrno("open {}", "/x").wrap("reading config");
  EXPECT_EQ(plain.kind(), ErrorKind::Other);
  EXPECT_EQ(plain.userMessage(), "reading config: open /x: Permission denied");
  // A config file error keeps its errno too (the file could not be read).
  Error file = Error::withErrno(EACCES, "/x.json").withKind(ErrorKind::ConfigFile, "/x.json");
  EXPECT_EQ(file.userMessage(), "/x.json: Permission denied");

  Error exists =
      Error::withErrno(EEXIST, "/t/eslint.json already exists").withKind(ErrorKind::Exists, "/t/eslint.json");
  Error wrapped = exists.wrap("get");
  EXPECT_EQ(wrapped.kind(), ErrorKind::Exists);
  EXPECT_EQ(wrapped.subject(), "/t/eslint.json");
  EXPECT_EQ(wrapped.code(), EEXIST);
  EXPECT_EQ(wrapped.userMessage(), "get: /t/eslint.json already exists");
  EXPECT_EQ(wrapped.describe(), "get: /t/eslint.json already exists: File exists");
  Error moved = Error(exists).withExitCode(127).wrap("run");
  EXPECT_EQ(moved.kind(), ErrorKind::Exists);
  EXPECT_EQ(moved.exitCode(), 127);
}

}  // namespace
}  // namespace coco
