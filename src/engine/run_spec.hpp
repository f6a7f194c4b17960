// RunSpec: everything one sandbox needs, as a plain struct. The tool layer fills
// it; the native backend turns it into a sandbox, the podman backend into args.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace coco::engine {

struct BindMount {
  std::string src;  // absolute host path
  std::string dst;  // absolute path inside the sandbox
  bool readOnly = false;
};

enum class Network { None, Full, Allowlist, Host };

struct PortMapping {
  std::string hostAddr = "127.0.0.1";
  uint16_t hostPort = 0;
  uint16_t containerPort = 0;
};

// The workspace guard (engine/workspace_guard.hpp) as a run asks for it.
struct GuardSpec {
  bool enabled = true;
  bool gitWrite = false;      // `workspace_guard: {git: write}`: the root .git takes git's own writes
  std::string hostHooksPath;  // core.hooksPath from the user's global and system git config ("" = unset)
  std::string home;           // the user's home, for "~/" in core.hooksPath
  std::string cacheDir;       // where walks are kept between runs ("" = nowhere)
  std::string cwd;            // where the user runs coco (host, absolute): direnv and mise read from there up
};

struct RunSpec {
  std::vector<std::string> layers;  // overlay lower dirs, topmost first
  std::vector<BindMount> mounts;
  std::vector<std::pair<std::string, std::string>> env;  // the complete environment
  std::vector<std::string> argv;    // argv[0] is searched in the sandbox's PATH
  std::string workdir = "/workspace";
  Network network = Network::None;
  std::vector<std::string> allowedHosts;
  std::vector<PortMapping> ports;
  std::string seccompProfile;       // path to an OCI profile; empty = unconfined
  GuardSpec guard;
  std::string hostname = "coco";
  std::string toolName;             // for messages
  bool installPhase = false;        // keeps the capabilities apt/dpkg need
  std::string upperDir;             // writable layer; empty = per-run scratch
};

}  // namespace coco::engine
