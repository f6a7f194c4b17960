// The sandbox's file system: overlay root, binds, /proc, /dev, /tmp, /etc files,
// pivot_root. Runs in the child: no allocation, failures go to the child report.
#pragma once

#include "engine/child_plan.hpp"

namespace coco::engine {

// Returns false with the child report filled on failure.
bool setupRootfs(const ChildPlan& plan);

// sys::openPathBeneath (options sys::kWantDir, kCreate, kSymlinkOk) with the C convention
// the child's failure reports use: an O_PATH fd, or -1 with errno (ENOSYS: no
// openat2, Linux older than 5.6).
int openBeneath(int rootfd, const char* path, unsigned options);

}  // namespace coco::engine
