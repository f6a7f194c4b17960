// prepareRun: turns a tool config, the user's arguments, the host context, the image and the tool's layer into a RunSpec.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/paths.hpp"
#include "config/tool_config.hpp"
#include "engine/run_spec.hpp"
#include "image/image.hpp"
#include "tool/tool_layer.hpp"
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
class PhysicalPaths;  // tool/grants.hpp

struct RunContext {
  std::string cwd;
  std::string home;
  std::map<std::string, std::string> hostEnv;  // the whole host environment
  bool allowNetwork = false;                   // COCO_ALLOW_NETWORK
  std::string extraPorts;                      // COCO_EXTRA_PORTS, CSV
  bool createSources = true;  // false for --dry-run: plan without touching the disk
  uint64_t hostMemory = 0;    // bytes, for limits given as a share of it
  uint64_t fdSoftLimit = 0;   // the soft RLIMIT_NOFILE coco was started with (startingFdLimit)
  bool allowHome = false;     // `coco run --allow-home`: mounts of home pass (tool/home_guard.hpp)
  bool viaLink = false;       // started through a `coco up` link, where coco takes no options
  // Podman and docker: the layers of coco's native base image their image was imported from
  // (`coco rebuild`). The tool layer is then bound read-only over that image (layerBinds) instead
  // of stacked as an overlay lower; empty for the native runtime.
  std::vector<std::string> bindLayerOver;
  // Podman and docker: the image holding the tool layer on the runtime's image, for a layer
  // layerBinds refuses (the refusal passed in, for the log); unset: the refusal stands.
  using LayerImageFn = std::function<Result<std::string>(const ToolLayer& layer, const Error& bindsRefused)>;
  LayerImageFn layerImage;
  // The run's resolved host paths, shared by its warnings and its checks (tool/grants.hpp); null:
  // each check resolves afresh.
  std::shared_ptr<PhysicalPaths> physical{};
};

// The host directory that keeps the tools' `caches` between their runs:
// $XDG_CACHE_HOME/coco/run-caches (XDG_CACHE_HOME defaults to ~/.cache), with
// NAME/KIND below it for each tool and cache. Apart from the installs' shared
// download caches, so what one tool's runs write reaches no other tool and no
// install.
Result<std::string> runCacheRoot(const std::map<std::string, std::string>& hostEnv, const std::string& home);
std::string runCacheRoot(const config::Paths& paths);

// "1" and "true" (any case) are true, like the original's COCO_* switches.
bool isTrue(std::string_view value);

// Builds a RunContext from the process (cwd, $HOME, environ, COCO_* variables).
Result<RunContext> contextFromProcess();

// COCO_USERNS_HOLDER=0 (or false, no, off, any case): runs make their user namespace without
// the user-namespace holder (engine/userns_holder.hpp).
bool holderDisabled(const std::map<std::string, std::string>& env);

// What every sandbox needs from the host (engine::HostSetup), from the environment coco was
// started with: the XDG directories (config::engineDirs), COCO_USERNS, COCO_USERNS_HOLDER,
// the starting fd limit.
// Runs and install sandboxes alike get it from here.
engine::HostSetup hostSetup(const std::map<std::string, std::string>& env, uint64_t fdSoftLimit);
// COCO_USERNS_HOLDER_IDLE: how many seconds a holder a run starts waits for the next run
// (1 to 86400); unset or anything else (with a warning): engine::kHolderIdleSeconds.
unsigned holderIdleSeconds(const std::map<std::string, std::string>& env);

// `coco system stop`: stops the user-namespace holders (one per id mapping) that runs from this
// environment use (whether or not COCO_USERNS_HOLDER is off now). Returns how many were running.
Result<unsigned> stopUsernsHolder();

// Whether a run in this context would look its user up through NSS modules that only coco-full
// loads (engine::idMapsNeedNameService with the run's holder directory and COCO_USERNS).
bool idMapsNeedNameService(const RunContext& ctx);

// A comma-separated list of port specs as a config's `ports` takes them
// (parsePublishedPort); empty items are ignored.
Result<std::vector<PublishedPort>> parsePortList(std::string_view csv);

// Where a run with a network binds the host's CA bundle: the first of /run/coco, /etc/coco and
// /var/lib/coco (each .../ca-certificates.crt) that no mount of `mounts` is in the way of, or the
// refusal naming those in the way by `config`'s file and line. A source that does not exist yet
// counts as the directory the run makes.
Result<std::string> caBundlePlace(const std::vector<engine::BindMount>& mounts,
                                  const config::ToolConfig& config);

// The seccomp profile file for a config's `seccomp` value; empty = unconfined.
Result<std::string> seccompProfilePath(const std::string& value, const std::string& cwd, const std::string& home);

// The tool's layer for a run: called once, after the config's mounts, ports and
// seccomp profile were checked, so a config that cannot run fails before a first
// run's install (tool::ensureToolLayer) starts. Empty, or nullopt from it: no layer
// (a dry run, a config with nothing to install).
using LayerSource = std::function<Result<std::optional<ToolLayer>>()>;

// The finished RunSpec of one run, planned once. Its environment is built, never
// inherited, in one order where a later setting wins: the image's variables, the
// tool layer's (what mise resolved at install time), coco's own (HOME, the host's
// TERM and LANG), the config's `env`, the `env_passthrough` variables set on the
// host, and last the variables of what coco binds in (the CA bundle's, X11's
// DISPLAY and XAUTHORITY), whose paths only hold inside the sandbox.
Result<engine::RunSpec> prepareRun(const config::ToolConfig& config, const std::vector<std::string>& args,
                                   const RunContext& ctx, const image::Image& image, const LayerSource& layer = {});

// Why a run's command was not found, when a mount of the config hid it: the image or the tool's
// layer has the command in a directory of the sandbox's PATH, and a config mount is at or above
// that directory or the file it leads to (a mount at /opt hides the installs in /opt/mise, one at
// /usr/bin the image's commands). Names the deepest such mount, said as a hint; "" when none.
// Reads the layers: called on a run that ended 127, not before every run.
std::string mountHidingPath(const config::ToolConfig& config, const engine::RunSpec& spec);

// The plan as `coco run --dry-run` prints it: variable names, never their values;
// with the Landlock rules a kernel of that ABI would enforce (0: none).
std::string planToJson(const engine::RunSpec& spec, const std::string& imageReference, int landlockAbi = 0);

}  // namespace coco::tool
