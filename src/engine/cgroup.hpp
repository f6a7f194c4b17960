// cgroup v2 limits for a sandbox: finding a group delegated to the user, one child group per run, what it recorded.
//
// Rootless, the way crun's cgroupfs manager does it: coco never asks systemd;
// it looks for the nearest ancestor of its own group that belongs to the user
// (systemd's user@UID.service subtree does, so do scopes made with
// `systemd-run --user --scope -p Delegate=yes`) and whose children get the
// memory, pids or cpu controller, makes coco-PID-N there, writes the limits
// and starts the sandbox in it with clone3(CLONE_INTO_CGROUP). Where there is
// no such group (no systemd user session, a v1 or hybrid hierarchy) the rlimits
// of engine/init.cpp are all there is.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/run_spec.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace coco::engine::cgroup {

// A group where coco may make sandbox groups.
struct Delegation {
  std::string dir;                       // absolute path of the group
  std::vector<std::string> controllers;  // of memory, pids, cpu: those its children get
  bool has(std::string_view controller) const;
};

// The mount point of the cgroup v2 file system whose root is the root of this
// process's cgroup namespace, from /proc/self/mountinfo's text; "" when none.
std::string unifiedMount(std::string_view mountinfo);

// This process's group in the v2 hierarchy ("/user.slice/..."), from
// /proc/self/cgroup's text; "" when it has no "0::" line.
std::string unifiedPath(std::string_view procCgroup);

// The nearest ancestor of `group` (a path below `mount`) that `uid` owns
// (the directory and its cgroup.procs) and whose cgroup.subtree_control
// enables one of memory, pids, cpu. The Error says why there is none.
Result<Delegation> findDelegation(const std::string& mount, const std::string& group, uid_t uid);

// Where a process's view of the system comes from, for detectFrom.
struct DetectSources {
  std::string procCgroup;                             // /proc/self/cgroup's text
  std::vector<std::string> usualMounts;               // where systemd, crun and podman mount cgroup2
  std::function<bool(const std::string&)> isCgroup2;  // statfs says cgroup2
  std::function<std::string()> mountinfo;             // /proc/self/mountinfo's text (a costly read)
};

// findDelegation from those sources. The mount comes from a statfs of the
// usual places, as systemd and crun find it; /proc/self/mountinfo (its read
// formats every mount of the namespace, about a twentieth of a sandbox's
// start) is read only when none of them is cgroup2, or to confirm that the
// one a delegation was found under is the namespace's root mount (a bind of
// a subtree, as in a container without a cgroup namespace, is not). One case
// this narrows: a usual place holding such a subtree bind where no delegation
// is found, while the namespace's root is mounted somewhere else as well, now
// gives no group (the rlimits apply) where reading mountinfo first found one.
Result<Delegation> detectFrom(const DetectSources& sources, uid_t uid);

// detectFrom for this process: /proc/self, /sys/fs/cgroup, /sys/fs/cgroup/unified.
Result<Delegation> detect();

// Removes the empty groups coco processes that are gone left in the delegated
// group ("coco-PID-N" of a dead PID: coco was killed before it could remove
// them). A group still holding processes stays.
void removeStale(const Delegation& delegation);

// What a group saw happen, from memory.events and pids.events.
struct Events {
  uint64_t oomKills = 0;     // processes the kernel killed for lack of memory
  uint64_t pidsRefused = 0;  // forks refused at pids.max
};

// Parses "key value" lines (memory.events, pids.events) for one key; 0 when absent.
uint64_t eventCount(std::string_view text, std::string_view key);

// One sandbox's group, removed on destruction (what is left in it is killed).
class Group {
 public:
  Group() = default;
  Group(Group&& other) noexcept
      : path_(std::exchange(other.path_, {})), dirFd_(std::move(other.dirFd_)), memory_(other.memory_) {}
  Group& operator=(Group&& other) noexcept {
    if (this != &other) {
      remove();
      path_ = std::exchange(other.path_, {});
      dirFd_ = std::move(other.dirFd_);
      memory_ = other.memory_;
    }
    return *this;
  }
  ~Group() { remove(); }

  // Makes `name` under the delegated group and writes the limits its
  // controllers can enforce: memory.max (and memory.swap.max 0, memory.oom.group 1,
  // so an out-of-memory sandbox is stopped as a whole), pids.max, cpu.max.
  static Result<Group> create(const Delegation& delegation, const std::string& name, const Limits& limits);

  bool valid() const { return dirFd_.valid(); }
  int dirFd() const { return dirFd_.get(); }
  const std::string& path() const { return path_; }
  bool limitsMemory() const { return memory_; }
  Events events() const;
  void remove();
  // Kills what the group holds and lets it go without waiting for it to empty (a task held in
  // an uninterruptible wait); the next run's removeStale takes the directory.
  void abandon();

 private:
  void killAll();

  std::string path_;
  UniqueFd dirFd_;
  bool memory_ = false;
};

}  // namespace coco::engine::cgroup
