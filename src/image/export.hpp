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

#include <string>

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

}  // namespace coco::image
