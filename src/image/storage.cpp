// The image storage: paths, locking, atomic commits, image records, pruning.
#include "image/storage.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "image/digest.hpp"
#include "image/json_number.hpp"
#include "image/reference.hpp"
#include "image/userns.hpp"
#include "sys/beneath.hpp"
#include "sys/lock_file.hpp"
#include "sys/page_cache.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace coco::image {

namespace {

using json = nlohmann::json;


}  // namespace

std::string escapeName(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string unescapeName(const std::string& file) {
  std::string out;
  for (size_t i = 0; i < file.size(); ++i) {
    if (file[i] == '%' && i + 2 < file.size()) {
      out += static_cast<char>(std::strtol(file.substr(i + 1, 2).c_str(), nullptr, 16));
      i += 2;
    } else {
      out += file[i];
    }
  }
  return out;
}

std::string recordToJson(const ImageRecord& r) {
  json env = json::array();
  for (const auto& [k, v] : r.env) env.push_back(k + "=" + v);
  json j = {{"name", r.name},       {"manifestDigest", r.manifestDigest}, {"configDigest", r.configDigest},
            {"layers", r.layers},   {"env", env},                         {"workdir", r.workdir},
            {"user", r.user},       {"entrypoint", r.entrypoint},         {"cmd", r.cmd},
            {"size", r.size},       {"created", r.created},                   {"stamp", r.stamp}};
  return j.dump(2) + "\n";
}

Result<ImageRecord> recordFromJson(const std::string& text) {
  try {
    json j = json::parse(text);
    ImageRecord r;
    r.name = j.at("name").get<std::string>();
    r.manifestDigest = j.value("manifestDigest", "");
    r.configDigest = j.value("configDigest", "");
    r.layers = j.at("layers").get<std::vector<std::string>>();
    for (const auto& kv : j.value("env", std::vector<std::string>{})) {
      auto eq = kv.find('=');
      if (eq != std::string::npos) r.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    r.workdir = j.value("workdir", "");
    r.user = j.value("user", "");
    r.entrypoint = j.value("entrypoint", std::vector<std::string>{});
    r.cmd = j.value("cmd", std::vector<std::string>{});
    if (auto size = j.find("size"); size != j.end()) {
      auto n = jsonInteger(*size, 0, INT64_MAX);
      if (!n) return Error::make("bad image record: 'size' is not a whole number of bytes");
      r.size = static_cast<uint64_t>(*n);
    }
    r.created = j.value("created", "");
    r.stamp = j.value("stamp", "");
    for (const auto& l : r.layers)
      if (!isSha256Digest(l)) return Error::make("bad layer digest '{}'", l);
    return r;
  } catch (const json::exception& e) {
    return Error::make("bad image record: {}", e.what());
  }
}

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  struct tm tm;
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::string> Storage::defaultRoot() {
  for (const char* var : kStorageVars)
    if (const char* s = std::getenv(var); s && *s) return std::string(s);
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x == '/') return fs::joinPath(x, "coco");
  const char* home = std::getenv("HOME");
  if (!home || *home != '/')
    return Error::make(
        "HOME is not set to an absolute path: no place for the image storage (set HOME to your home "
        "directory)");
  return fs::joinPath(fs::joinPath(home, ".local/share"), "coco");
}

Result<Storage> Storage::open(const std::string& root) {
  for (auto sub : {"blobs/sha256", "layers", "images", "tmp"})
    COCO_TRY(fs::makeDirs(fs::joinPath(root, sub), 0700));
  return Storage(fs::normalize(root));
}

const engine::IdMapPlan& Storage::idMap() const {
  if (!map_) map_ = hostIdMaps();
  return *map_;
}

std::string Storage::blobPath(const std::string& digest) const {
  return fs::joinPath(root_, "blobs/sha256/" + digestHex(digest));
}
std::string Storage::layerPath(const std::string& digest) const {
  return fs::joinPath(root_, "layers/" + digestHex(digest));
}
std::string Storage::imagePath(const std::string& name) const {
  return fs::joinPath(root_, "images/" + escapeName(name) + ".json");
}
bool Storage::hasLayer(const std::string& digest) const { return fs::isDirectory(layerPath(digest)); }

Result<UniqueFd> Storage::lock() const {
  COCO_ASSIGN(UniqueFd fd, sys::lockExclusive(fs::joinPath(root_, "lock"), [] {
    log::notice("{}", sys::waitingFor("to finish with the image storage"));
  }));
  COCO_TRY(clearTemp());
  return fd;
}

Status Storage::clearTemp() const {
  std::string tmp = fs::joinPath(root_, "tmp");
  auto names = fs::listDir(tmp);
  if (names.empty()) return {};
  log::debug("image storage: removing {} leftover temporary entries", names.size());
  return runInUserNamespace(idMap(), [&]() -> Status {
    for (const auto& n : names) COCO_TRY(fs::removeTree(fs::joinPath(tmp, n)));
    return {};
  });
}

Result<std::string> Storage::makeTemp() const {
  std::string tmpl = fs::joinPath(root_, "tmp/work-XXXXXX");
  if (!::mkdtemp(tmpl.data())) return Error::fromErrno("mkdtemp {}", tmpl);
  return tmpl;
}

Status Storage::removeTemp(const std::string& path) const { return removeTreeAsOwner(idMap(), path); }

Status Storage::commitBlob(const std::string& file, const std::string& digest) const {
  if (::rename(file.c_str(), blobPath(digest).c_str()) != 0) return Error::fromErrno("store blob {}", digest);
  return {};
}

Result<std::string> Storage::readBlob(const std::string& digest) const {
  COCO_ASSIGN(std::string data,
              sys::readUntrusted(root_, "blobs/sha256/" + digestHex(digest), kMaxJsonBlobBytes));
  if (sha256Digest(data) != digest) return Error::make("blob {} in the store is corrupt", digest);
  return data;
}

Status Storage::commitLayer(const std::string& dir, const std::string& digest) const {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  // The rename is the commit point: the data must be on disk before it.
  if (!fd || ::fchmod(fd.get(), 0755) != 0 || ::syncfs(fd.get()) != 0) return Error::fromErrno("sync {}", dir);
  std::string dest = layerPath(digest);
  if (::rename(dir.c_str(), dest.c_str()) == 0) {
    if (uint64_t n = sys::rereadLargeExecutables(fd.get()))
      log::debug("read {} MiB of {} back into the page cache", n >> 20, dest);
    return {};
  }
  if (errno != EEXIST && errno != ENOTEMPTY) return Error::fromErrno("store layer {}", digest);
  return removeTemp(dir);  // the same layer is already there
}

Status Storage::saveImage(const ImageRecord& record) const {
  ImageRecord r = record;
  if (r.created.empty()) r.created = nowRfc3339();
  return fs::writeFileAtomic(imagePath(r.name), recordToJson(r), 0600);
}

Result<std::optional<ImageRecord>> Storage::loadImage(const std::string& name) const {
  std::string path = imagePath(name);
  if (!fs::exists(path)) return std::optional<ImageRecord>();
  COCO_ASSIGN(std::string text,
              sys::readUntrusted(root_, "images/" + escapeName(name) + ".json", kMaxJsonBlobBytes));
  auto r = recordFromJson(text);
  if (!r) return std::move(r).error().wrap(path);
  return std::optional<ImageRecord>(std::move(*r));
}

Result<std::vector<ImageRecord>> Storage::listImages() const {
  std::vector<ImageRecord> out;
  for (const auto& f : fs::listDir(fs::joinPath(root_, "images"))) {
    if (f.size() < 5 || f.substr(f.size() - 5) != ".json") continue;
    COCO_ASSIGN(auto r, loadImage(unescapeName(f.substr(0, f.size() - 5))));
    if (r) out.push_back(std::move(*r));
  }
  return out;
}

Status Storage::removeImage(const std::string& name) const {
  std::string path = imagePath(name);
  if (::unlink(path.c_str()) != 0) return Error::fromErrno("remove image {}", name);
  return {};
}

Result<PruneResult> Storage::prune() const {
  COCO_ASSIGN(auto images, listImages());
  std::set<std::string> keep;
  for (const auto& r : images) {
    for (const auto& l : r.layers) keep.insert(digestHex(l));
    keep.insert(digestHex(r.manifestDigest));
    keep.insert(digestHex(r.configDigest));
  }
  PruneResult result;
  std::vector<std::string> doomed;
  for (const auto& n : fs::listDir(fs::joinPath(root_, "layers")))
    if (!keep.count(n)) doomed.push_back(fs::joinPath(root_, "layers/" + n));
  result.layers = doomed.size();
  for (const auto& n : fs::listDir(fs::joinPath(root_, "blobs/sha256"))) {
    if (keep.count(n)) continue;
    std::string p = fs::joinPath(root_, "blobs/sha256/" + n);
    if (::unlink(p.c_str()) == 0) ++result.blobs;
  }
  if (!doomed.empty()) {
    COCO_TRY(runInUserNamespace(idMap(), [&]() -> Status {
      for (const auto& d : doomed) COCO_TRY(fs::removeTree(d));
      return {};
    }));
  }
  return result;
}

}  // namespace coco::image
