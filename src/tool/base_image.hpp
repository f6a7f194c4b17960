// coco's base image ("coco-base"): a Debian base plus runtime/setup.sh, built in an install-phase sandbox.
//
// Storage additions under $XDG_DATA_HOME/coco (next to image/storage.hpp's layout):
//   images/coco-base.json   the image record: the Debian layers plus one setup layer
//   base/info.json          what it was built from, when, and the versions setup.sh recorded
//   base/lock               flock(2): one build at a time; others wait, then use it
//   base/build/             work in progress (removed under the lock when found)
//   base/setup.log          the last build's output
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/run_spec.hpp"
#include "image/image.hpp"
#include "tool/install_hosts.hpp"
#include "tool/install_sandbox.hpp"
#include "util/result.hpp"

namespace coco::tool {

inline constexpr const char* kBaseImageName = "coco-base";

struct BaseImageOptions {
  std::string storageRoot;  // empty: image::Storage::defaultRoot()
  // Tried in order; the first that resolves is the base (a registry, then a
  // bootstrap from the host's apt sources where no registry is reachable).
  std::vector<std::string> sources = {"docker.io/library/debian:trixie-slim", "bootstrap:debian:trixie"};
  // COCO_BASE_IMAGE: a base image published with `coco save` (any reference
  // image::resolve takes). When set it is pulled and used as it is, instead of
  // building one; a user without a subuid range cannot bootstrap Debian.
  std::string published;
  std::string runtimeDir;  // empty: findRuntimeDir()
  SandboxRunner run;       // required
  image::ProgressFn progress;  // empty: image::stderrProgress()
  NetworkMode network = NetworkMode::Allowlist;
  HostConfigSource host = HostConfigSource::fromProcess();
  std::string seccompProfile;  // for the install sandbox
};

struct BaseImageInfo {
  std::string from;                           // the source it was built on
  std::string layer;                          // digest of the setup layer: tool layers record it
  std::string built;                          // RFC 3339
  std::map<std::string, std::string> versions;  // mise, node, npm, python3 (from setup.sh)
  std::string runtime = {};                     // runtimeHash() of the runtime/ it was built with
  bool published = false;                       // pulled from COCO_BASE_IMAGE, not built here
};

// A digest of the files of runtime/ (setup.sh, env): a base image built with
// other ones was made by another version of coco.
Result<std::string> runtimeHash(const std::string& runtimeDir);

// True when the stored base image was built (not pulled) with runtime files
// other than this coco's: `coco rebuild` would give a different image.
Result<bool> baseImageOutdated(const std::string& storageRoot, const std::string& runtimeDir = "");

// The runtime/ directory of coco's data (util/data_dir.hpp).
Result<std::string> findRuntimeDir();

// The base image when it is in the store and complete; nullopt otherwise.
Result<std::optional<image::Image>> loadBaseImage(const std::string& storageRoot);
Result<std::optional<BaseImageInfo>> loadBaseInfo(const std::string& storageRoot);

// Builds the base image again from scratch (the source is fetched again too);
// with `published` set, pulls that image again instead.
Result<image::Image> buildBaseImage(const BaseImageOptions& options);

// What ensureBaseImage says first when it is about to build the base image
// (none stored, no `published` one named): the wait is long, and avoidable.
inline constexpr const char* kFirstBuildNotice =
    "no base image yet: building it now, once (Debian with node, npm, python3, git and mise; about "
    "650 MB on disk, typically 3 to 10 minutes). To skip the build, set COCO_BASE_IMAGE to a base "
    "image published with 'coco save'";

// The base image; built (or pulled, with `published`) first when missing or
// when it came from another published image. Concurrent callers wait for one build.
// Before a build (not a pull) it sends kFirstBuildNotice as a progress line.
Result<image::Image> ensureBaseImage(const BaseImageOptions& options);

// KEY=VALUE lines of runtime/env ('#' comments, blank lines skipped).
std::vector<std::pair<std::string, std::string>> parseEnvFile(const std::string& text);

}  // namespace coco::tool
