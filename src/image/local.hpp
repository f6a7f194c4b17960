// Imports from local files: OCI layouts and archives, docker-archive, rootfs tarballs, mmdebstrap.
#pragma once

#include "image/progress.hpp"
#include "image/reference.hpp"
#include "image/store.hpp"
#include "util/result.hpp"

namespace coco::image {

// Imports a local reference (OciDir, OciArchive, DockerArchive, RootfsTar,
// Bootstrap) into the store under ref.canonical(); paths must be absolute.
// Archives already imported with the same size and mtime are not read again.
// Hold store.lock().
Result<ImageRecord> importLocal(const Store& store, const Reference& ref, const ProgressFn& progress);

}  // namespace coco::image
