// ChildPlan: everything the sandbox child needs, prepared by the parent before
// clone so the child only reads it (no allocation between clone and execve).
#pragma once

#include <sys/ioctl.h>

#include <string>
#include <vector>

#include "engine/run_spec.hpp"
#include "engine/seccomp.hpp"
#include "util/result.hpp"

namespace coco::engine {

// How the workspace guard pins an entry (workspace_guard.hpp).
enum class GuardBind {
  None,  // a config mount: src is a host path
  Self,  // dst bound over itself (no src): it stays, read-only unless readOnly is false
  Pin,   // dst is a symlink: an empty read-only file (ChildPlan::pinFile) is mounted over it
};

struct PlannedBind {
  std::string src;  // host path
  std::string dst;  // path inside the new root
  bool readOnly = false;
  bool isDir = true;
  GuardBind guard = GuardBind::None;
};

class WorkspaceGuard;

struct ChildPlan {
  std::string stagingDir;      // host dir; the child mounts its scratch tmpfs here
  std::string rootDir;         // stagingDir + "/root": the overlay mount point
  std::string upperDir;        // overlay upper (in the scratch tmpfs unless persistent)
  std::string workDir;         // overlay work dir
  bool persistentUpper = false;
  std::string overlayOptions;  // lowerdir=...,upperdir=...,workdir=...,userxattr
  std::vector<PlannedBind> binds;  // config mounts, each followed by its workspace-guard binds
  std::string pinFile;             // in the scratch tmpfs; made by the child when a Pin bind needs it
  std::vector<std::string> mkdirs;  // directories to create in the new root
  std::string hostname;
  std::string hostnameFile;  // hostname + "\n"
  std::string hostsFile;
  std::string resolvFile;
  std::string workdir;
  std::vector<std::string> argvStore;
  std::vector<std::string> envStore;
  std::vector<char*> argv;  // null-terminated, points into argvStore
  std::vector<char*> envp;
  std::vector<std::string> searchPath;  // PATH entries used to find argv[0]
  bool newNetns = true;
  // The network layer's sandbox half (see NetworkHooks); null: loopback only.
  int (*netSetup)(const void* plan, int channelFd) = nullptr;
  const void* netPlan = nullptr;
  int (*netServe)(int channelFd) = nullptr;
  bool tty = false;
  winsize windowSize{};
  SeccompProgram seccomp;
  bool installPhase = false;
  int lastCap = 40;
};

// Builds the plan for `spec` (validates paths, reads PATH, compiles seccomp). With `guard`, the
// writable mounts are walked and their guarded entries pinned (spec.guard).
Result<ChildPlan> makeChildPlan(const RunSpec& spec, bool tty, WorkspaceGuard* guard = nullptr);

}  // namespace coco::engine
