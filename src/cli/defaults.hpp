// Defaults the user may override by environment, kept in one place.
#pragma once

#include "tool/base_image.hpp"

namespace coco::cli {

// The native runtime's image when COCO_IMAGE is unset: built on first use by
// `coco run` (or `coco rebuild`), see cli/lifecycle.hpp.
inline constexpr const char* kDefaultNativeImage = tool::kBaseImageName;

}  // namespace coco::cli
