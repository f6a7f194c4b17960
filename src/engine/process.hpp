// The tool process: session and terminal, capabilities, no_new_privs, seccomp,
// then execve with a PATH search inside the sandbox. Runs after clone: no allocation.
#pragma once

#include <string_view>

#include "engine/child_plan.hpp"

namespace coco::engine {

// Never returns: execs the tool, or reports the failure on reportFd and exits
// (127 not found, 126 not executable, 125 setup failure).
[[noreturn]] void execTool(const ChildPlan& plan, int ttySlave, int reportFd);

// NAME when `head`, a script's first bytes, starts with the line "#!/usr/bin/env NAME", as
// npm's entry points do ("#!/usr/bin/env node"): the kernel's parse of that line (blanks after
// "#!" and around the argument). Empty for anything env would do more with than an exec of
// NAME from PATH: an option ("-S ..."), an assignment ("A=1"), a path, more than one word, a
// control character; and for a line not whole within `head`.
std::string_view envShebangCommand(std::string_view head);

}  // namespace coco::engine
