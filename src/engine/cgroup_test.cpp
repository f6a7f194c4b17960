// cgroup delegation detection and group setup, on a fake cgroup tree in a temp dir.
#include "engine/cgroup.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::engine::cgroup {
namespace {

// A systemd-like tree: the user's terminal scope in app.slice, which enables
// memory and pids for its children.
class FakeTree : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_ = tmp_.sub("cgroup");
    group("", "cpu memory pids hugetlb");
    group("/user.slice", "memory pids");
    group("/user.slice/user-1000.slice", "memory pids");
    group("/user.slice/user-1000.slice/user@1000.service", "memory pids");
    group(kApp, "memory pids");
    group(kScope, "");
  }

  void group(const std::string& rel, const std::string& subtreeControl) {
    std::string dir = mount_ + rel;
    ASSERT_TRUE(fs::makeDirs(dir).ok());
    ASSERT_TRUE(fs::writeFileAtomic(dir + "/cgroup.procs", "").ok());
    ASSERT_TRUE(fs::writeFileAtomic(dir + "/cgroup.subtree_control", subtreeControl + "\n").ok());
  }

  static constexpr const char* kApp = "/user.slice/user-1000.slice/user@1000.service/app.slice";
  static constexpr const char* kScope = "/user.slice/user-1000.slice/user@1000.service/app.slice/term.scope";
  TempDir tmp_{"coco-cgroup-test"};
  std::string mount_;
  uid_t me_ = ::geteuid();
};

TEST(CgroupParse, UnifiedMount) {
  const char* hybrid =
      "25 1 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
      "26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
      "27 25 0:24 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
  EXPECT_EQ(unifiedMount(hybrid), "/sys/fs/cgroup/unified");
  EXPECT_EQ(unifiedMount("30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"), "/sys/fs/cgroup");
  EXPECT_EQ(unifiedMount("30 1 0:26 / /my\\040cg rw - cgroup2 none rw\n"), "/my cg");
  // A bind of a subtree (a container's view) is not the namespace's root.
  EXPECT_EQ(unifiedMount("30 1 0:26 /user.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"), "");
  EXPECT_EQ(unifiedMount("27 25 0:24 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"), "");
  EXPECT_EQ(unifiedMount(""), "");
  EXPECT_EQ(unifiedMount("garbage without a separator\n"), "");
}

TEST(CgroupParse, UnifiedPath) {
  EXPECT_EQ(unifiedPath("0::/user.slice/user-1000.slice/session-2.scope\n"), "/user.slice/user-1000.slice/session-2.scope");
  EXPECT_EQ(unifiedPath("12:pids:/\n4:memory:/x\n0::/\n"), "/");
  EXPECT_EQ(unifiedPath("4:memory:/x\n1:name=systemd:/\n"), "");
  EXPECT_EQ(unifiedPath(""), "");
}

TEST(CgroupParse, EventCounts) {
  const char* memory = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 1\n";
  EXPECT_EQ(eventCount(memory, "oom_kill"), 2u);
  EXPECT_EQ(eventCount(memory, "max"), 12u);
  EXPECT_EQ(eventCount("max 7\n", "max"), 7u);
  EXPECT_EQ(eventCount("", "max"), 0u);
  EXPECT_EQ(eventCount("max x\n", "max"), 0u);
}

TEST_F(FakeTree, FindsTheNearestDelegatedAncestor) {
  auto d = findDelegation(mount_, kScope, me_);
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_EQ(d->dir, mount_ + kApp);
  EXPECT_EQ(d->controllers, (std::vector<std::string>{"memory", "pids"}));
  EXPECT_FALSE(d->has("cpu"));
}

TEST_F(FakeTree, SkipsAncestorsWithoutControllers) {
  group(kApp, "");  // app.slice enables nothing: its parent still does
  auto d = findDelegation(mount_, kScope, me_);
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_EQ(d->dir, mount_ + "/user.slice/user-1000.slice/user@1000.service");
}

TEST_F(FakeTree, AnotherUsersGroupIsNotDelegated) {
  auto d = findDelegation(mount_, kScope, me_ + 1);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message().find("not yours"), std::string::npos) << d.error().message();
}

TEST_F(FakeTree, NoControllersAnywhere) {
  for (const char* rel : {"", "/user.slice", "/user.slice/user-1000.slice",
                          "/user.slice/user-1000.slice/user@1000.service", kApp})
    group(rel, "hugetlb");  // a hybrid system: the others are bound to v1
  auto d = findDelegation(mount_, kScope, me_);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message().find("memory, pids or cpu"), std::string::npos) << d.error().message();
}

