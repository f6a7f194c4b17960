// Local imports: every path resolves to an ImportSource for the shared pipeline.
#include "image/local.hpp"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "image/apt_sources.hpp"
#include "image/bootstrap_output.hpp"
#include "image/digest.hpp"
#include "image/importer.hpp"
#include "image/manifest.hpp"
#include "image/storage.hpp"
#include "image/unpack.hpp"
#include "sys/beneath.hpp"
#include "sys/process.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace coco::image {

namespace {

using json = nlohmann::json;

// A name inside an archive or layout: relative, without "..".
bool confinedRelative(const std::string& p) {
  if (p.empty() || p.front() == '/') return false;
  return ("/" + p + "/").find("/../") == std::string::npos;
}

// A layout or an unpacked archive is the image's, not coco's: a file in it is
// used only as a regular file reached without symlinks (one to /dev/zero or to
// a host file would be read, or hashed, for ever or in the user's name).
Result<std::string> layoutBlobPath(const std::string& dir, const std::string& digest) {
  if (!isSha256Digest(digest)) return Error::make("unsupported digest {}", digest);
  std::string rel = "blobs/sha256/" + digestHex(digest);
  COCO_TRY(sys::checkRegularBeneath(dir, rel));
  return fs::joinPath(dir, rel);
}

Result<std::string> readLayoutBlob(const std::string& dir, const Descriptor& d) {
  COCO_ASSIGN(std::string path, layoutBlobPath(dir, d.digest));
  COCO_TRY(verifyBlob(path, d));
  return sys::readUntrusted(dir, "blobs/sha256/" + digestHex(d.digest), kMaxJsonBlobBytes);
}

Result<Descriptor> pickFromIndex(const std::string& dir, const std::string& ociRef) {
  COCO_ASSIGN(std::string text, sys::readUntrusted(dir, "index.json", kMaxJsonBlobBytes));
  COCO_ASSIGN(auto entries, parseIndex(text));
  std::vector<Descriptor> matches;
  for (const auto& e : entries)
    if (ociRef.empty() || e.refName == ociRef || e.digest == ociRef) matches.push_back(e);
  if (matches.size() == 1) return matches.front();
  if (matches.empty()) return Error::make("{}: no manifest named '{}'", dir, ociRef);
  std::string names;
  for (const auto& e : matches) names += (names.empty() ? "" : ", ") + (e.refName.empty() ? e.digest : e.refName);
  return Error::make("{} holds several images ({}): add :REF", dir, names);
}

Result<ImportSource> ociLayoutSource(const std::string& dir, const std::string& ociRef, const std::string& name) {
  COCO_ASSIGN(Descriptor chosen, pickFromIndex(dir, ociRef));
  COCO_ASSIGN(std::string body, readLayoutBlob(dir, chosen));
  COCO_ASSIGN(std::string kind, manifestKind(body));
  if (isIndex(kind)) {
    COCO_ASSIGN(auto entries, parseIndex(body));
    COCO_ASSIGN(chosen, pickPlatform(entries));
    COCO_ASSIGN(body, readLayoutBlob(dir, chosen));
  }
  ImportSource src;
  src.name = name;
  src.manifestDigest = chosen.digest;
  src.manifestBody = body;
  COCO_ASSIGN(src.manifest, parseManifest(body));
  src.fetch = [dir](const Descriptor& d, const std::string&) -> Result<std::string> {
    COCO_ASSIGN(std::string path, layoutBlobPath(dir, d.digest));
    COCO_TRY(verifyBlob(path, d));
    return path;
  };
  return src;
}

// A descriptor for a local file, its digest computed (it is its own reference).
Result<Descriptor> describeFile(const std::string& path) {
  Descriptor d;
  COCO_ASSIGN(d.digest, sha256File(path));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error::fromErrno("stat {}", path);
  d.size = st.st_size;
  return d;
}

FetchBlob filesByDigest(std::map<std::string, std::string> files) {
  return [files = std::move(files)](const Descriptor& d, const std::string&) -> Result<std::string> {
    auto it = files.find(d.digest);
    if (it == files.end()) return Error::make("no file for blob {}", d.digest);
    return it->second;
  };
}

Result<ImportSource> dockerArchiveSource(const std::string& dir, const std::string& name) {
  COCO_ASSIGN(std::string text, sys::readUntrusted(dir, "manifest.json", kMaxJsonBlobBytes));
  COCO_ASSIGN(DockerArchiveManifest manifest, parseDockerArchiveManifest(text));
  ImportSource src;
  src.name = name;
  std::map<std::string, std::string> files;
  for (const auto& n : manifest.layers) {
    COCO_TRY(sys::checkRegularBeneath(dir, n));
    std::string path = fs::joinPath(dir, n);
    COCO_ASSIGN(Descriptor d, describeFile(path));
    files[d.digest] = path;
    src.manifest.layers.push_back(d);
  }
  COCO_TRY(sys::checkRegularBeneath(dir, manifest.config));
  std::string configPath = fs::joinPath(dir, manifest.config);
  COCO_ASSIGN(src.manifest.config, describeFile(configPath));
  files[src.manifest.config.digest] = configPath;
  src.fetch = filesByDigest(std::move(files));
  return src;
}

Result<ImportSource> rootfsTarSource(const std::string& tar, const std::string& name, const std::string& work) {
  ImportSource src;
  src.name = name;
  COCO_ASSIGN(Descriptor layer, describeFile(tar));
  src.manifest.layers.push_back(layer);
  std::string config = json{{"os", "linux"}, {"architecture", hostArchitecture()},
                            {"config", {{"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}}},
                            {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}}
                           .dump();
  std::string configPath = fs::joinPath(work, "config.json");
  COCO_TRY(fs::writeFileAtomic(configPath, config, 0600));
  src.manifest.config.digest = sha256Digest(config);
  src.manifest.config.size = static_cast<int64_t>(config.size());
  src.fetch = filesByDigest({{layer.digest, tar}, {src.manifest.config.digest, configPath}});
  return src;
}

std::string fileStamp(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "";
  return fmt::format("{}:{}.{}", st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

// Reads a program's output to its end: each line to `out`, and the status it
// gives to the status line after every read and every second of silence.
Status followOutput(int fd, BootstrapOutput& out, const ProgressFn& progress) {
  std::string pending;
  char buf[4096];
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int ready = ::poll(&p, 1, 1000);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Error::fromErrno("poll");
    if (ready > 0) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::fromErrno("reading mmdebstrap's output");
      if (n == 0) break;
      pending.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1))
        out.feed(std::string_view(pending).substr(0, nl));
      // A line that never ends (a progress bar) is kept to a bound.
      if (pending.size() > 64 * 1024) pending.clear();
    }
    if (std::string status = out.status(); !status.empty())
      progress({ProgressEvent::Kind::Status, "", status});
  }
  out.feed(pending);
  return {};
}

// Runs mmdebstrap from "/" with HOME=/: --mode=unshare runs apt as a
// subordinate uid, which cannot enter the caller's (often private) working or
// home directory, and apt fails on an unreachable working directory. Its
// --verbose output goes through a pipe to the status line, not the terminal.
Status runMmdebstrap(const std::vector<std::string>& argv, const ProgressFn& progress) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::string_view(*e).rfind("HOME=", 0) != 0) env.emplace_back(*e);
  env.emplace_back("HOME=/");
  // Only stdio: mmdebstrap hands its own descriptors to apt by number, and a
  // stray inherited one (seen from a test runner) makes apt's download fail.
  sys::SpawnOptions o{.argv = argv,
                      .env = std::move(env),
                      .cwd = "/",
                      .in = sys::Stdio::Null,
                      .out = sys::Stdio::Capture,
                      .err = sys::Stdio::Capture,
                      .onlyStdio = true};
  int outFd = -1;
  auto pid = sys::spawn(o, &outFd);
  if (!pid && pid.error().code() == ENOENT)
    return Error::make("{} not found (apt install {})", argv[0], argv[0]);
  if (!pid) return std::move(pid).error();
  UniqueFd output(outFd);
  BootstrapOutput out;
  Status read = followOutput(output.get(), out, progress);
  output.reset();
  int code = sys::waitExitCode(*pid);
  if (code < 0) return Error::withErrno(-code, fmt::format("waiting for {}", argv[0]));
  if (!read) return std::move(read).error().wrap(argv[0]);
  if (code == 127) return Error::make("{} not found (apt install {})", argv[0], argv[0]);
  if (code != 0)
    return Error::make("{} failed (exit status {}); its last lines:{}", argv[0], code, out.tail());
  return {};
}

