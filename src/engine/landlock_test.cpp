// Tests for the Landlock rules: what a RunSpec grants on each ABI, and the
// child's half applied for real in a forked process.
#include "engine/landlock.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>

namespace coco::engine {
namespace {

constexpr uint64_t kWriteFile = LANDLOCK_ACCESS_FS_WRITE_FILE;
constexpr uint64_t kMakeReg = LANDLOCK_ACCESS_FS_MAKE_REG;
constexpr uint64_t kMakeChar = LANDLOCK_ACCESS_FS_MAKE_CHAR;
constexpr uint64_t kMakeBlock = LANDLOCK_ACCESS_FS_MAKE_BLOCK;
constexpr uint64_t kReadFile = LANDLOCK_ACCESS_FS_READ_FILE;
constexpr uint64_t kExecute = LANDLOCK_ACCESS_FS_EXECUTE;
constexpr uint64_t kRefer = 1ULL << 13;
constexpr uint64_t kTruncate = 1ULL << 14;
constexpr uint64_t kIoctlDev = 1ULL << 15;

RunSpec specWith(std::vector<BindMount> mounts) {
  RunSpec spec;
  spec.mounts = std::move(mounts);
  return spec;
}

const LandlockRule* ruleFor(const LandlockPlan& plan, const std::string& path) {
  auto it = std::find_if(plan.rules.begin(), plan.rules.end(),
                         [&](const LandlockRule& r) { return r.path == path; });
  return it == plan.rules.end() ? nullptr : &*it;
}

TEST(LandlockPlan, NothingWithoutLandlock) {
  LandlockPlan plan = planLandlock(specWith({{"/src", "/workspace", true}}), 0);
  EXPECT_EQ(plan.abi, 0);
  EXPECT_TRUE(plan.rules.empty());
  EXPECT_EQ(plan.scoped, 0u);
}

TEST(LandlockPlan, WritableRootWhenNoReadOnlyMountSitsAtTheTop) {
  LandlockPlan plan =
      planLandlock(specWith({{"/src", "/workspace", false}, {"/mod", "/root/go/pkg/mod", true}}), 7);
  const LandlockRule* root = ruleFor(plan, "/");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->access & (kReadFile | kExecute | kWriteFile | kMakeReg),
            kReadFile | kExecute | kWriteFile | kMakeReg);
  EXPECT_TRUE(plan.readOnlyTopLevel.empty());
  ASSERT_TRUE(ruleFor(plan, "/workspace"));
  EXPECT_TRUE(ruleFor(plan, "/workspace")->access & kMakeReg);
  EXPECT_FALSE(ruleFor(plan, "/root/go/pkg/mod"));  // read-only: no rule of its own
  EXPECT_EQ(plan.scoped, 3u);                       // abstract unix sockets and signals
}

TEST(LandlockPlan, ReadOnlyTopLevelMountIsLeftOutOfEveryWriteRule) {
  LandlockPlan plan = planLandlock(specWith({{"/src", "/workspace/", true}, {"/out", "/out", false}}), 7);
  ASSERT_EQ(plan.readOnlyTopLevel, std::vector<std::string>{"workspace"});
  EXPECT_EQ(ruleFor(plan, "/")->access & (kWriteFile | kMakeReg), 0u);
  EXPECT_TRUE(plan.topLevelAccess & kMakeReg);
  EXPECT_FALSE(ruleFor(plan, "/workspace"));
  EXPECT_TRUE(ruleFor(plan, "/out"));
  for (const char* scratch : {"/tmp", "/dev/shm"}) {
    ASSERT_TRUE(ruleFor(plan, scratch)) << scratch;
    EXPECT_TRUE(ruleFor(plan, scratch)->access & kMakeReg) << scratch;
  }
  // Devices: their files and ioctls, no new nodes.
  EXPECT_EQ(ruleFor(plan, "/dev")->access, kWriteFile | kTruncate | kIoctlDev);
}

TEST(LandlockPlan, NoRuleMakesDeviceNodes) {
  LandlockPlan plan = planLandlock(specWith({{"/src", "/workspace", true}}), 7);
  for (const auto& r : plan.rules) EXPECT_EQ(r.access & (kMakeChar | kMakeBlock), 0u) << r.path;
  EXPECT_EQ(plan.topLevelAccess & (kMakeChar | kMakeBlock), 0u);
}

TEST(LandlockPlan, AReadOnlyMountOverAScratchDirDropsItsRule) {
  LandlockPlan plan = planLandlock(specWith({{"/src", "/tmp", true}, {"/dev-ro", "/dev", true}}), 7);
  EXPECT_FALSE(ruleFor(plan, "/tmp"));
  EXPECT_FALSE(ruleFor(plan, "/dev"));
  EXPECT_FALSE(ruleFor(plan, "/dev/shm"));
}

TEST(LandlockPlan, BestEffortPerAbi) {
  struct Case {
    int abi;
    uint64_t present, absent, scoped;
  } cases[] = {
      {1, 0, kRefer | kTruncate | kIoctlDev, 0}, {2, kRefer, kTruncate | kIoctlDev, 0},
      {3, kRefer | kTruncate, kIoctlDev, 0},     {4, kRefer | kTruncate, kIoctlDev, 0},
      {5, kRefer | kTruncate | kIoctlDev, 0, 0}, {6, kRefer | kTruncate | kIoctlDev, 0, 3},
      {7, kRefer | kTruncate | kIoctlDev, 0, 3},
  };
  for (const auto& c : cases) {
    LandlockPlan plan = planLandlock(specWith({{"/out", "/out", false}}), c.abi);
    EXPECT_EQ(plan.handledFs & c.present, c.present) << c.abi;
    EXPECT_EQ(plan.handledFs & c.absent, 0u) << c.abi;
    EXPECT_EQ(plan.scoped, c.scoped) << c.abi;
    // A rule may only name rights the ruleset handles, or the kernel refuses it.
    for (const auto& r : plan.rules) EXPECT_EQ(r.access & ~plan.handledFs, 0u) << c.abi << " " << r.path;
  }
}

TEST(LandlockPlan, DescribedForLogsAndTheDryRun) {
  LandlockPlan plan = planLandlock(specWith({{"/src", "/workspace", true}}), 7);
  auto lines = describeLandlock(plan);
  EXPECT_NE(std::find(lines.begin(), lines.end(), "/: read, execute"), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "/dev: write files, device ioctls"), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "every other entry of / but /workspace: write"),
            lines.end());
  EXPECT_EQ(landlockScopes(plan), (std::vector<std::string>{"abstract-unix-socket", "signal"}));
}

// Runs fn in a child with no_new_privs, returns its exit status.
template <typename Fn>
int inChild(Fn fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    _exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int createIn(const std::string& dir) {
  std::string path = dir + "/landlock-test-" + std::to_string(::getpid());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  ::close(fd);
  ::unlink(path.c_str());
  return 0;
}

// The child's half on this machine's real root: a read-only entry at the top
// (here /tmp) refuses writing, every other entry of / keeps it.
TEST(LandlockApply, TopLevelEntriesButTheReadOnlyOnes) {
  if (landlockAbi() == 0) GTEST_SKIP() << "this kernel has no Landlock";
  const char* home = std::getenv("HOME");
  std::string writable = home && *home ? home : "/root";
  ASSERT_EQ(createIn(writable), 0) << writable;
  LandlockPlan plan = planLandlock(specWith({{"/tmp", "/tmp", true}}), landlockAbi());
  EXPECT_EQ(inChild([&] {
              if (!applyLandlock(plan)) return 10;
              if (createIn("/tmp") != EACCES) return 11;
              if (createIn(writable) != 0) return 12;
              return ::access("/etc/passwd", R_OK) == 0 ? 0 : 13;
            }),
            0);
}

}  // namespace
}  // namespace coco::engine
