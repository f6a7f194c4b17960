// User namespace id maps: 0 -> the user and 1..65536 -> the subuid/subgid range
// through newuidmap/newgidmap when there is one; 0 -> the user alone otherwise.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "util/result.hpp"

namespace coco::engine {

struct SubIdRange {
  unsigned long start = 0;
  unsigned long count = 0;
};

// Finds the first range for the user (by name or numeric id) in an
// /etc/subuid-format file.
std::optional<SubIdRange> findSubIdRange(const std::string& file, const std::string& user, unsigned long id);

struct IdMapPlan {
  bool useHelpers = false;  // newuidmap/newgidmap with the ranges below
  SubIdRange uids, gids;
  std::string newuidmap, newgidmap;
  uid_t uid = 0;
  gid_t gid = 0;
};

IdMapPlan planIdMaps();

// Writes the maps of the child `pid`. Returns whether the helpers were used
// (false: the single mapping, with setgroups denied).
Result<bool> writeIdMaps(pid_t pid, const IdMapPlan& plan);

}  // namespace coco::engine
