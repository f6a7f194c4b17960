#include "sys/beneath.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "util/fs.hpp"

namespace coco::sys {
namespace {

// A scratch directory with what a hostile sandbox leaves behind.
class Untrusted : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coco-untrusted-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    outside_ = dir_ + "/outside";
    box_ = dir_ + "/box";
    ASSERT_TRUE(fs::makeDirs(outside_).ok());
    ASSERT_TRUE(fs::makeDirs(box_ + "/sub").ok());
    ASSERT_TRUE(fs::writeFileAtomic(outside_ + "/secret", "HOST-SECRET\n").ok());
    ASSERT_TRUE(fs::writeFileAtomic(box_ + "/ok.json", "{\"a\": 1}").ok());
    ASSERT_TRUE(fs::writeFileAtomic(box_ + "/sub/deep", "deep").ok());
  }
  void TearDown() override { (void)fs::removeTree(dir_); }
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
  ASSERT_TRUE(fs::writeFileAtomic(box_ + "/big", std::string(4097, 'x')).ok());
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
  EXPECT_TRUE(fs::isDirectory(box_ + "/new/a/b"));
  EXPECT_TRUE(makeDirsBeneath(root.get(), "new/a/b").ok());  // existing is fine
  link(outside_, "planted");
  auto through = makeDirsBeneath(root.get(), "planted/x");
  ASSERT_FALSE(through.ok());
  EXPECT_EQ(through.error().code(), ELOOP);
  link(outside_ + "/missing", "dangling");
  EXPECT_FALSE(makeDirsBeneath(root.get(), "dangling").ok());
  EXPECT_FALSE(makeDirsBeneath(root.get(), "sub/../../escaped").ok());
  EXPECT_FALSE(fs::exists(outside_ + "/x"));
  EXPECT_FALSE(fs::exists(outside_ + "/missing"));
  EXPECT_FALSE(fs::exists(dir_ + "/escaped"));
}

TEST_F(Untrusted, FirstSymlinkBeneathNamesIt) {
  link(outside_, "a");
  EXPECT_EQ(firstSymlinkBeneath(box_, "a/b/c"), box_ + "/a");
  EXPECT_EQ(firstSymlinkBeneath(box_, "sub/deep"), "");
  EXPECT_EQ(firstSymlinkBeneath(box_, "missing/x"), "");
}

