// Building, recording and loading the base image.
#include "tool/base_image.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

#include "image/digest.hpp"
#include "image/storage.hpp"
#include "image/userns.hpp"
#include "sys/beneath.hpp"
#include "sys/lock_file.hpp"
#include "tool/ca_bundle.hpp"
#include "tool/plan.hpp"
#include "util/data_dir.hpp"
#include "util/fd_limit.hpp"
#include "util/front.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"

namespace coco::tool {

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kSetupScript = "sh /.coco/runtime/setup.sh\n";
constexpr const char* kVersionsFile = "etc/coco/runtime-versions";
constexpr size_t kMaxInfoBytes = 1 << 20;

Result<std::string> storeRootOr(const std::string& root) {
  if (!root.empty()) return root;
  return image::Storage::defaultRoot();
}

std::string baseDir(const std::string& root) { return fs::joinPath(root, "base"); }

Result<UniqueFd> lockFile(const std::string& path, const image::ProgressFn& progress, const char* what) {
  COCO_TRY(fs::makeDirs(path.substr(0, path.rfind('/')), 0700));
  return sys::lockExclusive(path, [&] {
    if (progress) progress({image::ProgressEvent::Kind::Step, "", sys::waitingFor(what)});
  });
}

// Work dirs left by a killed build; only called with the base lock held.
void clearStaleBuilds(const engine::IdMapPlan& map, const std::string& buildDir) {
  for (const auto& n : fs::listDir(buildDir))
    if (auto st = image::removeTreeAsOwner(map, fs::joinPath(buildDir, n)); !st)
      log::warn("removing {}: {}", n, st.error().describe());
}

Result<std::string> makeWorkDir(const std::string& parent) {
  COCO_TRY(fs::makeDirs(parent, 0700));
  std::string tmpl = fs::joinPath(parent, "build-XXXXXX");
  if (!::mkdtemp(tmpl.data())) return Error::fromErrno("mkdtemp {}", tmpl);
  return tmpl;
}

// The first source that resolves; a fallback says so in one line.
Result<image::Image> resolveSource(const BaseImageOptions& o, bool fetchAgain, std::string& used) {
  Error last = Error::make("no base image source given");
  for (size_t i = 0; i < o.sources.size(); ++i) {
    if (i > 0)
      o.progress({image::ProgressEvent::Kind::Step, "",
                  fmt::format("{} is not reachable ({}); using {}", o.sources[i - 1], last.describe(), o.sources[i])});
    auto img = image::resolve(o.sources[i], {o.storageRoot, o.progress, fetchAgain});
    if (img) {
      used = o.sources[i];
      return img;
    }
    last = std::move(img).error();
  }
  return last;
}

Result<std::vector<std::pair<std::string, std::string>>> runtimeFiles(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> files;
  auto names = fs::listDir(dir);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    if (n == "meson.build" || fs::isDirectory(fs::joinPath(dir, n))) continue;
    COCO_ASSIGN(std::string text, fs::readFile(fs::joinPath(dir, n)));
    files.emplace_back("runtime/" + n, std::move(text));
  }
  if (files.empty()) return Error::withErrno(ENOENT, fmt::format("{} holds no runtime files", dir));
  return files;
}

void setVar(Env& env, const std::string& name, const std::string& value) {
  auto it = std::find_if(env.begin(), env.end(), [&](const auto& kv) { return kv.first == name; });
  if (it != env.end()) it->second = value;
  else env.emplace_back(name, value);
}

Env setupEnv(const image::Image& from, const InstallHosts& hosts) {
  Env env = from.env;
  setVar(env, "HOME", "/root");
  setVar(env, "LANG", "C.UTF-8");
  setVar(env, "DEBIAN_FRONTEND", "noninteractive");
  for (const auto& [k, v] : hosts.env) setVar(env, k, v);
  return env;
}

std::string layerDigestOf(const std::string& layerPath) {
  return "sha256:" + layerPath.substr(layerPath.rfind('/') + 1);
}

