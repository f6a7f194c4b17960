// OCI image layout writer: store layers -> gzip'd tar blobs, config, manifest, index.
#include "image/export.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "image/archive_error.hpp"
#include "image/digest.hpp"
#include "image/reference.hpp"
#include "image/storage.hpp"
#include "image/userns.hpp"
#include "sys/io.hpp"
#include "sys/overlay.hpp"
#include "util/fs.hpp"
#include "util/unique_fd.hpp"

namespace coco::image {

namespace {

using json = nlohmann::json;

constexpr const char* kLayerType = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr const char* kConfigType = "application/vnd.oci.image.config.v1+json";
constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";

struct ArchiveFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using Archive = std::unique_ptr<struct archive, ArchiveFree>;
using Entry = std::unique_ptr<struct archive_entry, EntryFree>;

struct Blob {
  std::string digest;
  std::string diffId;  // digest of the uncompressed tar
  uint64_t size = 0;
};

// tar stream -> sha256 (diff id) -> gzip -> sha256 (digest) -> file. libarchive
// writes the tar into a callback that hashes it and feeds a second, "raw"
// format archive whose only job is the gzip filter.
class LayerWriter {
 public:
  static Result<std::unique_ptr<LayerWriter>> open(const std::string& path) {
    auto w = std::unique_ptr<LayerWriter>(new LayerWriter());
    w->fd_ = UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!w->fd_) return Error::fromErrno("create {}", path);
    w->gz_.reset(archive_write_new());
    archive_write_add_filter_gzip(w->gz_.get());
    archive_write_set_format_raw(w->gz_.get());
    archive_write_set_bytes_in_last_block(w->gz_.get(), 1);  // no zero padding after the gzip stream
    if (archive_write_open(w->gz_.get(), w.get(), nullptr, &LayerWriter::toFile, nullptr) != ARCHIVE_OK)
      return Error::make("gzip {}: {}", path, archiveError(w->gz_.get()));
    Entry raw(archive_entry_new());
    archive_entry_set_filetype(raw.get(), AE_IFREG);
    archive_entry_set_pathname(raw.get(), "layer.tar");
    if (archive_write_header(w->gz_.get(), raw.get()) < ARCHIVE_WARN)
      return Error::make("gzip {}: {}", path, archiveError(w->gz_.get()));
    w->tar_.reset(archive_write_new());
    archive_write_set_format_pax_restricted(w->tar_.get());
    if (archive_write_open(w->tar_.get(), w.get(), nullptr, &LayerWriter::toGzip, nullptr) != ARCHIVE_OK)
      return Error::make("tar {}: {}", path, archiveError(w->tar_.get()));
    return w;
  }

  struct archive* tar() { return tar_.get(); }

  Result<Blob> finish() {
    if (archive_write_close(tar_.get()) != ARCHIVE_OK)
      return Error::make("tar: {}", error_.empty() ? archiveError(tar_.get()) : error_);
    if (archive_write_close(gz_.get()) != ARCHIVE_OK) return Error::make("gzip: {}", archiveError(gz_.get()));
    if (!error_.empty()) return Error::make("{}", error_);
    if (::fsync(fd_.get()) != 0) return Error::fromErrno("fsync");
    return Blob{digest_.finish(), diffId_.finish(), size_};
  }

 private:
  LayerWriter() = default;

  static la_ssize_t toGzip(struct archive*, void* self, const void* buf, size_t n) {
    auto* w = static_cast<LayerWriter*>(self);
    w->diffId_.update(buf, n);
    return archive_write_data(w->gz_.get(), buf, n);
  }

  static la_ssize_t toFile(struct archive*, void* self, const void* buf, size_t n) {
    auto* w = static_cast<LayerWriter*>(self);
    w->digest_.update(buf, n);
    if (int rc = sys::writeAll(w->fd_.get(), buf, n); rc != 0) {
      w->error_ = fmt::format("write: {}", strerror(-rc));
      return -1;
    }
    w->size_ += n;
    return static_cast<la_ssize_t>(n);
  }

  UniqueFd fd_;
  Archive gz_, tar_;
  Sha256 diffId_, digest_;
  uint64_t size_ = 0;
  std::string error_;
};

// Walks one unpacked layer and writes it as a tar with OCI whiteouts.
class LayerTar {
 public:
  explicit LayerTar(struct archive* tar) : tar_(tar) {}

