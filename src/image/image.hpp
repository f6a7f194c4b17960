// Image references and their resolution to overlay lower layers (the image/ entry point).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "image/progress.hpp"
#include "image/storage.hpp"
#include "util/result.hpp"

namespace coco::image {

struct Image {
  std::string reference;                                 // as given
  std::vector<std::string> layers;                       // unpacked dirs, topmost first
  std::vector<std::pair<std::string, std::string>> env;  // the image config's Env (PATH always set)
  std::string workdir;                                   // the image config's WorkingDir
  std::vector<std::string> entrypoint = {};              // the image config's Entrypoint
  std::vector<std::string> cmd = {};                     // the image config's Cmd
  std::string user = {};                                 // the image config's User
};

struct ResolveOptions {
  std::string storageRoot;  // empty: Storage::defaultRoot() ($XDG_DATA_HOME/coco)
  ProgressFn progress;    // empty: stderrProgress()
  bool pull = false;      // fetch registry images again even when stored
};

// Resolves a COCO_IMAGE value (see reference.hpp for the spellings): registry
// images are pulled on first use, local archives imported on first use (again
// when the file changes), `rootfs:DIR` is used in place. Progress goes to stderr.
Result<Image> resolve(const std::string& reference);
Result<Image> resolve(const std::string& reference, const ResolveOptions& options);

// For `coco images`, `coco image rm`, `coco prune` (storageRoot empty = default).
Result<std::vector<ImageRecord>> listImages(const std::string& storageRoot = "");
// removeImage takes a stored name or a reference to one; it removes the record
// only (prune then frees the layers no record uses).
Status removeImage(const std::string& reference, const std::string& storageRoot = "");
Result<PruneResult> prune(const std::string& storageRoot = "");

}  // namespace coco::image
