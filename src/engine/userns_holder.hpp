// The per-user holder of one mapped user namespace: its record, the checks
// before anything joins it, starting and stopping it.
//
// Mapping a user namespace with a subuid range runs the setuid newuidmap and
// newgidmap (~3.6 ms, 40% of a start). The holder is a process that sits in a
// user namespace mapped exactly that way, once; a run then makes its sandbox's
// user namespace as a child of the holder's, where a process of the holder's
// namespace writes the same maps without any setuid helper (engine.cpp).
// With the single mapping (0 -> the user alone) there is a holder too, mapped
// that way, with its own record: mapping needs no helper there, but the holder's
// spare network namespaces (below) save those runs their network set-up.
// Every sandbox keeps a user namespace of its own; the holder's namespace only
// lends the ids. Anything off about the holder means today's path.
// The holder may also keep something else alive between runs (HolderSetup:
// net::holdNatHooks, a network namespace that keeps netfilter's hooks on), and
// network namespaces made ahead of runs (HolderSpares, takeSpareNetns).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/idmap.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace coco::engine {

// The record's file name in the holder's directory (HostSetup::holderDir): one
// holder per mapping, so that runs with COCO_USERNS=single and runs without it
// do not replace each other's holder.
inline constexpr const char* kHolderRecordName = "userns-holder";
inline constexpr const char* kSingleHolderRecordName = "userns-holder-single";
const char* holderRecordName(const IdMapPlan& plan);
// The holder's process name (comm), shown by ps.
inline constexpr const char* kHolderProcessName = "coco-userns";

// What the record says: the holder's pid and its start time (clock ticks
// after boot, field 22 of /proc/PID/stat), which a reused pid does not share.
struct HolderRecord {
  pid_t pid = 0;
  uint64_t startTime = 0;
};
std::optional<HolderRecord> parseHolderRecord(std::string_view text);
std::string formatHolderRecord(const HolderRecord& record);

// Field 22 (starttime) of a /proc/PID/stat text; the comm may hold ')' and blanks.
std::optional<uint64_t> parseStartTime(std::string_view stat);

// One line of /proc/PID/uid_map or gid_map.
struct IdExtent {
  uint64_t inside = 0, outside = 0, count = 0;
  bool operator==(const IdExtent&) const = default;
};
// nullopt when a line is not three numbers.
std::optional<std::vector<IdExtent>> parseIdMapText(std::string_view text);

// The maps the plan writes (0 -> the user, and with the subordinate plan 1.. ->
// the range), as the holder's /proc files must show them to coco.
std::vector<IdExtent> expectedUidMap(const IdMapPlan& plan);
std::vector<IdExtent> expectedGidMap(const IdMapPlan& plan);

// The maps a sandbox's own user namespace gets inside the holder's: every id
// the holder maps, to itself ("0 0 1\n1 1 65536\n", single "0 0 1\n"), one
// extent per holder extent (a child's extent must fall inside one of its parent's).
std::string nestedIdMapText(const IdMapPlan& plan);

// The holder's user namespace, checked: the record and `dir` are this user's
// and writable by no one else, the pid runs with the recorded start time and
// this user's uids in this process's pid namespace (no sandbox's process is),
// its maps are `plan`'s, its user namespace is a child of this process's and
// owned by this user. The Error says which check failed.
// `pidfd`, when given, gets the holder's pidfd (for takeSpareNetns) when the holder runs
// the same executable file as the caller.
Result<UniqueFd> openHolder(const std::string& dir, const IdMapPlan& plan, UniqueFd* pidfd = nullptr);

// Every openHolder that gets as far as reading the record sets the record's
// mtime to now: that is how the holder knows it is still used.

// openHolder, and when that fails, under a lock: check again, retire what the
// record names and start a new holder.
// `setup`, when given, runs in the holder once its maps are written, before it
// lets go of its descriptors (net::holdNatHooks); what it returns is ignored: it
// may only make runs faster. Async-signal-safe: the holder is a fork.
using HolderSetup = int (*)();

// Spare network namespaces. With a HolderSpares the holder keeps two network
// namespaces of each kind ready (made by it, so owned by its user namespace) and
// hands each out once: a run takes it over the holder's pidfd. A run whose
// user namespace is made inside the holder's goes into one instead of making
// its own: the namespace's set-up (~0.9 ms with the capture) is done before the
// run asks. The sandbox gets less over it than over its own, not more: its
// processes hold no capability in the owner, so lo, the route and the redirect
// are beyond their reach. `capture` says which kind to make; the function
// leaves the holder in the new namespace (the holder goes back to its own) and
// returns how many fds it put in `fds` (at most kMaxSpareFds; fds[0] the
// namespace) or -errno. net::makeSpareNetns. Async-signal-safe.
inline constexpr size_t kMaxSpareFds = 4;
using HolderSpares = int (*)(bool capture, int* fds);

Result<UniqueFd> joinableHolder(const std::string& dir, const IdMapPlan& plan, unsigned idleSeconds,
                                HolderSetup setup = nullptr, HolderSpares spares = nullptr,
                                UniqueFd* pidfd = nullptr);

// A spare network namespace from the holder whose pidfd and user namespace are
// `holderPidfd` and `holderUserns` (both from openHolder, so checked): [the
// namespace, then with `capture` the three listeners], taken from the holder's
// queue with pidfd_getfd (which needs ptrace access to the holder: its owner's
// user namespace is this one, so the kernel grants it; Yama's mode 3 does not).
// Checked: a network namespace owned by `holderUserns`, the kind's count. Any
// failure, or none ready: the caller makes its own namespace.
Result<std::vector<UniqueFd>> takeSpareNetns(int holderPidfd, int holderUserns, bool capture);
// Has the holder make more of a kind after takeSpareNetns (whether it got one or not). The
// caller puts it off until its sandbox has started: the holder's wake-up would take the CPU
// from the start.
void spareTaken(int holderPidfd, bool capture);

// Starts a holder mapped by `plan` (newuidmap/newgidmap, or coco itself for the
// single mapping) and writes its record.
// The holder exits once its record has not been used for `idleSeconds`, or is
// gone or replaced; a namespace a run already holds open lives on regardless.
Status startHolder(const std::string& dir, const IdMapPlan& plan, unsigned idleSeconds,
                   HolderSetup setup = nullptr, HolderSpares spares = nullptr);

// Stops the holders the records name, of both mappings (when a record is
// trustworthy and the process is this user's holder with the recorded start
// time) and removes the records, each under its lock (a start under way ends
// first). Returns how many holders were stopped.
Result<unsigned> stopHolder(const std::string& dir);

}  // namespace coco::engine
