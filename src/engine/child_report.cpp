// Fixed-buffer failure reporting for the sandbox child (async-signal-safe).
#include "engine/child_report.hpp"

#include <unistd.h>

#include <cerrno>

namespace coco::engine {

namespace {
ChildReport g_report;
}

FixedText& FixedText::operator<<(const char* s) {
  if (!s) return *this;
  while (*s && len_ + 1 < cap_) buf_[len_++] = *s++;
  buf_[len_] = '\0';
  return *this;
}

FixedText& FixedText::operator<<(long n) {
  char tmp[24];
  int i = 0;
  bool neg = n < 0;
  unsigned long v = neg ? 0UL - static_cast<unsigned long>(n) : static_cast<unsigned long>(n);
  do {
    tmp[i++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v && i < 22);
  if (neg) tmp[i++] = '-';
  char out[24];
  int j = 0;
  while (i) out[j++] = tmp[--i];
  out[j] = '\0';
  return *this << out;
}

bool failWith(int err, int exitCode, const char* step, const char* detail) {
  g_report.err = err;
  g_report.exitCode = exitCode;
  FixedText text(g_report.message, sizeof g_report.message);
  text << step;
  if (detail) text << " " << detail;
  g_report.target[0] = '\0';
  return false;
}

bool fail(const char* step, const char* detail) { return failWith(errno, 125, step, detail); }

bool failTarget(const char* step, const char* path) {
  fail(step, path);
  FixedText(g_report.target, sizeof g_report.target) << path;
  return false;
}

void reportAndExit(int fd) {
  ssize_t unused = ::write(fd, &g_report, sizeof g_report);
  (void)unused;
  _exit(g_report.exitCode);
}

}  // namespace coco::engine
