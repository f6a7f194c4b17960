#include "util/fs.hpp"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "util/temp_dir.hpp"
#include "util/unique_fd.hpp"

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

// A chain of `levels` directories named `name` below `top`, made by descriptor (its paths can
// be longer than PATH_MAX), a file in each; the deepest directory, open.
UniqueFd makeChain(const std::string& top, const std::string& name, int levels) {
  UniqueFd fd(::open(top.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  for (int i = 0; fd && i < levels; ++i) {
    if (::mkdirat(fd.get(), name.c_str(), 0755) != 0) return UniqueFd();
    UniqueFd(::openat(fd.get(), "f", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    fd = UniqueFd(::openat(fd.get(), name.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  return fd;
}

// 60 levels of 105-character names: 6300 characters, past PATH_MAX, which a sandbox can make.
TEST(RemoveTree, RemovesATreeDeeperThanPathMax) {
  TempDir t;
  ASSERT_FALSE(t.path().empty());
  ASSERT_EQ(::mkdir(t.sub("top").c_str(), 0755), 0);
  ASSERT_TRUE(makeChain(t.sub("top"), std::string(105, 'n'), 60));
  auto st = removeTree(t.sub("top"));
  EXPECT_TRUE(st.ok()) << st.error().describe();
  EXPECT_FALSE(exists(t.sub("top")));
}

// Thousands of levels: neither descriptors nor the stack run out.
TEST(RemoveTree, RemovesAChainOfThousandsOfLevels) {
  TempDir t;
  ASSERT_FALSE(t.path().empty());
  ASSERT_EQ(::mkdir(t.sub("top").c_str(), 0755), 0);
  ASSERT_TRUE(makeChain(t.sub("top"), "d", 2000));
  auto st = removeTree(t.sub("top"));
  EXPECT_TRUE(st.ok()) << st.error().describe();
  EXPECT_FALSE(exists(t.sub("top")));
}

// Symlinks in the tree (and the tree itself given as a symlink) are unlinked, never followed.
TEST(RemoveTree, UnlinksSymlinksWithoutTouchingTheirTargets) {
  TempDir t;
  ASSERT_FALSE(t.path().empty());
  ASSERT_TRUE(makeDirs(t.sub("outside/dir")).ok());
  ASSERT_TRUE(writeFileAtomic(t.sub("outside/file"), "target").ok());
  ASSERT_TRUE(writeFileAtomic(t.sub("outside/dir/inner"), "inner").ok());
  ASSERT_TRUE(makeDirs(t.sub("top/sub")).ok());
  ASSERT_EQ(::symlink(t.sub("outside/dir").c_str(), t.sub("top/dir-link").c_str()), 0);
  ASSERT_EQ(::symlink(t.sub("outside/file").c_str(), t.sub("top/sub/file-link").c_str()), 0);
  ASSERT_EQ(::symlink(t.sub("outside/dir").c_str(), t.sub("link-to-dir").c_str()), 0);
  ::chmod(t.sub("outside/dir").c_str(), 0500);
  EXPECT_TRUE(removeTree(t.sub("top")).ok());
  EXPECT_TRUE(removeTree(t.sub("link-to-dir")).ok());
  EXPECT_FALSE(exists(t.sub("top")));
  EXPECT_FALSE(exists(t.sub("link-to-dir")));
  EXPECT_EQ(*readFile(t.sub("outside/file")), "target");
  EXPECT_EQ(*readFile(t.sub("outside/dir/inner")), "inner");
  struct stat st;
  ASSERT_EQ(::stat(t.sub("outside/dir").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0500u);
  ::chmod(t.sub("outside/dir").c_str(), 0755);
}

// Read-only trees unpacked from images, and directories a sandbox locked (mode 000, one inside
// another), are opened up and removed.
TEST(RemoveTree, OpensUpDirectoriesWithoutOwnerPermissions) {
  TempDir t;
  ASSERT_FALSE(t.path().empty());
  ASSERT_TRUE(makeDirs(t.sub("top/locked/inner/deeper")).ok());
  ASSERT_TRUE(writeFileAtomic(t.sub("top/locked/inner/deeper/f"), "x").ok());
  ASSERT_TRUE(writeFileAtomic(t.sub("top/locked/f"), "x").ok());
  ASSERT_EQ(::chmod(t.sub("top/locked/inner/deeper").c_str(), 0), 0);
  ASSERT_EQ(::chmod(t.sub("top/locked/inner").c_str(), 0), 0);
  ASSERT_EQ(::chmod(t.sub("top/locked").c_str(), 0), 0);
  ASSERT_EQ(::chmod(t.sub("top").c_str(), 0500), 0);
  auto st = removeTree(t.sub("top"));
  EXPECT_TRUE(st.ok()) << st.error().describe();
  EXPECT_FALSE(exists(t.sub("top")));
}

TEST(RemoveTree, AMissingPathIsNothingToDo) {
  TempDir t;
  ASSERT_FALSE(t.path().empty());
  EXPECT_TRUE(removeTree(t.sub("missing")).ok());
  EXPECT_TRUE(removeTree(t.sub("missing/below")).ok());
}

// A tree in a read-only directory: all in it goes, and the error names the tree. 0 or a step.
int removeFromReadOnlyDirectory(const std::string& dir) {
  std::string top = dir + "/top";
  if (::mkdir(top.c_str(), 0755) != 0 || !makeChain(top, std::string(105, 'n'), 60)) return 1;
  if (::chmod(dir.c_str(), 0555) != 0) return 2;
  auto st = removeTree(top);
  ::chmod(dir.c_str(), 0755);
  if (st.ok() || st.error().code() != EACCES) return 3;
  if (st.error().message().find(top) == std::string::npos) return 4;
  if (!listDir(top).empty()) return 5;
  return removeTree(top).ok() ? 0 : 6;
}

// Root ignores modes: it runs that as nobody.
TEST(RemoveTree, AFailureNamesThePath) {
  TempDir t;
  ASSERT_FALSE(t.path().empty());
  if (::geteuid() != 0) {
    EXPECT_EQ(removeFromReadOnlyDirectory(t.path()), 0);
    return;
  }
  ASSERT_EQ(::chown(t.path().c_str(), 65534, 65534), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
    ::_exit(removeFromReadOnlyDirectory(t.path()));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 10) GTEST_SKIP() << "cannot become nobody";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: setup, 2: chmod, 3: result, 4: message, 5: left, 6: again";
}

// An immutable file deep in the tree (when the flag can be set): named by its path past PATH_MAX.
TEST(RemoveTree, AFailureDeepInsideNamesItsPath) {
  TempDir t;
  ASSERT_FALSE(t.path().empty());
  ASSERT_EQ(::mkdir(t.sub("top").c_str(), 0755), 0);
  std::string name(105, 'n');
  UniqueFd deepest = makeChain(t.sub("top"), name, 60);
  ASSERT_TRUE(deepest);
  UniqueFd file(::openat(deepest.get(), "f", O_RDONLY | O_CLOEXEC));
  int flags = FS_IMMUTABLE_FL;
  if (!file || ::ioctl(file.get(), FS_IOC_SETFLAGS, &flags) != 0)
    GTEST_SKIP() << "cannot make a file immutable";
  auto st = removeTree(t.sub("top"));
  flags = 0;
  ::ioctl(file.get(), FS_IOC_SETFLAGS, &flags);
  std::string failing = t.sub("top");
  for (int i = 0; i < 60; ++i) failing += "/" + name;
  failing += "/f";
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), EPERM);
  EXPECT_NE(st.error().message().find(failing), std::string::npos) << st.error().message();
  EXPECT_TRUE(removeTree(t.sub("top")).ok());
}

}  // namespace
}  // namespace coco::fs
