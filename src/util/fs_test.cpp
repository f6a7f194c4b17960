#include "util/fs.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

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

// The string is sized by fstat: a file that reports no size (/proc) still
// reads whole, and one that says 1 TiB (sparse, as a sandbox can make it) is
// trusted only up to 1 MiB: read until the cap, never allocated at once.
TEST(Fs, ReadFileTrustsTheSizeFstatGivesOnlySoFar) {
  auto status = readFile("/proc/self/status");
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ(status->rfind("Name:", 0), 0u);
  EXPECT_NE(status->find("\nSeccomp:"), std::string::npos) << "cut short: " << *status;
  char tmpl[] = "/tmp/coco-fs-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  {
    UniqueFd fd(::open((dir + "/sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    ASSERT_TRUE(fd);
    ASSERT_EQ(::ftruncate(fd.get(), off_t{1} << 40), 0);
  }
  auto over = readFileAtMost(dir + "/sparse", 8 << 20);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code(), EFBIG);
  ASSERT_TRUE(writeFileAtomic(dir + "/exact", std::string(4096, 'y')).ok());
  EXPECT_EQ(*readFile(dir + "/exact"), std::string(4096, 'y'));
  ASSERT_TRUE(removeTree(dir).ok());
}

TEST(Fs, IsAtOrBelowComparesWholeComponents) {
  EXPECT_TRUE(isAtOrBelow("/a/b", "/a/b"));
  EXPECT_TRUE(isAtOrBelow("/a/b/c", "/a/b"));
  EXPECT_FALSE(isAtOrBelow("/a/bc", "/a/b"));
  EXPECT_FALSE(isAtOrBelow("/a", "/a/b"));
  EXPECT_TRUE(isAtOrBelow("/anything", "/"));
  EXPECT_TRUE(isAtOrBelow("/", "/"));
}

// A FIFO or a device where a file was expected (a planted symlink to /dev/zero, a FIFO that
// nobody writes): refused at once, never an endless or blocking read.
TEST(Fs, ReadFileRefusesWhatIsNotARegularFile) {
  char tmpl[] = "/tmp/coco-fs-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0600), 0);
  ASSERT_EQ(::symlink("/dev/zero", (dir + "/zero").c_str()), 0);
  for (const char* name : {"/fifo", "/zero", ""}) {
    auto read = readFile(dir + name);
    ASSERT_FALSE(read.ok()) << name;
    EXPECT_EQ(read.error().code(), EINVAL) << name;
    EXPECT_NE(read.error().message().find("not a regular file"), std::string::npos) << read.error().message();
  }
  EXPECT_FALSE(readFileAtMost(dir + "/zero", 1 << 20).ok());
  ASSERT_TRUE(removeTree(dir).ok());
}

}  // namespace
}  // namespace coco::fs
