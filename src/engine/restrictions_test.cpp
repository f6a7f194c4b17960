// The messages for hosts that restrict user namespaces: each names what is wrong and the exact fix.
#include "engine/restrictions.hpp"

#include <errno.h>
#include <gtest/gtest.h>

namespace coco::engine {
namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(Restrictions, ACloneRefusedSaysWhichSwitchAndHowToTurnIt) {
  HostRestrictions h;
  h.unprivilegedUsernsClone = "0";
  EXPECT_TRUE(has(cloneFailure(EPERM, h).describe(), "sudo sysctl -w kernel.unprivileged_userns_clone=1"));
  h = {};
  h.maxUserNamespaces = "0";
  EXPECT_TRUE(has(cloneFailure(ENOSPC, h).describe(), "user.max_user_namespaces=15000"));
  h = {};
  h.apparmorRestrictsUserns = "1";
  std::string apparmor = cloneFailure(EACCES, h).describe();
  EXPECT_TRUE(has(apparmor, "/etc/apparmor.d/coco")) << apparmor;
  EXPECT_TRUE(has(apparmor, "kernel.apparmor_restrict_unprivileged_userns=0")) << apparmor;
  h = {};
  h.inContainer = true;
  std::string nested = cloneFailure(EPERM, h).describe();
  EXPECT_TRUE(has(nested, "--security-opt seccomp=unconfined")) << nested;
  EXPECT_TRUE(has(nested, "--privileged")) << nested;
  EXPECT_FALSE(has(cloneFailure(EINVAL, HostRestrictions{}).describe(), "(")) << "no guess without a cause";
}

// Ubuntu's AppArmor restriction lets the namespace be created and refuses what
// follows (the user saw `sethostname: Operation not permitted`).
TEST(Restrictions, EpermAfterTheCloneNamesTheRestriction) {
  HostRestrictions h;
  EXPECT_EQ(refusedInNamespaceHint(ENOENT, h), "");
  EXPECT_TRUE(has(refusedInNamespaceHint(EPERM, h), "security policy"));
  h.apparmorRestrictsUserns = "1";
  EXPECT_TRUE(has(refusedInNamespaceHint(EPERM, h), "apparmor_parser -r /etc/apparmor.d/coco"));
  h = {};
  h.inContainer = true;
  EXPECT_TRUE(has(refusedInNamespaceHint(EPERM, h), "--security-opt seccomp=unconfined"));
}

}  // namespace
}  // namespace coco::engine
