#include "sys/page_cache.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
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

bool readIntoPageCache(const std::string& dir, const std::string& rel, uint64_t maxBytes) {
  UniqueFd root(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return false;
  // O_NONBLOCK: a fifo planted where the file was resolved cannot hold the run.
  UniqueFd fd(openat2Beneath(root.get(), rel.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY));
  struct stat st;
  struct statfs fs;
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
      static_cast<uint64_t>(st.st_size) > maxBytes || ::fstatfs(fd.get(), &fs) != 0 ||
      !keepsItsPageCache(static_cast<int64_t>(fs.f_type)))
    return false;
  auto cached = cachedBytes(fd.get());
  if (!cached || *cached >= static_cast<uint64_t>(st.st_size)) return false;
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  constexpr size_t kChunk = 1 << 20;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  for (uint64_t done = 0, size = static_cast<uint64_t>(st.st_size); done < size;) {
    ssize_t n = ::read(fd.get(), buf.get(), kChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // an error, or the file shrank
    done += static_cast<uint64_t>(n);
  }
  return true;
}

}  // namespace coco::sys
