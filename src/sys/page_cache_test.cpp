#include "sys/page_cache.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"
#include "util/unique_fd.hpp"

namespace coco::sys {
namespace {

constexpr uint64_t kSize = (8 << 20) + 123;  // not a whole number of pages
constexpr uint64_t kStray = 1 << 20;         // what a drop may leave, or other activity bring in

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
      GTEST_SKIP() << dir_.path() << " is on a file system coco does not read files in on (f_type 0x"
                   << std::hex << fs.f_type << ")";
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

// A file the cache holds part of, as the kernel's reclaim leaves one page by page, is not read
// again whole for each run (that cost node's 126 MB, ~30 ms a run); only one that the cache holds
// none of is, whatever else of it is cached.
TEST_F(PageCache, OnlyAFileTheCacheHoldsNoneOfIsReadIn) {
  ASSERT_TRUE(readIntoPageCache(dir_.path(), "node", kSize));
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  ASSERT_EQ(cachedProbes(fd.get(), kSize), kCacheProbes);
  // Seven of the eight parts dropped, each with its probe: one left is enough.
  const uint64_t part = kSize / kCacheProbes;
  ASSERT_EQ(::posix_fadvise(fd.get(), 0, static_cast<off_t>(7 * part), POSIX_FADV_DONTNEED), 0);
  ASSERT_EQ(cachedProbes(fd.get(), kSize), 1);
  EXPECT_FALSE(readIntoPageCache(dir_.path(), "node", kSize));
  auto dropped = cachedBytes(fd.get(), 0, 7 * part);
  ASSERT_TRUE(dropped.has_value());
  EXPECT_LT(*dropped, kStray) << "a file the cache holds part of was read again";

  // All of it dropped but its first and last pages, which no probe looks at: read in.
  ASSERT_EQ(::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED), 0);
  ASSERT_EQ(::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_RANDOM), 0);  // no readahead around the two
  char byte;
  ASSERT_EQ(::pread(fd.get(), &byte, 1, 0), 1);
  ASSERT_EQ(::pread(fd.get(), &byte, 1, static_cast<off_t>(kSize - 1)), 1);
  ASSERT_EQ(cachedProbes(fd.get(), kSize), 0);
  EXPECT_TRUE(readIntoPageCache(dir_.path(), "node", kSize));
  auto cached = cachedNow(path_);
  ASSERT_TRUE(cached.has_value());
  EXPECT_GE(*cached, kSize);
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

// Writes `size` bytes to a new file at `path` in writes of `chunk` bytes, then syncs it.
void writeFile(const std::string& path, uint64_t size, size_t chunk, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  ASSERT_TRUE(fd) << path << ": " << strerror(errno);
  ASSERT_EQ(::fchmod(fd.get(), mode), 0);
  std::string block(chunk, 'y');
  for (uint64_t done = 0; done < size; done += chunk) {
    size_t n = std::min<uint64_t>(chunk, size - done);
    ASSERT_EQ(::write(fd.get(), block.data(), n), static_cast<ssize_t>(n)) << strerror(errno);
  }
  ASSERT_EQ(::fsync(fd.get()), 0);
}

void drop(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd) << path;
  ASSERT_EQ(::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED), 0);
}

