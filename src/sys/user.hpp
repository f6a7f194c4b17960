// The user's entry in the password database: its name (for /etc/subuid) and its home directory
// (for a HOME that is not set).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace coco::sys {

struct PasswdEntry {
  std::string name;
  std::string home;
};

// The first entry for `uid` in the passwd file at `path` (files only, as the static front reads
// it); nullopt when the file lists none or cannot be read.
std::optional<PasswdEntry> passwdFileEntry(const std::string& path, uid_t uid);

// The entry for `uid` through the name service (NSS: files, LDAP, sssd, ...). Its modules need the
// dynamic loader: coco-full only (util/front.hpp).
std::optional<PasswdEntry> passwdEntry(uid_t uid);

}  // namespace coco::sys
