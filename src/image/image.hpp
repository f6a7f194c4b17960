// Image references and their resolution to overlay lower layers.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace coco::image {

struct Image {
  std::string reference;                                 // as given
  std::vector<std::string> layers;                       // unpacked dirs, topmost first
  std::vector<std::pair<std::string, std::string>> env;  // the image config's Env
  std::string workdir;                                   // the image config's WorkingDir
};

// Resolves a COCO_IMAGE value. `rootfs:DIR` names an unpacked root file system.
Result<Image> resolve(const std::string& reference);

}  // namespace coco::image
