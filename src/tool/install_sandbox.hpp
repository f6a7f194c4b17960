// One install-phase sandbox over an image, writing into a fresh layer: shared by the base image and tool layers.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/run_spec.hpp"
#include "image/progress.hpp"
#include "util/result.hpp"

namespace coco::tool {

// Runs a sandbox (the native backend's run, handed in by the CLI so tool/ does
// not depend on backend/). Returns the command's exit status.
using SandboxRunner = std::function<Result<int>(const engine::RunSpec&)>;

// Where the sandbox sees its inputs and leaves its outputs: one host directory
// per install, bound read-write (the only host path it can write).
inline constexpr const char* kIoDir = "/.coco";
inline constexpr const char* kIoCaBundle = "/.coco/ca-certificates.crt";
// The tool's start after its install writes its output here (a directory of
// its own: the io dir, which coco reads results from, is not mounted then).
inline constexpr const char* kCheckDir = "/.coco-check";
// How long that start may take: mise resolving the tool, a first node start.
inline constexpr int kSmokeStartSeconds = 60;

struct InstallJob {
  std::string title;                 // "installing eslint (npm:eslint)"
  std::vector<std::string> layers;   // lower layers, topmost first
  std::string workDir;               // empty dir on the store's file system; the layer is built in it
  std::string script;                // shell script run as root in the sandbox
  std::vector<std::pair<std::string, std::string>> files;  // more files for kIoDir: name, content
  std::vector<std::pair<std::string, std::string>> env;    // complete environment
  std::vector<engine::BindMount> mounts;                   // caches etc. (targets must exist in the image)
  NetworkMode network = NetworkMode::Allowlist;
  std::vector<std::string> allowedHosts;  // the tool config's allowed_hosts
  std::vector<std::string> derivedHosts;  // the package hosts coco found (installHosts)
  std::string seccompProfile;
  SandboxRunner run;
  image::ProgressFn progress;
  std::string logPath;  // where the install's log is kept (workDir goes away)
  std::string name;     // short, for the gateway's notices: "eslint", "coco-base"
  std::string caBundle;  // the host's CA bundle (findHostCaBundle), copied to kIoCaBundle; "" for none
  engine::Limits limits;  // the tool's (its layer, on disk, is bounded by the disk only)
  // Run after a successful install in a second sandbox on the same layer, with
  // no io dir, no network and no capabilities, its output in kCheckDir/log.
  // It must exit 0, or the install fails with that output.
  std::string smokeStart{};
  std::string smokeCommand{};  // how the failure names it: "eslint --version"
  engine::HostSetup hostSetup{};  // tool::hostSetup of the environment coco was started with; both sandboxes get it
  // The install is step `step` of `steps` on the status line (the start after
  // it, with smokeStart, the next); 0: unnumbered.
  unsigned step = 0, steps = 0;
  std::string stepTitle{};  // the install step on the status line ("": title)
  std::string doneText{};   // the install step's final line ("": the step's title)
};

// What an install left: the new layer's directory (inside workDir) and the io dir.
struct InstallResult {
  std::string layerDir;
  std::string ioDir;
};

// Runs job.script in an install-phase sandbox whose writable layer is
// workDir/layer. Its output goes to job.logPath (to the terminal with
// COCO_DEBUG); a failure's Error ends with the log's last lines. Everything in
// the io dir afterwards was writable by the install: read it with
// sys::readUntrusted.
Result<InstallResult> runInstall(const InstallJob& job);

// The last `count` lines of a regular file (symlinks not followed; only its
// final 64 KiB are read), for error messages: control characters and invalid
// UTF-8 shown as \xNN (util/terminal_text.hpp).
std::string tailOfFile(const std::string& path, size_t count);

}  // namespace coco::tool
