// Writing a stored image as an OCI image layout (`coco save`), so it can be
// pushed with `skopeo copy oci:DIR docker://HOST/NAME:TAG` and pulled by coco
// elsewhere (a user without a subuid range cannot build the base image).
//
// Each store layer becomes one gzip'd tar blob: overlay whiteouts (0/0 character
// devices) become `.wh.NAME` entries and opaque directories get `.wh..wh..opq`,
// ownership is the ids inside the sandbox's user namespace (the layers are read
// from inside one, mapped like the engine's), names are written sorted.
// Extended attributes (file capabilities among them) are not kept; sockets and
// device nodes, which coco's layers never hold, are left out.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/idmap.hpp"
#include "image/progress.hpp"
#include "util/result.hpp"

namespace coco::image {

struct ExportOptions {
  std::string storageRoot;    // empty: Storage::defaultRoot()
  std::string tag = "latest";  // the index's org.opencontainers.image.ref.name
  ProgressFn progress;      // empty: stderrProgress()
};

// Writes the image `name` (a store record name such as "coco-base", or any
// reference that resolves to a stored record) to the new directory `dir`.
// `dir` must not exist; it appears complete or not at all.
Status exportOciLayout(const std::string& name, const std::string& dir, const ExportOptions& options);

// One layer on an image a container runtime already holds (podman, docker): a tool's layer on
// the runtime's base image, as a per-tool image.
struct LayerOnImage {
  std::string layerDir;     // an overlay upper dir: whiteouts, opaque directories
  engine::IdMapPlan idMap;  // the mapping it was written in (Storage::idMap): its ids as the image's
  std::vector<std::string> baseDiffIds;  // the runtime image's layers ("sha256:..."), bottom first
  std::string baseConfig;  // that image's config ({"Env": [...], "WorkingDir": ..., "Labels": ...}) as JSON
  std::map<std::string, std::string> labels;  // added to the config's
  std::string reference;                      // the name the image loads as, "localhost/NAME:TAG"
};

// Writes `file` (new; it appears complete or not at all), a tar that both `podman load` and
// `docker load` read: an OCI layout (index, manifest, config) plus docker's manifest.json, with
// the blob of the one new layer only. The base's layers are named by their diff ids and not
// included: the runtime holds them and loads none of them again (podman reuses a layer by its
// uncompressed digest, docker by its chain id); a runtime without them refuses the archive.
// The layer is walked as exportOciLayout walks one: never through a symlink, whiteouts as
// `.wh.` entries, hard links only to an earlier entry of the same layer.
Status exportLayerOnImage(const LayerOnImage& in, const std::string& file);

}  // namespace coco::image
