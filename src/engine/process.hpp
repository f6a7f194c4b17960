// The tool process: session and terminal, capabilities, no_new_privs, seccomp,
// then execve with a PATH search inside the sandbox. Runs after clone: no allocation.
#pragma once

#include "engine/child_plan.hpp"

namespace coco::engine {

// Never returns: execs the tool, or reports the failure on reportFd and exits
// (127 not found, 126 not executable, 125 setup failure).
[[noreturn]] void execTool(const ChildPlan& plan, int ttySlave, int reportFd);

}  // namespace coco::engine