  Status addTree(int dirFd, const std::string& prefix) {
    std::vector<std::string> names;
    {
      int dup = ::dup(dirFd);
      if (dup < 0) return Error::fromErrno("dup");
      DIR* d = ::fdopendir(dup);
      if (!d) {
        ::close(dup);
        return Error::fromErrno("opendir {}", prefix.empty() ? "/" : prefix);
      }
      while (struct dirent* e = ::readdir(d))
        if (std::string n = e->d_name; n != "." && n != "..") names.push_back(n);
      ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) COCO_TRY(addEntry(dirFd, n, prefix.empty() ? n : prefix + "/" + n));
    return {};
  }

 private:
  Status addEntry(int dirFd, const std::string& name, const std::string& path) {
    struct stat st;
    if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Error::fromErrno("stat {}", path);
    if (sys::isWhiteout(st)) {
      auto slash = path.rfind('/');
      std::string wh = (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) +
                       std::string(sys::kWhiteoutPrefix) + name;
      return writeEmpty(wh, st.st_mtime);
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode)) return {};  // never in our layers
    Entry e(archive_entry_new());
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_mode(e.get(), st.st_mode);
    archive_entry_set_uid(e.get(), st.st_uid);
    archive_entry_set_gid(e.get(), st.st_gid);
    archive_entry_set_mtime(e.get(), st.st_mtime, 0);  // whole seconds: no pax time records
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(dirFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) return Error::fromErrno("open {}", path);
      COCO_TRY(writeHeader(e.get(), path));
      if (sys::isOpaqueDir(sub.get())) COCO_TRY(writeEmpty(path + "/" + std::string(sys::kOpaqueMarker), st.st_mtime));
      return addTree(sub.get(), path);
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(dirFd, name.c_str(), target.data(), target.size());
      if (n < 0) return Error::fromErrno("readlink {}", path);
      target.resize(static_cast<size_t>(n));
      archive_entry_set_symlink(e.get(), target.c_str());
      return writeHeader(e.get(), path);
    }
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
      auto [it, fresh] = links_.try_emplace({st.st_dev, st.st_ino}, path);
      if (!fresh) {
        archive_entry_set_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        return writeHeader(e.get(), path);
      }
    }
    if (!S_ISREG(st.st_mode)) return writeHeader(e.get(), path);  // fifo
    UniqueFd fd(::openat(dirFd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return Error::fromErrno("open {}", path);
    archive_entry_set_size(e.get(), st.st_size);
    COCO_TRY(writeHeader(e.get(), path));
    off_t left = st.st_size;
    while (left > 0) {
      ssize_t n = ::read(fd.get(), buf_.data(), std::min<size_t>(buf_.size(), static_cast<size_t>(left)));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::fromErrno("read {}", path);
      if (n == 0) return Error::make("{} shrank while being saved", path);
      if (archive_write_data(tar_, buf_.data(), static_cast<size_t>(n)) < 0)
        return Error::make("{}: {}", path, archiveError(tar_));
      left -= n;
    }
    return {};
  }

  Status writeEmpty(const std::string& path, time_t mtime) {
    Entry e(archive_entry_new());
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_mode(e.get(), S_IFREG | 0644);
    archive_entry_set_size(e.get(), 0);
    archive_entry_set_mtime(e.get(), mtime, 0);
    return writeHeader(e.get(), path);
  }

  Status writeHeader(struct archive_entry* e, const std::string& path) {
    if (archive_write_header(tar_, e) < ARCHIVE_WARN) return Error::make("{}: {}", path, archiveError(tar_));
    return {};
  }

  struct archive* tar_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::vector<char> buf_ = std::vector<char>(1 << 20);
};

Result<Blob> writeLayer(const std::string& layerDir, const std::string& blobDir, const std::string& tmpName) {
  UniqueFd root(::open(layerDir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) return Error::fromErrno("open {}", layerDir);
  std::string tmp = fs::joinPath(blobDir, tmpName);
  COCO_ASSIGN(auto writer, LayerWriter::open(tmp));
  LayerTar tar(writer->tar());
  COCO_TRY(tar.addTree(root.get(), ""));
  COCO_ASSIGN(Blob blob, writer->finish());
  if (::rename(tmp.c_str(), fs::joinPath(blobDir, digestHex(blob.digest)).c_str()) != 0)
    return Error::fromErrno("rename {}", tmp);
  return blob;
}

std::string ociArchitecture() {
  struct utsname u;
  std::string m = ::uname(&u) == 0 ? u.machine : "x86_64";
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m.rfind("arm", 0) == 0) return "arm";
  return m;
}

