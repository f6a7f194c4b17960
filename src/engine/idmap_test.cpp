// Unit tests: which id mapping a user gets (fixture /etc files and helper dirs), and the fallback when a helper fails.
#include "engine/idmap.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::engine {
namespace {

TEST(FindSubIdRange, ByNameOrByUid) {
  std::string text = "bob:200000:65536\nalice:100000:65536\n1005:300000:65536\n";
  auto byName = findSubIdRange(text, "alice", 1001);
  ASSERT_TRUE(byName);
  EXPECT_EQ(byName->start, 100000u);
  EXPECT_EQ(byName->count, 65536u);
  auto byUid = findSubIdRange(text, "carol", 1005);
  ASSERT_TRUE(byUid);
  EXPECT_EQ(byUid->start, 300000u);
  EXPECT_FALSE(findSubIdRange(text, "dave", 1006));
}

TEST(FindSubIdRange, FirstLineLargeEnoughAmongSeveral) {
  std::string text = "alice:100000:1000\n1001:150000:65535\nalice:200000:65536\nalice:400000:65536\n";
  auto r = findSubIdRange(text, "alice", 1001);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->start, 200000u);
}

TEST(FindSubIdRange, ShortRangesAreNotUsedLargerOnesAreCapped) {
  EXPECT_FALSE(findSubIdRange("alice:100000:65535\n", "alice", 1001));
  EXPECT_FALSE(findSubIdRange("alice:100000:1\n", "alice", 1001));
  auto big = findSubIdRange("alice:100000:1000000\n", "alice", 1001);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->count, kSubIdCount);
}

TEST(FindSubIdRange, MalformedAndForeignLinesAreSkipped) {
  std::string text =
      "alice\nalice:x:65536\nalice:100000:\nalice:100000:0\nalice:5:6:7\nalice: 100000:65536\n"
      "alice:-1:65536\nalice:+5:65536\nalice:100000:65536x\nalice:99999999999:65536\n"
      "alice:4294901760:65536\nmallory:1:65536\n# alice:1:65536\n\n:1:65536\n";
  EXPECT_FALSE(findSubIdRange(text, "alice", 1001));
  // The last range that still fits below (uid_t)-1.
  EXPECT_EQ(findSubIdRange("alice:4294901759:65536", "alice", 1001)->start, 4294901759u);
}

TEST(FindSubIdRange, EmptyUserNameMatchesOnlyTheUid) {
  EXPECT_EQ(findSubIdRange(":100000:65536\n1001:200000:65536\n", "", 1001)->start, 200000u);
}

class IdMapPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    host_.uid = 1001;
    host_.gid = 2002;  // differs from the uid: the gid must play no part in the lookup
    host_.userName = "alice";
    host_.etcDir = tmp_.path() + "/etc";
    host_.helperDirs = {tmp_.path() + "/usr/bin", tmp_.path() + "/sbin"};
    ASSERT_TRUE(fs::makeDirs(host_.etcDir));
    for (const auto& d : host_.helperDirs) ASSERT_TRUE(fs::makeDirs(d));
  }
  void write(const std::string& rel, const std::string& text, mode_t mode = 0644) {
    ASSERT_TRUE(fs::writeFileAtomic(tmp_.path() + "/" + rel, text, mode));
  }
  void helpers(const std::string& body = "exit 0") {
    write("usr/bin/newuidmap", "#!/bin/sh\n" + body + "\n", 0755);
    write("sbin/newgidmap", "#!/bin/sh\n" + body + "\n", 0755);
  }
  TempDir tmp_{"coco-idmap"};
  IdMapHost host_;
};

TEST_F(IdMapPlanTest, SubordinateWithBothHelpersAndBothRanges) {
  helpers();
  write("etc/subuid", "alice:100000:65536\n");
  write("etc/subgid", "1001:300000:70000\n");
  auto plan = planIdMaps(host_);
  EXPECT_TRUE(plan.subordinate);
  EXPECT_EQ(plan.uid, 1001u);
  EXPECT_EQ(plan.gid, 2002u);
  EXPECT_EQ(plan.uids.start, 100000u);
  EXPECT_EQ(plan.gids.start, 300000u);
  EXPECT_EQ(plan.gids.count, kSubIdCount);
  EXPECT_EQ(plan.newuidmap, tmp_.path() + "/usr/bin/newuidmap");
  EXPECT_EQ(plan.newgidmap, tmp_.path() + "/sbin/newgidmap");
  EXPECT_EQ(plan.maxId(), kSubIdCount);
}

TEST_F(IdMapPlanTest, SubgidIsLookedUpByUserNotByGroup) {
  helpers();
  write("etc/subuid", "alice:100000:65536\n");
  write("etc/subgid", "2002:300000:65536\n");  // what newgidmap would refuse: keyed by the gid
  auto plan = planIdMaps(host_);
  EXPECT_FALSE(plan.subordinate);
  EXPECT_EQ(plan.maxId(), 0u);
}

