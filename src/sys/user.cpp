#include "sys/user.hpp"

#include <pwd.h>

#include <cstdio>
#include <vector>

namespace coco::sys {

std::optional<PasswdEntry> passwdFileEntry(const std::string& path, uid_t uid) {
  FILE* f = std::fopen(path.c_str(), "re");
  if (!f) return std::nullopt;
  struct passwd pw, *out = nullptr;
  char buf[4096];
  std::optional<PasswdEntry> entry;
  // fgetpwent_r skips a line it cannot parse and goes on; a line longer than buf ends the read
  // (ERANGE), so a uid listed after one has no entry here (the front then asks coco-full).
  while (!entry && ::fgetpwent_r(f, &pw, buf, sizeof buf, &out) == 0 && out)
    if (pw.pw_uid == uid) entry = PasswdEntry{pw.pw_name, pw.pw_dir ? pw.pw_dir : ""};
  std::fclose(f);
  return entry;
}

std::optional<PasswdEntry> passwdEntry(uid_t uid) {
  struct passwd pw, *out = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &out) != 0 || !out) return std::nullopt;
  return PasswdEntry{pw.pw_name, pw.pw_dir ? pw.pw_dir : ""};
}

}  // namespace coco::sys
