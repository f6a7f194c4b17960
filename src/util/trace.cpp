// The trace build's trace points (meson -Dtrace=true); empty otherwise.
#include "util/trace.hpp"

#if COCO_TRACE
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

namespace coco::trace {

namespace {

// Taken before main: fd 2 as coco was started with. Close-on-exec, so no tool inherits it.
int g_fd = -1;
__attribute__((constructor)) void openTraceFd() { g_fd = ::fcntl(2, F_DUPFD_CLOEXEC, 100); }

char* appendNumber(char* out, unsigned long long n) {
  char digits[24];
  int len = 0;
  do {
    digits[len++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n);
  while (len) *out++ = digits[--len];
  return out;
}

}  // namespace

void point(const char* name) {
  if (g_fd < 0) return;
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  char line[128] = "coco-trace ";
  char* p = line + std::strlen(line);
  size_t len = std::strlen(name);
  if (len > 64) len = 64;
  std::memcpy(p, name, len);
  p += len;
  *p++ = ' ';
  p = appendNumber(p, static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                          static_cast<unsigned long long>(ts.tv_nsec) / 1000);
  *p++ = '\n';
  (void)!::write(g_fd, line, static_cast<size_t>(p - line));
}

}  // namespace coco::trace
#endif
