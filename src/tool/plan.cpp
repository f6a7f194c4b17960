// Planning one run: mounts, environment, network, ports and seccomp from a config.
#include "tool/plan.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>

#include "config/paths.hpp"
#include "util/data_dir.hpp"
#include "util/fs.hpp"
#include "util/git_config.hpp"

extern char** environ;

namespace coco::tool {

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kContainerHome = "/root";
constexpr const char* kX11SocketDir = "/tmp/.X11-unix";
constexpr const char* kSandboxCaBundle = "/run/coco/ca-certificates.crt";
constexpr const char* kContainerXauthority = "/tmp/.coco-xauthority";
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

// Built, never inherited: only what the image, the config and the config's
// passthrough list name reaches the tool, so host secrets stay on the host.
Env buildEnv(const config::ToolConfig& config, const RunContext& ctx) {
  Env env = ctx.image.env;
  setVar(env, "HOME", kContainerHome);
  for (const char* name : {"TERM", "LANG"})
    if (const auto* v = hostVar(ctx, name)) setVar(env, name, *v);
  for (const auto& [name, value] : config.env) setVar(env, name, value);
  for (const auto& name : config.envPassthrough)
    if (const auto* v = hostVar(ctx, name)) setVar(env, name, *v);
  return env;
}

Result<std::vector<engine::BindMount>> buildMounts(const config::ToolConfig& config, const RunContext& ctx) {
  std::vector<engine::BindMount> mounts;
  for (const auto& m : config.mounts) {
    std::string src = config::expandSource(m.src, ctx.cwd, ctx.home);
    if (ctx.createSources) {
      auto made = config::ensureSource(src, ctx.cwd, ctx.home);
      if (!made) return std::move(made).error().wrap(fmt::format("{}: mount {} -> {}", config.path, m.src, m.dst));
    }
    mounts.push_back({src, m.dst, m.readOnly});
  }
  return mounts;
}

// The X socket and the auth cookie file, read-only; a missing piece is left out
// rather than failing, since X over TCP needs neither.
void addX11(std::vector<engine::BindMount>& mounts, Env& env, const RunContext& ctx) {
  if (fs::isDirectory(kX11SocketDir)) mounts.push_back({kX11SocketDir, kX11SocketDir, true});
  if (const auto* display = hostVar(ctx, "DISPLAY")) setVar(env, "DISPLAY", *display);
  const auto* xauth = hostVar(ctx, "XAUTHORITY");
  std::string cookie = xauth ? *xauth : fs::joinPath(ctx.home, ".Xauthority");
  if (!cookie.empty() && fs::exists(cookie)) {
    mounts.push_back({cookie, kContainerXauthority, true});
    setVar(env, "XAUTHORITY", kContainerXauthority);
  }
}

engine::Network networkFor(config::NetworkMode mode) {
  switch (mode) {
    case config::NetworkMode::None: return engine::Network::None;
    case config::NetworkMode::Allowlist: return engine::Network::Allowlist;
    case config::NetworkMode::Host: return engine::Network::Host;
    case config::NetworkMode::Full: break;
  }
  return engine::Network::Full;
}

void applyNetwork(engine::RunSpec& spec, const config::ToolConfig& config, const RunContext& ctx) {
  spec.network = networkFor(config.network);
  spec.allowedHosts = config.allowedHosts;
  // The override widens to full outbound; `host` already is at least that.
  if (ctx.allowNetwork && spec.network != engine::Network::Host) {
    spec.network = engine::Network::Full;
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

// The host's CA bundle, so TLS works behind intercepting proxies: the user's
// SSL_CERT_FILE when set, else the distribution's bundle.
std::string hostCaBundle(const RunContext& ctx) {
  if (const auto* set = hostVar(ctx, "SSL_CERT_FILE"); set && fs::exists(*set)) return *set;
  for (const char* path : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"})
    if (fs::exists(path)) return path;
  return {};
}

void addCaBundle(std::vector<engine::BindMount>& mounts, Env& env, const RunContext& ctx) {
  std::string bundle = hostCaBundle(ctx);
  if (bundle.empty()) return;
  mounts.push_back({bundle, kSandboxCaBundle, true});
  for (const char* name : {"SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "PIP_CERT",
                           "CARGO_HTTP_CAINFO", "GIT_SSL_CAINFO"})
    setVar(env, name, kSandboxCaBundle);
}

// core.hooksPath as the user's git reads it outside any repository: system config, then the
// global files (GIT_CONFIG_GLOBAL, or the XDG file and ~/.gitconfig); the last value wins.
std::string hostHooksPath(const RunContext& ctx, const config::Paths& paths) {
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
  std::string hooks;
  for (const auto& file : files) {
    auto text = fs::readFile(file);
    if (!text) continue;
    if (auto v = gitconfig::lastValue(*text, "core", "hooksPath")) hooks = *v;
  }
  return hooks;
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
  guard.hostHooksPath = hostHooksPath(ctx, *paths);
  guard.cacheDir = paths->cacheHome + "/coco/guard";
  return guard;
}

std::string currentDir() {
  char buf[PATH_MAX];
  return ::getcwd(buf, sizeof buf) ? std::string(buf) : std::string();
}

}  // namespace

bool isTrue(std::string_view value) {
  std::string lower(value);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == "1" || lower == "true";
}

Result<RunContext> contextFromProcess(image::Image image) {
  RunContext ctx;
  ctx.cwd = currentDir();
  if (ctx.cwd.empty()) return Error::fromErrno("cannot determine the current directory");
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos) ctx.hostEnv.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  auto home = ctx.hostEnv.find("HOME");
  if (home == ctx.hostEnv.end() || home->second.empty()) return Error::make("HOME is not set");
  ctx.home = home->second;
  if (auto it = ctx.hostEnv.find("COCO_ALLOW_NETWORK"); it != ctx.hostEnv.end()) ctx.allowNetwork = isTrue(it->second);
  if (auto it = ctx.hostEnv.find("COCO_EXTRA_PORTS"); it != ctx.hostEnv.end()) ctx.extraPorts = it->second;
  ctx.image = std::move(image);
  return ctx;
}

Result<std::string> seccompProfilePath(const std::string& value, const std::string& cwd, const std::string& home) {
  if (value == "unconfined") return std::string();
  if (value != "default") return config::expandSource(value, cwd, home);
  if (std::string path = findDataPath(kDefaultSeccompProfile); !path.empty()) return path;
  return Error::withErrno(ENOENT, fmt::format("default seccomp profile {} not found in {}", kDefaultSeccompProfile,
                                              fmt::join(dataDirs(), " or ")));
}

Result<engine::RunSpec> planRun(const config::ToolConfig& config, const std::vector<std::string>& args,
                                const RunContext& ctx) {
  engine::RunSpec spec;
  spec.toolName = config.name;
  spec.layers = ctx.image.layers;
  COCO_ASSIGN(spec.mounts, buildMounts(config, ctx));
  spec.env = buildEnv(config, ctx);
  if (config.x11) addX11(spec.mounts, spec.env, ctx);
  // Like the original's unquoted $command: "npm ci" is a command and an argument.
  for (auto& word : splitWords(config.command)) spec.argv.push_back(std::move(word));
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.workdir = config.workdir;
  applyNetwork(spec, config, ctx);
  if (spec.network != engine::Network::None) addCaBundle(spec.mounts, spec.env, ctx);
  for (const auto& p : config.ports) spec.ports.push_back({p.hostAddr, p.hostPort, p.containerPort});
  auto extra = parsePortList(ctx.extraPorts);
  if (!extra) return std::move(extra).error().wrap("COCO_EXTRA_PORTS");
  spec.ports.insert(spec.ports.end(), extra->begin(), extra->end());
  COCO_ASSIGN(spec.seccompProfile, seccompProfilePath(config.seccomp, ctx.cwd, ctx.home));
  spec.guard = guardSpec(config, ctx);
  return spec;
}

}  // namespace coco::tool
