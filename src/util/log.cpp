// The logger's state and its single write per line.
#include "util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <string>

namespace coco::log {

namespace {
std::atomic<bool> g_debug{false};
std::atomic<bool> g_quiet{false};
std::atomic<bool> g_liveLine{false};
constexpr std::string_view kClearLine = "\r\033[K";
}  // namespace

void setDebug(bool enabled) { g_debug = enabled; }
bool debugEnabled() { return g_debug; }
void setQuiet(bool enabled) { g_quiet = enabled; }
bool quietEnabled() { return g_quiet; }
void setLiveLine(bool drawn) { g_liveLine = drawn; }

void clearLiveLine() {
  if (!g_liveLine.exchange(false)) return;
  ssize_t unused = ::write(STDERR_FILENO, kClearLine.data(), kClearLine.size());
  (void)unused;
}

void emit(std::string_view prefix, std::string_view text) {
  std::string line;
  line.reserve(kClearLine.size() + prefix.size() + text.size() + 1);
  if (g_liveLine.exchange(false)) line.append(kClearLine);
  line.append(prefix).append(text).push_back('\n');
  // One write so lines from the gateway thread and the main thread never interleave.
  ssize_t unused = ::write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
}

}  // namespace coco::log