// The share of the file's pages that sit in large folios (a compound page's head or tail), from
// /proc/self/pagemap and /proc/kpageflags; nullopt where they do not give page frames (not root).
std::optional<double> largeFolioShare(const std::string& path) {
  constexpr uint64_t kHead = 1ull << 15, kTail = 1ull << 16;  // KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  UniqueFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  UniqueFd flags(::open("/proc/kpageflags", O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (!fd || !pagemap || !flags || ::fstat(fd.get(), &st) != 0) return std::nullopt;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t pages = static_cast<size_t>(st.st_size) / page;
  void* map = ::mmap(nullptr, pages * page, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (map == MAP_FAILED) return std::nullopt;
  size_t large = 0, known = 0;
  for (size_t i = 0; i < pages; ++i) {
    volatile char touch = static_cast<const char*>(map)[i * page];
    (void)touch;
    uint64_t entry = 0, f = 0;
    off_t at = static_cast<off_t>((reinterpret_cast<uintptr_t>(map) / page + i) * sizeof entry);
    if (::pread(pagemap.get(), &entry, sizeof entry, at) != sizeof entry) break;
    uint64_t pfn = entry & ((1ull << 55) - 1);
    if (!(entry >> 63) || pfn == 0) continue;  // not present, or the frame is hidden (no CAP_SYS_ADMIN)
    if (::pread(flags.get(), &f, sizeof f, static_cast<off_t>(pfn * sizeof f)) != sizeof f) break;
    ++known;
    if (f & (kHead | kTail)) ++large;
  }
  ::munmap(map, pages * page);
  if (known < pages / 2) return std::nullopt;
  return static_cast<double>(large) / static_cast<double>(known);
}

void dropAndCheck(const std::string& path) {
  drop(path);
  auto n = cachedNow(path);
  ASSERT_TRUE(n);
  ASSERT_LT(*n, kStray) << path << " did not leave the page cache";
}

// The bytes this process has had read from storage (/proc/self/io read_bytes); nullopt without
// the kernel's task I/O accounting.
std::optional<uint64_t> bytesReadFromStorage() {
  auto text = fs::readFile("/proc/self/io");
  if (!text) return std::nullopt;
  const std::string& io = *text;
  auto at = io.find("\nread_bytes: ");
  if (at == std::string::npos) return std::nullopt;
  return std::stoull(io.substr(at + 13));
}

// A layer's large executable, written in 4 KiB pieces (as small as the page cache's folios get),
// is dropped and read back so that it sits in large folios; the test reads the folios from the
// kernel's page flags (as root).
TEST_F(PageCache, ALayersLargeExecutablesAreReadBackInLargeFolios) {
  if (!largeFolioShare(path_)) GTEST_SKIP() << "/proc/kpageflags gives no page frames here (it needs root)";
  const uint64_t big = 9 << 20;
  std::string probe = dir_.sub("probe");
  writeFile(probe, 4 << 20, 1 << 20, 0644);
  if (*largeFolioShare(probe) < 0.5)
    GTEST_SKIP() << "this kernel keeps " << dir_.path()
                 << "'s file pages in small folios even from 1 MiB writes";
  std::string layer = dir_.sub("layer");
  ASSERT_EQ(::mkdir(layer.c_str(), 0755), 0);
  std::string exe = layer + "/node";
  writeFile(exe, big, 4096, 0755);
  auto before = largeFolioShare(exe);
  ASSERT_TRUE(before);
  if (*before > 0.5) GTEST_SKIP() << "this kernel makes large folios from 4 KiB writes: nothing to show";
  UniqueFd root(::open(layer.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(root);
  EXPECT_EQ(rereadLargeExecutables(root.get(), {.minBytes = 8 << 20}), big);
  auto after = largeFolioShare(exe);
  ASSERT_TRUE(after);
  EXPECT_GT(*after, 0.5) << "before: " << *before;
}

// What the walk reads, seen through cachestat (no root needed): the large executables anywhere
// beneath the layer, a hard-linked one once; not a large file without an execute bit, a small
// executable, a large executable outside the layer that a symlink names (as a file or as a
// directory on the way), nor a fifo (which must not block the walk).
TEST_F(PageCache, RereadReadsLargeExecutablesOnlyBeneathTheLayer) {
  const uint64_t big = 9 << 20;
  std::string layer = dir_.sub("layer");
  for (const char* d : {"", "/usr", "/usr/lib", "/usr/lib/deep"})
    ASSERT_EQ(::mkdir((layer + d).c_str(), 0755), 0) << d;
  std::string top = layer + "/tool", deep = layer + "/usr/lib/deep/node";
  writeFile(top, big, 1 << 20, 0755);
  writeFile(deep, big, 1 << 20, 0700);
  ASSERT_EQ(::link(top.c_str(), (layer + "/usr/tool-again").c_str()), 0);
  writeFile(layer + "/data", big, 1 << 20, 0644);
  writeFile(layer + "/small", 1 << 20, 1 << 20, 0755);
  std::string outside = dir_.sub("outside");
  ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
  writeFile(outside + "/node", big, 1 << 20, 0755);
  ASSERT_EQ(::symlink((outside + "/node").c_str(), (layer + "/usr/link").c_str()), 0);
  ASSERT_EQ(::symlink(outside.c_str(), (layer + "/usr/dirlink").c_str()), 0);
  ASSERT_EQ(::mkfifo((layer + "/fifo").c_str(), 0755), 0);
  const std::string untouched[] = {layer + "/data", layer + "/small", outside + "/node"};
  // `top` stays cached as it was written: only a drop makes the walk read it from the disk.
  dropAndCheck(deep);
  for (const std::string& f : untouched) dropAndCheck(f);
  auto storageBefore = bytesReadFromStorage();

  UniqueFd root(::open(layer.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(root);
  EXPECT_EQ(rereadLargeExecutables(root.get(), {.minBytes = 8 << 20}), 2 * big) << "each file once";
  for (const std::string& f : {top, deep}) {
    auto n = cachedNow(f);
    ASSERT_TRUE(n);
    EXPECT_GE(*n, big) << f << " was not read";
  }
  for (const std::string& f : untouched) {
    auto n = cachedNow(f);
    ASSERT_TRUE(n);
    EXPECT_LT(*n, kStray) << f << " was read";
  }
  if (auto storageAfter = bytesReadFromStorage(); storageBefore && storageAfter)
    EXPECT_GE(*storageAfter - *storageBefore, 2 * big - kStray)
        << "the cached executable was not dropped before its read (only one file came from the disk)";
  else
    std::cout
        << "[ NOTE     ] no /proc/self/io (task I/O accounting): the drop before the read is not checked\n";
  // With no lower bound the fifo and the symlinks are still no file to read; the small
  // executable now is, and the large ones count again.
  dropAndCheck(outside + "/node");
  EXPECT_EQ(rereadLargeExecutables(root.get(), {.minBytes = 0}), 2 * big + (1 << 20));
  auto n = cachedNow(outside + "/node");
  ASSERT_TRUE(n);
  EXPECT_LT(*n, kStray) << "a symlink was followed";
}

// The limits: a file over maxBytes, and what would pass totalBytes, are left alone.
TEST_F(PageCache, RereadStopsAtItsLimits) {
  std::string layer = dir_.sub("layer");
  ASSERT_EQ(::mkdir(layer.c_str(), 0755), 0);
  for (const char* name : {"a", "b", "c"}) writeFile(layer + "/" + name, 2 << 20, 1 << 20, 0755);
  writeFile(layer + "/huge", 5 << 20, 1 << 20, 0755);
  for (const char* name : {"a", "b", "c", "huge"}) drop(layer + "/" + name);
  UniqueFd root(::open(layer.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(root);
  EXPECT_EQ(
      rereadLargeExecutables(root.get(), {.minBytes = 1 << 20, .maxBytes = 4 << 20, .totalBytes = 5 << 20}),
      4u << 20);
  int read = 0;
  for (const char* name : {"a", "b", "c"}) {
    auto n = cachedNow(layer + "/" + name);
    ASSERT_TRUE(n);
    if (*n >= (2u << 20)) ++read;
  }
  EXPECT_EQ(read, 2) << "two of the three fit within totalBytes";
  auto huge = cachedNow(layer + "/huge");
  ASSERT_TRUE(huge);
  EXPECT_EQ(*huge, 0u) << "a file over maxBytes was read";
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
