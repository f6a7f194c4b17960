// ChildPlan: everything the sandbox child needs, prepared by the parent before
// clone so the child only reads it (no allocation between clone and execve).
#pragma once

#include <sys/ioctl.h>

#include <string>
#include <vector>

#include "engine/landlock.hpp"
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
  std::string anchor{};  // see BindMount::anchor; "" = src resolved as usual
  std::string rest{};    // src below anchor ("." for the anchor itself)
  std::string scratchUpper{}, scratchWork{};  // BindMount::scratch's directories: an overlay, not a bind
};

class WorkspaceGuard;

// A host directory bound into the scratch tmpfs before the overlay is mounted,
// so the overlay's options (in /proc/self/mountinfo) name only these.
struct StagingBind {
  std::string src;  // host path
  std::string dst;  // relative to the staging dir: "l/0", "p"
};

// The scratch tmpfs takes one entry per this many bytes of its size (16384 at least).
inline constexpr uint64_t kScratchBytesPerEntry = 8192;

// What the tool gets as a standard descriptor.
inline constexpr int kStdioInherit = -1;  // coco's own (not a terminal)
inline constexpr int kStdioPty = -2;      // the sandbox's pty

struct ChildPlan {
  std::string stagingDir;      // host dir; the child mounts its scratch tmpfs here
  std::string scratchOptions;  // that tmpfs's options: mode, size, nr_inodes
  std::string rootDir;         // stagingDir + "/root": the overlay mount point
  std::string scratchTmp;      // stagingDir + "/tmp": bound on /tmp
  std::string scratchShm;      // stagingDir + "/shm": bound on /dev/shm
  std::vector<StagingBind> stagingBinds;  // the lower layers, the persistent upper's parent
  bool persistentUpper = false;
  std::string overlayOptions;  // lowerdir=l/0:l/1,upperdir=...,workdir=...,userxattr (relative to stagingDir)
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
  // The tool's PATH is set once and every entry absolute: env's search of it is searchPath's, so a
  // "#!/usr/bin/env NAME" script may run NAME without env (process.cpp, execEnvCommand).
  bool envSearchSame = false;
  // The tool's seccomp filter neither kills nor traps the calls that look at its command before
  // the exec (stat, open, read, close, access: process.cpp, execEnvCommand); else none is made
  // and the command is exec'd as it is. The same for the kernel's exec check (execveat with
  // AT_EXECVE_CHECK); else the check of kernels without it stands in. A profile written for
  // what a tool calls (a default that kills, execve listed) lists neither.
  bool filterAnswersEnvChecks = true;
  bool filterAnswersExecCheck = true;
  mutable std::vector<char*> envArgv;  // room for NAME, the script's path, argv[1..]: filled after clone
  bool newNetns = true;
  // The sandbox goes into a network namespace the user-namespace holder made ready (lo up, and
  // the capture when netSetup is set): init neither makes nor sets one up.
  bool netPreMade = false;
  // The network layer's sandbox half (see NetworkHooks); null: loopback only.
  int (*netSetup)(const void* plan, int channelFd, const char** failedStep) = nullptr;
  const void* netPlan = nullptr;
  int (*netServe)(int channelFd) = nullptr;
  bool tty = false;
  // The tool starts a session of its own (setsid) rather than only a process
  // group: with a pty, and whenever coco has a controlling terminal, which the
  // tool must not share (TIOCSTI, reading keystrokes). setsid costs ~1.5 ms
  // (the kernel makes a scheduler autogroup); a process group keeps kill(0, ...)
  // inside the sandbox as well.
  bool newSession = true;
  winsize windowSize{};
  int stdio[3] = {kStdioInherit, kStdioInherit, kStdioInherit};  // or an fd open in the child
  uint64_t rlimitNproc = 0;  // RLIMIT_NPROC, counted in the sandbox's user namespace; 0: none
  uint64_t rlimitData = 0;   // RLIMIT_DATA (memory without a cgroup); 0: none
  uint64_t sysvShmBytes = 0;    // System V shared memory of the sandbox (limits.memory); 0: no bound
  uint64_t ignoredSignals = 0;  // bit N-1: signal N was ignored when coco started; the tool keeps it so
  uint64_t defaultSignals = 0;  // ignored by coco when it cloned init, not at its start: the tool resets them
  uint64_t fdSoftLimit = 0;  // the tool's soft RLIMIT_NOFILE: the one coco was started with; 0: coco's
  uint64_t pidsNearLimit = 0;  // processes at which init reports the limit reached; 0: not watched
  SeccompProgram seccomp;
  LandlockPlan landlock;
  bool installPhase = false;
  // The single mapping ("0 UID 1\n", "0 GID 1\n"), written by init itself
  // before it waits for the go byte, as bubblewrap's child writes its own:
  // coco then sends the byte right after the clone. Empty when coco (a
  // subordinate range) or the holder's helper (either mapping) writes the maps.
  std::string ownUidMap, ownGidMap;
  // A pidfd of coco (close-on-exec), or -1. PR_SET_PDEATHSIG covers coco's death only from the
  // moment init sets it, and only while coco is init's parent (the holder's helper clones init
  // as coco's child, as the reaper's when coco is already gone): init checks it right after.
  int cocoPidfd = -1;
  // The workspace guard's inotify instance while it watches (init has a copy
  // of it from the clone), or -1. Set: init keeps that copy after the tool's
  // end until coco closes its end of the events pipe (init.cpp, outlastCoco),
  // and coco closes that end before it waits for init's exit.
  int guardWatchFd = -1;
};

// Builds the plan for `spec` (validates paths, reads PATH, compiles seccomp). With `guard`, the
// writable mounts are walked and their guarded entries pinned (spec.guard).
Result<ChildPlan> makeChildPlan(const RunSpec& spec, bool tty, WorkspaceGuard* guard = nullptr);

// Linux 6.14's execveat flag: every check of an exec (permissions, noexec, Landlock and the
// other security modules, a file open for writing), without the exec.
inline constexpr unsigned kAtExecveCheck = 0x10000;  // AT_EXECVE_CHECK

// Whether the tool's seccomp filter answers the calls made before its exec (part of
// makeChildPlan): filterAnswersEnvChecks and filterAnswersExecCheck.
void planFilterAnswers(ChildPlan& plan);

// The tool's process in `plan` (part of makeChildPlan): argv, the environment, the PATH search
// (relative entries left out), whether env's search would be the same (envSearchSame), the room
// for an env script's argv, the working directory.
void planProcess(const RunSpec& spec, ChildPlan& plan);

}  // namespace coco::engine
