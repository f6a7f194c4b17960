// Data directory lookup: the installed copy, or the source tree for a binary run from its build tree.
#include "util/data_dir.hpp"

#include <unistd.h>

#include <climits>

#include "coco_config.h"
#include "util/fs.hpp"

namespace coco {

bool inBuildTree(std::string_view exe) {
  std::string_view build = COCO_BUILD_ROOT;
  return exe.size() > build.size() && exe.substr(0, build.size()) == build && exe[build.size()] == '/';
}

std::string selfExe() {
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  return n > 0 ? std::string(exe, static_cast<size_t>(n)) : std::string();
}

// The source root is compiled in and may be a path any local user can create
// (a stage under /var/tmp): only the build tree's own binary may look there.
std::vector<std::string> dataDirsFor(std::string_view exe) {
  if (inBuildTree(exe)) return {COCO_SOURCE_ROOT, COCO_DATADIR};
  return {COCO_DATADIR};
}

const std::vector<std::string>& dataDirs() {
  static const std::vector<std::string> dirs = dataDirsFor(selfExe());
  return dirs;
}

std::string findDataPath(std::string_view relative) {
  for (const auto& dir : dataDirs())
    if (std::string path = fs::joinPath(dir, relative); fs::exists(path)) return path;
  return {};
}

}  // namespace coco
