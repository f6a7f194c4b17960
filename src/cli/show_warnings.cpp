// Detecting grants that defeat the sandbox: home, credentials, runtime sockets, ...
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "cli/show.hpp"
#include "config/paths.hpp"
#include "engine/cgroup.hpp"
#include "tool/plan.hpp"
#include "util/fs.hpp"

namespace coco::cli {

namespace {

// Where credentials live by convention; a mount at, above or below one exposes it.
constexpr const char* kCredentialDirs[] = {".ssh", ".aws", ".gnupg", ".config/gcloud", ".kube", ".docker"};

// A socket here lets the tool start a privileged container: a full escape.
constexpr const char* kRuntimeSockets[] = {"/run/docker.sock", "/run/podman", "/run/containerd",
                                           "/run/crio", "/run/buildkit"};
constexpr const char* kUserRuntimeSockets[] = {"podman", "docker.sock", "docker", "containerd"};

// Symlinks resolved where the path exists; /var/run is /run on every current distro.
std::string canonical(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr), &std::free);
  std::string p = real ? std::string(real.get()) : fs::normalize(path);
  if (p == "/var/run" || p.starts_with("/var/run/")) p = p.substr(4);
  return p;
}

bool isUnder(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.starts_with(dir) && path[dir.size()] == '/');
}

// Whether the mount of `src` exposes `target`: it is the target, inside it, or above it.
bool overlaps(const std::string& src, const std::string& target) {
  return isUnder(src, target) || isUnder(target, src);
}

std::vector<std::string> runtimeSockets(const ShowContext& ctx) {
  std::vector<std::string> out(std::begin(kRuntimeSockets), std::end(kRuntimeSockets));
  if (!ctx.xdgRuntimeDir.empty())
    for (const char* s : kUserRuntimeSockets) out.push_back(canonical(fs::joinPath(ctx.xdgRuntimeDir, s)));
  return out;
}

void mountWarnings(const std::string& written, const std::string& src, const ShowContext& ctx,
                   std::vector<std::string>& out) {
  std::string home = canonical(ctx.home);
  if (src == "/") return out.push_back(fmt::format("mounts / ({}): the whole host file system", written));
  if (isUnder(home, src)) {
    // "." is only the home directory because of where coco runs now; say so.
    std::string where = written == "." ? "when run from " + src : written + " = " + src;
    return out.push_back(fmt::format("mounts your home directory ({}): every file you own, keys included", where));
  }
  for (const char* dir : kCredentialDirs) {
    std::string cred = canonical(fs::joinPath(ctx.home, dir));
    if (overlaps(src, cred)) out.push_back(fmt::format("mounts {} ({}), which holds credentials: ~/{}", src, written, dir));
  }
  for (const auto& sock : runtimeSockets(ctx))
    if (overlaps(src, sock))
      out.push_back(fmt::format("mounts a container runtime socket ({} via {}): the tool can start containers "
                                "with full access to your files",
                                sock, src));
}

}  // namespace

ShowContext showContextFromProcess() {
  ShowContext ctx;
  char buf[4096];
  if (::getcwd(buf, sizeof buf)) ctx.cwd = buf;
  if (const char* h = std::getenv("HOME")) ctx.home = h;
  if (const char* r = std::getenv("XDG_RUNTIME_DIR")) ctx.xdgRuntimeDir = r;
  ctx.hostMemory = tool::hostMemoryBytes();
  auto delegation = engine::cgroup::detect();
  ctx.haveCgroup = delegation.ok();
  ctx.cgroup = delegation ? delegation->dir : delegation.error().describe();
  if (delegation) ctx.cgroupControllers = delegation->controllers;
  return ctx;
}

std::vector<std::string> sandboxWarnings(const config::ToolConfig& config, const ShowContext& ctx) {
  std::vector<std::string> out;
  for (const auto& m : config.mounts)
    mountWarnings(m.src, canonical(config::expandSource(m.src, ctx.cwd, ctx.home)), ctx, out);
  for (const auto& name : config.envPassthrough)
    if (name == "SSH_AUTH_SOCK") out.push_back("passes SSH_AUTH_SOCK: with the agent socket the tool can use your SSH keys");
  if (config.x11) out.push_back("x11: the tool can read keystrokes and the screen of your other X windows");
  if (config.network == config::NetworkMode::Host)
    out.push_back("network: host: the tool shares the host's network, including services listening on localhost");
  if (config.seccomp == "unconfined") out.push_back("seccomp: unconfined: every system call is open to the tool");
  if (!config.workspaceGuard)
    out.push_back("workspace_guard: false: in a writable workspace the tool can plant git hooks, .envrc or "
                  "editor tasks that run later on the host");
  return out;
}

}  // namespace coco::cli
