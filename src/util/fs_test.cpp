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

// A scratch directory with what a hostile sandbox leaves behind.
class Untrusted : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coco-untrusted-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    outside_ = dir_ + "/outside";
    box_ = dir_ + "/box";
    ASSERT_TRUE(makeDirs(outside_).ok());
    ASSERT_TRUE(makeDirs(box_ + "/sub").ok());
    ASSERT_TRUE(writeFileAtomic(outside_ + "/secret", "HOST-SECRET\n").ok());
    ASSERT_TRUE(writeFileAtomic(box_ + "/ok.json", "{\"a\": 1}").ok());
    ASSERT_TRUE(writeFileAtomic(box_ + "/sub/deep", "deep").ok());
  }
  void TearDown() override { (void)removeTree(dir_); }
  void link(const std::string& target, const std::string& name) {
    ASSERT_EQ(::symlink(target.c_str(), (box_ + "/" + name).c_str()), 0) << name;
  }

  std::string dir_, outside_, box_;
};

TEST_F(Untrusted, ReadsRegularFilesBeneath) {
  EXPECT_EQ(*readUntrusted(box_, "ok.json", 100), "{\"a\": 1}");
  EXPECT_EQ(*readUntrusted(box_, "sub/deep", 100), "deep");
  EXPECT_EQ(*readUntrusted(box_, "./sub//deep", 100), "deep");
  UniqueFd fd(::open(box_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  EXPECT_EQ(*readUntrusted(fd.get(), "ok.json", 8), "{\"a\": 1}");
  auto missing = readUntrusted(box_, "nope", 100);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ENOENT);
}

TEST_F(Untrusted, RefusesSymlinksEvenToFilesInside) {
  link(outside_ + "/secret", "abs");
  link("../outside/secret", "rel");
  link("ok.json", "inside");
  link("/dev/zero", "zero");
  link(outside_, "dirlink");
  for (std::string name : {"abs", "rel", "inside", "zero", "dirlink/secret"}) {
    auto r = readUntrusted(box_, name, 1 << 20);
    ASSERT_FALSE(r.ok()) << name << " was read: " << *r;
    EXPECT_EQ(r.error().code(), ELOOP) << name;
    EXPECT_NE(r.error().message().find(box_ + "/" + name), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("symbolic link"), std::string::npos) << r.error().message();
  }
}

TEST_F(Untrusted, RefusesNamesThatLeave) {
  for (const std::string& name : std::vector<std::string>{"../outside/secret", "sub/../../outside/secret", outside_ + "/secret"}) {
    auto r = readUntrusted(box_, name, 1 << 20);
    ASSERT_FALSE(r.ok()) << name << " was read: " << *r;
    EXPECT_EQ(r.error().code(), EXDEV) << name;
  }
}

TEST_F(Untrusted, RefusesFifosWithoutWaitingAndOtherKinds) {
  ASSERT_EQ(::mkfifo((box_ + "/fifo").c_str(), 0600), 0);
  auto start = std::chrono::steady_clock::now();
  auto fifo = readUntrusted(box_, "fifo", 100);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_FALSE(fifo.ok());
  EXPECT_NE(fifo.error().message().find("a fifo, not a regular file"), std::string::npos) << fifo.error().message();
  auto dir = readUntrusted(box_, "sub", 100);
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().message().find("a directory"), std::string::npos) << dir.error().message();
  // A device reached through a trusted directory is still no regular file.
  auto zero = readUntrusted("/dev", "zero", 100);
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.error().message().find("a character device"), std::string::npos) << zero.error().message();
}

TEST_F(Untrusted, CapsTheSize) {
  ASSERT_TRUE(writeFileAtomic(box_ + "/big", std::string(4097, 'x')).ok());
  EXPECT_EQ(readUntrusted(box_, "big", 4097)->size(), 4097u);
  auto big = readUntrusted(box_, "big", 4096);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code(), EFBIG);
  EXPECT_NE(big.error().message().find(box_ + "/big"), std::string::npos) << big.error().message();
  // /proc files say size 0 and have more: the cap holds for what is read too.
  auto grown = readUntrusted("/proc/self", "maps", 16);
  ASSERT_FALSE(grown.ok());
  EXPECT_EQ(grown.error().code(), EFBIG);
}

TEST_F(Untrusted, MakeDirsBeneathNeverFollowsSymlinks) {
  UniqueFd root(::open(box_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(makeDirsBeneath(root.get(), "new/a/b").ok());
  EXPECT_TRUE(isDirectory(box_ + "/new/a/b"));
  EXPECT_TRUE(makeDirsBeneath(root.get(), "new/a/b").ok());  // existing is fine
  link(outside_, "planted");
  auto through = makeDirsBeneath(root.get(), "planted/x");
  ASSERT_FALSE(through.ok());
  EXPECT_EQ(through.error().code(), ELOOP);
  link(outside_ + "/missing", "dangling");
  EXPECT_FALSE(makeDirsBeneath(root.get(), "dangling").ok());
  EXPECT_FALSE(makeDirsBeneath(root.get(), "sub/../../escaped").ok());
  EXPECT_FALSE(exists(outside_ + "/x"));
  EXPECT_FALSE(exists(outside_ + "/missing"));
  EXPECT_FALSE(exists(dir_ + "/escaped"));
}

TEST_F(Untrusted, FirstSymlinkBeneathNamesIt) {
  link(outside_, "a");
  EXPECT_EQ(firstSymlinkBeneath(box_, "a/b/c"), box_ + "/a");
  EXPECT_EQ(firstSymlinkBeneath(box_, "sub/deep"), "");
  EXPECT_EQ(firstSymlinkBeneath(box_, "missing/x"), "");
}

}  // namespace
}  // namespace coco::fs
