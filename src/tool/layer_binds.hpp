// A tool layer as read-only binds over the image it was installed on, for the runtimes that start
// from an image of their own (podman and docker run coco's native base, imported by `coco rebuild`).
#pragma once

#include <string>
#include <vector>

#include "engine/run_spec.hpp"
#include "util/result.hpp"

namespace coco::tool {

// At most this many binds: a layer that changes more of the base (apt packages spread files over
// /usr, /etc, /var) is refused rather than passed as hundreds of -v arguments.
inline constexpr size_t kMaxLayerBinds = 64;

// The binds that show the tool layer `layerDir` (an overlay upper dir) over `baseLayers` (the
// image's layers, topmost first) as the native overlay shows it: each entry of the layer the
// base lacks (or a directory the layer made opaque) is bound whole, read-only, at its path;
// directories both have are walked into. Nothing is followed: the layer is walked beneath
// layerDir with openat2, so every source is a real directory or regular file of the layer.
// Refused, naming the path, for what a bind cannot show: a deletion (whiteout) of a base entry,
// a symlink, device or socket where a bind would go (the runtime would follow a symlink on the
// host), a directory over a base file or a file over a base directory, more than kMaxLayerBinds.
Result<std::vector<engine::BindMount>> layerBinds(const std::string& layerDir,
                                                  const std::vector<std::string>& baseLayers);

}  // namespace coco::tool
