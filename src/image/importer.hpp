// Putting one image (manifest + config + layers from any source) into the store.
#pragma once

#include <functional>
#include <string>

#include "image/manifest.hpp"
#include "image/progress.hpp"
#include "image/storage.hpp"
#include "util/result.hpp"

namespace coco::image {

// Delivers the blob of a descriptor as a file whose sha256 and size have been
// checked: a download into `workDir`, or a file of a local layout verified in place.
using FetchBlob = std::function<Result<std::string>(const Descriptor&, const std::string& workDir)>;

struct ImportSource {
  std::string name;            // the record's name (canonical reference)
  std::string manifestDigest;  // may be empty (docker-archive has no manifest blob)
  std::string manifestBody;
  Manifest manifest;
  FetchBlob fetch;
};

// Stores config, manifest and the missing layers (each unpacked under the store's
// id map and committed by rename), then writes the record. Hold store.lock().
Result<ImageRecord> importImage(const Storage& store, const ImportSource& source, const ProgressFn& progress);

// Fails unless the file's sha256 and size match the descriptor.
Status verifyBlob(const std::string& path, const Descriptor& d);

// "sha256:0123456789abcdef..." -> "0123456789ab".
std::string shortDigest(const std::string& digest);

}  // namespace coco::image