TEST_F(FakeTree, NoV2HierarchyOrGroup) {
  EXPECT_FALSE(findDelegation("", kScope, me_).ok());
  EXPECT_FALSE(findDelegation(mount_, "", me_).ok());
  // In the root group itself: only the root group can serve, and it is used when it is ours.
  auto root = findDelegation(mount_, "/", me_);
  ASSERT_TRUE(root.ok()) << root.error().describe();
  EXPECT_EQ(root->dir, mount_);
  EXPECT_EQ(root->controllers, (std::vector<std::string>{"cpu", "memory", "pids"}));
}

// detectFrom with the fake tree as the usual mount (when `usualIsCgroup2`), counting mountinfo's reads.
struct Sources {
  DetectSources sources;
  int mountinfoReads = 0;
};

std::unique_ptr<Sources> sources(const std::string& procCgroup, const std::string& usual, bool usualIsCgroup2,
                                 const std::string& mountinfo) {
  auto s = std::make_unique<Sources>();
  Sources* raw = s.get();
  s->sources = {procCgroup,
                {"/nonexistent/cgroup", usual},
                [usual, usualIsCgroup2](const std::string& p) { return usualIsCgroup2 && p == usual; },
                [raw, mountinfo] {
                  ++raw->mountinfoReads;
                  return mountinfo;
                }};
  return s;
}

std::string cgroup2At(const std::string& mount, const std::string& root = "/") {
  return fmt::format(
      "25 1 0:22 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n30 25 0:26 {} {} rw - cgroup2 cgroup2 rw\n", root,
      mount);
}

TEST_F(FakeTree, DetectFindsTheUsualMountAndConfirmsItIsTheRoot) {
  auto s = sources(fmt::format("0::{}\n", kScope), mount_, true, cgroup2At(mount_));
  auto d = detectFrom(s->sources, me_);
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_EQ(d->dir, mount_ + kApp);
  EXPECT_EQ(s->mountinfoReads, 1);
}

TEST_F(FakeTree, DetectWithoutADelegationNeverReadsMountinfo) {
  // The common case without a systemd user session: nothing of the user's, found with statfs alone.
  auto s = sources(fmt::format("0::{}\n", kScope), mount_, true, cgroup2At(mount_));
  auto d = detectFrom(s->sources, me_ + 1);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message().find("not yours"), std::string::npos) << d.error().message();
  EXPECT_EQ(s->mountinfoReads, 0);
  // A v1 system: no "0::" line, no v2 group to look under.
  auto v1 = sources("4:memory:/x\n1:name=systemd:/\n", mount_, true, cgroup2At(mount_));
  auto none = detectFrom(v1->sources, me_);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("cgroup v1"), std::string::npos) << none.error().message();
  EXPECT_EQ(v1->mountinfoReads, 0);
}

TEST_F(FakeTree, DetectReadsMountinfoWhenNoUsualPlaceIsCgroup2) {
  auto s = sources(fmt::format("0::{}\n", kScope), "/sys/fs/cgroup/unified", false, cgroup2At(mount_));
  auto d = detectFrom(s->sources, me_);
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_EQ(d->dir, mount_ + kApp);
  EXPECT_EQ(s->mountinfoReads, 1);
  auto nowhere = sources(fmt::format("0::{}\n", kScope), "/sys/fs/cgroup/unified", false, "");
  auto none = detectFrom(nowhere->sources, me_);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("no cgroup v2 file system"), std::string::npos)
      << none.error().message();
}

