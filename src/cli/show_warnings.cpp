// Detecting grants that defeat the sandbox: home, credentials, runtime sockets, ...
#include <unistd.h>

#include <cstdlib>

#include "cli/show.hpp"
#include "config/paths.hpp"
#include "engine/cgroup.hpp"
#include "engine/landlock.hpp"
#include "image/storage.hpp"
#include "tool/ca_bundle.hpp"
#include "tool/grants.hpp"
#include "tool/plan.hpp"
#include "util/fs.hpp"

namespace coco::cli {

ShowContext showContextFromProcess() {
  ShowContext ctx;
  char buf[4096];
  if (::getcwd(buf, sizeof buf)) ctx.cwd = buf;
  if (const char* h = std::getenv("HOME")) ctx.home = h;
  if (const char* r = std::getenv("XDG_RUNTIME_DIR")) ctx.xdgRuntimeDir = r;
  ctx.landlockAbi = engine::landlockAbi();
  std::map<std::string, std::string> env;
  for (const char* name : {"XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"})
    if (const char* v = std::getenv(name)) env[name] = v;
  for (const char* name : image::kStorageVars)
    if (const char* v = std::getenv(name)) env[name] = v;
  ctx.cocoDirs = tool::cocoDirs(env, ctx.home);
  if (auto caches = tool::runCacheRoot(env, ctx.home)) ctx.runCaches = *caches;
  ctx.hostMemory = tool::hostMemoryBytes();
  std::map<std::string, std::string> ssl;
  if (const char* file = std::getenv("SSL_CERT_FILE")) ssl["SSL_CERT_FILE"] = file;
  ctx.caBundle = tool::findHostCaBundle(ssl);
  auto delegation = engine::cgroup::detect();
  ctx.haveCgroup = delegation.ok();
  ctx.cgroup = delegation ? delegation->dir : delegation.error().describe();
  if (delegation) ctx.cgroupControllers = delegation->controllers;
  return ctx;
}

std::vector<std::string> sandboxWarnings(const config::ToolConfig& config, const ShowContext& ctx) {
  std::vector<std::string> out;
  tool::GrantContext grants{ctx.cwd, ctx.home, ctx.xdgRuntimeDir, ctx.cocoDirs, ctx.physical};
  for (const auto& m : config.mounts) {
    std::string physical = tool::physicalPathIn(grants, config::expandSource(m.src, ctx.cwd, ctx.home));
    for (const auto& g : tool::mountGrants(m.src, physical, grants, m.readOnly)) {
      if (g.home && !m.readOnly && !config.allowHome)
        out.push_back(g.warning +
                      " (writable: coco run refuses it without --allow-home or allow_home: true)");
      else
        out.push_back(g.explicitGrant || (g.home && config.allowHome)
                          ? g.warning
                          : g.warning + " (not named in the config: coco run refuses it)");
    }
  }
  for (const auto& name : config.envPassthrough)
    if (name == "SSH_AUTH_SOCK") out.push_back("passes SSH_AUTH_SOCK: with the agent socket the tool can use your SSH keys");
  if (config.x11) out.push_back("x11: the tool can read keystrokes and the screen of your other X windows");
  if (config.network == NetworkMode::Full)
    out.push_back(
        "network: full outbound access (no 'network' key and no allowed_hosts): the tool can send what "
        "it reads to any host; list the hosts it needs in allowed_hosts, or set 'network: none'");
  if (config.network == NetworkMode::Host)
    out.push_back(fmt::format("network: host: the tool shares the host's network, including services listening on "
                              "localhost{}",
                              ctx.landlockAbi >= 6 ? ""
                                                   : " and (this kernel has no Landlock ABI 6) the host's abstract "
                                                     "unix sockets: X11, D-Bus, ..."));
  if (config.seccomp == "unconfined") out.push_back("seccomp: unconfined: every system call is open to the tool");
  if (config.allowHome)
    out.push_back(
        "allow_home: true: a writable mount of your home, a directory above it or / runs without "
        "asking (with '.', whenever the tool runs from there)");
  if (!config.workspaceGuard)
    out.push_back("workspace_guard: false: in a writable workspace the tool can plant git hooks, .envrc or "
                  "editor tasks that run later on the host");
  return out;
}

}  // namespace coco::cli
