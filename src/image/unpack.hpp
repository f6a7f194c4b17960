// Confined extraction of layer tarballs (plain, gzip, zstd, xz) with OCI whiteouts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "image/userns.hpp"
#include "util/result.hpp"

namespace coco::image {

struct UnpackOptions {
  // Layer mode: `.wh.NAME` -> overlay whiteout (char device 0/0, which the kernel
  // lets anyone create), `.wh..wh..opq` -> xattr user.overlay.opaque=y (what
  // overlayfs mounted with `userxattr` reads). Off for plain archives.
  bool whiteouts = true;
  // Keep the archive's uid/gid (the caller runs us as root of a user namespace
  // mapping 0..maxId); ids above maxId become 0. Off: everything is owned by the
  // caller, i.e. by the user alone (single mapping).
  bool keepOwnership = false;
  uint32_t maxId = 0;
};

// Extracts `archive` into the existing directory `dest`. Every entry stays in
// `dest`: absolute names, `..`, hardlinks out and paths through symlinks are
// refused and fail the whole archive with an error naming the entry. Device
// nodes and sockets are skipped; xattrs in the archive are ignored (so a layer
// cannot forge overlay metadata). Call it where the ownership should land,
// e.g. through unpackLayer.
Status unpackArchive(const std::string& archive, const std::string& dest, const UnpackOptions& options);
// The same on an open archive, read from its current offset; `name` is for messages.
Status unpackArchiveFd(int fd, const std::string& name, const std::string& dest,
                       const UnpackOptions& options);

// How far an unpack got: bytes of the archive file read (compressed, as
// downloaded) of its size.
using UnpackProgress = std::function<void(uint64_t done, uint64_t total)>;

// unpackArchive in a child that is root of a user namespace mapped by `map`,
// keeping ownership exactly when the subordinate mapping is in place (the
// sandbox falls back to the single mapping the same way, so both agree).
// The archive is opened here and read by the child through the shared
// descriptor, so its file offset is how far the child got: `progress` gets it
// every `interval` while the child works, and the size once it succeeded.
Status unpackLayer(const engine::IdMapPlan& map, const std::string& archive, const std::string& dest,
                   bool whiteouts = true, const UnpackProgress& progress = {},
                   std::chrono::milliseconds interval = std::chrono::milliseconds(250));

}  // namespace coco::image
