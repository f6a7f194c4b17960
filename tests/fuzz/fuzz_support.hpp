// What every fuzz target shares: the libFuzzer entry points and a check that
// stops the run with a message when an invariant breaks.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "util/fs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);

// Sanitizers print this where their reports go (libFuzzer's -close_fd_mask=2
// keeps that stream open); without a sanitizer, stderr.
extern "C" void __sanitizer_report_error_summary(const char* summary) __attribute__((weak));

namespace coco::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* what, std::string_view detail) {
  std::string msg = std::string("fuzz check failed at ") + file + ":" + std::to_string(line) + ": " + what;
  if (!detail.empty()) msg.append(" (").append(detail).append(")");
  if (__sanitizer_report_error_summary) {
    __sanitizer_report_error_summary(msg.c_str());
  } else {
    msg += '\n';
    (void)!::write(STDERR_FILENO, msg.data(), msg.size());
  }
  std::abort();
}

// A directory of this process's own under $TMPDIR (or /tmp), removed at exit.
inline std::string processTempDir(const char* prefix) {
  static std::vector<std::string> dirs;
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) fail(__FILE__, __LINE__, "mkdtemp", tmpl);
  if (dirs.empty()) std::atexit([] {
      for (const auto& d : dirs) (void)coco::fs::removeTree(d);
    });
  dirs.push_back(tmpl);
  return tmpl;
}

// Writes a file without fs::writeFileAtomic's fsync, which would cost most of an iteration.
inline bool writeFile(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  return ::close(fd) == 0 && ok;
}

// Input split into the fields a target needs, so one mutation can reach any of them.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

  uint8_t byte() {
    if (rest_.empty()) return 0;
    uint8_t b = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }
  uint16_t u16() { return static_cast<uint16_t>(byte() << 8 | byte()); }
  uint32_t u32() { return static_cast<uint32_t>(u16()) << 16 | u16(); }
  // Up to the next NUL (which is consumed), or the rest.
  std::string_view field() {
    size_t end = rest_.find('\0');
    std::string_view f = rest_.substr(0, end);
    rest_.remove_prefix(end == std::string_view::npos ? rest_.size() : end + 1);
    return f;
  }
  std::string_view rest() {
    std::string_view r = rest_;
    rest_ = {};
    return r;
  }

 private:
  std::string_view rest_;
};

}  // namespace coco::fuzz

#define FUZZ_CHECK(cond, detail)                                                    \
  do {                                                                              \
    if (!(cond)) ::coco::fuzz::fail(__FILE__, __LINE__, #cond, (detail));          \
  } while (0)
