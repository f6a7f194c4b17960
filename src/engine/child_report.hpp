// How code between clone and execve reports a failure without allocating:
// a fixed-size record (errno + message) written to a pipe, then _exit.
#pragma once

#include <cstddef>

namespace coco::engine {

struct ChildReport {
  int err = 0;
  int exitCode = 125;  // 125 coco's own failure, 126/127 exec failures
  char message[512] = {};
  // The sandbox path of a mount target init could not open or make (failTarget), for the
  // parent's hints; empty for every other failure.
  char target[256] = {};
};

// Appends C strings to a fixed buffer, truncating; never allocates.
class FixedText {
 public:
  FixedText(char* buf, size_t cap) : buf_(buf), cap_(cap) { buf_[0] = '\0'; }
  FixedText& operator<<(const char* s);
  FixedText& operator<<(long n);

 private:
  char* buf_;
  size_t cap_;
  size_t len_ = 0;
};

// Records the failure of `step` (with errno) in this process's report.
// Returns false so callers can `return fail(...)`.
bool fail(const char* step, const char* detail = nullptr);
// fail(step, path) for a mount target: `path` is the sandbox's, recorded apart too (ChildReport::target).
bool failTarget(const char* step, const char* path);
// Same, with an explicit errno and exit code (exec failures).
bool failWith(int err, int exitCode, const char* step, const char* detail);

// Writes the recorded report to fd and exits with its code.
[[noreturn]] void reportAndExit(int fd);

}  // namespace coco::engine
