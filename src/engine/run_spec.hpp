// RunSpec: everything one sandbox needs, as a plain struct. The tool layer fills
// it; the native backend turns it into a sandbox, the podman backend into args.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "util/host_port.hpp"
#include "util/network_mode.hpp"

namespace coco::engine {

struct BindMount {
  std::string src;  // absolute host path
  std::string dst;  // absolute path inside the sandbox
  bool readOnly = false;
  // When set (src lies at or below it): the part of src below `anchor` is
  // resolved without following symlinks, since a sandbox could have planted
  // them there; the anchor itself is resolved as usual.
  std::string anchor{};
  // podman's SELinux relabel option ("z", "Z") for the podman and docker backends;
  // the native runtime relabels nothing.
  std::string relabel{};
  // `coco run --learn` only: instead of a bind, an overlay with src as its
  // lower layer and its upper and work directories in this host directory
  // (`upper`, `work`), writable, so what the tool writes is kept out of src
  // and can be listed afterwards. Needs a directory src and readOnly false.
  std::string scratch{};
};

// What one sandbox may use; 0 means no limit. Enforced with a cgroup v2 group
// where the user has a delegated one, else with rlimits (engine/limits.hpp).
struct Limits {
  uint64_t memoryBytes = 0;  // the whole sandbox (cgroup), else per process (RLIMIT_DATA)
  uint64_t pids = 0;         // tasks: processes and threads (RLIMIT_NPROC in the user namespace, cgroup pids.max)
  uint32_t cpuMillis = 0;    // thousandths of a CPU (cgroup cpu.max only)
  uint64_t tmpfsBytes = 0;   // the one scratch tmpfs behind /'s changes, /tmp and /dev/shm; 0: the kernel's default
};

// The workspace guard (engine/workspace_guard.hpp) as a run asks for it.
struct GuardSpec {
  bool enabled = true;
  bool gitWrite = false;      // `workspace_guard: {git: write}`: the root .git takes git's own writes
  // The user's system and global git config files, in git's order (read at plan time, with their
  // includes, for core.hooksPath and the programs they run).
  std::vector<std::string> gitConfigs;
  std::string home;           // the user's home, for "~/" in git config paths
  std::string cacheDir;       // where walks are kept between runs ("" = nowhere)
  std::string cwd;            // where the user runs coco (host, absolute): direnv and mise read from there up
  // Told, after the run, of what the guard removed in each mount: the mount's host directory, the
  // first entries removed (relative to it) and how many more it removed past them. `coco run
  // --learn` reports them.
  std::function<void(const std::string& src, const std::vector<std::string>& rels, size_t more)> onRemoved{};
};

// What a run needs from the host besides the run itself, gathered by the tool
// layer (tool::hostSetup, from the environment coco was started with) so that
// the engine reads no environment variable.
// How long a user-namespace holder waits for the next run before it exits.
inline constexpr unsigned kHolderIdleSeconds = 600;

struct HostSetup {
  std::string stagingDir;       // where the child mounts its scratch tmpfs (made 0700); "": the run fails
  std::string seccompCacheDir;  // where compiled seccomp programs are kept; "": not kept
  bool singleIdMap = false;     // COCO_USERNS=single: only the user's own id, even with a subuid range
  uint64_t fdSoftLimit = 0;     // the tool's soft RLIMIT_NOFILE (the one coco was started with); 0: coco's
  // Where the user-namespace holder's record lives (engine/userns_holder.hpp); "": no holder
  // (COCO_USERNS_HOLDER=0, or no place for it).
  std::string holderDir;
  // A holder this run starts exits after this long without a run using it (COCO_USERNS_HOLDER_IDLE).
  unsigned holderIdleSeconds = kHolderIdleSeconds;
  // Run in a holder this run starts (engine/userns_holder.hpp: HolderSetup); null: nothing.
  int (*holderSetup)() = nullptr;
  // Makes the spare network namespaces a holder keeps (HolderSpares: net::makeSpareNetns); null:
  // the holder keeps none, and runs make their own.
  int (*holderSpares)(bool capture, int* fds) = nullptr;
  // coco exits once this run is over (a plain `coco run`, not an install or a learn run): the
  // engine stops returning memory to the allocator after the sandbox exits (util/exit_alloc.hpp).
  bool exitsAfter = false;
};

// `x11` with a display over TCP (ssh -X's localhost:10): for as long as the
// sandbox runs, coco (outside it) listens on `socketPath`, whose directory is
// bound into the sandbox read-only as its X socket directory, and relays each
// connection to `port` of `host`, the display's host (`addresses`, resolved
// once when the run is planned): its only destination. Not the engine's: the
// backends run it around the sandbox.
struct TcpDisplayRelay {
  std::string socketPath;            // host path; empty: no relay
  std::string host;                  // for messages
  std::vector<in_addr_t> addresses;  // network order
  uint16_t port = 0;
};

struct RunSpec {
  std::vector<std::string> layers;  // overlay lower dirs, topmost first
  // Podman and docker: the image to run when it is not the backend's own (a tool's image, its
  // layer on the imported base, for a layer binds cannot show); empty for the native runtime.
  std::string containerImage;
  std::vector<BindMount> mounts;
  std::vector<std::pair<std::string, std::string>> env;  // the complete environment
  std::vector<std::string> argv;    // argv[0] is searched in the sandbox's PATH
  std::string workdir = "/workspace";
  NetworkMode network = NetworkMode::None;
  std::vector<std::string> allowedHosts;  // the config's allowed_hosts (Allowlist)
  // More allowlist entries coco derived (an install's package hosts); unlike
  // the user's, their literal addresses cannot open local destinations.
  std::vector<std::string> derivedHosts;
  std::vector<PublishedPort> ports;
  std::string seccompProfile;       // path to an OCI profile; empty = unconfined
  GuardSpec guard;
  std::string hostname = "coco";
  std::string toolName;             // for messages
  bool installPhase = false;        // keeps the capabilities apt/dpkg need
  std::string upperDir;             // writable layer; empty = per-run scratch
  Limits limits;
  HostSetup hostSetup;
  TcpDisplayRelay x11Relay;
};

}  // namespace coco::engine
