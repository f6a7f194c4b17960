// The logger's state and its single write per line.
#include "util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <string>

namespace coco::log {

namespace {
std::atomic<bool> g_debug{false};
}

void setDebug(bool enabled) { g_debug = enabled; }
bool debugEnabled() { return g_debug; }

void emit(std::string_view prefix, std::string_view text) {
  std::string line;
  line.reserve(prefix.size() + text.size() + 1);
  line.append(prefix).append(text).push_back('\n');
  // One write so lines from the gateway thread and the main thread never interleave.
  ssize_t unused = ::write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
}

}  // namespace coco::log