Status writeJsonBlob(const std::string& blobDir, const std::string& text, std::string& digest) {
  digest = sha256Digest(text);
  return fs::writeFileAtomic(fs::joinPath(blobDir, digestHex(digest)), text, 0644);
}

// Runs inside the user namespace: everything under `work` is written here.
Status writeLayout(const ImageRecord& record, const std::vector<std::string>& layerDirs, const std::string& work,
                   const ExportOptions& o) {
  std::string blobDir = fs::joinPath(work, "blobs/sha256");
  COCO_TRY(fs::makeDirs(blobDir, 0755));
  json layers = json::array(), diffIds = json::array();
  for (size_t i = 0; i < layerDirs.size(); ++i) {
    o.progress({ProgressEvent::Kind::Step, "", fmt::format("saving layer {} of {}", i + 1, layerDirs.size())});
    auto blob = writeLayer(layerDirs[i], blobDir, fmt::format("layer-{}.tmp", i));
    if (!blob) return std::move(blob).error().wrap(fmt::format("layer {}", record.layers[i]));
    layers.push_back({{"mediaType", kLayerType}, {"digest", blob->digest}, {"size", blob->size}});
    diffIds.push_back(blob->diffId);
  }
  json env = json::array();
  for (const auto& [k, v] : record.env) env.push_back(k + "=" + v);
  json config = {{"Env", env}};
  if (!record.workdir.empty()) config["WorkingDir"] = record.workdir;
  if (!record.user.empty()) config["User"] = record.user;
  if (!record.entrypoint.empty()) config["Entrypoint"] = record.entrypoint;
  if (!record.cmd.empty()) config["Cmd"] = record.cmd;
  std::string created = nowRfc3339();
  // One history entry per layer: podman's build refuses an image whose history names fewer
  // non-empty layers than it has ("history lists 1 non-empty layers, but we have 2").
  json history = json::array();
  for (size_t i = 0; i < layerDirs.size(); ++i)
    history.push_back(
        {{"created", created},
         {"created_by", fmt::format("coco save {} (layer {} of {})", record.name, i + 1, layerDirs.size())}});
  json imageConfig = {{"created", created},
                      {"architecture", ociArchitecture()},
                      {"os", "linux"},
                      {"config", config},
                      {"rootfs", {{"type", "layers"}, {"diff_ids", diffIds}}},
                      {"history", history}};
  std::string configText = imageConfig.dump(), configDigest;
  COCO_TRY(writeJsonBlob(blobDir, configText, configDigest));
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", kManifestType},
                   {"config", {{"mediaType", kConfigType}, {"digest", configDigest}, {"size", configText.size()}}},
                   {"layers", layers}};
  std::string manifestText = manifest.dump(), manifestDigest;
  COCO_TRY(writeJsonBlob(blobDir, manifestText, manifestDigest));
  json index = {{"schemaVersion", 2},
                {"mediaType", "application/vnd.oci.image.index.v1+json"},
                {"manifests", json::array({{{"mediaType", kManifestType},
                                            {"digest", manifestDigest},
                                            {"size", manifestText.size()},
                                            {"annotations", {{"org.opencontainers.image.ref.name", o.tag}}}}})}};
  COCO_TRY(fs::writeFileAtomic(fs::joinPath(work, "index.json"), index.dump(2) + "\n", 0644));
  return fs::writeFileAtomic(fs::joinPath(work, "oci-layout"), "{\"imageLayoutVersion\": \"1.0.0\"}\n", 0644);
}

Result<ImageRecord> findRecord(const Storage& store, const std::string& name) {
  COCO_ASSIGN(auto record, store.loadImage(name));
  if (record) return *record;
  auto ref = parseReference(name);
  if (ref) {
    COCO_ASSIGN(record, store.loadImage(ref->canonical()));
    if (record) return *record;
  }
  return Error::withErrno(ENOENT, fmt::format("no image '{}' in the store {}", name, store.root()));
}

