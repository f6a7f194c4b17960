#include "sys/page_cache.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "util/temp_dir.hpp"
#include "util/unique_fd.hpp"

namespace coco::sys {
namespace {

constexpr uint64_t kSize = 8 << 20;

// Written, flushed and dropped from the page cache: what the kernel holds of it afterwards.
std::optional<uint64_t> writtenAndDropped(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return std::nullopt;
  std::string block(1 << 20, 'x');
  for (uint64_t done = 0; done < kSize; done += block.size())
    if (::write(fd.get(), block.data(), block.size()) != static_cast<ssize_t>(block.size())) return std::nullopt;
  if (::fsync(fd.get()) != 0 || ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED) != 0) return std::nullopt;
  return cachedBytes(fd.get());
}

std::optional<uint64_t> cachedNow(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  return fd ? cachedBytes(fd.get()) : std::nullopt;
}

class PageCache : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    path_ = dir_.sub("node");
    auto dropped = writtenAndDropped(path_);
    if (!dropped && errno == ENOSYS) GTEST_SKIP() << "this kernel has no cachestat (Linux 6.5)";
    ASSERT_TRUE(dropped.has_value()) << strerror(errno);
    // A file system may keep a page or two (not every one drops clean pages on request).
    ASSERT_LT(*dropped, kSize / 2) << "the file did not leave the page cache";
  }
  TempDir dir_;
  std::string path_;
};

TEST_F(PageCache, AFileNotInTheCacheIsReadInWhole) {
  EXPECT_TRUE(readIntoPageCache(path_, kSize));
  auto cached = cachedNow(path_);
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(*cached, kSize);
  EXPECT_FALSE(readIntoPageCache(path_, kSize)) << "a file wholly cached is not read again";
}

// The file a tool layer names as node comes from an install: a planted symlink, fifo or
// directory, or a file larger than the caller allows, is not read (and a fifo does not block).
TEST_F(PageCache, NothingButARegularFileWithinTheLimitIsRead) {
  EXPECT_FALSE(readIntoPageCache(path_, kSize - 1));
  auto cached = cachedNow(path_);
  ASSERT_TRUE(cached.has_value());
  EXPECT_LT(*cached, kSize / 2) << "a file over the limit was read";

  std::string link = dir_.sub("link"), fifo = dir_.sub("fifo"), sub = dir_.sub("dir");
  ASSERT_EQ(::symlink(path_.c_str(), link.c_str()), 0);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  for (const auto& other : {link, fifo, sub, dir_.sub("missing")})
    EXPECT_FALSE(readIntoPageCache(other, kSize)) << other;
  cached = cachedNow(path_);
  ASSERT_TRUE(cached.has_value());
  EXPECT_LT(*cached, kSize / 2) << "the symlink was followed";
}

}  // namespace
}  // namespace coco::sys
