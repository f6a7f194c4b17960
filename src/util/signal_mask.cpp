// One read of the kernel's mask of ignored signals (util/signal_mask.hpp).
#include "util/signal_mask.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace coco {

uint64_t ignoredSignalMask() {
  char buf[4096];
  int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    buf[n > 0 ? n : 0] = '\0';
    if (const char* at = n > 0 ? std::strstr(buf, "\nSigIgn:\t") : nullptr) {
      char* end = nullptr;
      uint64_t mask = std::strtoull(at + 9, &end, 16);
      if (end == at + 9 + 16) return mask;
    }
  }
  uint64_t mask = 0;
  // glibc refuses the two real-time signals it keeps for itself (EINVAL): never ignored.
  for (int sig = 1; sig < NSIG && sig <= 64; ++sig) {
    struct sigaction now = {};
    if (::sigaction(sig, nullptr, &now) == 0 && now.sa_handler == SIG_IGN) mask |= uint64_t{1} << (sig - 1);
  }
  return mask;
}

}  // namespace coco