// The runtime image's config with the layer added: what a container reads of it (environment,
// working directory, user, entrypoint, command, labels) and the layers by diff id.
Result<json> layerOnImageConfig(const LayerOnImage& in, const std::string& layerDiffId) {
  json base = json::parse(in.baseConfig, nullptr, false);
  if (base.is_discarded() || !(base.is_object() || base.is_null()))
    return Error::make("the image's config is not a JSON object");
  json config = json::object();
  for (const char* key : {"Env", "WorkingDir", "User", "Entrypoint", "Cmd", "Labels", "StopSignal"})
    if (base.is_object() && base.contains(key) && !base[key].is_null()) config[key] = base[key];
  if (!config.contains("Labels") || !config["Labels"].is_object()) config["Labels"] = json::object();
  for (const auto& [k, v] : in.labels) config["Labels"][k] = v;
  json diffIds = in.baseDiffIds, history = json::array();
  diffIds.push_back(layerDiffId);
  std::string created = nowRfc3339();
  // One history entry per layer, as podman's build wants (see writeLayout).
  for (size_t i = 0; i < diffIds.size(); ++i)
    history.push_back(
        {{"created", created}, {"created_by", i + 1 < diffIds.size() ? "base" : "coco: the tool layer"}});
  return json{{"created", created},
              {"architecture", ociArchitecture()},
              {"os", "linux"},
              {"config", config},
              {"rootfs", {{"type", "layers"}, {"diff_ids", diffIds}}},
              {"history", history}};
}

// Writes the layout and docker's manifest.json into `work` (inside the user namespace).
Status writeLayerOnImage(const LayerOnImage& in, const std::string& work) {
  std::string blobDir = fs::joinPath(work, "blobs/sha256");
  COCO_TRY(fs::makeDirs(blobDir, 0755));
  auto blob = writeLayer(in.layerDir, blobDir, "layer.tmp");
  if (!blob) return std::move(blob).error().wrap(fmt::format("the layer {}", in.layerDir));
  COCO_ASSIGN(json imageConfig, layerOnImageConfig(in, blob->diffId));
  std::string configText = imageConfig.dump(), configDigest;
  COCO_TRY(writeJsonBlob(blobDir, configText, configDigest));
  // The base's layers by their uncompressed digest, which is how the runtime finds it has them.
  json layers = json::array(), dockerLayers = json::array();
  for (const auto& d : in.baseDiffIds) {
    layers.push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar"}, {"digest", d}, {"size", 0}});
    dockerLayers.push_back("blobs/sha256/" + digestHex(d));
  }
  layers.push_back({{"mediaType", kLayerType}, {"digest", blob->digest}, {"size", blob->size}});
  dockerLayers.push_back("blobs/sha256/" + digestHex(blob->digest));
  json manifest = {
      {"schemaVersion", 2},
      {"mediaType", kManifestType},
      {"config", {{"mediaType", kConfigType}, {"digest", configDigest}, {"size", configText.size()}}},
      {"layers", layers}};
  std::string manifestText = manifest.dump(), manifestDigest;
  COCO_TRY(writeJsonBlob(blobDir, manifestText, manifestDigest));
  // podman load names the image after ref.name; docker load after RepoTags.
  json index = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.index.v1+json"},
      {"manifests", json::array({{{"mediaType", kManifestType},
                                  {"digest", manifestDigest},
                                  {"size", manifestText.size()},
                                  {"annotations", {{"org.opencontainers.image.ref.name", in.reference}}}}})}};
  COCO_TRY(fs::writeFileAtomic(fs::joinPath(work, "index.json"), index.dump() + "\n", 0644));
  COCO_TRY(
      fs::writeFileAtomic(fs::joinPath(work, "oci-layout"), "{\"imageLayoutVersion\": \"1.0.0\"}\n", 0644));
  json docker = json::array({{{"Config", "blobs/sha256/" + digestHex(configDigest)},
                              {"RepoTags", json::array({in.reference})},
                              {"Layers", dockerLayers}}});
  return fs::writeFileAtomic(fs::joinPath(work, "manifest.json"), docker.dump() + "\n", 0644);
}

// The files of `work` (coco's own, flat but for blobs/sha256) as a plain tar at `file`.
Status packDirectory(const std::string& work, const std::vector<std::string>& files,
                     const std::string& file) {
  struct WriteFree {
    void operator()(struct archive* a) const { archive_write_free(a); }
  };
  std::unique_ptr<struct archive, WriteFree> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_filename(a.get(), file.c_str()) != ARCHIVE_OK)
    return Error::make("{}: {}", file, archiveError(a.get()));
  std::vector<char> buf(1 << 20);
  for (const auto& rel : files) {
    std::string path = fs::joinPath(work, rel);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) != 0) return Error::fromErrno("open {}", path);
    Entry e(archive_entry_new());
    archive_entry_set_pathname(e.get(), rel.c_str());
    archive_entry_set_mode(e.get(), S_ISDIR(st.st_mode) ? (S_IFDIR | 0755) : (S_IFREG | 0644));
    archive_entry_set_size(e.get(), S_ISDIR(st.st_mode) ? 0 : st.st_size);
    if (archive_write_header(a.get(), e.get()) < ARCHIVE_WARN)
      return Error::make("{}: {}", file, archiveError(a.get()));
    for (ssize_t n; !S_ISDIR(st.st_mode) && (n = ::read(fd.get(), buf.data(), buf.size())) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::fromErrno("read {}", path);
      if (archive_write_data(a.get(), buf.data(), static_cast<size_t>(n)) < 0)
        return Error::make("{}: {}", file, archiveError(a.get()));
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return Error::make("{}: {}", file, archiveError(a.get()));
  return {};
}

