// Reading what an overlay of image layers shows, on the host, without mounting it
// and without following a symlink on the host (layers are written by installs).
#pragma once

#include <sys/stat.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace coco::image {

// One entry of one layer: `layer` (a trusted directory) and the path below it.
struct LayerFile {
  std::string layer;
  std::string rel;  // relative, no leading '/'
};

// The regular files an overlay of `layers` (topmost first) shows in relDir,
// name -> file: a name's topmost entry wins (a whiteout, a directory or a symlink
// there hides the files below), opaque directories stop the descent, at relDir
// and on the way. relDir is looked up without following symlinks; where a layer
// has something else than a directory there, it hides the layers below. Empty
// when a layer cannot be read.
std::map<std::string, LayerFile> mergedFiles(const std::vector<std::string>& layers, const std::string& relDir);

// The regular file the overlay shows at `path` (absolute in the sandbox),
// resolving symlinks as the sandbox would see them (their targets taken in the
// sandbox's root, at most 40), each layer's entries read beneath the layer.
// nullopt when the path ends anywhere else (missing, a whiteout, a directory,
// a device) or a layer cannot be read.
struct ResolvedFile {
  LayerFile file;
  std::string path;  // where it is in the sandbox, symlinks resolved ("/usr/lib/.../node")
};
// `through`, when given, gets each directory the walk entered, resolved ("/usr", "/usr/lib", ...).
std::optional<ResolvedFile> resolveRegularFile(const std::vector<std::string>& layers, const std::string& path,
                                               std::vector<std::string>* through = nullptr);

// What the overlay shows at `rel` (relative, no leading '/'), not following a symlink there or on
// the way (a symlink or file on the way hides what lies below it): its lstat; nullopt when
// nothing is shown (missing, a whiteout) or a layer cannot be read.
std::optional<struct stat> mergedStat(const std::vector<std::string>& layers, const std::string& rel);

}  // namespace coco::image
