// Running other programs: one spawner, and what a wait status means.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace coco::sys {

// The shell's convention for a wait status: the exit code, 128+N for signal N,
// 125 for anything else (stopped: never asked for here). Allocation-free.
int exitCodeOf(int wstatus);

// waitpid(pid) across EINTR; the exit code as exitCodeOf, or -errno. Allocation-free.
int waitExitCode(pid_t pid);

// The signals ignored now, bit N-1 for signal N; never SIGCHLD (coco waits for its children:
// cli resets it), SIGKILL or SIGSTOP.
uint64_t ignoredSignalsNow();
// What coco's parent left ignored (nohup's SIGHUP; SIGINT and SIGQUIT for a non-interactive
// shell's `cmd &`), which an exec keeps and so a sandboxed tool keeps too, without SIGCHLD,
// SIGKILL and SIGSTOP: in the front, what front::start read first thing in main; in coco-full,
// ignoredSignalsNow() at the first call, which cli's main makes before coco ignores anything itself.
uint64_t ignoredSignalsAtStart();
inline bool isIgnored(uint64_t mask, int sig) { return sig >= 1 && sig <= 64 && ((mask >> (sig - 1)) & 1); }

enum class Stdio {
  Inherit,  // coco's own descriptor
  Null,     // /dev/null
  Capture,  // (stdout, stderr) one pipe for both, read by run() into RunResult::output
};

struct SpawnOptions {
  std::vector<std::string> argv;             // argv[0] is the program
  bool searchPath = true;                    // false: argv[0] is a path, PATH is not consulted
  std::optional<std::vector<std::string>> env = std::nullopt;  // "NAME=value"; unset: coco's own environment
  std::string cwd = {};                      // empty: coco's working directory
  Stdio in = Stdio::Inherit, out = Stdio::Inherit, err = Stdio::Inherit;
  int inFd = -1;                             // when >= 0: the child's stdin is this descriptor (`in` is unused)
  size_t captureLimit = 1 << 20;             // Capture: more output than this is an error (EFBIG)
  bool onlyStdio = false;                    // close every descriptor above 2 in the child
  // Like system(3): coco ignores SIGINT and SIGQUIT while it waits, so the
  // terminal's ^C reaches the child and coco reports the child's status.
  bool ignoreInterrupts = false;
};
// Every child starts with all signals at their default action and none blocked,
// whatever coco itself ignores or blocks.

struct RunResult {
  int exitCode = 0;    // exitCodeOf the wait status
  std::string output;  // stdout with Stdio::Capture
};

// Starts the program; the caller waits (waitExitCode). With Stdio::Capture
// (stdout or stderr), *output receives the read end of the pipe.
Result<pid_t> spawn(const SpawnOptions& options, int* output = nullptr);

// Starts the program and waits for it. An Error only when it could not be
// started (ENOENT: not found), waited for, or its output exceeded the cap; a
// program that ran and failed is RunResult::exitCode.
Result<RunResult> run(const SpawnOptions& options);

}  // namespace coco::sys
