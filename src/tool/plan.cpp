// Planning one run: mounts, environment, network, ports and seccomp from a config.
#include "tool/plan.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <sstream>

#include "config/package_caches.hpp"
#include "config/paths.hpp"
#include "engine/idmap.hpp"
#include "engine/userns_holder.hpp"
#include "image/layer_lookup.hpp"
#include "net/sandbox_side.hpp"
#include "sys/beneath.hpp"
#include "sys/page_cache.hpp"
#include "tool/ca_bundle.hpp"
#include "tool/grants.hpp"
#include "tool/home_guard.hpp"
#include "tool/layer_binds.hpp"
#include "tool/x11.hpp"
#include "util/data_dir.hpp"
#include "util/fd_limit.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/status_line.hpp"
#include "util/trace.hpp"

extern char** environ;

namespace coco::tool {

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kContainerHome = "/root";
constexpr const char* kX11SocketDir = "/tmp/.X11-unix";
// Where the host's CA bundle goes in the sandbox: the first of these no mount is in the way of
// (its bind needs a target, which would be made in that mount's host directory; caBundlePlace).
constexpr const char* kSandboxCaBundles[] = {"/run/coco/ca-certificates.crt", "/etc/coco/ca-certificates.crt",
                                             "/var/lib/coco/ca-certificates.crt"};
constexpr const char* kDefaultSeccompProfile = "seccomp-profiles/default.json";

void setVar(Env& env, const std::string& name, const std::string& value) {
  auto it = std::find_if(env.begin(), env.end(), [&](const auto& kv) { return kv.first == name; });
  if (it != env.end()) it->second = value;
  else env.emplace_back(name, value);
}

const std::string* hostVar(const RunContext& ctx, const std::string& name) {
  auto it = ctx.hostEnv.find(name);
  return it == ctx.hostEnv.end() ? nullptr : &it->second;
}

// Built, never inherited: only what the image, the tool's layer, the config and
// the config's passthrough list name reaches the tool, so host secrets stay on
// the host. The one place that decides the order (see prepareRun).
Env buildEnv(const config::ToolConfig& config, const RunContext& ctx, const image::Image& image,
             const ToolLayer* layer, const Env& bound) {
  Env env = image.env;
  if (layer)
    for (const auto& [name, value] : layer->env) setVar(env, name, value);
  setVar(env, "HOME", kContainerHome);
  for (const char* name : {"TERM", "LANG"})
    if (const auto* v = hostVar(ctx, name)) setVar(env, name, *v);
  for (const auto& [name, value] : config.env) setVar(env, name, value);
  for (const auto& name : config.envPassthrough)
    if (const auto* v = hostVar(ctx, name)) setVar(env, name, *v);
  for (const auto& [name, value] : bound) setVar(env, name, value);
  return env;
}

GrantContext grantContext(const RunContext& ctx) {
  auto runtime = ctx.hostEnv.find("XDG_RUNTIME_DIR");
  return {ctx.cwd, ctx.home, runtime == ctx.hostEnv.end() ? std::string() : runtime->second,
          cocoDirs(ctx.hostEnv, ctx.home), ctx.physical};
}

bool isRelative(const std::string& written) {
  return written.empty() || (written[0] != '/' && written[0] != '~');
}

// The directory below which a source is resolved without following symlinks:
// the highest writable mount source of this config above it (a run of the
// tool can rewrite what lies there), and for a relative source also the
// directory coco runs from (where other tools' `.` can). "" when neither
// applies: the user wrote that path and no writable mount of this config
// reaches it, so the user's own symlinks in it are followed.
std::string anchorFor(const std::string& src, bool relative, const config::ToolConfig& config,
                      const RunContext& ctx) {
  std::vector<std::string> candidates;
  if (relative) candidates.push_back(ctx.cwd);
  for (const auto& m : config.mounts) {
    std::string w = config::expandSource(m.src, ctx.cwd, ctx.home);
    if (m.readOnly || (fs::exists(w) && !fs::isDirectory(w))) continue;  // a file is no directory to plant in
    candidates.push_back(w);
    candidates.push_back(physicalPath(w));  // the same directory written as its real path
  }
  std::string best;
  for (const auto& c : candidates)
    if (fs::isAtOrBelow(src, c) && (best.empty() || c.size() < best.size())) best = c;
  return best;
}

std::string linkTarget(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n < 0 ? std::string("?") : std::string(buf, static_cast<size_t>(n));
}

std::string relBelow(const std::string& src, const std::string& anchor) {
  return src.size() > anchor.size() ? src.substr(anchor == "/" ? 1 : anchor.size() + 1) : "";
}

Status checkNoSymlinkBelow(const std::string& src, const std::string& anchor) {
  if (std::string link = sys::firstSymlinkBeneath(anchor, relBelow(src, anchor)); !link.empty())
    return Error::withErrno(ELOOP,
                            fmt::format("{} is a symbolic link (to {}); coco follows no symbolic links below "
                                        "{}, where a sandbox could have planted them. Remove the link, or "
                                        "write the path it should lead to in the config",
                                        link, linkTarget(link), anchor));
  return {};
}

// A missing source is created; below an anchor one directory at a time,
// never through a symlink.
Status createSource(const engine::BindMount& m, const RunContext& ctx) {
  if (m.anchor.empty()) return config::ensureSource(m.src, ctx.cwd, ctx.home);
  if (fs::exists(m.src)) return {};
  COCO_TRY(config::checkCreatable(m.src, ctx.cwd, ctx.home));
  COCO_TRY(config::ensureSource(m.anchor, ctx.cwd, ctx.home));
  UniqueFd root(::open(m.anchor.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return Error::fromErrno("open {}", m.anchor);
  auto made = sys::makeDirsBeneath(root.get(), relBelow(m.src, m.anchor), 0755);
  if (!made) return std::move(made).error().wrap(fmt::format("creating {} below {}", m.src, m.anchor));
  return {};
}

std::string mountWhere(const config::ToolConfig& config, const config::MountConfig& m) {
  return fmt::format("{}: mount {} -> {}", config.path, m.src, m.dst);
}

// Sources are checked (symlinks, then what they expose); createSources makes the missing ones.
Result<std::vector<engine::BindMount>> buildMounts(const config::ToolConfig& config, const RunContext& ctx) {
  std::vector<engine::BindMount> mounts;
  for (const auto& m : config.mounts) {
    std::string src = config::expandSource(m.src, ctx.cwd, ctx.home);
    std::string anchor = anchorFor(src, isRelative(m.src), config, ctx);
    if (Status ok = anchor.empty() ? Status() : checkNoSymlinkBelow(src, anchor); !ok)
      return std::move(ok).error().wrap(mountWhere(config, m));
    // Whether a missing source may be made, for every mount before any is made (a dry run too).
    for (const std::string& made : {anchor, src})
      if (Status ok =
              made.empty() || fs::exists(made) ? Status() : config::checkCreatable(made, ctx.cwd, ctx.home);
          !ok)
        return std::move(ok).error().wrap(mountWhere(config, m));
    mounts.push_back({src, m.dst, m.readOnly, anchor, m.relabel});
  }
  GrantContext grants = grantContext(ctx);
  COCO_TRY(checkWritableHome(config, grants, {ctx.allowHome, !ctx.viaLink}));
  COCO_TRY(checkMountGrants(config, grants, ctx.allowHome || config.allowHome));
  return mounts;
}

// The config's missing sources (`mounts`, buildMounts's, which checked that each may be made),
// made once the plan has no more to refuse.
Status createSources(const std::vector<engine::BindMount>& mounts, const config::ToolConfig& config,
                     const RunContext& ctx) {
  for (size_t i = 0; ctx.createSources && i < config.mounts.size(); ++i)
    if (Status ok = createSource(mounts[i], ctx); !ok)
      return std::move(ok).error().wrap(mountWhere(config, config.mounts[i]));
  return {};
}

// The config's `caches`, each a directory of this tool's own bound read-write over
// where the package manager keeps its cache. Nothing below the root of the run
// caches is followed if it is a symlink (a restored CI cache could hold one),
// when the directories are made or when they are bound. After the config's
// mounts, so a cache below one of them is not covered by it.
Status addRunCaches(std::vector<engine::BindMount>& mounts, const config::ToolConfig& config,
                    const RunContext& ctx) {
  if (config.caches.empty()) return {};
  COCO_ASSIGN(std::string root, runCacheRoot(ctx.hostEnv, ctx.home));
  UniqueFd rootFd;
  if (ctx.createSources) {
    COCO_TRY(fs::makeDirs(root, 0700));
    rootFd.reset(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!rootFd) return Error::fromErrno("open {}", root);
  }
  for (const auto& kind : config.caches) {
    const config::PackageCache* cache = config::runCache(kind);
    if (!cache) return Error::make("{}: unknown cache '{}'", config.path, kind);  // the loader refuses it
    std::string rel = config.name + "/" + kind;
    if (rootFd) {
      auto made = sys::makeDirsBeneath(rootFd.get(), rel, 0700);
      if (!made) return std::move(made).error().wrap(fmt::format("{}: cache '{}'", config.path, kind));
    }
    mounts.push_back({fs::joinPath(root, rel), std::string(cache->dst), false, root});
  }
  return {};
}

// The X socket directory (or, for a display over TCP, the relay's) and an authority file of the
// sandbox's own (tool/x11.hpp), read-only.
Status addX11(engine::RunSpec& spec, Env& env, const RunContext& ctx) {
  // Where the user-namespace holder keeps its record: the user's own runtime directory when there is one.
  std::string holder = config::engineDirs(ctx.hostEnv).holder;
  COCO_ASSIGN(X11Grant grant,
              planX11(ctx.hostEnv, ctx.home, holder.empty() ? "" : fs::joinPath(holder, "x11"),
                      ctx.createSources, kX11SocketDir));
  spec.mounts.insert(spec.mounts.end(), grant.mounts.begin(), grant.mounts.end());
  for (const auto& [name, value] : grant.env) setVar(env, name, value);
  spec.x11Relay = std::move(grant.relay);
  return {};
}

void applyNetwork(engine::RunSpec& spec, const config::ToolConfig& config, const RunContext& ctx) {
  spec.network = config.network;
  spec.allowedHosts = config.allowedHosts;
  // The override widens to full outbound; `host` already is at least that.
  if (ctx.allowNetwork && spec.network != NetworkMode::Host) {
    spec.network = NetworkMode::Full;
    spec.allowedHosts.clear();
  }
}

std::vector<std::string> splitWords(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (c != ' ' && c != '\t') {
      word += c;
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

}  // namespace

// coco makes nothing in a mount of the config's for the CA bundle: with a mount at /run or
// /run/coco its target would be made in the host directory (and a read-only one would refuse the
// run), so it goes to the first place no mount is in the way of. A mount on the target itself is
// covered by the bundle (its bind comes after the config's) where that mount is of a file; a
// directory there (one a dry run has not made yet too, so its plan is the run's), or a mount below
// the target, takes the place.
Result<std::string> caBundlePlace(const std::vector<engine::BindMount>& mounts,
                                  const config::ToolConfig& config) {
  std::vector<std::string> inTheWay;  // a mount for each place, with its line where the config has one
  for (const char* target : kSandboxCaBundles) {
    auto in = std::find_if(mounts.begin(), mounts.end(), [&](const auto& m) {
      if (m.dst == target) {  // a directory there, or a source the run makes (a directory), is in the way
        struct stat st;
        return ::stat(m.src.c_str(), &st) != 0 || S_ISDIR(st.st_mode);
      }
      return fs::isAtOrBelow(target, m.dst) || fs::isAtOrBelow(m.dst, target);
    });
    if (in == mounts.end()) return std::string(target);
    auto line = std::find_if(config.mounts.begin(), config.mounts.end(),
                             [&](const auto& m) { return m.dst == in->dst && m.line > 0; });
    inTheWay.push_back(line == config.mounts.end()
                           ? in->dst
                           : fmt::format("{} ({}, line {})", in->dst, config.path, line->line));
  }
  // A `network: none` config gets here only widened (--learn, COCO_ALLOW_NETWORK): said, or it puzzles.
  return Error::make(
      "the mounts at {} leave no place for the host's CA bundle, which a run with a network gets at {}{} "
      "(coco makes nothing in a mount of yours): move one of them",
      fmt::join(inTheWay, ", "), fmt::join(kSandboxCaBundles, ", "),
      config.network == NetworkMode::None
          ? " (this one has a network: --learn or COCO_ALLOW_NETWORK gives it)"
          : "");
}

namespace {

// The host's CA bundle, bound read-only at its place, so TLS works behind intercepting proxies.
Status addCaBundle(std::vector<engine::BindMount>& mounts, Env& env, const config::ToolConfig& config,
                   const RunContext& ctx) {
  std::string bundle = findHostCaBundle(ctx.hostEnv);
  if (bundle.empty()) return {};
  COCO_ASSIGN(std::string target, caBundlePlace(mounts, config));
  mounts.push_back({bundle, target, true});
  for (const auto& [name, value] : caBundleEnv(target)) setVar(env, name, value);
  return {};
}

// The config files the user's git reads outside any repository, in its order: the system config,
// then the global files (GIT_CONFIG_GLOBAL, or the XDG file and ~/.gitconfig).
std::vector<std::string> userGitConfigs(const RunContext& ctx, const config::Paths& paths) {
  std::vector<std::string> files;
  if (const auto* nosystem = hostVar(ctx, "GIT_CONFIG_NOSYSTEM"); !nosystem || !isTrue(*nosystem)) {
    const auto* system = hostVar(ctx, "GIT_CONFIG_SYSTEM");
    files.push_back(system ? *system : "/etc/gitconfig");
  }
  if (const auto* global = hostVar(ctx, "GIT_CONFIG_GLOBAL")) {
    files.push_back(*global);
  } else {
    files.push_back(paths.configHome + "/git/config");
    files.push_back(paths.home + "/.gitconfig");
  }
  return files;
}

engine::GuardSpec guardSpec(const config::ToolConfig& config, const RunContext& ctx) {
  engine::GuardSpec guard;
  guard.enabled = config.workspaceGuard;
  guard.gitWrite = config.guardGitWrite;
  guard.home = ctx.home;
  guard.cwd = ctx.cwd;
  if (!guard.enabled) return guard;
  // The XDG directories as the rest of coco finds them (a relative value is ignored).
  std::map<std::string, std::string> env = ctx.hostEnv;
  env["HOME"] = ctx.home;
  auto paths = config::Paths::fromVariables(env);
  if (!paths) return guard;  // no absolute home: no global git config, no cache
  guard.gitConfigs = userGitConfigs(ctx, *paths);
  guard.cacheDir = paths->cacheHome + "/coco/guard";
  return guard;
}

std::string currentDir() {
  char buf[PATH_MAX];
  return ::getcwd(buf, sizeof buf) ? std::string(buf) : std::string();
}

}  // namespace

uint64_t hostMemoryBytes() {
  struct sysinfo info {};
  if (::sysinfo(&info) != 0) return 0;
  return static_cast<uint64_t>(info.totalram) * info.mem_unit;
}

engine::Limits resolveLimits(const config::LimitsConfig& limits, uint64_t hostMemory) {
  auto bytes = [hostMemory](const std::optional<config::SizeLimit>& given, unsigned defaultPercent) -> uint64_t {
    config::SizeLimit size = given.value_or(config::SizeLimit{0, defaultPercent, false});
    if (size.unlimited) return 0;
    if (size.percent == 0) return size.bytes;
    return (hostMemory * size.percent / 100) & ~((uint64_t{1} << 20) - 1);
  };
  engine::Limits out;
  out.memoryBytes = bytes(limits.memory, kDefaultMemoryPercent);
  out.pids = limits.pids.value_or(kDefaultPids);
  out.cpuMillis = limits.cpuMillis.value_or(0);
  out.tmpfsBytes = bytes(limits.tmpfs, kDefaultTmpfsPercent);
  return out;
}

Result<std::string> runCacheRoot(const std::map<std::string, std::string>& hostEnv, const std::string& home) {
  std::map<std::string, std::string> env = hostEnv;
  env["HOME"] = home;
  COCO_ASSIGN(config::Paths paths, config::Paths::fromVariables(env));
  return runCacheRoot(paths);
}

std::string runCacheRoot(const config::Paths& paths) { return fs::joinPath(paths.cacheHome, "coco/run-caches"); }

bool isTrue(std::string_view value) {
  std::string lower(value);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == "1" || lower == "true";
}

Result<RunContext> contextFromProcess() {
  RunContext ctx;
  ctx.cwd = currentDir();
  if (ctx.cwd.empty()) return Error::fromErrno("cannot determine the current directory");
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos) ctx.hostEnv.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  auto home = ctx.hostEnv.find("HOME");
  if (home == ctx.hostEnv.end() || home->second.empty())
    return Error::make(
        "HOME is not set, and your password database entry gives no absolute home: set HOME to your home "
        "directory");
  ctx.home = home->second;
  if (auto it = ctx.hostEnv.find("COCO_ALLOW_NETWORK"); it != ctx.hostEnv.end()) ctx.allowNetwork = isTrue(it->second);
  if (auto it = ctx.hostEnv.find("COCO_EXTRA_PORTS"); it != ctx.hostEnv.end()) ctx.extraPorts = it->second;
  ctx.hostMemory = hostMemoryBytes();
  ctx.fdSoftLimit = startingFdLimit();
  ctx.physical = std::make_shared<PhysicalPaths>();
  return ctx;
}

bool holderDisabled(const std::map<std::string, std::string>& env) {
  auto it = env.find("COCO_USERNS_HOLDER");
  if (it == env.end()) return false;
  std::string lower(it->second);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == "0" || lower == "false" || lower == "no" || lower == "off";
}

unsigned holderIdleSeconds(const std::map<std::string, std::string>& env) {
  auto it = env.find("COCO_USERNS_HOLDER_IDLE");
  if (it == env.end()) return engine::kHolderIdleSeconds;
  unsigned value = 0;
  const std::string& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc() && end == text.data() + text.size() && value >= 1 && value <= 86400) return value;
  log::warn("COCO_USERNS_HOLDER_IDLE={} is not a whole number of seconds from 1 to 86400; using {}", text,
            engine::kHolderIdleSeconds);
  return engine::kHolderIdleSeconds;
}

engine::HostSetup hostSetup(const std::map<std::string, std::string>& env, uint64_t fdSoftLimit) {
  config::EngineDirs dirs = config::engineDirs(env);
  auto userns = env.find("COCO_USERNS");
  engine::HostSetup setup;
  setup.stagingDir = dirs.staging;
  setup.seccompCacheDir = dirs.seccompCache;
  setup.singleIdMap = userns != env.end() && engine::singleIdMapRequested(userns->second);
  if (!holderDisabled(env)) {
    setup.holderDir = dirs.holder;
    setup.holderIdleSeconds = holderIdleSeconds(env);
    setup.holderSetup = &net::holdNatHooks;
    setup.holderSpares = &net::makeSpareNetns;
  }
  setup.fdSoftLimit = fdSoftLimit;
  return setup;
}

bool idMapsNeedNameService(const RunContext& ctx) {
  // hostSetup's directory and mapping, without its warnings (the run prints them).
  auto userns = ctx.hostEnv.find("COCO_USERNS");
  bool single = userns != ctx.hostEnv.end() && engine::singleIdMapRequested(userns->second);
  std::string dir = holderDisabled(ctx.hostEnv) ? "" : config::engineDirs(ctx.hostEnv).holder;
  return engine::idMapsNeedNameService(dir, single);
}

Result<unsigned> stopUsernsHolder() {
  COCO_ASSIGN(RunContext ctx, contextFromProcess());
  std::string dir = config::engineDirs(ctx.hostEnv).holder;
  if (dir.empty()) return 0U;
  return engine::stopHolder(dir);
}

Result<std::string> seccompProfilePath(const std::string& value, const std::string& cwd, const std::string& home) {
  if (value == "unconfined") return std::string();
  if (value != "default") return config::expandSource(value, cwd, home);
  if (std::string path = findDataPath(kDefaultSeccompProfile); !path.empty()) return path;
  return Error::withErrno(ENOENT, fmt::format("default seccomp profile {} not found in {}", kDefaultSeccompProfile,
                                              fmt::join(dataDirs(), " or ")));
}

namespace {

// A profile in a directory the tool can write would be the tool's own policy from its next run
// on (or an endless file behind a planted symlink): refused, by its path and by where it leads.
Status checkProfileNotWritable(const std::string& profile, const std::vector<engine::BindMount>& mounts) {
  if (profile.empty()) return {};
  std::string lexical = fs::normalize(profile), real = physicalPath(profile);
  for (const auto& m : mounts) {
    if (m.readOnly) continue;
    for (const std::string& src : {fs::normalize(m.src), physicalPath(m.src)})
      if (fs::isAtOrBelow(lexical, src) || fs::isAtOrBelow(real, src))
        return Error::make(
            "seccomp profile {} lies in {}, which the tool can write ({} is mounted writable at {}): the tool "
            "could rewrite its own policy; keep the profile outside the tool's writable mounts",
            profile, src, m.src, m.dst);
  }
  return {};
}

// Everything of the spec but its layers and environment; `bound` gets the
// variables of what it binds in (CA bundle, X11).
Status planSandbox(engine::RunSpec& spec, Env& bound, const config::ToolConfig& config,
                   const std::vector<std::string>& args, const RunContext& ctx) {
  spec.toolName = config.name;
  COCO_ASSIGN(spec.mounts, buildMounts(config, ctx));
  const std::vector<engine::BindMount> configMounts = spec.mounts;  // made last (createSources)
  COCO_TRY(addRunCaches(spec.mounts, config, ctx));
  if (config.x11) COCO_TRY(addX11(spec, bound, ctx));
  // Like the original's unquoted $command: "npm ci" is a command and an argument.
  for (auto& word : splitWords(config.command)) spec.argv.push_back(std::move(word));
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.workdir = config.workdir;
  applyNetwork(spec, config, ctx);
  if (spec.network != NetworkMode::None) COCO_TRY(addCaBundle(spec.mounts, bound, config, ctx));
  spec.ports = config.ports;
  auto extra = parsePortList(ctx.extraPorts);
  if (!extra)
    return std::move(extra).error().wrap("COCO_EXTRA_PORTS").withKind(ErrorKind::EnvVar, "COCO_EXTRA_PORTS");
  spec.ports.insert(spec.ports.end(), extra->begin(), extra->end());
  COCO_ASSIGN(spec.seccompProfile, seccompProfilePath(config.seccomp, ctx.cwd, ctx.home));
  COCO_TRY(checkProfileNotWritable(spec.seccompProfile, spec.mounts));
  spec.guard = guardSpec(config, ctx);
  spec.limits = resolveLimits(config.limits, ctx.hostMemory);
  spec.hostSetup = hostSetup(ctx.hostEnv, ctx.fdSoftLimit);
  // Last: a plan its own checks refuse leaves none of the config's sources made (the run caches
  // and the X11 files made above are coco's own).
  return createSources(configMounts, config, ctx);
}

// V8 maps node's builtins from the binary only when the file /proc/self/maps
// names is the one stat() of the binary's path sees. Through the overlay the
// two differ (the layer's device and inode against the overlay's), so every
// start copied them instead (about 200 more page faults, 2-8 ms). The layer's
// file bound read-only over its own path makes them agree; what the tool sees
// is the same file. Resolved beneath the layers, never through a host symlink.
// For a run (not a dry run's plan) the file is also read into the page cache when the cache holds
// none of it (sys::readIntoPageCache): node then starts from large folios, 0.90x the time it took
// from the small ones its exec's page faults left after a reboot. At most kMaxReadIn: the file came
// from an install, where a package could have put a huge one.
constexpr uint64_t kMaxReadIn = 256ull << 20;

void bindNodeFromItsLayer(engine::RunSpec& spec, bool forRun) {
  auto path = std::find_if(spec.env.begin(), spec.env.end(), [](const auto& kv) { return kv.first == "PATH"; });
  if (path == spec.env.end()) return;
  std::istringstream dirs(path->second);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty() || dir[0] != '/') continue;
    auto node = image::resolveRegularFile(spec.layers, fs::joinPath(dir, "node"));
    if (!node) continue;
    std::string file = fs::joinPath(node->file.layer, node->file.rel);
    if (forRun && sys::readIntoPageCache(node->file.layer, node->file.rel, kMaxReadIn))
      log::debug("read {} into the page cache", file);
    spec.mounts.insert(spec.mounts.begin(), {file, node->path, true, node->file.layer});
    return;
  }
}

// `rel` (no leading '/') as the directories of the layer beneath `layerFd` spell it, each of its
// components a directory of the layer or a symlink to a sibling directory ("latest -> ./10.16.0",
// as mise links versions), which is replaced by its target; "" when anything else is on the way
// (another symlink, a missing entry, a file).
std::string layerDirectory(int layerFd, const std::string& rel) {
  std::string out;
  std::istringstream parts(rel);
  for (std::string name; std::getline(parts, name, '/');) {
    if (name.empty() || name == "." || name == "..") return "";
    std::string at = out.empty() ? name : out + "/" + name;
    struct stat st;
    if (::fstatat(layerFd, at.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return "";
    if (S_ISLNK(st.st_mode)) {
      char target[256];
      ssize_t n = ::readlinkat(layerFd, at.c_str(), target, sizeof target - 1);
      if (n <= 0) return "";
      std::string sibling(target, static_cast<size_t>(n));
      if (sibling.starts_with("./")) sibling.erase(0, 2);
      if (sibling.empty() || sibling == "." || sibling == ".." || sibling.find('/') != std::string::npos)
        return "";
      at = out.empty() ? sibling : out + "/" + sibling;
      if (::fstatat(layerFd, at.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return "";
    }
    if (!S_ISDIR(st.st_mode)) return "";
    out = std::move(at);
  }
  return out;
}

// Node resolves each require() by looking up paths in the tool's install tree, thousands of
// times a run, and through the overlay every lookup goes layer by layer (+1.5-2.5% on a
// lint). The tree a PATH entry of the tool layer lies in (its parent:
// /opt/mise/npm-eslint/10.16.0 for .../latest/bin, latest being the
// layer's link to 10.16.0), where the base image has nothing, is bound read-only from the
// layer over its own path: the same files without the overlay. Read-only: a run's writes
// there went to the throw-away scratch layer before; now they fail, as in a system-wide
// install. Read beneath the layer (only a version link to a sibling is followed, there), and
// bound with the layer as the anchor, below which the engine follows no symlink; a tree
// inside another is bound once, and at most kMaxInstallTrees (the PATH comes from the install,
// which a package's scripts ran in). A tree another mount of the run lies in, over or at stays
// in the overlay: that mount's target, missing from the layer, is made in the scratch layer,
// which a read-only bind would refuse.
constexpr size_t kMaxInstallTrees = 8;

void bindInstallTrees(engine::RunSpec& spec, const ToolLayer& layer, const std::vector<std::string>& base) {
  auto path =
      std::find_if(layer.env.begin(), layer.env.end(), [](const auto& kv) { return kv.first == "PATH"; });
  if (path == layer.env.end()) return;
  UniqueFd root(::open(layer.dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return;
  std::vector<std::string> trees;
  std::istringstream dirs(path->second);
  for (std::string dir; trees.size() < kMaxInstallTrees && std::getline(dirs, dir, ':');) {
    if (dir.empty() || dir[0] != '/') continue;
    std::string bin = fs::normalize(dir);
    std::string parent = bin.substr(0, bin.rfind('/'));
    if (parent.empty()) continue;  // a PATH entry directly in /
    std::string rel = layerDirectory(root.get(), parent.substr(1));
    if (rel.empty() || image::mergedStat(base, rel)) continue;
    std::string tree = "/" + rel;
    auto overlaps = [&](const engine::BindMount& m) {
      return fs::isAtOrBelow(m.dst, tree) || fs::isAtOrBelow(tree, m.dst);
    };
    if (std::any_of(spec.mounts.begin(), spec.mounts.end(), overlaps)) continue;
    auto inside = [&](const std::string& t) { return fs::isAtOrBelow(tree, t); };
    if (std::any_of(trees.begin(), trees.end(), inside)) continue;
    std::erase_if(trees, [&](const auto& t) { return fs::isAtOrBelow(t, tree); });
    trees.push_back(tree);
  }
  for (const auto& tree : trees)
    spec.mounts.insert(spec.mounts.begin(), {fs::joinPath(layer.dir, tree.substr(1)), tree, true, layer.dir});
}

}  // namespace

std::string mountHidingPath(const config::ToolConfig& config, const engine::RunSpec& spec) {
  if (config.mounts.empty() || spec.argv.empty() || spec.argv[0].empty() ||
      spec.argv[0].find('/') != std::string::npos)
    return "";  // a command with a '/' is not looked up in PATH
  auto path = std::find_if(spec.env.begin(), spec.env.end(), [](const auto& kv) { return kv.first == "PATH"; });
  if (path == spec.env.end()) return "";
  std::istringstream dirs(path->second);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty() || dir[0] != '/') continue;
    dir = fs::normalize(dir);
    // The command as the image and the layer have it there, the way the sandbox would follow it
    // without the mounts (/opt/mise/npm-eslint/latest/bin/eslint is a file below 10.16.0).
    std::vector<std::string> through;
    auto file = image::resolveRegularFile(spec.layers, fs::joinPath(dir, spec.argv[0]), &through);
    if (!file) continue;
    through.push_back(dir);
    through.push_back(file->path);
    // Of the mounts on the way, the deepest is the one the sandbox shows there.
    const config::MountConfig* over = nullptr;
    for (const auto& mount : config.mounts)
      for (const auto& passed : through)
        if (fs::isAtOrBelow(passed, mount.dst) && (!over || mount.dst.size() > over->dst.size())) over = &mount;
    if (!over) continue;
    // The PATH came from an install a package's scripts ran in: shown without its control characters.
    auto shown = [](std::string_view text) { return clipToColumns(text, 4096); };
    std::string where = over->line > 0 ? fmt::format("{}, line {}", config.path, over->line) : config.path;
    return fmt::format("the mount at {} ({}) hides {} in {}, a directory of the sandbox's PATH: mount it elsewhere",
                       shown(over->dst), shown(where), shown(spec.argv[0]), shown(dir));
  }
  return "";
}

Result<engine::RunSpec> prepareRun(const config::ToolConfig& config, const std::vector<std::string>& args,
                                   const RunContext& ctx, const image::Image& image, const LayerSource& layerSource) {
  engine::RunSpec spec;
  Env bound;
  COCO_TRY(planSandbox(spec, bound, config, args, ctx));
  trace::point("sandbox-planned");
  std::optional<ToolLayer> layer;
  if (layerSource) {
    COCO_ASSIGN(layer, layerSource());
  }
  spec.layers = image.layers;
  if (layer && !ctx.bindLayerOver.empty()) {
    auto binds = layerBinds(layer->dir, ctx.bindLayerOver);
    if (binds) {
      spec.mounts.insert(spec.mounts.begin(), binds->begin(), binds->end());  // under the config's mounts
    } else if (ctx.layerImage) {
      COCO_ASSIGN(spec.containerImage, ctx.layerImage(*layer, binds.error()));
    } else {
      return std::move(binds).error();
    }
  } else if (layer) {
    spec.layers.insert(spec.layers.begin(), layer->dir);  // topmost; the run keeps its scratch upper
    bindInstallTrees(spec, *layer, image.layers);
  }
  spec.env = buildEnv(config, ctx, image, layer ? &*layer : nullptr, bound);
  trace::point("layers-resolved");
  bindNodeFromItsLayer(spec, ctx.createSources);
  return spec;
}

}  // namespace coco::tool
