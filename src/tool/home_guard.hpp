// The writable home guard: a writable mount of $HOME, a directory above it or / needs the user's yes.
//
// Such a mount hands the tool every file the user owns, coco's own configs and
// tool layers and the shell's startup files, writable: one `cd ~ && eslint .`
// away for any tool with a `.` mount. A run refuses it unless the user confirmed
// it, with `coco run --allow-home` or the config key `allow_home: true`.
// Read-only mounts are left to tool/grants.hpp (show warns about them).
#pragma once

#include <string>

#include "config/tool_config.hpp"
#include "tool/grants.hpp"
#include "util/result.hpp"

namespace coco::tool {

struct HomeGuardOptions {
  bool allowed = false;   // --allow-home or `allow_home: true`
  bool flagTaken = true;  // false when the tool was started through its link: no coco options there
};

// Whether a mount of `physical` (symlinks resolved, tool::physicalPath) exposes
// the home directory `home`: it is home, a directory above it, or /.
bool exposesHome(const std::string& physical, const std::string& home);

// Refuses the first writable mount of the config that exposes home, unless
// allowed; the Error names the mount, what it exposes and how to allow it.
Status checkWritableHome(const config::ToolConfig& config, const GrantContext& ctx,
                         const HomeGuardOptions& options);

}  // namespace coco::tool