// A layer made by running a script has no archive to hash: the digest names
// what it was made from and when, so every build gets a new one.
std::string newLayerDigest(const image::Image& from, const std::string& script) {
  std::string seed = fmt::format("coco-base\n{}\n{}\n{}\n", image::nowRfc3339(), ::getpid(),
                                 std::chrono::steady_clock::now().time_since_epoch().count());
  for (const auto& l : from.layers) seed += l + "\n";
  return image::sha256Digest(seed + script);
}

// The versions file of a layer that a setup script or a publisher wrote: read
// without following symlinks (one to a host file would put its lines into
// info.json and `coco rebuild`'s output), regular files only, capped.
Result<std::map<std::string, std::string>> readVersions(const std::string& layerDir) {
  std::map<std::string, std::string> versions;
  auto text = sys::readUntrusted(layerDir, kVersionsFile, 64 << 10);
  if (!text && text.error().code() == ENOENT) return versions;
  if (!text) return std::move(text).error();
  for (auto& [k, v] : parseEnvFile(*text)) versions[k] = v;
  return versions;
}

Status saveInfo(const std::string& root, const BaseImageInfo& info) {
  nlohmann::json j = {{"from", info.from},         {"layer", info.layer},      {"built", info.built},
                      {"versions", info.versions}, {"runtime", info.runtime}, {"published", info.published}};
  return fs::writeFileAtomic(fs::joinPath(baseDir(root), "info.json"), j.dump(2) + "\n", 0600);
}

struct Built {
  std::string layerDir;
  std::string from;
};

Status commitBase(const std::string& root, const image::Image& from, const Built& built, const Env& runtimeEnv,
                  const std::string& runtime) {
  COCO_ASSIGN(image::Storage store, image::Storage::open(root));
  COCO_ASSIGN(UniqueFd lock, store.lock());
  image::ImageRecord record;
  record.name = kBaseImageName;
  for (auto it = from.layers.rbegin(); it != from.layers.rend(); ++it) record.layers.push_back(layerDigestOf(*it));
  std::string digest = newLayerDigest(from, kSetupScript);
  COCO_ASSIGN(auto versions, readVersions(built.layerDir));
  BaseImageInfo info{built.from, digest, image::nowRfc3339(), std::move(versions), runtime};
  COCO_TRY(store.commitLayer(built.layerDir, digest));
  record.layers.push_back(digest);
  record.env = from.env;
  for (const auto& [k, v] : runtimeEnv) setVar(record.env, k, v);
  record.workdir = "/workspace";
  COCO_TRY(store.saveImage(record));
  return saveInfo(root, info);
}

Result<image::Image> buildLocked(const BaseImageOptions& o, const std::string& root, bool fetchAgain) {
  std::string runtimeDir = o.runtimeDir;
  if (runtimeDir.empty()) {
    COCO_ASSIGN(runtimeDir, findRuntimeDir());
  }
  COCO_ASSIGN(auto files, runtimeFiles(runtimeDir));
  std::string used;
  o.progress({image::ProgressEvent::Kind::Step, "", "getting Debian", 0, 0, 1, 2});
  COCO_ASSIGN(image::Image from, resolveSource(o, fetchAgain, used));
  o.progress({image::ProgressEvent::Kind::Done, "", "got Debian from " + used});
  InstallNeeds needs;
  needs.apt = needs.npm = true;
  COCO_ASSIGN(InstallHosts hosts, installHosts(needs, o.host, from.layers));
  log::debug("base image: install hosts {}", fmt::join(hosts.hosts, " "));
  auto envText = fs::readFile(fs::joinPath(runtimeDir, "env"));
  Env runtimeEnv = envText ? parseEnvFile(*envText) : Env{};

  COCO_ASSIGN(std::string work, makeWorkDir(fs::joinPath(baseDir(root), "build")));
  InstallJob job{fmt::format("building the base image on {} (node, npm, python3, git, mise)", used),
                 from.layers, work, kSetupScript, files, setupEnv(from, hosts), {}, o.network, {}, hosts.hosts,
                 o.seccompProfile, o.run, o.progress, fs::joinPath(baseDir(root), "setup.log"),
                 fmt::format("{} setup", kBaseImageName), findHostCaBundle(o.host.env),
                 resolveLimits({}, hostMemoryBytes())};
  job.hostSetup = hostSetup(o.host.env, startingFdLimit());
  job.step = 2;
  job.steps = 2;
  job.stepTitle = "installing node, npm, python3, git and mise";
  job.doneText = "built the base image on " + used;
  auto result = runInstall(job);
  COCO_ASSIGN(std::string runtime, runtimeHash(runtimeDir));
  Status committed =
      result ? commitBase(root, from, {result->layerDir, used}, runtimeEnv, runtime) : Status(result.error());
  if (auto st = image::removeTreeAsOwner(image::hostIdMaps(), work); !st) log::warn("{}", st.error().describe());
  COCO_TRY(committed);
  COCO_ASSIGN(auto image, loadBaseImage(root));
  if (!image) return Error::make("the base image was built but cannot be loaded");
  return *image;
}

