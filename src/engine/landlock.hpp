// Landlock beneath the mount namespace: file system rules that mirror the
// sandbox's mounts, and (ABI 6) scoping of abstract unix sockets and signals.
//
// Landlock only takes rights away, per directory tree: a rule on a directory
// grants its whole subtree, across the mounts below it. So the tool gets read
// and execute on all of /, and write where the mount table grants it: the
// overlay root (a throw-away scratch layer, or the install's tool layer), /tmp,
// /dev/shm, the config's writable mounts, device files and /proc files. A
// read-only mount at the top of / (such as /workspace) is left out of every
// write rule; / then grants writing to each of its other entries instead of to
// itself. A read-only mount deeper down (below a writable directory) stays
// read-only through its mount flag alone: Landlock cannot carve it out of the
// writable tree above it. The tool's stdin/stdout/stderr, when they are files
// outside the root (`coco run tool >out`), get a rule for what their open mode
// already allows, so /dev/stdout reopens; a directory gets none. Applied best
// effort: what the kernel's ABI has.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/run_spec.hpp"

namespace coco::engine {

// The kernel's Landlock ABI version; 0 when it has none (or it is disabled).
int landlockAbi();

struct LandlockRule {
  std::string path;  // inside the new root
  uint64_t access;   // narrowed to a file's rights when path is not a directory
};

struct LandlockPlan {
  int abi = 0;  // 0: nothing is applied
  uint64_t handledFs = 0;
  uint64_t scoped = 0;
  std::vector<LandlockRule> rules;
  // Entries of / that get no write rule (read-only mounts). When non-empty,
  // every other entry of / gets topLevelAccess and / itself no write right.
  std::vector<std::string> readOnlyTopLevel;
  uint64_t topLevelAccess = 0;
};

// The rules for `spec` on a kernel of ABI `abi` (pure: no system calls).
LandlockPlan planLandlock(const RunSpec& spec, int abi);

// One line per rule, for debug logs and the dry-run plan.
std::vector<std::string> describeLandlock(const LandlockPlan& plan);

// The scopes in force, by name ("abstract-unix-socket", "signal").
std::vector<std::string> landlockScopes(const LandlockPlan& plan);

// In the tool process after no_new_privs and before seccomp and execve: no
// allocation. Returns false with the child report filled.
bool applyLandlock(const LandlockPlan& plan);

}  // namespace coco::engine
