// Why a host refuses coco its namespaces, and what the user can do about it:
// disabled user namespaces, AppArmor's restriction (Ubuntu 23.10+), a container's seccomp profile.
#pragma once

#include <string>

#include "util/result.hpp"

namespace coco::engine {

// What the host says about its restrictions (read from /proc and the
// container markers; a test passes its own).
struct HostRestrictions {
  std::string unprivilegedUsernsClone;  // kernel.unprivileged_userns_clone ("" when absent)
  std::string maxUserNamespaces;        // user.max_user_namespaces
  std::string apparmorRestrictsUserns;  // kernel.apparmor_restrict_unprivileged_userns
  bool inContainer = false;             // /.dockerenv, /run/.containerenv, or $container

  static HostRestrictions detect();
};

// The error for a clone of the sandbox's namespaces that failed with `err`.
Error cloneFailure(int err, const HostRestrictions& host);

// What to add to a setup step refused with EPERM inside the sandbox's own user
// namespace (sethostname, mount ...): the namespace was created, but without
// the rights a user namespace normally grants. "" when err is not EPERM.
std::string refusedInNamespaceHint(int err, const HostRestrictions& host);

}  // namespace coco::engine
