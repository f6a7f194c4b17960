// planRun: turns a tool config, the user's arguments and the host context into a RunSpec.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/tool_config.hpp"
#include "engine/run_spec.hpp"
#include "image/image.hpp"
#include "util/result.hpp"

namespace coco::tool {

// coco's defaults for what `limits` leaves out. Measured: eslint on 400 files
// peaks at 185 MiB RSS (220 MiB of data), tsc at 80 MiB of data, an npm install
// of eslint, typescript, prettier and esbuild at 240 MiB RSS and 121 tasks.
inline constexpr unsigned kDefaultMemoryPercent = 50;  // of the host's memory
inline constexpr uint64_t kDefaultPids = 4096;
inline constexpr unsigned kDefaultTmpfsPercent = 25;   // of the host's memory

// The host's physical memory in bytes (0 when unknown).
uint64_t hostMemoryBytes();

// The limits a sandbox gets: the config's, coco's defaults for the rest;
// shares of memory become bytes (whole MiB).
engine::Limits resolveLimits(const config::LimitsConfig& limits, uint64_t hostMemory);

// Everything from the host a run may depend on, gathered once by the caller so
// planning is a pure function of its inputs.
struct RunContext {
  std::string cwd;
  std::string home;
  std::map<std::string, std::string> hostEnv;  // the whole host environment
  bool allowNetwork = false;                   // COCO_ALLOW_NETWORK
  std::string extraPorts;                      // COCO_EXTRA_PORTS, CSV
  image::Image image;
  bool createSources = true;  // false for --dry-run: plan without touching the disk
  uint64_t hostMemory = 0;    // bytes, for limits given as a share of it
};

// "1" and "true" (any case) are true, like the original's COCO_* switches.
bool isTrue(std::string_view value);

// Builds a RunContext from the process (cwd, $HOME, environ, COCO_* variables).
Result<RunContext> contextFromProcess(image::Image image);

// A comma-separated list of port specs as a config's `ports` takes them
// (parsePublishedPort); empty items are ignored.
Result<std::vector<PublishedPort>> parsePortList(std::string_view csv);

// The seccomp profile file for a config's `seccomp` value; empty = unconfined.
Result<std::string> seccompProfilePath(const std::string& value, const std::string& cwd, const std::string& home);

Result<engine::RunSpec> planRun(const config::ToolConfig& config, const std::vector<std::string>& args,
                                const RunContext& ctx);

// The plan as `coco run --dry-run` prints it: variable names, never their values;
// with the Landlock rules a kernel of that ABI would enforce (0: none).
std::string planToJson(const engine::RunSpec& spec, const std::string& imageReference, int landlockAbi = 0);

}  // namespace coco::tool
