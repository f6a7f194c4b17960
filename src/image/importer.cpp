// The import pipeline shared by registry pulls and local layouts.
#include "image/importer.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include "image/digest.hpp"
#include "image/unpack.hpp"
#include "sys/beneath.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace coco::image {

namespace {

bool isUnder(const std::string& path, const std::string& dir) { return path.rfind(dir + "/", 0) == 0; }

// Makes sure a JSON blob (config) is in blobs/ and returns its content.
Result<std::string> storeJsonBlob(const Storage& store, const Descriptor& d, const FetchBlob& fetch,
                                  const std::string& work) {
  if (fs::exists(store.blobPath(d.digest))) return store.readBlob(d.digest);
  COCO_ASSIGN(std::string path, fetch(d, work));
  // Fetched by coco or checked beneath its layout (see local.cpp); the cap still holds.
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  COCO_ASSIGN(std::string body, sys::readUntrusted(dir, path.substr(slash + 1), kMaxJsonBlobBytes));
  COCO_TRY(fs::writeFileAtomic(store.blobPath(d.digest), body, 0600));
  return body;
}

Status importLayer(const Storage& store, const Descriptor& d, const FetchBlob& fetch, const std::string& work,
                   const ProgressFn& progress) {
  std::string id = shortDigest(d.digest);
  if (store.hasLayer(d.digest)) {
    progress({ProgressEvent::Kind::ItemDone, id, "already present", 0, 0});
    return {};
  }
  COCO_ASSIGN(std::string blob, fetch(d, work));
  std::string dir = fs::joinPath(work, "layer-" + id);
  if (::mkdir(dir.c_str(), 0755) != 0) return Error::fromErrno("mkdir {}", dir);
  progress({ProgressEvent::Kind::Step, id, fmt::format("unpacking layer {}", id), 0, 0});
  auto bytes = [&](uint64_t done, uint64_t total) {
    progress({ProgressEvent::Kind::Bytes, id, "unpacked", done, total});
  };
  if (auto st = unpackLayer(store.idMap(), blob, dir, true, bytes); !st)
    return std::move(st).error().wrap("layer " + d.digest);
  if (isUnder(blob, work)) ::unlink(blob.c_str());
  COCO_TRY(store.commitLayer(dir, d.digest));
  progress({ProgressEvent::Kind::ItemDone, id, "unpacked", 0, d.size > 0 ? static_cast<uint64_t>(d.size) : 0});
  return {};
}

ImageRecord makeRecord(const ImportSource& src, const ImageConfig& config) {
  ImageRecord r;
  r.name = src.name;
  r.manifestDigest = src.manifestDigest;
  r.configDigest = src.manifest.config.digest;
  for (const auto& l : src.manifest.layers) {
    r.layers.push_back(l.digest);
    if (l.size > 0) r.size += static_cast<uint64_t>(l.size);
  }
  r.env = config.env;
  r.workdir = config.workdir;
  r.user = config.user;
  r.entrypoint = config.entrypoint;
  r.cmd = config.cmd;
  return r;
}

Result<ImageRecord> importInto(const Storage& store, const ImportSource& src, const ProgressFn& progress,
                               const std::string& work) {
  COCO_ASSIGN(std::string configBody, storeJsonBlob(store, src.manifest.config, src.fetch, work));
  COCO_ASSIGN(ImageConfig config, parseConfig(configBody));
  if (!config.os.empty() && config.os != "linux") return Error::make("image is for {}, not linux", config.os);
  for (const auto& layer : src.manifest.layers) COCO_TRY(importLayer(store, layer, src.fetch, work, progress));
  if (!src.manifestDigest.empty()) COCO_TRY(fs::writeFileAtomic(store.blobPath(src.manifestDigest), src.manifestBody, 0600));
  ImageRecord record = makeRecord(src, config);
  COCO_TRY(store.saveImage(record));
  return record;
}

}  // namespace

std::string shortDigest(const std::string& digest) { return digestHex(digest).substr(0, 12); }

Status verifyBlob(const std::string& path, const Descriptor& d) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error::fromErrno("stat {}", path);
  if (d.size >= 0 && st.st_size != d.size)
    return Error::make("blob {}: size {} instead of {}", d.digest, st.st_size, d.size);
  COCO_ASSIGN(std::string actual, sha256File(path));
  if (actual != d.digest) return Error::make("blob {}: content has digest {} (corrupt or tampered)", d.digest, actual);
  return {};
}

Result<ImageRecord> importImage(const Storage& store, const ImportSource& source, const ProgressFn& progress) {
  COCO_ASSIGN(std::string work, store.makeTemp());
  auto record = importInto(store, source, progress, work);
  if (auto st = store.removeTemp(work); !st) log::warn("image storage: {}", st.error().describe());
  return record;
}

}  // namespace coco::image
