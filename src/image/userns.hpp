// Running store work (unpack, delete) as root of a user namespace mapped like the engine's.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "util/result.hpp"

namespace coco::image {

// The id mapping of the sandboxes: 0 -> the user, and, when /etc/subuid and
// /etc/subgid give the user at least 65536 ids and newuidmap/newgidmap exist,
// 1..65536 -> that range. Layers are unpacked under the same mapping so a file
// owned by uid 100 in the image is owned by uid 100 inside every sandbox.
struct IdMap {
  uid_t uid = 0;
  gid_t gid = 0;
  uint32_t subuidStart = 0;
  uint32_t subgidStart = 0;
  uint32_t count = 0;  // 65536 with a sub-id range, 0 with the single mapping
  bool full() const { return count > 0; }
  // The highest id inside the namespace that maps to something.
  uint32_t maxId() const { return count; }
};

// Reads the mapping for the current user. COCO_USERNS=single forces the single mapping.
IdMap hostIdMap();

// Forks a child that becomes root of a new user namespace mapped by `map` and runs
// `fn` there; returns fn's Status (message carried over a pipe). The child shares
// nothing with the caller but the file system, so fn may chdir freely.
Status runInUserNamespace(const IdMap& map, const std::function<Status()>& fn);

// fs::removeTree run inside the namespace, for trees holding sub-id owned files.
Status removeTreeAsOwner(const IdMap& map, const std::string& path);

}  // namespace coco::image
