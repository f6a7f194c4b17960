// Raising coco's descriptor limit and remembering the one it was started with.
#include "util/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/log.hpp"

namespace coco {

namespace {

rlim_t startingSoft = 0;  // the soft limit coco was started with, once raised
bool raised = false;

}  // namespace

void raiseFdLimit() {
  struct rlimit limit;
  if (raised || ::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  raised = true;
  startingSoft = limit.rlim_cur;
  // An unlimited hard limit is still capped by fs.nr_open (1048576 unless changed).
  for (rlim_t want : {limit.rlim_max, std::min(limit.rlim_max, rlim_t{1} << 20)}) {
    if (want <= startingSoft) return;
    limit.rlim_cur = want;
    if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) return;
  }
  log::debug("raising the descriptor limit from {}: {}", static_cast<uint64_t>(startingSoft),
             std::strerror(errno));
}

uint64_t startingFdLimit() {
  if (raised) return startingSoft;
  struct rlimit limit;
  return ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 0;
}

}  // namespace coco
