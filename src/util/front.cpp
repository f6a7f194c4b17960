// The static front and its hand-over to coco-full (util/front.hpp).
#include "util/front.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "coco_config.h"
#include "util/data_dir.hpp"
#include "util/fd_limit.hpp"
#include "util/log.hpp"
#include "util/signal_mask.hpp"

extern char** environ;

namespace coco::front {

namespace {

bool gActive = false;
bool gSettled = false;
char** gArgv = nullptr;
sigset_t gStartMask;
uint64_t gIgnored = 0;  // bit n-1: signal n was ignored at start

std::string dirOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

void start(char** argv) {
  gActive = true;
  gArgv = argv;
  ::sigprocmask(SIG_BLOCK, nullptr, &gStartMask);
  gIgnored = ignoredSignalMask();
}

bool active() { return gActive; }

uint64_t ignoredAtStart() { return gIgnored; }

void settle() { gSettled = true; }

std::string partnerPath() {
  if (!COCO_STATIC_FRONT) return "";
  std::string exe = selfExe();
  bool front = exe.size() >= 5 && exe.compare(exe.size() - 5, 5, "/coco") == 0;
  bool full = exe.size() >= 10 && exe.compare(exe.size() - 10, 10, "/coco-full") == 0;
  if (inBuildTree(exe)) return front ? dirOf(exe) + "/coco-full" : full ? dirOf(exe) + "/coco" : "";
  if (exe == COCO_FRONT_PATH) return COCO_FULL_PATH;
  if (exe == COCO_FULL_PATH) return COCO_FRONT_PATH;
  return "";
}

std::string frontPath() {
  std::string partner = partnerPath();
  std::string exe = selfExe();
  bool full = exe.size() >= 10 && exe.compare(exe.size() - 10, 10, "/coco-full") == 0;
  return full && !partner.empty() ? partner : exe;
}

void handOff(std::string_view why) {
  std::string full = partnerPath();
  log::debug("handing over to {}: {}", full.empty() ? "coco-full" : full, why);
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  if (gSettled) {
    std::fprintf(
        stderr,
        "coco: error: %.*s needs coco-full, and this run has started: not handed over (a bug in coco)\n",
        static_cast<int>(why.size()), why.data());
    ::_exit(125);
  }
  if (full.empty() || !gArgv) {
    std::fprintf(stderr, "coco: error: %.*s needs coco-full, which this coco cannot find; reinstall coco\n",
                 static_cast<int>(why.size()), why.data());
    ::_exit(125);
  }
  // What coco-full would have started with: the descriptor limit (raiseFdLimit), the signals
  // ignored at start (and no handler of the front's) and the blocked set.
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && startingFdLimit() < limit.rlim_cur) {
    limit.rlim_cur = startingFdLimit();
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  for (int sig = 1; sig < 64 && sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction sa = {};
    sa.sa_handler = (gIgnored >> (sig - 1)) & 1 ? SIG_IGN : SIG_DFL;
    ::sigaction(sig, &sa, nullptr);
  }
  ::sigprocmask(SIG_SETMASK, &gStartMask, nullptr);
  ::execve(full.c_str(), gArgv, environ);
  int err = errno;
  std::fprintf(stderr, "coco: error: cannot run %s (%s); it comes with coco: reinstall coco\n", full.c_str(),
               std::strerror(err));
  ::_exit(125);
}

}  // namespace coco::front
