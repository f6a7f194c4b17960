// Mount sources that expose what a sandbox must not reach unless the config says so.
//
// Your home (or a directory above it), credential directories and files,
// coco's own store, configs and caches, container runtime sockets. `coco show`
// warns about every such mount; `coco run` refuses the ones the config does
// not grant explicitly. Explicit means the config writes the path itself:
// `~/.ssh`, `/home/me/.ssh`, `~` or `/` (an absolute or `~` source whose
// written path is, contains or lies inside the sensitive one). A source that
// reaches it only through `.`, a relative path or a symlink is not explicit:
// that is how a planted symlink or running a tool from the wrong directory
// would hand it over.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/tool_config.hpp"
#include "util/result.hpp"

namespace coco::tool {

// physicalPath with its answers kept, for the checks of one run: they resolve the same few dozen
// paths (home, each credential path, coco's directories, the runtime sockets) for every mount and
// again for the warnings, each through realpath's readlink of every component (~300 system calls
// a run). Made for one run (tool::contextFromProcess) and dropped with it.
class PhysicalPaths {
 public:
  const std::string& resolve(const std::string& path);

 private:
  std::string resolveFresh(const std::string& path);
  std::map<std::string, std::string> known_;
};

struct GrantContext {
  std::string cwd;
  std::string home;
  std::string xdgRuntimeDir;          // may be empty
  std::vector<std::string> cocoDirs;  // see cocoDirs()
  std::shared_ptr<PhysicalPaths> physical{};  // null: every path resolved afresh
};

// physicalPath(path), through ctx.physical when there is one.
std::string physicalPathIn(const GrantContext& ctx, const std::string& path);

// coco's own directories for this environment (the store with the tool configs
// and layers, the download caches, the state with the warnings already shown,
// $XDG_RUNTIME_DIR/coco with the user-namespace holders' records): a tool
// writing there rewrites other tools, silences coco or names its own holder.
std::vector<std::string> cocoDirs(const std::map<std::string, std::string>& env, const std::string& home);

struct MountGrant {
  std::string warning;         // what the mount exposes, in plain words
  bool explicitGrant = false;  // the config names that path itself
  bool home = false;           // it exposes home (or / or a directory above home): tool/home_guard.hpp
};

// What the mount of `written` (a config's src) exposes, given `physical`, its
// host path with every symlink resolved; `readOnly`: the mount is (the words
// then say what the tool reads rather than what it may rewrite).
std::vector<MountGrant> mountGrants(const std::string& written, const std::string& physical,
                                    const GrantContext& ctx, bool readOnly = false);

// `path` with its symlinks resolved as far as it exists (the rest kept as
// written); /var/run is /run.
std::string physicalPath(const std::string& path);

// Refuses the first mount of the config that exposes a sensitive path the
// config does not name (see above); the Error says which and how to grant it.
// With `homeAllowed` (the user confirmed it: --allow-home, `allow_home: true`)
// a mount of home or above it passes however it is reached.
Status checkMountGrants(const config::ToolConfig& config, const GrantContext& ctx, bool homeAllowed = false);

}  // namespace coco::tool