Result<std::string> bootstrapTar(const Reference& ref, const std::string& work, const ProgressFn& progress) {
  COCO_ASSIGN(std::string source, hostAptSource(ref.suite));
  std::string tar = fs::joinPath(work, "rootfs.tar");
  progress({ProgressEvent::Kind::Step, "", fmt::format("bootstrapping Debian {} with mmdebstrap", ref.suite), 0, 0});
  COCO_TRY(runMmdebstrap({"mmdebstrap", "--verbose", ::getuid() == 0 ? "--mode=root" : "--mode=unshare",
                          "--variant=minbase", "--include=ca-certificates", ref.suite, tar, source},
                         progress));
  return tar;
}

Result<ImageRecord> importWith(const Storage& store, const Reference& ref, const ProgressFn& progress,
                               const std::string& work) {
  std::string name = ref.canonical();
  switch (ref.kind) {
    case SourceKind::OciDir: {
      COCO_ASSIGN(auto src, ociLayoutSource(ref.path, ref.ociRef, name));
      return importImage(store, src, progress);
    }
    case SourceKind::OciArchive:
    case SourceKind::DockerArchive: {
      progress({ProgressEvent::Kind::Step, "", "reading " + ref.path, 0, 0});
      UnpackOptions plain;
      plain.whiteouts = false;
      COCO_TRY(unpackArchive(ref.path, work, plain));
      auto src = ref.kind == SourceKind::OciArchive ? ociLayoutSource(work, ref.ociRef, name)
                                                    : dockerArchiveSource(work, name);
      if (!src) return std::move(src).error();
      return importImage(store, *src, progress);
    }
    case SourceKind::RootfsTar: {
      COCO_ASSIGN(auto src, rootfsTarSource(ref.path, name, work));
      return importImage(store, src, progress);
    }
    case SourceKind::Bootstrap: {
      COCO_ASSIGN(std::string tar, bootstrapTar(ref, work, progress));
      COCO_ASSIGN(auto src, rootfsTarSource(tar, name, work));
      return importImage(store, src, progress);
    }
    default: return Error::make("{} is not a local import", ref.original);
  }
}

}  // namespace

