#include "sys/page_cache.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "sys/beneath.hpp"
#include "util/unique_fd.hpp"

#ifndef SYS_cachestat
#define SYS_cachestat 451  // the same number on every architecture (the unified syscall table)
#endif
#ifndef XFS_SUPER_MAGIC
#define XFS_SUPER_MAGIC 0x58465342
#endif

namespace coco::sys {

namespace {

struct CachestatRange {
  uint64_t off, len;
};
struct Cachestat {
  uint64_t nrCache, nrDirty, nrWriteback, nrEvicted, nrRecentlyEvicted;
};

}  // namespace

std::optional<uint64_t> cachedBytes(int fd) {
  CachestatRange range{0, 0};  // len 0: to the end of the file
  Cachestat stat{};
  if (::syscall(SYS_cachestat, fd, &range, &stat, 0) != 0) return std::nullopt;
  return stat.nrCache * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

bool keepsItsPageCache(int64_t fsType) {
  return fsType == EXT4_SUPER_MAGIC || fsType == XFS_SUPER_MAGIC || fsType == static_cast<int64_t>(BTRFS_SUPER_MAGIC);
}

namespace {

// Reads `size` bytes of `fd` from its start in 1 MiB reads; false on an error or a short file.
bool readWhole(int fd, uint64_t size) {
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  constexpr size_t kChunk = 1 << 20;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  for (uint64_t done = 0; done < size;) {
    ssize_t n = ::pread(fd, buf.get(), kChunk, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // an error, or the file shrank
    done += static_cast<uint64_t>(n);
  }
  return true;
}

bool onAKeepingFileSystem(int fd) {
  struct statfs fs;
  return ::fstatfs(fd, &fs) == 0 && keepsItsPageCache(static_cast<int64_t>(fs.f_type));
}

constexpr int kMaxDepth = 256;

void reread(int dirFd, dev_t dev, int depth, const RereadLimits& limits, uint64_t& total) {
  if (depth > kMaxDepth) return;
  int fd = ::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return;
  }
  std::unique_ptr<DIR, int (*)(DIR*)> closer(d, ::closedir);
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    if (e->d_type != DT_DIR && e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    struct stat st;
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != dev) continue;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub) reread(sub.get(), dev, depth + 1, limits, total);
      continue;
    }
    auto size = static_cast<uint64_t>(st.st_size);
    if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111) || size < limits.minBytes || size > limits.maxBytes ||
        total + size > limits.totalBytes)
      continue;
    // O_NONBLOCK: should the entry have become a fifo since the fstatat, the open does not wait.
    UniqueFd file(::openat(::dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    struct stat now;
    if (!file || ::fstat(file.get(), &now) != 0 || !S_ISREG(now.st_mode) || now.st_ino != st.st_ino ||
        now.st_dev != dev)
      continue;
    // Dirty pages are not dropped: the caller synced the tree; a page still dirty stays as it is.
    if (::posix_fadvise(file.get(), 0, 0, POSIX_FADV_DONTNEED) != 0) continue;
    total += size;
    readWhole(file.get(), size);
  }
}

}  // namespace

uint64_t rereadLargeExecutables(int dirFd, const RereadLimits& limits) {
  struct stat st;
  if (::fstat(dirFd, &st) != 0 || !S_ISDIR(st.st_mode) || !onAKeepingFileSystem(dirFd)) return 0;
  uint64_t total = 0;
  reread(dirFd, st.st_dev, 0, limits, total);
  return total;
}

bool readIntoPageCache(const std::string& dir, const std::string& rel, uint64_t maxBytes) {
  UniqueFd root(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return false;
  // O_NONBLOCK: a fifo planted where the file was resolved cannot hold the run.
  UniqueFd fd(openat2Beneath(root.get(), rel.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
      static_cast<uint64_t>(st.st_size) > maxBytes || !onAKeepingFileSystem(fd.get()))
    return false;
  auto cached = cachedBytes(fd.get());
  if (!cached || *cached >= static_cast<uint64_t>(st.st_size)) return false;
  return readWhole(fd.get(), static_cast<uint64_t>(st.st_size));
}

}  // namespace coco::sys
