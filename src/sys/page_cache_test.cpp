#include "sys/page_cache.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "util/temp_dir.hpp"
#include "util/unique_fd.hpp"

namespace coco::sys {
namespace {

constexpr uint64_t kSize = (8 << 20) + 123;  // not a whole number of pages

std::optional<uint64_t> cachedNow(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  return fd ? cachedBytes(fd.get()) : std::nullopt;
}

class PageCache : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    path_ = dir_.sub("node");
    UniqueFd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd) << strerror(errno);
    // Checked first, on its own: only a kernel without cachestat (or a seccomp policy around
    // this test that refuses it) skips.
    if (!cachedBytes(fd.get()) && (errno == ENOSYS || errno == EPERM))
      GTEST_SKIP() << "cachestat (Linux 6.5) is not available here: " << strerror(errno);
    struct statfs fs;
    ASSERT_EQ(::fstatfs(fd.get(), &fs), 0);
    if (!keepsItsPageCache(static_cast<int64_t>(fs.f_type)))
      GTEST_SKIP() << dir_.path() << " is on a file system coco does not read files in on (f_type 0x" << std::hex
                   << fs.f_type << ")";
    std::string block(1 << 20, 'x');
    for (uint64_t done = 0; done < kSize; done += block.size()) {
      size_t n = std::min<uint64_t>(block.size(), kSize - done);
      ASSERT_EQ(::write(fd.get(), block.data(), n), static_cast<ssize_t>(n)) << strerror(errno);
    }
    ASSERT_EQ(::fsync(fd.get()), 0);
    ASSERT_EQ(::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED), 0);
    auto dropped = cachedBytes(fd.get());
    ASSERT_TRUE(dropped.has_value()) << strerror(errno);
    ASSERT_LT(*dropped, kSize / 2) << "the file did not leave the page cache";
  }
  TempDir dir_;
  std::string path_;
};

TEST_F(PageCache, AFileNotInTheCacheIsReadInWhole) {
  EXPECT_TRUE(readIntoPageCache(dir_.path(), "node", kSize));
  auto cached = cachedNow(path_);
  ASSERT_TRUE(cached.has_value());
  EXPECT_GE(*cached, kSize);
  EXPECT_FALSE(readIntoPageCache(dir_.path(), "node", kSize)) << "a file wholly cached is not read again";
}

// The file a tool layer names as node comes from an install: a planted symlink (as the file or on
// the way), fifo or directory, a `..`, or a file larger than the caller allows, is not read (and a
// fifo does not block).
TEST_F(PageCache, NothingButARegularFileBeneathTheDirectoryAndWithinTheLimitIsRead) {
  EXPECT_FALSE(readIntoPageCache(dir_.path(), "node", kSize - 1));
  auto cached = cachedNow(path_);
  ASSERT_TRUE(cached.has_value());
  EXPECT_LT(*cached, kSize / 2) << "a file over the limit was read";

  ASSERT_EQ(::symlink(path_.c_str(), dir_.sub("link").c_str()), 0);
  ASSERT_EQ(::symlink(dir_.path().c_str(), dir_.sub("dirlink").c_str()), 0);
  ASSERT_EQ(::mkfifo(dir_.sub("fifo").c_str(), 0644), 0);
  ASSERT_EQ(::mkdir(dir_.sub("sub").c_str(), 0755), 0);
  std::string up = "../" + dir_.path().substr(dir_.path().rfind('/') + 1) + "/node";
  for (const std::string& other : {std::string("link"), std::string("dirlink/node"), std::string("fifo"),
                                   std::string("sub"), std::string("missing"), up})
    EXPECT_FALSE(readIntoPageCache(dir_.path(), other, kSize)) << other;
  cached = cachedNow(path_);
  ASSERT_TRUE(cached.has_value());
  EXPECT_LT(*cached, kSize / 2) << "a symlink or .. was followed";
}

TEST(PageCacheFileSystems, OnlyDiskFileSystemsThatKeepTheirOwnPages) {
  for (int64_t yes : {int64_t{EXT4_SUPER_MAGIC}, int64_t{0x58465342} /* xfs */, int64_t{BTRFS_SUPER_MAGIC}})
    EXPECT_TRUE(keepsItsPageCache(yes)) << std::hex << yes;
  for (int64_t no : {int64_t{OVERLAYFS_SUPER_MAGIC}, int64_t{0x65735546} /* fuse */, int64_t{NFS_SUPER_MAGIC},
                     int64_t{TMPFS_MAGIC}, int64_t{0}})
    EXPECT_FALSE(keepsItsPageCache(no)) << std::hex << no;
}

}  // namespace
}  // namespace coco::sys