TEST_F(IdMapPlanTest, ShortRangeGivesTheSingleMapping) {
  helpers();
  write("etc/subuid", "alice:100000:65536\n");
  write("etc/subgid", "alice:300000:1000\n");
  EXPECT_FALSE(planIdMaps(host_).subordinate);
}

TEST_F(IdMapPlanTest, MissingFileGivesTheSingleMapping) {
  helpers();
  write("etc/subuid", "alice:100000:65536\n");
  EXPECT_FALSE(planIdMaps(host_).subordinate);
}

TEST_F(IdMapPlanTest, HelpersOnlyFromTheFixedDirectories) {
  write("etc/subuid", "alice:100000:65536\n");
  write("etc/subgid", "alice:300000:65536\n");
  write("usr/bin/newuidmap", "#!/bin/sh\n", 0755);
  write("newgidmap", "#!/bin/sh\n", 0755);  // as if on PATH, outside helperDirs
  EXPECT_FALSE(planIdMaps(host_).subordinate);
  write("sbin/newgidmap", "#!/bin/sh\n", 0644);  // not executable
  EXPECT_FALSE(planIdMaps(host_).subordinate);
}

TEST_F(IdMapPlanTest, ForcedSingleIgnoresTheRanges) {
  helpers();
  write("etc/subuid", "alice:100000:65536\n");
  write("etc/subgid", "alice:300000:65536\n");
  host_.forceSingle = true;
  auto plan = planIdMaps(host_);
  EXPECT_FALSE(plan.subordinate);
  EXPECT_EQ(plan.uid, 1001u);
}

// The engine reads no environment: the mode is given, and the environment leaves it alone.
TEST(IdMapHost, CurrentReadsTheProcessAndTakesTheModeAsGiven) {
  setenv("COCO_USERNS", "single", 1);
  auto host = IdMapHost::current(false);
  EXPECT_FALSE(host.forceSingle);
  EXPECT_EQ(host.uid, ::getuid());
  EXPECT_EQ(host.gid, ::getgid());
  EXPECT_EQ(host.etcDir, "/etc");
  for (const auto& d : host.helperDirs) EXPECT_EQ(d.front(), '/') << d;
  unsetenv("COCO_USERNS");
  EXPECT_TRUE(IdMapHost::current(true).forceSingle);
  EXPECT_FALSE(planIdMaps(true).subordinate);
}

TEST(IdMapHost, OnlySingleAsksForTheSingleMapping) {
  EXPECT_TRUE(singleIdMapRequested("single"));
  for (const char* other : {"", "auto", "Single", "single ", "subuid"}) EXPECT_FALSE(singleIdMapRequested(other)) << other;
}

// A child in a new user namespace, waiting for its maps; exits when told.
struct MappedChild {
  pid_t pid = -1;
  int go = -1;
};

MappedChild startChild() {
  int ready[2], go[2];
  if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(go, O_CLOEXEC) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    ::close(go[1]);
    char c = ::unshare(CLONE_NEWUSER) == 0 ? 1 : 0;
    (void)!::write(ready[1], &c, 1);
    (void)!::read(go[0], &c, 1);
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(go[0]);
  char c = 0;
  bool unshared = ::read(ready[0], &c, 1) == 1 && c == 1;
  ::close(ready[0]);
  if (!unshared) {
    ::close(go[1]);
    ::waitpid(pid, nullptr, 0);
    return {};
  }
  return {pid, go[1]};
}

void stopChild(MappedChild& child) {
  ::close(child.go);
  ::waitpid(child.pid, nullptr, 0);
}

TEST_F(IdMapPlanTest, FailingHelpersFallBackToTheSingleMapping) {
  helpers("exit 1");
  write("etc/subuid", "alice:100000:65536\n");
  write("etc/subgid", "alice:300000:65536\n");
  host_.uid = ::getuid();
  host_.gid = ::getgid();
  auto plan = planIdMaps(host_);
  ASSERT_TRUE(plan.subordinate);
  MappedChild child = startChild();
  ASSERT_GT(child.pid, 0) << "unshare(CLONE_NEWUSER) failed";
  auto mapped = writeIdMaps(child.pid, plan);
  std::string root = "/proc/" + std::to_string(child.pid);
  auto uidMap = fs::readFile(root + "/uid_map");
  auto gidMap = fs::readFile(root + "/gid_map");
  auto setgroups = fs::readFile(root + "/setgroups");
  stopChild(child);
  ASSERT_TRUE(mapped.ok()) << mapped.error().describe();
  EXPECT_FALSE(*mapped);
  ASSERT_TRUE(uidMap && gidMap && setgroups);
  EXPECT_EQ(*uidMap, fmt::format("{:>10} {:>10} {:>10}\n", 0, ::getuid(), 1));
  EXPECT_EQ(*gidMap, fmt::format("{:>10} {:>10} {:>10}\n", 0, ::getgid(), 1));
  EXPECT_EQ(*setgroups, "deny\n");
}

}  // namespace
}  // namespace coco::engine
