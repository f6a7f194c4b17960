// The sandbox's file system: overlay root, binds, /proc, /dev, /tmp, /etc files,
// pivot_root. Runs in the child: no allocation, failures go to the child report.
#pragma once

#include "engine/child_plan.hpp"

namespace coco::engine {

// Returns false with the child report filled on failure.
bool setupRootfs(const ChildPlan& plan);

// Opens `path` (absolute, inside the root) below rootfd without following any
// symlink; creates missing directories (and the last component as a directory or
// an empty file) when `create` is set. With `symlinkOk`, a symlink as the last
// component is opened itself. Returns an O_PATH fd or -1 with errno.
int openBeneath(int rootfd, const char* path, bool wantDir, bool create, bool symlinkOk = false);

}  // namespace coco::engine
