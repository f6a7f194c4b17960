// The podman/docker runtimes' image: coco's own native base image imported into the runtime's
// storage (`coco rebuild` under COCO_RUNTIME=podman or docker).
#pragma once

#include <string>
#include <vector>

#include "util/result.hpp"

namespace coco::backend {

struct ImageImport {
  std::string runtime;  // "podman" or "docker"
  std::string target;   // the image runs use: COCO_IMAGE, else kDefaultContainerImage
  // A scratch directory holding the native base as an OCI layout (ref.name latest) named
  // importedBaseDir(baseId); the build context goes there too.
  std::string workDir;
  std::string baseId;  // the native base's id, kept as the label coco.base
};

// The layout's directory name under workDir: podman names an image pulled from a layout after
// the path it is given (not the layout's ref.name), so coco gives a relative one it chose.
std::string importedBaseDir(const std::string& baseId);

// Loads the layout into the runtime's storage (podman pull oci:DIR; docker: skopeo to a docker
// archive, then docker load) and builds `target` on it with a Containerfile of no RUN step (so no
// network is needed): /workspace, an empty directory copied there, as WORKDIR, and the label
// coco.base.
Status importBaseImage(const ImageImport& import);

// The id of a native base image with these layers (topmost first), as the label coco.base keeps it.
std::string nativeBaseId(const std::vector<std::string>& layers);

// The coco.base label of `image` in the runtime's storage: the native base it was imported from
// ("" when it has no such label). An error when the runtime has no such image.
Result<std::string> importedBaseId(const std::string& runtime, const std::string& image);

// The Containerfile of that build (unit-tested).
std::string importContainerfile(const std::string& from, const std::string& baseId);

}  // namespace coco::backend