Result<DockerArchiveManifest> parseDockerArchiveManifest(const std::string& text) {
  DockerArchiveManifest m;
  try {
    auto j = json::parse(text);
    if (!j.is_array()) return Error::make("bad manifest.json: not a list of images");
    if (j.size() != 1)
      return Error::make("docker-archive with {} images: only single-image archives are supported", j.size());
    m.config = j.at(0).at("Config").get<std::string>();
    m.layers = j.at(0).at("Layers").get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    return Error::make("bad manifest.json: {}", e.what());
  }
  for (const auto& n : m.layers)
    if (!confinedRelative(n)) return Error::make("manifest.json names layer '{}' outside the archive", n);
  if (!confinedRelative(m.config))
    return Error::make("manifest.json names config '{}' outside the archive", m.config);
  return m;
}

Result<ImageRecord> importLocal(const Storage& store, const Reference& ref, const ProgressFn& progress) {
  std::string stamp = ref.kind == SourceKind::Bootstrap ? "" : fileStamp(ref.path);
  if (ref.kind != SourceKind::OciDir && ref.kind != SourceKind::Bootstrap) {
    if (stamp.empty()) return Error::fromErrno("image {}: {}", ref.original, ref.path);
    COCO_ASSIGN(auto existing, store.loadImage(ref.canonical()));
    if (existing && existing->stamp == stamp) return *existing;
  }
  COCO_ASSIGN(std::string work, store.makeTemp());
  auto record = importWith(store, ref, progress, work);
  if (auto st = store.removeTemp(work); !st) log::warn("image storage: {}", st.error().describe());
  if (!record) return std::move(record).error().wrap("import " + ref.original);
  if (!stamp.empty() && ref.kind != SourceKind::OciDir) {
    record->stamp = stamp;
    COCO_TRY(store.saveImage(*record));
  }
  return record;
}

}  // namespace coco::image