// A published base image is used as it is: its layers become coco-base's.
Result<image::Image> adoptLocked(const BaseImageOptions& o, const std::string& root, bool fetchAgain) {
  COCO_ASSIGN(image::Image from, image::resolve(o.published, {root, o.progress, fetchAgain}));
  auto versionsAt = std::find_if(from.layers.begin(), from.layers.end(), [](const std::string& dir) {
    return fs::exists(fs::joinPath(dir, kVersionsFile));
  });
  if (from.layers.empty() || versionsAt == from.layers.end())
    return Error::make("{} is not a coco base image (it has no /etc/coco/runtime-versions): publish one that "
                       "'coco rebuild' made, with 'coco save'", o.published);
  auto versions = readVersions(*versionsAt);
  if (!versions)
    return std::move(versions).error().wrap(fmt::format("{} is not a usable coco base image", o.published));
  COCO_ASSIGN(image::Storage store, image::Storage::open(root));
  COCO_ASSIGN(UniqueFd lock, store.lock());
  image::ImageRecord record;
  record.name = kBaseImageName;
  for (auto it = from.layers.rbegin(); it != from.layers.rend(); ++it) {
    // rootfs:DIR is used in place, not stored: a base must outlive its source.
    if (store.layerPath(layerDigestOf(*it)) != *it)
      return Error::make("{} is not kept in coco's image storage (rootfs:DIR is used in place): publish the base "
                         "image to a registry, or give an oci:, oci-archive: or rootfs:TAR reference", o.published);
    record.layers.push_back(layerDigestOf(*it));
  }
  record.env = from.env;
  record.workdir = from.workdir.empty() ? "/workspace" : from.workdir;
  COCO_TRY(store.saveImage(record));
  COCO_TRY(saveInfo(root, {o.published, layerDigestOf(from.layers.front()), image::nowRfc3339(),
                           std::move(*versions), "", true}));
  COCO_ASSIGN(auto image, loadBaseImage(root));
  if (!image) return Error::make("the base image {} was pulled but cannot be loaded", o.published);
  return *image;
}

BaseImageOptions withDefaults(const BaseImageOptions& options) {
  BaseImageOptions o = options;
  if (!o.progress) o.progress = image::stderrProgress();
  return o;
}

// The stored base image, unless COCO_BASE_IMAGE names another than it came from.
Result<std::optional<image::Image>> usableBaseImage(const BaseImageOptions& o) {
  COCO_ASSIGN(auto existing, loadBaseImage(o.storageRoot));
  if (!existing || o.published.empty()) return existing;
  COCO_ASSIGN(auto info, loadBaseInfo(o.storageRoot));
  if (info && info->from == o.published) return existing;
  return std::optional<image::Image>();
}

Result<image::Image> buildWithLock(const BaseImageOptions& options, bool onlyWhenMissing) {
  BaseImageOptions o = withDefaults(options);
  if (!o.run && o.published.empty()) return Error::make("building the base image needs a sandbox runner");
  COCO_ASSIGN(o.storageRoot, storeRootOr(o.storageRoot));
  COCO_ASSIGN(UniqueFd lock, lockFile(fs::joinPath(baseDir(o.storageRoot), "lock"), o.progress,
                                      "to finish building the base image"));
  if (onlyWhenMissing) {
    // Another coco may have built it while this one waited for the lock.
    COCO_ASSIGN(auto existing, usableBaseImage(o));
    if (existing) return *existing;
  }
  if (!o.published.empty()) return adoptLocked(o, o.storageRoot, !onlyWhenMissing);
  clearStaleBuilds(image::hostIdMaps(), fs::joinPath(baseDir(o.storageRoot), "build"));
  return buildLocked(o, o.storageRoot, !onlyWhenMissing);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parseEnvFile(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> env;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    size_t eq = line.find('=', start);
    if (eq == std::string::npos || eq == start) continue;
    env.emplace_back(line.substr(start, eq - start), line.substr(eq + 1));
  }
  return env;
}

