// Tool layers: install with mise on first run (or when the config or base image changed), then read-only runs.
//
// Layout under the storage root ($XDG_DATA_HOME/coco, see image/storage.hpp):
//   tool-layers/<name>/<confighash>/layer/        what the install wrote (an overlay upper dir:
//                                                 whiteouts and user.overlay.* xattrs kept)
//   tool-layers/<name>/<confighash>/record.json   base layer, spec, version, the environment
//                                                 mise resolved (so warm runs never call mise)
//   tool-layers/<name>/lock                       flock(2): one install of a tool at a time
//   tool-layers/<name>/.build-XXXXXX/             work in progress; removed under the lock
//   tool-layers/<name>/install.log                the last install's output
// Only rename(2) puts a <confighash> directory in place, so a failed or killed
// install leaves the previous good layer or none.
// Download caches: $XDG_CACHE_HOME/coco/cache/<kind>[/tools/<name> when isolated],
// mounted read-write in the install phase only.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/tool_config.hpp"
#include "engine/run_spec.hpp"
#include "image/image.hpp"
#include "tool/install_hosts.hpp"
#include "tool/install_sandbox.hpp"
#include "util/result.hpp"

namespace coco::tool {

struct ToolLayer {
  std::string dir;        // the layer's directory (an overlay lower)
  std::string hash;       // the config hash it was installed for
  std::string base;       // digest of the base image's top layer it was installed on
  std::string spec;       // the mise spec
  std::string version;    // what mise installed ("9.39.1"), empty when unknown
  std::string installed;  // RFC 3339
  std::vector<std::pair<std::string, std::string>> env;  // PATH and what else mise sets
  int recipe = 0;         // kInstallRecipe of the install that made it
};

// The version of how coco installs a tool (the script, the start check). A
// layer made by another recipe is outdated: 2 runs npm install scripts, which
// the layers of recipe 1 (none recorded) skipped, leaving such tools unable to start;
// 3 installs into /opt/mise (shorter module paths for node: tool_layer.cpp).
inline constexpr int kInstallRecipe = 3;

struct ToolLayerOptions {
  std::string storageRoot;  // empty: image::Storage::defaultRoot()
  std::string cacheRoot;  // empty: $XDG_CACHE_HOME/coco/cache
  SandboxRunner run;      // required for installs
  image::ProgressFn progress;  // empty: image::stderrProgress()
  NetworkMode network = NetworkMode::Allowlist;
  HostConfigSource host = HostConfigSource::fromProcess();
  std::string seccompProfile;  // for the install sandbox
};

enum class ToolState { NotNeeded, NotInstalled, Installed, Outdated };

struct ToolStatus {
  ToolState state = ToolState::NotInstalled;
  std::optional<ToolLayer> layer;  // the installed layer, also when Outdated
};

// True when the config needs a layer at all (a mise tool or dependencies).
bool needsLayer(const config::ToolConfig& config);

// What is installed for the config, without touching anything (for `coco list`).
// Outdated: installed for another config hash or another base image.
Result<ToolStatus> toolStatus(const config::ToolConfig& config, const image::Image& base,
                              const std::string& storageRoot = "");

// The tool's layer, installed first when missing or outdated; nullopt when the
// config needs none. Concurrent callers: one installs, the others wait and use it.
Result<std::optional<ToolLayer>> ensureToolLayer(const config::ToolConfig& config, const image::Image& base,
                                                 const ToolLayerOptions& options);

// The package hosts an install of `config` on `base` derives (installHosts of
// the config's specs and apt packages); `coco show` lists them too.
Result<InstallHosts> derivedInstallHosts(const config::ToolConfig& config, const image::Image& base,
                                         const HostConfigSource& src);

// The shell script of an install (exposed for tests).
// With `cargoConfig`, the script first puts /.coco/cargo-config.toml (the
// host's crates.io replacement, InstallHosts::cargoConfig) where the install's
// cargo reads it: $CARGO_HOME, else ~/.cargo.
std::string installScript(const config::ToolConfig& config, bool cargoConfig = false);
// The tool's one start after its install (`TOOL --version`, or the config's
// `check` arguments; it also primes node's compile cache), run in a sandbox of
// its own without the io dir: package code runs there, and nothing it does can
// reach what coco reads back. It must succeed, or nothing is installed. Empty
// when nothing is installed.
std::string smokeStartScript(const config::ToolConfig& config);
// How the message of a failed start names it: "eslint --version".
std::string smokeStartCommand(const config::ToolConfig& config);
// A mise spec as the install passes it to `mise use`: npm packages get
// npm_args=--ignore-scripts=false, because mise skips install scripts by
// default and some tools (claude's native binary) arrive only through them;
// the install phase is the sandbox that exists to contain them.
std::string miseInstallSpec(const std::string& spec);

// Removes tool layers: all of them, or (keepCurrent) only those of configs that
// are not among `current` (name -> hash). Returns the bytes freed.
Result<uint64_t> removeToolLayers(const std::string& storageRoot,
                                  const std::vector<std::pair<std::string, std::string>>& current, bool keepCurrent);
// One installed tool layer as `coco images` shows it.
struct InstalledLayer {
  std::string tool;  // the tool-layers/<name> it is kept under
  ToolLayer layer;   // layer.base: the top layer (hex) of the image it was installed on
};
// Every complete tool layer in the storage. Entries that are not plain
// directories (a planted symlink) or have no readable record are skipped.
Result<std::vector<InstalledLayer>> listToolLayers(const std::string& storageRoot);
// The identity tool layers record for the image they were installed on: the
// hex digest of its top layer (ToolLayer::base).
std::string imageBaseId(const image::ImageRecord& record);
// Removes one tool layer, under its tool's lock; returns the bytes freed.
Result<uint64_t> removeToolLayer(const std::string& storageRoot, const InstalledLayer& layer);

// Removes the download caches; returns the bytes freed.
Result<uint64_t> removeCaches(const std::string& cacheRoot);
// $XDG_CACHE_HOME/coco/cache.
Result<std::string> defaultCacheRoot();

// Record <-> JSON (record.json).
std::string layerToJson(const ToolLayer& layer);
Result<ToolLayer> layerFromJson(const std::string& text);

}  // namespace coco::tool
