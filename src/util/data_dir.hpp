// Where coco's data files (runtime/, store/, seccomp-profiles/) are read from.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace coco {

// The directories holding coco's data, in lookup order: the installed copy
// (COCO_DATADIR) first, except for a binary run from its own build tree, which
// reads its source tree first, so tests never pick up an older installed copy.
const std::vector<std::string>& dataDirs();

// The first dataDirs() entry holding `relative` (a file or directory), or "".
std::string findDataPath(std::string_view relative);

}  // namespace coco
