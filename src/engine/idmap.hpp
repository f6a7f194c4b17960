// User-namespace id maps, one set of rules for the sandbox and the image unpacker:
// 0 -> the user and 1..65536 -> a subordinate range, or 0 -> the user alone.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace coco::engine {

// The subordinate mapping covers ids 1..kSubIdCount inside. A shorter range is
// not used: images own files by any id up to 65534 (nobody), which a short
// range could not map, so the unpacker would have to squash them while the
// sandbox maps the rest; with the single mapping both treat every file as 0's.
inline constexpr uint32_t kSubIdCount = 65536;

struct SubIdRange {
  unsigned long start = 0;
  unsigned long count = 0;
};

// The user's first range of at least kSubIdCount ids in an /etc/subuid or
// /etc/subgid text (lines "owner:start:count"), owned by the user's name or by
// the uid as a number: newuidmap and newgidmap both check the calling user's
// name and uid, so the gid plays no part. The result's count is kSubIdCount.
std::optional<SubIdRange> findSubIdRange(std::string_view text, const std::string& user, uid_t uid);

struct IdMapPlan {
  uid_t uid = 0;
  gid_t gid = 0;
  bool subordinate = false;  // with newuidmap/newgidmap and the ranges below
  SubIdRange uids, gids;
  std::string newuidmap, newgidmap;
  // The highest id inside the namespace that maps to a host id.
  uint32_t maxId() const { return subordinate ? kSubIdCount : 0; }
};

// What planning looks at: current() reads this process's, tests give fixtures.
struct IdMapHost {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string userName;     // empty when the uid has no passwd entry
  bool forceSingle = false;  // COCO_USERNS=single (singleIdMapRequested)
  std::string etcDir = "/etc";
  // Fixed directories, never PATH: the helpers are setuid and write our maps.
  std::vector<std::string> helperDirs = {"/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"};

  // This process's user; forceSingle as the caller read it from COCO_USERNS.
  static IdMapHost current(bool forceSingle);
};

// COCO_USERNS's value: "single" asks for the single mapping even where a subuid range exists.
// The engine reads no environment: the tool layer (RunSpec::hostSetup) and the image store
// (image::hostIdMaps) read the variable and both decide with this.
bool singleIdMapRequested(std::string_view cocoUserns);

// Subordinate when both helpers exist and /etc/subuid and /etc/subgid each give
// the user a range of kSubIdCount ids; single otherwise.
IdMapPlan planIdMaps(const IdMapHost& host);
IdMapPlan planIdMaps(bool forceSingle);  // planIdMaps(IdMapHost::current(forceSingle))

// planIdMaps(host), remembered in `dir` (the holder's directory; "" remembers
// nothing) with the identity (device, inode, size, mtime, ctime) of the files
// planning reads: /etc/subuid, /etc/subgid, /etc/passwd under host.etcDir.
// While none of them changed, a run reads the plan back (one small file and
// three stats) instead of looking the user up and parsing both files (0.3 ms
// of a start). The record is not trusted for anything planning decides alone:
// the helpers' paths are looked up again, a plan for another uid or gid or
// with another count is ignored, and its ranges only ever reach newuidmap and
// newgidmap (which check them against /etc/subuid) or a comparison with a
// holder's maps as the kernel shows them.
IdMapPlan planIdMapsCached(const std::string& dir, const IdMapHost& host);
IdMapPlan planIdMapsCached(const std::string& dir, bool forceSingle);

// For the static front (util/front.hpp), which looks users up in /etc/passwd only: whether
// planIdMapsCached(dir, forceSingle) would look up this user's name and /etc/passwd does not
// list it (a directory service's user, with no plan remembered yet).
bool idMapsNeedNameService(const std::string& dir, bool forceSingle);

// The record's file name in `dir`.
inline constexpr const char* kIdMapPlanRecordName = "idmap-plan";

// The single mapping's uid_map and gid_map text: the user's own id as root.
std::string singleUidMapText(const IdMapPlan& plan);
std::string singleGidMapText(const IdMapPlan& plan);

// Writes the maps of `pid`, a child in a new user namespace waiting for them.
// When a helper fails, whatever it left unwritten gets the single mapping
// (setgroups denied). Returns whether the subordinate mapping is in place.
Result<bool> writeIdMaps(pid_t pid, const IdMapPlan& plan);

}  // namespace coco::engine