// The engine's mount targets: openPathBeneath against what a hostile image plants.
class PathBeneath : public Untrusted {
 protected:
  void SetUp() override {
    Untrusted::SetUp();
    root_.reset(::open(box_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_);
  }
  int open(const char* path, unsigned options) {
    int fd = openPathBeneath(root_.get(), path, options);
    if (fd >= 0) ::close(fd);
    return fd < 0 ? fd : 0;
  }
  UniqueFd root_;
};

TEST_F(PathBeneath, OpensPlainPathsAbsoluteOrNot) {
  EXPECT_EQ(open("/sub/deep", 0), 0);
  EXPECT_EQ(open("sub/deep", 0), 0);
  EXPECT_EQ(open("/sub", kWantDir), 0);
  EXPECT_EQ(open("/", kWantDir), 0);
  EXPECT_EQ(open("/missing", 0), -ENOENT);
  EXPECT_EQ(open("/ok.json", kWantDir), -ELOOP);  // a file where a directory must be
  EXPECT_EQ(open("/ok.json/x", 0), -ELOOP);
}

TEST_F(PathBeneath, RefusesASymlinkInTheMiddle) {
  link("sub", "inner");  // even one that stays inside
  link(outside_, "outer");
  for (unsigned o : {0u, unsigned(kSymlinkOk), unsigned(kCreate), unsigned(kCreate | kSymlinkOk)}) {
    EXPECT_EQ(open("/inner/deep", o), -ELOOP) << o;
    EXPECT_EQ(open("/outer/secret", o), -ELOOP) << o;
    EXPECT_EQ(open("/outer/new", o | kWantDir), -ELOOP) << o;
  }
  EXPECT_FALSE(fs::exists(outside_ + "/new"));
}

TEST_F(PathBeneath, RefusesDotDot) {
  for (unsigned o : {0u, unsigned(kCreate), unsigned(kSymlinkOk)}) {
    EXPECT_EQ(open("/../outside/secret", o), -EINVAL) << o;
    EXPECT_EQ(open("/sub/../../outside/secret", o), -EINVAL) << o;
    EXPECT_EQ(open("/sub/..", o | kWantDir), -EINVAL) << o;
  }
}

TEST_F(PathBeneath, RefusesAbsoluteAndRelativeSymlinksOut) {
  link(outside_ + "/secret", "abs");
  link("../outside/secret", "rel");
  link(outside_, "absdir");
  EXPECT_EQ(open("/abs", 0), -ELOOP);
  EXPECT_EQ(open("/rel", 0), -ELOOP);
  EXPECT_EQ(open("/absdir", kWantDir), -ELOOP);
  EXPECT_EQ(open("/absdir", kWantDir | kCreate), -ELOOP);
  EXPECT_EQ(open("/absdir/x", kCreate), -ELOOP);
  EXPECT_FALSE(fs::exists(outside_ + "/x"));
}

TEST_F(PathBeneath, FinalSymlinkOnlyWithSymlinkOk) {
  link(outside_ + "/secret", "abs");
  ASSERT_EQ(open("/abs", 0), -ELOOP);
  int fd = openPathBeneath(root_.get(), "/abs", kSymlinkOk);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(::fstat(fd, &st), 0);
  ::close(fd);
  EXPECT_TRUE(S_ISLNK(st.st_mode)) << "the symlink itself, never its target";
  fd = openPathBeneath(root_.get(), "/abs", kSymlinkOk | kCreate);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fstat(fd, &st), 0);
  ::close(fd);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(PathBeneath, CreateMakesTheIntermediateDirectories) {
  int fd = openPathBeneath(root_.get(), "/a/b/c", kCreate | kWantDir);
  ASSERT_GE(fd, 0) << -fd;
  ::close(fd);
  EXPECT_TRUE(fs::isDirectory(box_ + "/a/b/c"));
  EXPECT_EQ(open("/x/y/file", kCreate), 0);
  struct stat st;
  ASSERT_EQ(::stat((box_ + "/x/y/file").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(open("/a/b/c", kCreate | kWantDir), 0);  // existing is fine
  EXPECT_EQ(open("/ok.json/x", kCreate), -ELOOP);  // a file in the way
}

// The walk starts at the caller's descriptor itself (no copy of it): it must never close it, and
// the root ("" or ".") still comes back as a descriptor of its own.
TEST_F(PathBeneath, CreateNeverClosesTheCallersDescriptor) {
  for (const char* path : {"/single", "/sub", "/new/dir/made", "", "."}) {
    int fd = openPathBeneath(root_.get(), path, kCreate | kWantDir);
    ASSERT_GE(fd, 0) << path << ": " << -fd;
    EXPECT_NE(fd, root_.get()) << path;
    ::close(fd);
    EXPECT_EQ(::fcntl(root_.get(), F_GETFD), FD_CLOEXEC) << "the caller's descriptor after " << path;
  }
  EXPECT_EQ(open("/single/x", kCreate), 0);
  EXPECT_EQ(open("/sub/deep", kCreate), 0);
  EXPECT_EQ(::fcntl(root_.get(), F_GETFD), FD_CLOEXEC);
  auto dir = makeDirsBeneath(root_.get(), "", 0700, O_RDONLY);
  ASSERT_TRUE(dir.ok()) << dir.error().describe();
  EXPECT_NE(dir->get(), root_.get());
  EXPECT_EQ(::fcntl(root_.get(), F_GETFD), FD_CLOEXEC);
}

TEST_F(PathBeneath, FifoIsNotOpenedForIo) {
  ASSERT_EQ(::mkfifo((box_ + "/fifo").c_str(), 0600), 0);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(open("/fifo", 0), 0);  // O_PATH: never waits for a writer
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(Untrusted, MakeDirsBeneathOpensWithTheFlagsAsked) {
  UniqueFd root(::open(box_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  auto dir = makeDirsBeneath(root.get(), "m/n", 0700, O_RDONLY);
  ASSERT_TRUE(dir.ok()) << dir.error().describe();
  int flags = ::fcntl(dir->get(), F_GETFL);
  EXPECT_EQ(flags & O_PATH, 0) << "an fd that fsetxattr can use";
  struct stat st;
  ASSERT_EQ(::stat((box_ + "/m/n").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

}  // namespace
}  // namespace coco::sys
