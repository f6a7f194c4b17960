// RunSpec: everything one sandbox needs, as a plain struct. The tool layer fills
// it; the native backend turns it into a sandbox, the podman backend into args.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "util/host_port.hpp"

namespace coco::engine {

struct BindMount {
  std::string src;  // absolute host path
  std::string dst;  // absolute path inside the sandbox
  bool readOnly = false;
  // When set (src lies at or below it): the part of src below `anchor` is
  // resolved without following symlinks, since a sandbox could have planted
  // them there; the anchor itself is resolved as usual.
  std::string anchor{};
};

enum class Network { None, Full, Allowlist, Host };

struct RunSpec {
  std::vector<std::string> layers;  // overlay lower dirs, topmost first
  std::vector<BindMount> mounts;
  std::vector<std::pair<std::string, std::string>> env;  // the complete environment
  std::vector<std::string> argv;    // argv[0] is searched in the sandbox's PATH
  std::string workdir = "/workspace";
  Network network = Network::None;
  std::vector<std::string> allowedHosts;  // the config's allowed_hosts (Allowlist)
  // More allowlist entries coco derived (an install's package hosts); unlike
  // the user's, their literal addresses cannot open local destinations.
  std::vector<std::string> derivedHosts;
  std::vector<PublishedPort> ports;
  std::string seccompProfile;       // path to an OCI profile; empty = unconfined
  bool workspaceGuard = true;
  std::string hostname = "coco";
  std::string toolName;             // for messages
  bool installPhase = false;        // keeps the capabilities apt/dpkg need
  std::string upperDir;             // writable layer; empty = per-run scratch
};

}  // namespace coco::engine
