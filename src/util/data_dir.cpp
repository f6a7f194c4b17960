// Data directory lookup: installed copy vs the source tree of a build-tree binary.
#include "util/data_dir.hpp"

#include <unistd.h>

#include <climits>

#include "coco_config.h"
#include "util/fs.hpp"

namespace coco {

namespace {

bool runFromBuildTree() {
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return false;
  std::string_view path(exe, static_cast<size_t>(n));
  std::string_view build = COCO_BUILD_ROOT;
  return path.size() > build.size() && path.substr(0, build.size()) == build && path[build.size()] == '/';
}

}  // namespace

const std::vector<std::string>& dataDirs() {
  static const std::vector<std::string> dirs = runFromBuildTree()
                                                   ? std::vector<std::string>{COCO_SOURCE_ROOT, COCO_DATADIR}
                                                   : std::vector<std::string>{COCO_DATADIR, COCO_SOURCE_ROOT};
  return dirs;
}

std::string findDataPath(std::string_view relative) {
  for (const auto& dir : dataDirs())
    if (std::string path = fs::joinPath(dir, relative); fs::exists(path)) return path;
  return {};
}

}  // namespace coco
