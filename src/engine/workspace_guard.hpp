// The workspace guard: paths in a writable mount that make the host run code
// later, kept read-only inside the sandbox. The one list lives here.
#pragma once

#include <array>
#include <string_view>
#include <vector>

#include "engine/child_plan.hpp"

namespace coco::engine {

// Relative to the root of a writable mount. Each is bound read-only over itself
// when it exists (and is not a symlink).
inline constexpr std::array<std::string_view, 9> kGuardedPaths = {
    ".git/hooks",     // run by git on the host: commit, checkout, push
    ".git/config",    // core.hooksPath, core.fsmonitor, core.pager, aliases, filters
    ".envrc",         // direnv
    ".vscode",        // tasks, launch configs, settings naming executables
    ".idea",          // JetBrains run configurations
    ".devcontainer",  // container definitions an editor builds and starts
    "mise.toml",      // mise tasks, hooks and env on the host
    ".mise.toml",
    ".git/info",      // attributes and excludes read by git on the host
};

// Adds the guard binds for one writable mount. A `.git` directory is also bound
// over itself (writable) so that it becomes a mount point and cannot be renamed
// away and replaced.
void addGuardBinds(const PlannedBind& mount, std::vector<PlannedBind>& out);

}  // namespace coco::engine