TEST_F(FakeTree, DetectRefusesAUsualMountThatIsASubtree) {
  // The usual place holds a bind of a subtree (a container's view): the group
  // found under it is not the one /proc/self/cgroup names. mountinfo says so,
  // and the namespace's root mount, mounted nowhere here, gives no delegation.
  auto s = sources(fmt::format("0::{}\n", kScope), mount_, true, cgroup2At(mount_, "/user.slice"));
  auto d = detectFrom(s->sources, me_);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message().find("no cgroup v2 file system"), std::string::npos) << d.error().message();
  // Mounted elsewhere as well, as the namespace's root: that mount is used.
  TempDir other{"coco-cgroup-root"};
  std::string root = other.sub("cgroup");
  ASSERT_TRUE(fs::makeDirs(root + kApp).ok());
  for (const std::string& rel : {std::string(), std::string(kApp)}) {
    ASSERT_TRUE(fs::writeFileAtomic(root + rel + "/cgroup.procs", "").ok());
    ASSERT_TRUE(fs::writeFileAtomic(root + rel + "/cgroup.subtree_control", "pids\n").ok());
  }
  auto both =
      sources(fmt::format("0::{}\n", kScope), mount_, true,
              cgroup2At(mount_, "/user.slice") + cgroup2At(root).substr(cgroup2At(root).find("30 25")));
  auto again = detectFrom(both->sources, me_);
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_EQ(again->dir, root + kApp);
  EXPECT_EQ(again->controllers, (std::vector<std::string>{"pids"}));
}

TEST_F(FakeTree, GroupGetsTheLimitsItsControllersEnforce) {
  Delegation d{mount_ + kApp, {"memory", "pids", "cpu"}};
  Limits limits{2ull << 30, 512, 1500, 1ull << 30};
  auto g = Group::create(d, "coco-1-0", limits);
  ASSERT_TRUE(g.ok()) << g.error().describe();
  std::string dir = mount_ + kApp + "/coco-1-0";
  EXPECT_EQ(g->path(), dir);
  EXPECT_TRUE(g->valid());
  EXPECT_TRUE(g->limitsMemory());
  EXPECT_EQ(*fs::readFile(dir + "/memory.max"), "2147483648");
  EXPECT_EQ(*fs::readFile(dir + "/memory.swap.max"), "0");
  EXPECT_EQ(*fs::readFile(dir + "/memory.oom.group"), "1");
  EXPECT_EQ(*fs::readFile(dir + "/pids.max"), "512");
  EXPECT_EQ(*fs::readFile(dir + "/cpu.max"), "150000 100000");
  ASSERT_TRUE(fs::writeFileAtomic(dir + "/memory.events", "oom 1\noom_kill 1\n").ok());
  ASSERT_TRUE(fs::writeFileAtomic(dir + "/pids.events", "max 30\n").ok());
  EXPECT_EQ(g->events().oomKills, 1u);
  EXPECT_EQ(g->events().pidsRefused, 30u);
}

TEST_F(FakeTree, OnlyWhatIsDelegatedAndAsked) {
  Delegation d{mount_ + kApp, {"pids"}};
  auto g = Group::create(d, "coco-1-1", Limits{1ull << 30, 0, 2000, 0});
  ASSERT_TRUE(g.ok()) << g.error().describe();
  std::string dir = mount_ + kApp + "/coco-1-1";
  EXPECT_FALSE(g->limitsMemory());  // memory is not delegated: the rlimit stays
  EXPECT_FALSE(fs::exists(dir + "/memory.max"));
  EXPECT_FALSE(fs::exists(dir + "/pids.max"));  // no pids limit asked
  EXPECT_FALSE(fs::exists(dir + "/cpu.max"));
}

TEST_F(FakeTree, AnExistingNameFails) {
  Delegation d{mount_ + kApp, {"pids"}};
  ASSERT_TRUE(fs::makeDirs(mount_ + kApp + "/coco-1-2").ok());
  EXPECT_FALSE(Group::create(d, "coco-1-2", Limits{}).ok());
}

TEST_F(FakeTree, StaleGroupsOfDeadCocosAreRemoved) {
  Delegation d{mount_ + kApp, {"pids"}};
  std::string mine = fmt::format("coco-{}-0", ::getpid());
  for (const std::string& name : {std::string("coco-2147483646-0"), mine, std::string("coco-x"),
                                 std::string("other.scope")})
    ASSERT_TRUE(fs::makeDirs(d.dir + "/" + name).ok());
  ASSERT_TRUE(fs::makeDirs(d.dir + "/coco-2147483645-1/busy").ok());  // not empty: kept
  removeStale(d);
  EXPECT_FALSE(fs::exists(d.dir + "/coco-2147483646-0"));
  EXPECT_TRUE(fs::exists(d.dir + "/" + mine));
  EXPECT_TRUE(fs::exists(d.dir + "/coco-x"));
  EXPECT_TRUE(fs::exists(d.dir + "/other.scope"));
  EXPECT_TRUE(fs::exists(d.dir + "/coco-2147483645-1"));
}

}  // namespace
}  // namespace coco::engine::cgroup
