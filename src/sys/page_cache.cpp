#include "sys/page_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "util/unique_fd.hpp"

#ifndef SYS_cachestat
#define SYS_cachestat 451  // the same number on every architecture (the unified syscall table)
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

bool readIntoPageCache(const std::string& path, uint64_t maxBytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
      static_cast<uint64_t>(st.st_size) > maxBytes)
    return false;
  auto cached = cachedBytes(fd.get());
  if (!cached || *cached >= static_cast<uint64_t>(st.st_size)) return false;
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  constexpr size_t kChunk = 1 << 20;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.get(), kChunk);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  return true;
}

}  // namespace coco::sys
