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
#include <set>

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

std::optional<uint64_t> cachedBytes(int fd, uint64_t offset, uint64_t length) {
  CachestatRange range{offset, length};  // len 0: to the end of the file
  Cachestat stat{};
  if (::syscall(SYS_cachestat, fd, &range, &stat, 0) != 0) return std::nullopt;
  return stat.nrCache * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

int cachedProbes(int fd, uint64_t size) {
  const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  int cached = 0;
  for (int i = 0; i < kCacheProbes; ++i) {
    // The middle of each of kCacheProbes equal parts, down to its page.
    uint64_t at = size / (2 * kCacheProbes) * (2 * static_cast<uint64_t>(i) + 1) / page * page;
    auto bytes = cachedBytes(fd, at, page);
    if (!bytes) return -1;
    if (*bytes > 0) ++cached;
  }
  return cached;
}

bool keepsItsPageCache(int64_t fsType) {
  return fsType == EXT4_SUPER_MAGIC || fsType == XFS_SUPER_MAGIC ||
         fsType == static_cast<int64_t>(BTRFS_SUPER_MAGIC);
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

struct Walk {
  dev_t dev;
  const RereadLimits& limits;
  uint64_t budget = 0;   // bytes set out to read (dropped), against limits.totalBytes
  uint64_t read = 0;     // bytes read back
  std::set<ino_t> done;  // a file's hard links are one file
};

// O_NOATIME where the file is ours (the read changes nothing on disk after the commit's sync);
// a file of the subordinate range refuses it (EPERM), and is opened without.
UniqueFd openToRead(int dirFd, const char* name) {
  constexpr int kFlags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
  UniqueFd fd(::openat(dirFd, name, kFlags | O_NOATIME));
  if (!fd && errno == EPERM) fd.reset(::openat(dirFd, name, kFlags));
  return fd;
}

// `dirFd` is taken over (fdopendir): one descriptor per level of the tree.
void reread(int dirFd, int depth, Walk& w) {
  DIR* d = ::fdopendir(dirFd);
  if (!d) {
    ::close(dirFd);
    return;
  }
  std::unique_ptr<DIR, int (*)(DIR*)> closer(d, ::closedir);
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    if (e->d_type != DT_DIR && e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    struct stat st;
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != w.dev) continue;
    if (S_ISDIR(st.st_mode)) {
      if (depth >= kMaxDepth) continue;
      int sub = ::openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) reread(sub, depth + 1, w);
      continue;
    }
    auto size = static_cast<uint64_t>(st.st_size);
    if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111) || size < w.limits.minBytes ||
        size > w.limits.maxBytes || w.budget + size > w.limits.totalBytes || w.done.count(st.st_ino))
      continue;
    // O_NONBLOCK: should the entry have become a fifo since the fstatat, the open does not wait.
    UniqueFd file = openToRead(::dirfd(d), e->d_name);
    struct stat now;
    if (!file || ::fstat(file.get(), &now) != 0 || !S_ISREG(now.st_mode) || now.st_ino != st.st_ino ||
        now.st_dev != w.dev)
      continue;
    w.done.insert(st.st_ino);
    // Dirty pages are not dropped: the caller synced the tree; a page still dirty stays as it is.
    if (::posix_fadvise(file.get(), 0, 0, POSIX_FADV_DONTNEED) != 0) continue;
    w.budget += size;
    if (readWhole(file.get(), size)) w.read += size;
  }
}

}  // namespace

uint64_t rereadLargeExecutables(int dirFd, const RereadLimits& limits) {
  struct stat st;
  if (::fstat(dirFd, &st) != 0 || !S_ISDIR(st.st_mode) || !onAKeepingFileSystem(dirFd)) return 0;
  int own = ::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (own < 0) return 0;
  Walk w{st.st_dev, limits, 0, 0, {}};
  reread(own, 0, w);
  return w.read;
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
  if (cachedProbes(fd.get(), static_cast<uint64_t>(st.st_size)) != 0) return false;
  return readWhole(fd.get(), static_cast<uint64_t>(st.st_size));
}

}  // namespace coco::sys