Result<std::string> findRuntimeDir() {
  if (std::string setup = findDataPath("runtime/setup.sh"); !setup.empty()) return setup.substr(0, setup.rfind('/'));
  return Error::withErrno(ENOENT, fmt::format("runtime/setup.sh not found in {}", fmt::join(dataDirs(), " or ")));
}

Result<std::optional<image::Image>> loadBaseImage(const std::string& storageRoot) {
  COCO_ASSIGN(std::string root, storeRootOr(storageRoot));
  // Looked up before opening the store, which would create its directories.
  if (!fs::exists(fs::joinPath(root, "images/" + image::escapeName(kBaseImageName) + ".json")))
    return std::optional<image::Image>();
  COCO_ASSIGN(image::Storage store, image::Storage::open(root));
  COCO_ASSIGN(auto record, store.loadImage(kBaseImageName));
  if (!record) return std::optional<image::Image>();
  image::Image img{kBaseImageName, {}, record->env, record->workdir, record->entrypoint, record->cmd, record->user};
  for (auto it = record->layers.rbegin(); it != record->layers.rend(); ++it) {
    if (!store.hasLayer(*it)) return std::optional<image::Image>();
    img.layers.push_back(store.layerPath(*it));
  }
  return std::optional<image::Image>(std::move(img));
}

Result<std::optional<BaseImageInfo>> loadBaseInfo(const std::string& storageRoot) {
  COCO_ASSIGN(std::string root, storeRootOr(storageRoot));
  std::string path = fs::joinPath(baseDir(root), "info.json");
  if (!fs::exists(path)) return std::optional<BaseImageInfo>();
  COCO_ASSIGN(std::string text, sys::readUntrusted(baseDir(root), "info.json", kMaxInfoBytes));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return Error::make("{}: not a JSON object", path);
  // Field by field with type checks: nlohmann's value() would throw on a wrong type.
  auto str = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  BaseImageInfo info{str("from"), str("layer"), str("built"), {}, str("runtime"),
                     j.contains("published") && j["published"].is_boolean() && j["published"].get<bool>()};
  if (j.contains("versions") && j["versions"].is_object())
    for (const auto& [k, v] : j["versions"].items())
      if (v.is_string()) info.versions[k] = v.get<std::string>();
  return std::optional<BaseImageInfo>(std::move(info));
}

Result<std::string> runtimeHash(const std::string& runtimeDir) {
  COCO_ASSIGN(auto files, runtimeFiles(runtimeDir));
  std::string all;
  for (const auto& [name, text] : files) all += name + '\0' + std::to_string(text.size()) + '\0' + text;
  return sha256Hex(all);
}

Result<bool> baseImageOutdated(const std::string& storageRoot, const std::string& runtimeDir) {
  COCO_ASSIGN(auto info, loadBaseInfo(storageRoot));
  COCO_ASSIGN(auto image, loadBaseImage(storageRoot));
  if (!info || !image) return false;  // nothing built yet
  if (info->published) return false;  // the publisher's business
  std::string dir = runtimeDir;
  if (dir.empty()) {
    COCO_ASSIGN(dir, findRuntimeDir());
  }
  COCO_ASSIGN(std::string current, runtimeHash(dir));
  return info->runtime != current;
}

Result<image::Image> buildBaseImage(const BaseImageOptions& options) { return buildWithLock(options, false); }

Result<image::Image> ensureBaseImage(const BaseImageOptions& options) {
  COCO_ASSIGN(auto existing, usableBaseImage(options));
  if (existing) return *existing;
  front::needFull("making the base image");
  BaseImageOptions o = withDefaults(options);
  if (o.published.empty()) o.progress({image::ProgressEvent::Kind::Step, "", kFirstBuildNotice});
  return buildWithLock(o, true);
}

}  // namespace coco::tool
