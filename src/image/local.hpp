// Imports from local files: OCI layouts and archives, docker-archive, rootfs tarballs, mmdebstrap.
#pragma once

#include <string>
#include <vector>

#include "image/progress.hpp"
#include "image/reference.hpp"
#include "image/storage.hpp"
#include "util/result.hpp"

namespace coco::image {

// Imports a local reference (OciDir, OciArchive, DockerArchive, RootfsTar,
// Bootstrap) into the store under ref.canonical(); paths must be absolute.
// Archives already imported with the same size and mtime are not read again.
// Hold store.lock().
Result<ImageRecord> importLocal(const Storage& store, const Reference& ref, const ProgressFn& progress);

// What a docker-archive's manifest.json names: the image config and the layers,
// as paths inside the archive, each checked to stay inside it (relative, no "..").
struct DockerArchiveManifest {
  std::string config;
  std::vector<std::string> layers;  // bottom first
};
Result<DockerArchiveManifest> parseDockerArchiveManifest(const std::string& text);

}  // namespace coco::image
