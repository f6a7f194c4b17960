// Why a host refuses coco its namespaces, and the exact fix to print.
#include "engine/restrictions.hpp"

#include <errno.h>
#include <unistd.h>

#include <cstdlib>

#include "util/fs.hpp"

namespace coco::engine {

namespace {

std::string firstLine(const char* path) {
  auto v = fs::readFile(path);
  if (!v) return {};
  return v->substr(0, v->find('\n'));
}

constexpr const char* kAppArmorFix =
    "AppArmor restricts unprivileged user namespaces here (kernel.apparmor_restrict_unprivileged_userns=1): "
    "coco's Debian package installs a profile that allows coco `userns` as /etc/apparmor.d/coco; load it "
    "with `sudo apparmor_parser -r /etc/apparmor.d/coco`, or allow them for everyone with "
    "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`";

constexpr const char* kContainerFix =
    "coco runs inside a container whose seccomp or AppArmor profile refuses what a sandbox needs in its own user "
    "namespace: start that container with `--security-opt seccomp=unconfined --security-opt apparmor=unconfined` "
    "(docker/podman), or a seccomp profile that allows clone3, unshare, mount and sethostname, or `--privileged`";

}  // namespace

HostRestrictions HostRestrictions::detect() {
  HostRestrictions h;
  h.unprivilegedUsernsClone = firstLine("/proc/sys/kernel/unprivileged_userns_clone");
  h.maxUserNamespaces = firstLine("/proc/sys/user/max_user_namespaces");
  h.apparmorRestrictsUserns = firstLine("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
  const char* container = std::getenv("container");
  h.inContainer = ::access("/.dockerenv", F_OK) == 0 || ::access("/run/.containerenv", F_OK) == 0 ||
                  (container && *container);
  return h;
}

Error cloneFailure(int err, const HostRestrictions& host) {
  std::string why = "cannot create the sandbox's namespaces";
  std::string hint;
  if (host.unprivilegedUsernsClone == "0")
    hint = "unprivileged user namespaces are disabled: sudo sysctl -w kernel.unprivileged_userns_clone=1";
  else if (host.maxUserNamespaces == "0")
    hint = "user namespaces are disabled: sudo sysctl -w user.max_user_namespaces=15000";
  else if (host.apparmorRestrictsUserns == "1")
    hint = kAppArmorFix;
  else if (err == ENOSPC)
    hint = "the user namespace limit is reached (user.max_user_namespaces)";
  else if (err == EPERM && host.inContainer)
    hint = kContainerFix;
  Error e = Error::withErrno(err, why);
  return hint.empty() ? e : Error::withErrno(err, why + " (" + hint + ")");
}

std::string refusedInNamespaceHint(int err, const HostRestrictions& host) {
  if (err != EPERM) return {};
  if (host.apparmorRestrictsUserns == "1") return std::string(" (") + kAppArmorFix + ")";
  if (host.inContainer) return std::string(" (") + kContainerFix + ")";
  return " (refused inside the sandbox's own user namespace, where coco holds every right it needs: that is "
         "usually a security policy coco was started under (a seccomp filter, AppArmor, SELinux) restricting "
         "user namespaces; run coco outside it, or let it allow unshare, mount and sethostname)";
}

}  // namespace coco::engine
