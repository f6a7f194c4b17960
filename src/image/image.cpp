// Resolution of image references: dispatch to the store, registry and local importers.
#include "image/image.hpp"

#include <unistd.h>

#include <algorithm>
#include <climits>

#include "image/local.hpp"
#include "image/reference.hpp"
#include "image/registry.hpp"
#include "util/front.hpp"
#include "util/fs.hpp"

namespace coco::image {

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

void ensurePath(std::vector<std::pair<std::string, std::string>>& env) {
  bool has = std::any_of(env.begin(), env.end(), [](const auto& kv) { return kv.first == "PATH"; });
  if (!has) env.emplace_back("PATH", kDefaultPath);
}

Result<Image> fromRecord(const Storage& store, const ImageRecord& r, const std::string& reference) {
  Image image{reference, {}, r.env, r.workdir, r.entrypoint, r.cmd, r.user};
  for (auto it = r.layers.rbegin(); it != r.layers.rend(); ++it) {
    if (!store.hasLayer(*it)) return Error::make("image {}: layer {} is missing from the store", reference, *it);
    image.layers.push_back(store.layerPath(*it));
  }
  ensurePath(image.env);
  return image;
}

bool complete(const Storage& store, const ImageRecord& r) {
  return std::all_of(r.layers.begin(), r.layers.end(), [&](const auto& l) { return store.hasLayer(l); });
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path.front() == '/') return fs::normalize(path);
  char cwd[PATH_MAX];
  return fs::normalize(fs::joinPath(::getcwd(cwd, sizeof cwd) ? cwd : "/", path));
}

Result<Storage> openStorage(const std::string& root) {
  std::string dir = root;
  if (dir.empty()) {
    COCO_ASSIGN(dir, Storage::defaultRoot());
  }
  return Storage::open(dir);
}

Result<ImageRecord> fetchRecord(const Storage& store, const Reference& ref, const ResolveOptions& o,
                                const ProgressFn& progress) {
  // Registry and bootstrap images are reused until asked to fetch again; local
  // archives are checked against their file (importLocal).
  bool reusable = ref.kind == SourceKind::Registry || ref.kind == SourceKind::Bootstrap;
  if (reusable && !o.pull) {
    COCO_ASSIGN(auto existing, store.loadImage(ref.canonical()));
    if (existing && complete(store, *existing)) return *existing;
  }
  front::needFull("fetching an image");
  COCO_ASSIGN(UniqueFd lock, store.lock());
  if (ref.kind == SourceKind::Registry) return pullImage(store, ref, progress);
  return importLocal(store, ref, progress);
}

Result<Image> resolveRootfsDir(const std::string& reference, const std::string& dir) {
  if (!fs::isDirectory(dir))
    return Error::withErrno(ENOENT, fmt::format("image {}: no such directory", reference))
        .withKind(ErrorKind::NotFound, dir);
  return Image{reference, {dir}, {{"PATH", kDefaultPath}}, ""};
}

}  // namespace

Result<Image> resolve(const std::string& reference) { return resolve(reference, ResolveOptions{}); }

Result<Image> resolve(const std::string& reference, const ResolveOptions& options) {
  COCO_ASSIGN(Reference ref, parseReference(reference));
  if (!ref.path.empty()) ref.path = absolute(ref.path);
  if (ref.kind == SourceKind::RootfsDir) return resolveRootfsDir(reference, ref.path);
  ProgressFn progress = options.progress ? options.progress : stderrProgress();
  COCO_ASSIGN(Storage store, openStorage(options.storageRoot));
  COCO_ASSIGN(ImageRecord record, fetchRecord(store, ref, options, progress));
  return fromRecord(store, record, reference);
}

Result<std::vector<ImageRecord>> listImages(const std::string& storageRoot) {
  COCO_ASSIGN(Storage store, openStorage(storageRoot));
  return store.listImages();
}

Status removeImage(const std::string& reference, const std::string& storageRoot) {
  COCO_ASSIGN(Storage store, openStorage(storageRoot));
  COCO_ASSIGN(UniqueFd lock, store.lock());
  // A name as stored (`coco images` lists them; coco-base is no registry
  // reference), else the canonical name of the reference.
  COCO_ASSIGN(auto stored, store.loadImage(reference));
  if (stored) return store.removeImage(reference);
  COCO_ASSIGN(Reference ref, parseReference(reference));
  if (!ref.path.empty()) ref.path = absolute(ref.path);
  COCO_ASSIGN(auto canonical, store.loadImage(ref.canonical()));
  if (!canonical)
    return Error::withErrno(ENOENT, fmt::format("no image {} in the storage", reference))
        .withKind(ErrorKind::NotFound, reference);
  return store.removeImage(ref.canonical());
}

Result<PruneResult> prune(const std::string& storageRoot) {
  COCO_ASSIGN(Storage store, openStorage(storageRoot));
  COCO_ASSIGN(UniqueFd lock, store.lock());
  return store.prune();
}

}  // namespace coco::image