Status packLayerOnImage(const std::string& work, const std::string& file) {
  std::vector<std::string> files = {"oci-layout", "index.json", "manifest.json", "blobs", "blobs/sha256"};
  std::vector<std::string> blobs;
  {
    DIR* d = ::opendir(fs::joinPath(work, "blobs/sha256").c_str());
    if (!d) return Error::fromErrno("opendir {}/blobs/sha256", work);
    while (struct dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') blobs.push_back(std::string("blobs/sha256/") + e->d_name);
    ::closedir(d);
  }
  std::sort(blobs.begin(), blobs.end());
  files.insert(files.end(), blobs.begin(), blobs.end());
  return packDirectory(work, files, file);
}

}  // namespace

Status exportLayerOnImage(const LayerOnImage& in, const std::string& file) {
  if (fs::exists(file)) return Error::withErrno(EEXIST, fmt::format("{} already exists", file));
  std::string work = file + ".coco-tmp-XXXXXX";
  if (!::mkdtemp(work.data())) return Error::fromErrno("mkdtemp {}", work);
  std::string tmp = work + "/image.tar";
  Status st = runInUserNamespace(in.idMap, [&]() -> Status {
    COCO_TRY(writeLayerOnImage(in, fs::joinPath(work, "layout")));
    return packLayerOnImage(fs::joinPath(work, "layout"), tmp);
  });
  if (st && ::rename(tmp.c_str(), file.c_str()) != 0) st = Error::fromErrno("rename {} to {}", tmp, file);
  (void)removeTreeAsOwner(in.idMap, work);
  if (!st) return std::move(st).error().wrap(fmt::format("writing the image {} to {}", in.reference, file));
  return {};
}

Status exportOciLayout(const std::string& name, const std::string& dirGiven, const ExportOptions& options) {
  std::string dir = dirGiven;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();  // "out/" names the directory out
  ExportOptions o = options;
  if (!isValidTag(o.tag))
    return Error::withErrno(EINVAL, fmt::format("bad tag '{}': up to 128 letters, digits, '_', '.' and '-', not "
                                                "starting with '.' or '-'", o.tag));
  if (!o.progress) o.progress = stderrProgress();
  std::string root = o.storageRoot;
  if (root.empty()) {
    COCO_ASSIGN(root, Storage::defaultRoot());
  }
  COCO_ASSIGN(Storage store, Storage::open(root));
  COCO_ASSIGN(ImageRecord record, findRecord(store, name));
  std::vector<std::string> layerDirs;
  for (const auto& l : record.layers) {
    if (!store.hasLayer(l)) return Error::make("image {}: layer {} is missing from the store", record.name, l);
    layerDirs.push_back(store.layerPath(l));
  }
  if (fs::exists(dir)) return Error::withErrno(EEXIST, fmt::format("{} already exists", dir));
  // Written next to its final place, renamed there when complete.
  std::string work = dir + ".coco-tmp-XXXXXX";
  if (!::mkdtemp(work.data()) || ::chmod(work.c_str(), 0755) != 0) return Error::fromErrno("mkdtemp {}", work);
  Status st = runInUserNamespace(store.idMap(), [&] { return writeLayout(record, layerDirs, work, o); });
  if (st && ::rename(work.c_str(), dir.c_str()) != 0) st = Error::fromErrno("rename {} to {}", work, dir);
  if (!st) {
    (void)fs::removeTree(work);
    return std::move(st).error().wrap(fmt::format("saving {} to {}", record.name, dir));
  }
  o.progress({ProgressEvent::Kind::Step, "", fmt::format("saved {} to {} (OCI layout, tag {})", record.name, dir, o.tag)});
  return {};
}

}  // namespace coco::image
