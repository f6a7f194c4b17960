// The podman/docker runtimes' image: coco's own native base image imported into the runtime's
// storage (`coco rebuild` under COCO_RUNTIME=podman or docker).
#pragma once

#include <string>
#include <vector>

#include "engine/idmap.hpp"
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

// A tool's own image: the runtime's image (coco's native base, imported) with the tool's layer as
// one more layer, for a layer read-only binds cannot show (tool::layerBinds refused it: apt's
// files over /usr, /etc and /var, whiteouts, symlinks). Labels say what it holds; its tag is
// the tool's name, config hash and base, so a changed config or base makes another image and
// `coco prune` removes the old one.
inline constexpr const char* kToolLabel = "coco.tool";
inline constexpr const char* kConfigHashLabel = "coco.config-hash";
inline constexpr const char* kBaseLabel = "coco.base";
inline constexpr const char* kLayerLabel = "coco.layer";  // when the layer was installed

struct ToolImage {
  std::string runtime;      // "podman" or "docker"
  std::string baseImage;    // the runtime's image runs use, imported from the native base baseId
  std::string baseId;       // its coco.base label (nativeBaseId)
  std::string tool;         // the tool's name
  std::string configHash;   // its config's hash
  std::string layerDir;     // the committed tool layer
  std::string layerStamp;   // the layer's install time: a layer installed again makes a new image
  engine::IdMapPlan idMap;  // the mapping the layer was written in (the storage's)
  std::string workDir;      // the archive goes in a fresh directory WORKDIR.XXXXXX (mkdtemp), removed after
};

// "localhost/coco-tool-NAME:HASH12-BASE12", NAME as a repository takes it (lowercase; other
// characters '-').
std::string toolImageReference(const std::string& tool, const std::string& configHash,
                               const std::string& baseId);

// The tool's image in the runtime's storage, written and loaded (RUNTIME load) when it is missing
// or holds another install of the layer; `made` says which. Only the tool layer is written: the
// base's layers are the runtime's own (image::exportLayerOnImage).
Result<std::string> ensureToolImage(const ToolImage& image, bool& made);

// One tool image in the runtime's storage, by its labels.
struct ToolImageEntry {
  std::string id;         // the runtime's image id
  std::string reference;  // its first name ("" when it has none left)
  std::string tool, configHash, baseId;
};
Result<std::vector<ToolImageEntry>> listToolImages(const std::string& runtime);

// `RUNTIME rmi IMAGE`, never forced: an image a container still runs stays, with the runtime's reason.
Status removeImage(const std::string& runtime, const std::string& image);

}  // namespace coco::backend
