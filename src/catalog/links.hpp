// `coco up` / `coco down`: the ~/.local/bin/NAME -> coco symlinks.
#pragma once

#include <string>
#include <vector>

#include "util/result.hpp"

namespace coco::catalog {

struct LinkOutcome {
  enum class Action {
    Created,    // new link to coco
    Updated,    // was a link to another coco binary, now to this one
    Unchanged,  // already a link to this coco
    Skipped,    // something that is not coco's is in the way; left alone
    Removed,    // a link to coco, removed
    Absent,     // nothing to remove
    Failed,     // a system call failed; detail says which
  };
  std::string name;
  std::string path;
  Action action;
  std::string detail;
};

// Whether the symlink at linkPath points to a coco binary: to cocoPath itself (or
// the same file), or to any file named "coco" (a link made by another install).
bool pointsToCoco(const std::string& linkPath, const std::string& cocoPath);

// The first executable NAME in `searchPath` (PATH's directories in order) other
// than in binDir and other than a link to coco: the command a new link would
// shadow (or be shadowed by). "" when there is none.
std::string commandElsewhere(const std::string& name, const std::vector<std::string>& searchPath,
                             const std::string& binDir, const std::string& cocoPath);

// What `coco up` may do beyond linking where nothing is in the way.
struct UpOptions {
  std::vector<std::string> searchPath;  // PATH's directories, for commandElsewhere
  bool force = false;                   // link even where a command of that name exists elsewhere
};

// Links binDir/NAME -> cocoPath for each tool; creates binDir when missing. A new
// link whose name is a command elsewhere in the search path is skipped (it would
// run the sandboxed tool instead of, say, the system's python3) unless forced.
Result<std::vector<LinkOutcome>> up(const std::vector<std::string>& tools, const std::string& binDir,
                                    const std::string& cocoPath, const UpOptions& options = {});

// Removes binDir/NAME for each tool, and any other link in binDir that points to
// coco, but never binDir/coco itself (that is how coco may be installed).
Result<std::vector<LinkOutcome>> down(const std::vector<std::string>& tools, const std::string& binDir,
                                      const std::string& cocoPath);

}  // namespace coco::catalog
