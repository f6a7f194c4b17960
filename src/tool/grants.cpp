// Which mount sources expose home, credentials, coco's own files or a container runtime socket.
#include "tool/grants.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "config/paths.hpp"
#include "image/storage.hpp"
#include "util/fs.hpp"

namespace coco::tool {

namespace {

// Where credentials live by convention; a mount at, above or below one exposes it.
constexpr const char* kCredentialPaths[] = {".ssh",
                                            ".aws",
                                            ".gnupg",
                                            ".config/gcloud",
                                            ".kube",
                                            ".docker",
                                            ".netrc",
                                            ".git-credentials",
                                            ".config/gh",
                                            ".npmrc",
                                            ".pypirc",
                                            ".cargo/credentials.toml",
                                            ".cargo/credentials",
                                            ".password-store",
                                            ".local/share/keyrings",
                                            ".config/containers/auth.json"};

// A socket here lets the tool start a privileged container: a full escape.
constexpr const char* kRuntimeSockets[] = {"/run/docker.sock", "/run/podman", "/run/containerd", "/run/crio",
                                           "/run/buildkit"};
constexpr const char* kUserRuntimeSockets[] = {"podman", "docker.sock", "docker", "containerd"};

// Whether the mount of `src` exposes `target`: it is the target, inside it, or above it.
bool overlaps(const std::string& src, const std::string& target) {
  return fs::isAtOrBelow(src, target) || fs::isAtOrBelow(target, src);
}

// /var/run is /run on every current distribution.
std::string withoutVarRun(std::string p) {
  if (p == "/var/run" || p.starts_with("/var/run/")) p = p.substr(4);
  return p;
}

// A config names a path explicitly when it writes it (absolute or from ~) so
// that the written path itself reaches the sensitive one, with or without the
// symlinks the user has there.
bool writesIt(const GrantContext& ctx, const std::string& written, const std::string& lexical,
              const std::string& sensitive, bool aboveOnly) {
  if (written.empty() || (written.front() != '/' && written.front() != '~')) return false;
  std::string path = withoutVarRun(lexical);
  for (const auto& s : {sensitive, physicalPathIn(ctx, sensitive)})
    if (aboveOnly ? fs::isAtOrBelow(s, path) : overlaps(path, s)) return true;
  return false;
}

struct Sensitive {
  std::string path;  // as coco names it (lexical)
  std::string what;  // for the warning
};

std::vector<Sensitive> sockets(const GrantContext& ctx) {
  std::vector<Sensitive> out;
  for (const char* s : kRuntimeSockets) out.push_back({s, s});
  if (!ctx.xdgRuntimeDir.empty())
    for (const char* s : kUserRuntimeSockets) out.push_back({fs::joinPath(ctx.xdgRuntimeDir, s), s});
  return out;
}

}  // namespace

std::string physicalPath(const std::string& path) {
  std::string p = fs::normalize(path);
  std::string rest;
  for (;;) {
    std::unique_ptr<char, decltype(&std::free)> real(::realpath(p.c_str(), nullptr), &std::free);
    if (real) {
      p = fs::joinPath(real.get(), rest);
      break;
    }
    if (p == "/" || p.empty() || p == ".") break;
    size_t slash = p.rfind('/');
    std::string last = p.substr(slash + 1);
    rest = rest.empty() ? last : last + "/" + rest;
    p = slash == 0 ? "/" : p.substr(0, slash);
  }
  return withoutVarRun(fs::normalize(p));
}

const std::string& PhysicalPaths::resolve(const std::string& path) {
  auto it = known_.find(path);
  if (it != known_.end()) return it->second;
  std::string physical = resolveFresh(path);
  return known_.emplace(path, std::move(physical)).first->second;
}

// Below a parent that is its own physical path (no symlink on the way, not
// under /var/run), a path is either a symlink (resolved as physicalPath does)
// or its own physical path too, whether it exists (readlink: EINVAL) or not
// (ENOENT: physicalPath keeps a missing last component as written). One
// readlink instead of realpath's of every component from the root, and of
// the parent's again when the path is missing.
std::string PhysicalPaths::resolveFresh(const std::string& path) {
  std::string p = fs::normalize(path);
  size_t slash = p.rfind('/');
  if (p.size() > 1 && slash != std::string::npos) {
    std::string parent = slash == 0 ? "/" : p.substr(0, slash);
    if (resolve(parent) == parent) {
      char byte;
      if (::readlink(p.c_str(), &byte, 1) < 0 && (errno == EINVAL || errno == ENOENT)) return withoutVarRun(p);
    }
  }
  return physicalPath(path);
}

std::string physicalPathIn(const GrantContext& ctx, const std::string& path) {
  return ctx.physical ? ctx.physical->resolve(path) : physicalPath(path);
}

std::vector<std::string> cocoDirs(const std::map<std::string, std::string>& env, const std::string& home) {
  auto get = [&](const char* name) {
    auto it = env.find(name);
    return it == env.end() || it->second.empty() || it->second.front() != '/' ? std::string() : it->second;
  };
  std::string data = get("XDG_DATA_HOME"), cache = get("XDG_CACHE_HOME"), state = get("XDG_STATE_HOME");
  std::vector<std::string> dirs = {
      fs::joinPath(data.empty() ? fs::joinPath(home, ".local/share") : data, "coco"),
      fs::joinPath(cache.empty() ? fs::joinPath(home, ".cache") : cache, "coco"),
      fs::joinPath(state.empty() ? fs::joinPath(home, ".local/state") : state, "coco")};
  // The user-namespace holders' records and the staging directory (config::engineDirs).
  if (std::string runtime = get("XDG_RUNTIME_DIR"); !runtime.empty())
    dirs.push_back(fs::joinPath(fs::normalize(runtime), "coco"));
  for (const char* var : image::kStorageVars) {
    if (std::string storage = get(var); !storage.empty()) {
      dirs.push_back(fs::normalize(storage));
      break;
    }
  }
  return dirs;
}

std::vector<MountGrant> mountGrants(const std::string& written, const std::string& physical,
                                    const GrantContext& ctx, bool readOnly) {
  std::string lexical = config::expandSource(written, ctx.cwd, ctx.home);
  std::string home = physicalPathIn(ctx, ctx.home);
  if (physical == "/")
    return {{fmt::format("mounts / ({}): the whole host file system", written),
             writesIt(ctx, written, lexical, "/", true), true}};
  if (fs::isAtOrBelow(home, physical)) {
    // "." is only the home directory because of where coco runs now; say so.
    std::string where = written == "." ? "when run from " + physical : written + " = " + physical;
    return {{fmt::format("mounts your home directory ({}): every file you own, keys included", where),
             writesIt(ctx, written, lexical, fs::normalize(ctx.home), true), true}};
  }
  std::vector<MountGrant> out;
  for (const char* rel : kCredentialPaths) {
    std::string cred = fs::joinPath(fs::normalize(ctx.home), rel);
    if (overlaps(physical, physicalPathIn(ctx, cred)))
      out.push_back({fmt::format("mounts {} ({}), which holds credentials: ~/{}", physical, written, rel),
                     writesIt(ctx, written, lexical, cred, false)});
  }
  for (const auto& dir : ctx.cocoDirs)
    if (overlaps(physical, physicalPathIn(ctx, dir)))
      out.push_back(
          {fmt::format("mounts {} ({}), coco's own files ({}): {}", physical, written, dir,
                       readOnly ? "read-only: the tool reads other tools' configs, layers and caches, but cannot change them"
                                : "a tool that writes there can rewrite other tools' configs and layers"),
           writesIt(ctx, written, lexical, dir, false)});
  for (const auto& sock : sockets(ctx))
    if (overlaps(physical, physicalPathIn(ctx, sock.path)))
      out.push_back(
          {fmt::format("mounts a container runtime socket ({} via {}): the tool can start containers "
                       "with full access to your files",
                       physicalPathIn(ctx, sock.path), physical),
           writesIt(ctx, written, lexical, sock.path, false)});
  return out;
}

Status checkMountGrants(const config::ToolConfig& config, const GrantContext& ctx, bool homeAllowed) {
  for (const auto& m : config.mounts) {
    std::string physical = physicalPathIn(ctx, config::expandSource(m.src, ctx.cwd, ctx.home));
    for (const auto& g : mountGrants(m.src, physical, ctx, m.readOnly)) {
      if (g.explicitGrant || (g.home && homeAllowed)) continue;
      return Error::withErrno(
          EACCES,
          fmt::format(
              "{}: mount {} -> {}: {}; refused, because the config does not name that path itself "
              "(it is reached through '.', a relative path or a symbolic link). To grant it, write "
              "the path in the config{}",
              config.path, m.src, m.dst, g.warning,
              g.home ? ", or allow your home with 'coco run --allow-home' or 'allow_home: true'" : ""));
    }
  }
  return {};
}

}  // namespace coco::tool
