// Where coco's data files (runtime/, store/, seccomp-profiles/) are read from.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace coco {

// This process's executable (/proc/self/exe), or "" (errno set) where it cannot be read.
std::string selfExe();

// Whether `exe` lies in the build tree this binary was built in (COCO_BUILD_ROOT).
bool inBuildTree(std::string_view exe);

// The directories holding coco's data, in lookup order, for the binary at `exe`
// (/proc/self/exe): only the installed copy (COCO_DATADIR), except for a binary
// run from its own build tree, which reads its source tree first, so tests never
// pick up an older installed copy. An installed binary never reads the source tree.
std::vector<std::string> dataDirsFor(std::string_view exe);

// dataDirsFor() of this process, computed once.
const std::vector<std::string>& dataDirs();

// The first dataDirs() entry holding `relative` (a file or directory), or "".
std::string findDataPath(std::string_view relative);

}  // namespace coco
