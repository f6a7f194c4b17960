// What a tool config grants, in plain words, and the grants that defeat the sandbox.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/tool_config.hpp"

namespace coco::tool {
class PhysicalPaths;  // tool/grants.hpp
}  // namespace coco::tool

namespace coco::cli {

// The hosts a config's install may reach, for the summary.
struct InstallHostsView {
  std::vector<std::string> derived;  // from the package managers' configuration (tool::installHosts)
  std::vector<std::string> unknown;  // managers whose sources were not found
  std::string error;                 // why none could be derived
  bool baseImage = true;             // false: not built yet, so no apt sources to read
};

struct ShowContext {
  std::string cwd;
  std::string home;
  std::string xdgRuntimeDir;            // may be empty
  int landlockAbi = 0;                  // the kernel's Landlock ABI, 0 without
  std::vector<std::string> cocoDirs{};  // coco's store and caches (tool::cocoDirs)
  uint64_t hostMemory = 0;    // bytes, for limits given as a share of it
  std::string cgroup = {};    // the delegated cgroup limits go to, or why there is none
  bool haveCgroup = false;    // which of the two `cgroup` is
  std::vector<std::string> cgroupControllers = {};
  std::optional<InstallHostsView> install = {};  // unset: the install hosts are not described
  std::string runCaches = {};  // where `caches` are kept (tool::runCacheRoot); empty: unknown
  std::shared_ptr<tool::PhysicalPaths> physical = {};  // a run's, shared with its checks (tool/grants.hpp)
  std::string caBundle = {};  // the host's CA bundle (tool::findHostCaBundle), "" when it has none
};

ShowContext showContextFromProcess();

// Where a run with a network (for `network: none`, one widened by --learn or COCO_ALLOW_NETWORK)
// gets the host's CA bundle, as the run plans it (tool::caBundlePlace). `host` is "" when the
// host has none; else `at` is its place, or `error` says why there is none (the run is refused).
struct CaBundleView {
  std::string host, at, error;
};
CaBundleView caBundleView(const config::ToolConfig& config, const ShowContext& ctx);

// installHostsView for the config on the stored base image (nothing is built or pulled).
InstallHostsView installHostsView(const config::ToolConfig& config);

// One line per grant that lets the tool escape or read secrets (the mounts
// among them as tool::mountGrants finds them, the same check `coco run` makes).
std::vector<std::string> sandboxWarnings(const config::ToolConfig& config, const ShowContext& ctx);

// The full summary `coco show` and `coco get` print, warnings included.
std::string describeConfig(const config::ToolConfig& config, const ShowContext& ctx);

}  // namespace coco::cli
