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

// The remembered plan (planIdMapsCached): read back only while the files it was made from are the
// same; never a source of a helper's path, another user's ids or a short range; never read through a
// symlink.
class IdMapPlanRecordTest : public IdMapPlanTest {
 protected:
  std::string dir() const { return tmp_.path() + "/holder"; }
  std::string record() const { return dir() + "/" + kIdMapPlanRecordName; }
  // The record with its plan line replaced (the line of what it was made from kept).
  void forge(const std::string& planLine) {
    auto text = fs::readFile(record());
    ASSERT_TRUE(text.ok());
    write("holder/" + std::string(kIdMapPlanRecordName), text->substr(0, text->find('\n') + 1) + planLine + "\n", 0600);
  }
};

TEST_F(IdMapPlanRecordTest, ReadBackOnlyWhileItsFilesAreUnchanged) {
  helpers();
  write("etc/subuid", "alice:100000:65536\n");
  write("etc/subgid", "alice:300000:65536\n");
  write("etc/passwd", "alice:x:1001:2002::/home/alice:/bin/sh\n");
  auto first = planIdMapsCached(dir(), host_);
  EXPECT_TRUE(first.subordinate);
  EXPECT_EQ(first.uids.start, 100000u);
  ASSERT_TRUE(fs::exists(record()));
  // Read back, not planned again: a record that says otherwise is what the next run gets.
  forge("1001 2002 1 200000 65536 400000 65536");
  auto second = planIdMapsCached(dir(), host_);
  EXPECT_TRUE(second.subordinate);
  EXPECT_EQ(second.uids.start, 200000u);
  EXPECT_EQ(second.gids.start, 400000u);
  EXPECT_EQ(second.newuidmap, tmp_.path() + "/usr/bin/newuidmap");
  // Any of the three files changed: planned again, and remembered again.
  for (const char* file : {"etc/subuid", "etc/subgid", "etc/passwd"}) {
    forge("1001 2002 1 200000 65536 400000 65536");
    auto text = fs::readFile(tmp_.path() + "/" + file);
    ASSERT_TRUE(text.ok());
    write(file, *text);  // the same bytes, a new inode
    auto again = planIdMapsCached(dir(), host_);
    EXPECT_EQ(again.uids.start, 100000u) << file;
    EXPECT_EQ(again.gids.start, 300000u) << file;
  }
  // The range taken away: the single mapping at once.
  write("etc/subuid", "bob:100000:65536\n");
  EXPECT_FALSE(planIdMapsCached(dir(), host_).subordinate);
  EXPECT_FALSE(planIdMapsCached(dir(), host_).subordinate);
}

// The helpers installed after a single plan was remembered (the uidmap package, later): planned again.
TEST_F(IdMapPlanRecordTest, HelpersInstalledOrRemovedLaterArePlannedAgain) {
  write("etc/subuid", "alice:100000:65536\n");
  write("etc/subgid", "alice:300000:65536\n");
  EXPECT_FALSE(planIdMapsCached(dir(), host_).subordinate);
  EXPECT_FALSE(planIdMapsCached(dir(), host_).subordinate);
  helpers();
  auto plan = planIdMapsCached(dir(), host_);
  EXPECT_TRUE(plan.subordinate);
  EXPECT_EQ(plan.newuidmap, tmp_.path() + "/usr/bin/newuidmap");
  EXPECT_TRUE(planIdMapsCached(dir(), host_).subordinate);
  ASSERT_EQ(::unlink((tmp_.path() + "/usr/bin/newuidmap").c_str()), 0);
  EXPECT_FALSE(planIdMapsCached(dir(), host_).subordinate);
}

TEST_F(IdMapPlanRecordTest, AForgedRecordGivesNoHelperNoOtherUserAndNoShortRange) {
  helpers();
  write("etc/subuid", "alice:100000:65536\n");
  write("etc/subgid", "alice:300000:65536\n");
  ASSERT_TRUE(planIdMapsCached(dir(), host_).subordinate);
  // Another user's ids, a short or a long range, a range past 2^32, junk: planned from the files.
  for (const char* line : {"0 0 1 200000 65536 400000 65536", "1001 0 1 200000 65536 400000 65536",
                           "1001 2002 1 200000 1000 400000 65536", "1001 2002 1 200000 65536 400000 99999",
                           "1001 2002 1 4294967295 65536 400000 65536", "1001 2002 2 200000 65536 400000 65536",
                           "1001 2002 1 200000 65536 400000", "1001 2002 1 200000 65536 400000 65536 /tmp/x",
                           "1001 2002 1 -5 65536 400000 65536", ""}) {
    forge(line);
    auto plan = planIdMapsCached(dir(), host_);
    EXPECT_TRUE(plan.subordinate) << line;
    EXPECT_EQ(plan.uids.start, 100000u) << line;
    EXPECT_EQ(plan.uid, 1001u) << line;
  }
  // The helpers are looked up on every run, never taken from the record: without them, no subordinate plan.
  forge("1001 2002 1 100000 65536 300000 65536");
  ASSERT_EQ(::unlink((tmp_.path() + "/sbin/newgidmap").c_str()), 0);
  EXPECT_FALSE(planIdMapsCached(dir(), host_).subordinate);
}

TEST_F(IdMapPlanRecordTest, NeverReadOrWrittenThroughASymlink) {
  helpers();
  write("etc/subuid", "alice:100000:65536\n");
  write("etc/subgid", "alice:300000:65536\n");
  ASSERT_TRUE(planIdMapsCached(dir(), host_).subordinate);
  forge("1001 2002 1 200000 65536 400000 65536");
  auto valid = fs::readFile(record());
  ASSERT_TRUE(valid.ok());
  // A valid record elsewhere, and the record a symlink to it: not read, and replaced rather than written through.
  write("elsewhere", *valid, 0600);
  ASSERT_EQ(::unlink(record().c_str()), 0);
  ASSERT_EQ(::symlink((tmp_.path() + "/elsewhere").c_str(), record().c_str()), 0);
  auto plan = planIdMapsCached(dir(), host_);
  EXPECT_EQ(plan.uids.start, 100000u);
  EXPECT_EQ(*fs::readFile(tmp_.path() + "/elsewhere"), *valid);
  struct stat st;
  ASSERT_EQ(::lstat(record().c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(IdMapPlanRecordTest, NoRecordForTheSingleModeOrWithoutADirectory) {
  helpers();
  write("etc/subuid", "alice:100000:65536\n");
  write("etc/subgid", "alice:300000:65536\n");
  host_.forceSingle = true;
  EXPECT_FALSE(planIdMapsCached(dir(), host_).subordinate);
  EXPECT_FALSE(fs::exists(record()));
  host_.forceSingle = false;
  EXPECT_TRUE(planIdMapsCached("", host_).subordinate);
  EXPECT_FALSE(fs::exists(record()));
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
