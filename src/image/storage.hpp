// The image storage under $XDG_DATA_HOME/coco/: blobs, unpacked layers, image records.
//
// Layout (everything below is written atomically: built under tmp/, then renamed):
//   blobs/sha256/<hex>      manifests, indexes and image configs, sha256-verified
//   layers/<hex>/           one unpacked layer; <hex> is the sha256 of the layer blob as
//                           its manifest names it (compressed), or of the tar for imports.
//                           A directory here is complete: only rename(2) puts it there.
//                           Files inside are owned through the user-namespace id map.
//   images/<name>.json      one image: source, manifest/config digests, layers (bottom
//                           first), env, workdir, entrypoint, cmd, size. <name> is the
//                           canonical reference, percent-encoded.
//   tmp/                    work in progress (downloads, unpacks); whatever is found here
//                           while holding the lock was left by a killed run and is removed.
//   lock                    flock(2): one writer (pull, import, rm, prune) at a time.
// Layer tarballs are not kept once unpacked: the unpacked layer is the cache.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "image/userns.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace coco::image {

struct ImageRecord {
  std::string name;            // canonical reference: "docker.io/library/debian:trixie-slim"
  std::string manifestDigest;  // empty for rootfs/bootstrap imports
  std::string configDigest;
  std::vector<std::string> layers;  // layer digests, bottom first (manifest order)
  std::vector<std::pair<std::string, std::string>> env;
  std::string workdir;
  std::string user;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  uint64_t size = 0;  // bytes of the layer archives
  std::string created;  // when the store got it, RFC 3339
  std::string stamp;    // local archives: "size:mtime" of the file it came from
};

// The most coco reads of one JSON document (manifest, index, image config,
// image record): far above any real one, and a hostile file stops there.
inline constexpr size_t kMaxJsonBlobBytes = 32 << 20;

struct PruneResult {
  uint64_t layers = 0, blobs = 0;
};

// Where images and tool layers live when the default does not suit: COCO_STORAGE,
// or COCO_STORE (its older name, kept as an alias). The first set one wins.
inline constexpr const char* kStorageVars[] = {"COCO_STORAGE", "COCO_STORE"};

class Storage {
 public:
  // $XDG_DATA_HOME/coco (default ~/.local/share/coco), or COCO_STORAGE (COCO_STORE) when set.
  static Result<std::string> defaultRoot();
  static Result<Storage> open(const std::string& root);

  const std::string& root() const { return root_; }
  // The id mapping its layers are unpacked and removed with: planned on first
  // use (looking the user up and reading /etc/subuid and /etc/subgid costs a
  // tenth of a millisecond or more), which a run that only reads the image
  // records never makes. Not for concurrent first use from two threads.
  const engine::IdMapPlan& idMap() const;
  std::string blobPath(const std::string& digest) const;
  std::string layerPath(const std::string& digest) const;
  bool hasLayer(const std::string& digest) const;

  // Takes the writer lock (blocking) and clears what killed runs left in tmp/.
  Result<UniqueFd> lock() const;
  // A fresh directory under tmp/ (remove it with removeTemp).
  Result<std::string> makeTemp() const;
  Status removeTemp(const std::string& path) const;

  // Moves a verified file into blobs/; `digest` is what the caller computed.
  Status commitBlob(const std::string& file, const std::string& digest) const;
  Result<std::string> readBlob(const std::string& digest) const;
  // Moves an unpacked directory into layers/ (a concurrent identical layer wins).
  Status commitLayer(const std::string& dir, const std::string& digest) const;

  Status saveImage(const ImageRecord& record) const;
  Result<std::optional<ImageRecord>> loadImage(const std::string& name) const;
  Result<std::vector<ImageRecord>> listImages() const;
  Status removeImage(const std::string& name) const;
  // Removes layers and blobs no image record refers to. Call with the lock held.
  Result<PruneResult> prune() const;

 private:
  explicit Storage(std::string root) : root_(std::move(root)) {}
  std::string imagePath(const std::string& name) const;
  Status clearTemp() const;

  std::string root_;
  mutable std::optional<engine::IdMapPlan> map_;
};

// Percent-encodes everything but [A-Za-z0-9._-], for file names.
std::string escapeName(const std::string& name);
std::string unescapeName(const std::string& file);

// The current time as RFC 3339 UTC ("2026-11-27T12:00:00Z"), for records.
std::string nowRfc3339();

// Record <-> JSON (the images/<name>.json format).
std::string recordToJson(const ImageRecord& record);
Result<ImageRecord> recordFromJson(const std::string& text);

}  // namespace coco::image
