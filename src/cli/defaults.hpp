// Defaults the user may override by environment, kept in one place.
#pragma once

#include <optional>
#include <string>

namespace coco::cli {

// The native runtime's image when COCO_IMAGE is unset. None yet: `coco rebuild`
// will build a default image and this will name it.
inline std::optional<std::string> defaultImageReference() { return std::nullopt; }

inline constexpr const char* kNoImageMessage = "no image: set COCO_IMAGE=rootfs:DIR (coco rebuild will build the default image)";

}  // namespace coco::cli
