// Tool layers: deciding when to install, the install sandbox's script and caches, atomic commit, records.
#include "tool/tool_layer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "config/package_caches.hpp"
#include "config/paths.hpp"
#include "image/digest.hpp"
#include "image/storage.hpp"
#include "image/userns.hpp"
#include "sys/beneath.hpp"
#include "sys/lock_file.hpp"
#include "sys/page_cache.hpp"
#include "tool/ca_bundle.hpp"
#include "tool/mise_output.hpp"
#include "tool/plan.hpp"
#include "util/fd_limit.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/status_line.hpp"

namespace coco::tool {

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kLayersDir = "tool-layers";

// In the tool's layer, not a cache mount: see installScript().
constexpr const char* kNodeCompileCache = "/root/.cache/node-compile-cache";

// Where mise puts what it installs (its default: /root/.local/share/mise/installs). Node keeps
// every module's lookup paths (each ancestor directory's node_modules) and caches each require
// under the joined list, so a longer install path means more heap: eslint's files under the
// default (51 characters, 7 directories above each tool's version) ran a lint 5-11% slower than
// the same files under /opt/mise (bubblewrap, host node, 40 interleaved rounds; one more
// scavenge and a Mark-Compact in --trace-gc). A top-level directory the base image lacks, so a
// run binds each tree from the layer (tool/plan.cpp).
constexpr const char* kMiseInstallsDir = "/opt/mise";

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

Result<std::string> storeRootOr(const std::string& root) {
  if (!root.empty()) return root;
  return image::Storage::defaultRoot();
}

std::string toolDir(const std::string& root, const std::string& name) {
  return fs::joinPath(fs::joinPath(root, kLayersDir), name);
}

// The base image's identity: its top layer (a rebuild makes a new one).
std::string baseId(const image::Image& base) {
  if (base.layers.empty()) return {};
  const auto& top = base.layers.front();
  return top.substr(top.rfind('/') + 1);
}

// Caps on what coco reads back: an install's results and coco's own records
// are a few KiB; the caps only stop a hostile file from eating memory.
constexpr size_t kMaxResultBytes = 1 << 20;
constexpr size_t kMaxVersionColumns = 64;  // a version is a few characters; a longer one is cut

std::optional<ToolLayer> readLayer(const std::string& dir) {
  auto text = sys::readUntrusted(dir, "record.json", kMaxResultBytes);
  if (!text) {
    if (text.error().code() != ENOENT) log::debug("{}", text.error().describe());
    return std::nullopt;
  }
  auto layer = layerFromJson(*text);
  if (!layer) {
    log::debug("{}: {}", dir, layer.error().describe());
    return std::nullopt;
  }
  layer->dir = fs::joinPath(dir, "layer");
  if (!fs::isDirectory(layer->dir)) return std::nullopt;
  return std::move(*layer);
}

void setVar(Env& env, const std::string& name, const std::string& value) {
  auto it = std::find_if(env.begin(), env.end(), [&](const auto& kv) { return kv.first == name; });
  if (it != env.end()) it->second = value;
  else env.emplace_back(name, value);
}

InstallNeeds needsOf(const config::ToolConfig& config) {
  std::vector<std::string> specs = config.miseDependencies;
  if (config.tool) specs.push_back(*config.tool);
  InstallNeeds needs = needsForSpecs(specs);
  needs.apt = !config.aptDependencies.empty();
  return needs;
}

Result<std::vector<engine::BindMount>> cacheMounts(const config::ToolConfig& config, const InstallNeeds& needs,
                                                   const std::string& cacheRoot) {
  using namespace config;  // the caches' table
  std::vector<PackageCache> kinds = {kMiseCache};
  if (needs.npm) kinds.push_back(kNpmCache);
  if (needs.apt) kinds.insert(kinds.end(), {kAptArchives, kAptLists});
  if (needs.python) kinds.insert(kinds.end(), {kPipCache, kUvCache});
  if (needs.cargo) kinds.push_back(kCargoCache);
  if (needs.go) kinds.push_back(kGoCache);
  // Isolated tools get caches of their own, so another tool's install cannot
  // plant files in what this one downloads.
  std::string base = config.isolated ? fs::joinPath(cacheRoot, "tools/" + config.name) : cacheRoot;
  std::vector<engine::BindMount> mounts;
  for (const auto& k : kinds) {
    std::string src = fs::joinPath(base, std::string(k.kind));
    COCO_TRY(fs::makeDirs(src, 0700));
    mounts.push_back({src, std::string(k.dst), false});
  }
  return mounts;
}

Env installEnv(const image::Image& base, const InstallHosts& hosts) {
  Env env = base.env;
  setVar(env, "HOME", "/root");
  setVar(env, "LANG", "C.UTF-8");
  setVar(env, "DEBIAN_FRONTEND", "noninteractive");
  setVar(env, "MISE_YES", "1");
  setVar(env, "MISE_INSTALLS_DIR", kMiseInstallsDir);
  // mise would ask its own versions service first; only the registries are allowed.
  setVar(env, "MISE_USE_VERSIONS_HOST", "false");
  for (const auto& [k, v] : hosts.env) setVar(env, k, v);
  return env;
}

Result<UniqueFd> lockTool(const std::string& dir, const std::string& name, const image::ProgressFn& progress) {
  COCO_TRY(fs::makeDirs(dir, 0700));
  return sys::lockExclusive(fs::joinPath(dir, "lock"), [&] {
    progress({image::ProgressEvent::Kind::Step, "", sys::waitingFor("installing " + name)});
  });
}

// Build dirs of killed installs; only called with the tool's lock held.
void clearStale(const std::string& dir) {
  for (const auto& n : fs::listDir(dir))
    if (n.rfind(".build-", 0) == 0 || n.rfind(".old-", 0) == 0)
      if (auto st = image::removeTreeAsOwner(image::hostIdMaps(), fs::joinPath(dir, n)); !st)
        log::warn("removing {}: {}", n, st.error().describe());
}

// Puts buildDir at dir/hash in one rename (swapping out an outdated layer of
// the same hash), then removes the tool's other layers.
Status commitLayer(const std::string& dir, const std::string& buildDir, const std::string& hash) {
  UniqueFd fd(::open(buildDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::syncfs(fd.get()) != 0) return Error::fromErrno("sync {}", buildDir);
  std::string final = fs::joinPath(dir, hash);
  if (::renameat2(AT_FDCWD, buildDir.c_str(), AT_FDCWD, final.c_str(), RENAME_EXCHANGE) != 0) {
    if (errno != ENOENT) return Error::fromErrno("replace {}", final);
    if (::rename(buildDir.c_str(), final.c_str()) != 0) return Error::fromErrno("commit {}", final);
  }
  if (uint64_t n = sys::rereadLargeExecutables(fd.get()))
    log::debug("read {} MiB of {} back into the page cache", n >> 20, final);
  for (const auto& n : fs::listDir(dir)) {
    std::string path = fs::joinPath(dir, n);
    if (n == hash || n == "lock" || n == "install.log" || !fs::isDirectory(path)) continue;
    if (auto st = image::removeTreeAsOwner(image::hostIdMaps(), path); !st) log::warn("{}", st.error().describe());
  }
  return {};
}

struct Installed {
  ToolLayer layer;
  std::string buildDir;
};

Result<InstallHosts> hostsFor(const config::ToolConfig& config, const image::Image& base,
                              const ToolLayerOptions& o) {
  COCO_ASSIGN(InstallHosts hosts, derivedInstallHosts(config, base, o.host));
  if (!hosts.unknown.empty() && config.allowedHosts.empty() && config.installHosts.empty())
    log::notice("cannot tell which hosts {} needs for {}; if the install fails, add them to install_hosts in {}, or "
                "give the install the host's network with COCO_INSTALL_NETWORK=host",
                fmt::join(hosts.unknown, ", "), config.name, config.path);
  return hosts;
}

// A file the install left in its io dir (/.coco, writable by the install's
// package code): never followed, never read past its cap. Missing is empty;
// anything else but a small regular file fails the install.
Result<std::string> installResult(const std::string& ioDir, const char* name) {
  auto text = sys::readUntrusted(ioDir, name, kMaxResultBytes);
  if (text) return text;
  if (text.error().code() == ENOENT) return std::string();
  return std::move(text).error().wrap("the install tampered with its results, nothing of it was kept");
}

// Whether the layer holds a non-empty directory at `path` (no symlink on the way).
bool hasEntries(const std::string& layerDir, const std::string& path) {
  UniqueFd root(::open(layerDir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return false;
  auto dir = sys::openBeneath(root.get(), path.substr(1), O_RDONLY | O_DIRECTORY);
  if (!dir) return false;
  DIR* d = ::fdopendir(dir->release());
  if (!d) return false;
  bool any = false;
  while (struct dirent* e = ::readdir(d))
    if (std::string_view n = e->d_name; n != "." && n != "..") any = true;
  ::closedir(d);
  return any;
}

Result<ToolLayer> install(const config::ToolConfig& config, const image::Image& base, const ToolLayerOptions& o,
                          const std::string& buildDir) {
  InstallNeeds needs = needsOf(config);
  COCO_ASSIGN(InstallHosts hosts, hostsFor(config, base, o));
  COCO_ASSIGN(auto mounts, cacheMounts(config, needs, o.cacheRoot));
  std::string spec = config.tool.value_or("");
  std::string title = spec.empty() ? fmt::format("installing the dependencies of {}", config.name)
                                   : fmt::format("installing {} ({})", config.name, spec);
  // The config's own hosts: allowed_hosts (the runs') and install_hosts (the install's only).
  std::vector<std::string> listed = config.allowedHosts;
  listed.insert(listed.end(), config.installHosts.begin(), config.installHosts.end());
  bool cargoConfig = !hosts.cargoConfig.empty();
  InstallJob job{title, base.layers, buildDir, installScript(config, cargoConfig), {}, installEnv(base, hosts), mounts,
                 o.network, listed, hosts.hosts, o.seccompProfile, o.run, o.progress,
                 fs::joinPath(toolDir(o.storageRoot, config.name), "install.log"), config.name,
                 findHostCaBundle(o.host.env), resolveLimits(config.limits, hostMemoryBytes())};
  if (cargoConfig) job.files.emplace_back("cargo-config.toml", hosts.cargoConfig);
  job.smokeStart = smokeStartScript(config);
  job.smokeCommand = smokeStartCommand(config);
  job.hostSetup = hostSetup(o.host.env, startingFdLimit());
  job.step = 1;
  job.steps = job.smokeStart.empty() ? 1 : 2;
  COCO_ASSIGN(InstallResult r, runInstall(job));
  COCO_ASSIGN(std::string envText, installResult(r.ioDir, "mise-env.json"));
  COCO_ASSIGN(std::string lsText, installResult(r.ioDir, "mise-ls.json"));
  ToolLayer layer{r.layerDir,   config.hash,     baseId(base), spec, installedVersion(lsText, spec),
                  nowRfc3339(), miseEnv(envText), kInstallRecipe};
  if (hasEntries(r.layerDir, kNodeCompileCache)) setVar(layer.env, "NODE_COMPILE_CACHE", kNodeCompileCache);
  // `mise env` leaves it out: a mise the tool starts at run time finds the installs too.
  setVar(layer.env, "MISE_INSTALLS_DIR", kMiseInstallsDir);
  COCO_TRY(image::removeTreeAsOwner(image::hostIdMaps(), r.ioDir));
  COCO_TRY(image::removeTreeAsOwner(image::hostIdMaps(), r.layerDir + "-work"));
  COCO_TRY(fs::writeFileAtomic(fs::joinPath(buildDir, "record.json"), layerToJson(layer), 0600));
  return layer;
}

Result<ToolLayer> installLocked(const config::ToolConfig& config, const image::Image& base,
                                const ToolLayerOptions& o) {
  std::string dir = toolDir(o.storageRoot, config.name);
  clearStale(dir);
  std::string tmpl = fs::joinPath(dir, ".build-XXXXXX");
  if (!::mkdtemp(tmpl.data())) return Error::fromErrno("mkdtemp {}", tmpl);
  auto start = std::chrono::steady_clock::now();
  auto layer = install(config, base, o, tmpl);
  Status committed = layer ? commitLayer(dir, tmpl, config.hash) : Status(layer.error());
  if (fs::exists(tmpl))
    if (auto st = image::removeTreeAsOwner(image::hostIdMaps(), tmpl); !st) log::warn("{}", st.error().describe());
  COCO_TRY(committed);
  o.progress(
      {image::ProgressEvent::Kind::Step, "",
       fmt::format("installed {}{} in {}", config.name, layer->version.empty() ? "" : " " + layer->version,
                   formatElapsed(std::chrono::steady_clock::now() - start))});
  layer->dir = fs::joinPath(fs::joinPath(dir, config.hash), "layer");
  return *layer;
}

std::optional<ToolLayer> currentLayer(const std::string& root, const config::ToolConfig& config,
                                      const image::Image& base) {
  auto layer = readLayer(fs::joinPath(toolDir(root, config.name), config.hash));
  if (!layer || layer->hash != config.hash || layer->base != baseId(base) || layer->recipe != kInstallRecipe)
    return std::nullopt;
  return layer;
}

uint64_t treeBytes(const std::string& path) {
  static thread_local uint64_t total;
  total = 0;
  ::nftw(path.c_str(), [](const char*, const struct stat* st, int, struct FTW*) {
    total += static_cast<uint64_t>(st->st_blocks) * 512;
    return 0;
  }, 32, FTW_PHYS | FTW_MOUNT);
  return total;
}

Result<uint64_t> removeMeasured(const std::string& path) {
  uint64_t bytes = treeBytes(path);
  COCO_TRY(image::removeTreeAsOwner(image::hostIdMaps(), path));
  return bytes;
}

}  // namespace

Result<InstallHosts> derivedInstallHosts(const config::ToolConfig& config, const image::Image& base,
                                         const HostConfigSource& src) {
  return installHosts(needsOf(config), src, base.layers);
}

bool needsLayer(const config::ToolConfig& config) {
  return config.tool.has_value() || !config.aptDependencies.empty() || !config.miseDependencies.empty();
}

std::string installScript(const config::ToolConfig& config, bool cargoConfig) {
  std::string s = "set -eu\ncd /\n";
  if (cargoConfig)
    s += "mkdir -p \"${CARGO_HOME:-$HOME/.cargo}\"\n"
         "cp /.coco/cargo-config.toml \"${CARGO_HOME:-$HOME/.cargo}/config.toml\"\n";
  if (!config.aptDependencies.empty()) {
    // With the single id mapping apt cannot drop to _apt (an unmapped uid): it stays root.
    s += "apt_opts=\n"
         "if [ \"$(wc -l < /proc/self/uid_map)\" -eq 1 ] && awk '{exit !($3 == 1)}' /proc/self/uid_map; then\n"
         "  apt_opts='-o APT::Sandbox::User=root'\n"
         "fi\n"
         "apt-get $apt_opts update\napt-get $apt_opts install -y --no-install-recommends";
    for (const auto& p : config.aptDependencies) s += " " + quote(p);
    s += "\n";
  }
  std::vector<std::string> specs = config.miseDependencies;
  if (config.tool) specs.push_back(*config.tool);
  if (!specs.empty()) {
    s += "mise use --global";
    for (const auto& spec : specs) s += " " + quote(miseInstallSpec(spec));
    s += "\n";
  }
  // Recorded so a run needs no mise: the PATH and variables it resolved.
  s += "mise env --json > /.coco/mise-env.json\n";
  s += "mise ls --global --json > /.coco/mise-ls.json || true\n";
  return s;
}

namespace {

std::string programOf(const config::ToolConfig& config) { return config.command.substr(0, config.command.find(' ')); }

std::vector<std::string> checkArgs(const config::ToolConfig& config) {
  return config.check ? *config.check : std::vector<std::string>{"--version"};
}

}  // namespace

std::string smokeStartScript(const config::ToolConfig& config) {
  // Node's compile cache, primed by one start of the tool and kept in its
  // read-only layer: warm runs load compiled code instead of compiling every
  // module again (a cache in the sandbox's throw-away /tmp, where node puts it
  // by default, was written anew at every run and never read).
  std::string program = programOf(config);
  if (!config.tool || program.empty()) return {};
  std::string s = fmt::format("exec </dev/null >{}/log 2>&1\nNODE_COMPILE_CACHE={} exec timeout {} mise exec -- {}",
                              kCheckDir, kNodeCompileCache, kSmokeStartSeconds, quote(program));
  for (const auto& arg : checkArgs(config)) s += " " + quote(arg);
  return s + "\n";
}

std::string smokeStartCommand(const config::ToolConfig& config) {
  std::string c = programOf(config);
  for (const auto& arg : checkArgs(config)) c += " " + arg;
  return c;
}

std::string miseInstallSpec(const std::string& spec) {
  if (spec.rfind("npm:", 0) != 0 || spec.find("npm_args=") != std::string::npos) return spec;
  constexpr std::string_view kScripts = "npm_args=--ignore-scripts=false";
  // Options go after the package name, before "@version" (a scope's '@' is the name's).
  size_t open = spec.find('[');
  if (open != std::string::npos) return spec.substr(0, open + 1) + std::string(kScripts) + "," + spec.substr(open + 1);
  size_t nameStart = spec.size() > 4 && spec[4] == '@' ? 5 : 4;
  size_t at = spec.find('@', nameStart);
  std::string name = spec.substr(0, at), version = at == std::string::npos ? "" : spec.substr(at);
  return fmt::format("{}[{}]{}", name, kScripts, version);
}

Result<ToolStatus> toolStatus(const config::ToolConfig& config, const image::Image& base,
                              const std::string& storageRoot) {
  ToolStatus status;
  if (!needsLayer(config)) {
    status.state = ToolState::NotNeeded;
    return status;
  }
  COCO_ASSIGN(std::string root, storeRootOr(storageRoot));
  std::string dir = toolDir(root, config.name);
  for (const auto& n : fs::listDir(dir)) {
    if (n.empty() || n[0] == '.' || n == "lock" || n == "install.log") continue;
    auto layer = readLayer(fs::joinPath(dir, n));
    if (!layer) continue;
    // Without the base's layers (an image not resolved here) only the config decides.
    bool sameBase = base.layers.empty() || layer->base == baseId(base);
    bool current = layer->hash == config.hash && sameBase && layer->recipe == kInstallRecipe;
    status.state = current ? ToolState::Installed : ToolState::Outdated;
    status.layer = std::move(layer);
    if (current) break;
  }
  return status;
}

Result<std::optional<ToolLayer>> ensureToolLayer(const config::ToolConfig& config, const image::Image& base,
                                                 const ToolLayerOptions& options) {
  if (!needsLayer(config)) return std::optional<ToolLayer>();
  ToolLayerOptions o = options;
  COCO_ASSIGN(o.storageRoot, storeRootOr(o.storageRoot));
  if (auto layer = currentLayer(o.storageRoot, config, base)) return std::optional<ToolLayer>(std::move(*layer));
  if (!o.run) return Error::make("installing {} needs a sandbox runner", config.name);
  if (o.cacheRoot.empty()) {
    COCO_ASSIGN(o.cacheRoot, defaultCacheRoot());
  }
  if (!o.progress) o.progress = image::stderrProgress();
  COCO_ASSIGN(UniqueFd lock, lockTool(toolDir(o.storageRoot, config.name), config.name, o.progress));
  // Another coco may have installed it while this one waited.
  if (auto layer = currentLayer(o.storageRoot, config, base)) return std::optional<ToolLayer>(std::move(*layer));
  COCO_ASSIGN(ToolLayer layer, installLocked(config, base, o));
  return std::optional<ToolLayer>(std::move(layer));
}

Result<uint64_t> removeToolLayers(const std::string& storageRoot,
                                  const std::vector<std::pair<std::string, std::string>>& current, bool keepCurrent) {
  COCO_ASSIGN(std::string root, storeRootOr(storageRoot));
  std::string layers = fs::joinPath(root, kLayersDir);
  uint64_t freed = 0;
  for (const auto& name : fs::listDir(layers)) {
    std::string dir = fs::joinPath(layers, name);
    COCO_ASSIGN(UniqueFd lock, lockTool(dir, name, image::noProgress()));
    for (const auto& n : fs::listDir(dir)) {
      if (n == "lock") continue;
      bool keep = keepCurrent && std::find(current.begin(), current.end(), std::make_pair(name, n)) != current.end();
      if (keep || (keepCurrent && n == "install.log")) continue;
      COCO_ASSIGN(uint64_t bytes, removeMeasured(fs::joinPath(dir, n)));
      freed += bytes;
    }
  }
  return freed;
}

namespace {

// A real directory, not a symlink to one: a listing never leads out of the storage.
bool isPlainDirectory(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Result<std::vector<InstalledLayer>> listToolLayers(const std::string& storageRoot) {
  COCO_ASSIGN(std::string root, storeRootOr(storageRoot));
  std::string layers = fs::joinPath(root, kLayersDir);
  std::vector<InstalledLayer> out;
  for (const auto& name : fs::listDir(layers)) {
    std::string dir = fs::joinPath(layers, name);
    if (!config::isValidToolName(name) || !isPlainDirectory(dir)) continue;
    for (const auto& hash : fs::listDir(dir)) {
      std::string layerDir = fs::joinPath(dir, hash);
      if (hash.front() == '.' || !isPlainDirectory(layerDir)) continue;
      auto layer = readLayer(layerDir);
      if (layer && layer->hash == hash && isPlainDirectory(layer->dir))
        out.push_back({name, std::move(*layer)});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.tool < b.tool; });
  return out;
}

std::string imageBaseId(const image::ImageRecord& record) {
  return record.layers.empty() ? std::string() : image::digestHex(record.layers.back());
}

Result<uint64_t> removeToolLayer(const std::string& storageRoot, const InstalledLayer& installed) {
  COCO_ASSIGN(std::string root, storeRootOr(storageRoot));
  if (!config::isValidToolName(installed.tool) || installed.layer.hash.empty() ||
      installed.layer.hash.find('/') != std::string::npos || installed.layer.hash.front() == '.')
    return Error::make("not a tool layer: {}/{}", installed.tool, installed.layer.hash);
  std::string dir = toolDir(root, installed.tool);
  COCO_ASSIGN(UniqueFd lock, lockTool(dir, installed.tool, image::noProgress()));
  std::string layerDir = fs::joinPath(dir, installed.layer.hash);
  if (!isPlainDirectory(layerDir)) return uint64_t{0};  // gone meanwhile
  return removeMeasured(layerDir);
}

Result<uint64_t> removeCaches(const std::string& cacheRoot) {
  std::string root = cacheRoot;
  if (root.empty()) {
    COCO_ASSIGN(root, defaultCacheRoot());
  }
  if (!fs::exists(root)) return uint64_t{0};
  return removeMeasured(root);
}

Result<std::string> defaultCacheRoot() {
  COCO_ASSIGN(config::Paths paths, config::Paths::fromEnvironment());
  return fs::joinPath(paths.cacheHome, "coco/cache");
}

std::string layerToJson(const ToolLayer& layer) {
  nlohmann::json env = nlohmann::json::array();
  for (const auto& [k, v] : layer.env) env.push_back({k, v});
  nlohmann::json j = {{"hash", layer.hash},       {"base", layer.base},         {"spec", layer.spec},
                      {"version", layer.version}, {"installed", layer.installed}, {"env", env},
                      {"recipe", layer.recipe}};
  return j.dump(2) + "\n";
}

Result<ToolLayer> layerFromJson(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return Error::make("tool layer record: not a JSON object");
  auto str = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  ToolLayer layer{"", str("hash"), str("base"), str("spec"), str("version"), str("installed"), {}};
  if (layer.hash.empty() || layer.base.empty()) return Error::make("tool layer record: no hash or base");
  // The version is what the install's package code made mise report: `coco list` prints it as
  // the install's progress line did, without the control characters (an OSC 52 clipboard write).
  layer.version = clipToColumns(layer.version, kMaxVersionColumns);
  if (auto r = j.find("recipe"); r != j.end() && r->is_number_integer()) layer.recipe = r->get<int>();
  auto env = j.find("env");
  if (env != j.end() && env->is_array())
    for (const auto& kv : *env)
      if (kv.is_array() && kv.size() == 2 && kv[0].is_string() && kv[1].is_string())
        layer.env.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
  return layer;
}

}  // namespace coco::tool
