// ToolConfig: one tool's configuration as the loader returns it (validated,
// with defaults applied; mount sources still as written).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/host_port.hpp"
#include "util/network_mode.hpp"

namespace coco::config {

struct MountConfig {
  std::string src;   // as written: ".", "~/x", "rel/path", "/abs"
  std::string dst;   // absolute, normalised
  bool readOnly = false;
  int line = 0;      // where it was written, for later errors
  std::string relabel{};  // podman's own options ("z", "Z", "U", "z,U", "Z,U"): podman and docker get them, the native runtime not
};

// A size in `limits`: bytes, or a share of the host's memory.
struct SizeLimit {
  uint64_t bytes = 0;    // when percent is 0
  unsigned percent = 0;  // 1-100: that share of the host's memory
  bool unlimited = false;
};

// `limits`: what one sandbox may use. An absent key takes coco's default
// (tool/plan.hpp); numbers of 0 mean "unlimited" where that is allowed.
struct LimitsConfig {
  std::optional<SizeLimit> memory;   // the whole sandbox's memory
  std::optional<uint64_t> pids;      // tasks (processes and threads); 0: unlimited
  std::optional<uint32_t> cpuMillis; // thousandths of a CPU; 0: unlimited
  std::optional<SizeLimit> tmpfs;    // scratch space in memory: changes to /, /tmp and /dev/shm together
};

struct ToolConfig {
  std::string name;                 // file name without extension
  std::string path;                 // the file it came from
  std::optional<std::string> tool;  // mise spec; absent: run `command` from the image
  std::string command;              // default: the tool's name (after the backend prefix)
  std::vector<MountConfig> mounts;
  std::vector<std::pair<std::string, std::string>> env;  // in file order
  std::vector<std::string> envPassthrough;
  std::vector<std::string> aptDependencies;
  std::vector<std::string> miseDependencies;
  std::string workdir = "/workspace";
  NetworkMode network = NetworkMode::Full;
  std::vector<std::string> allowedHosts;  // canonical spelling (formatHostPattern)
  // `install_hosts`: more hosts for the install phase only (same grammar), for
  // what coco cannot derive from the package managers' configuration.
  std::vector<std::string> installHosts;
  // `check`: the arguments the install starts the command with to see that the
  // tool runs (default {"--version"}); an empty list starts it with none.
  std::optional<std::vector<std::string>> check;
  bool isolated = false;
  // `caches`: package caches (config/package_caches.hpp) kept between the tool's
  // runs in a host directory of its own, in file order.
  std::vector<std::string> caches;
  std::vector<PublishedPort> ports;
  bool x11 = false;
  std::vector<std::string> podmanArgs;
  std::string seccomp = "default";  // "default", "unconfined", or a profile path
  bool workspaceGuard = true;       // key `workspace_guard`: true/false, or a map (guard on)
  bool guardGitWrite = false;       // `workspace_guard: {git: write}`: .git takes git's own writes
  LimitsConfig limits;
  // `allow_home`: writable mounts of home, a directory above it or / are allowed
  // (tool/home_guard.hpp); without it a run refuses them.
  bool allowHome = false;
  std::string hash;                 // sha256 hex of the normalised config
};

}  // namespace coco::config
