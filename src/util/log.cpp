// The logger's state and its single write per line.
#include "util/log.hpp"

#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
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

namespace {

// After coco gave up on a stalled terminal (engine/terminal.hpp, stopBlockingOn) its stderr is
// non-blocking: a line that finds no room waits for it, up to this long over the whole run, and
// is then dropped. So the workspace guard's last warnings still reach a terminal that was only
// held (Ctrl-S) for a moment, and a dead one holds coco for this long at most.
constexpr int64_t kStalledBudgetMs = 5000;
std::atomic<int64_t> g_stalledBudgetMs{kStalledBudgetMs};

int64_t nowMs() {
  struct timespec t;
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t{t.tv_sec} * 1000 + t.tv_nsec / 1000000;
}

void writeLine(std::string_view line) {
  while (!line.empty()) {
    ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    if (n > 0) {
      line.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    int64_t budget = g_stalledBudgetMs.load();
    if (n >= 0 || errno != EAGAIN || budget <= 0) return;
    struct pollfd p = {STDERR_FILENO, POLLOUT, 0};
    int64_t start = nowMs();
    int ready = ::poll(&p, 1, static_cast<int>(budget));
    g_stalledBudgetMs -= std::max<int64_t>(nowMs() - start, ready > 0 ? 0 : budget);
    if (ready < 0 && errno != EINTR) return;
  }
}

}  // namespace

void emit(std::string_view prefix, std::string_view text) {
  std::string line;
  line.reserve(kClearLine.size() + prefix.size() + text.size() + 1);
  if (g_liveLine.exchange(false)) line.append(kClearLine);
  line.append(prefix).append(text).push_back('\n');
  // One write so lines from the gateway thread and the main thread never interleave.
  writeLine(line);
}

}  // namespace coco::log
