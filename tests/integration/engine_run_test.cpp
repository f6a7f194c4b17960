// engine::run() called in this process, as coco's own callers call it: what a process that runs
// sandboxes sees of them once run() has returned (a learn run or an install runs several).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.hpp"
#include "engine/userns_holder.hpp"
#include "harness.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace cocotest {
namespace {

// Waits up to `timeout` until this process has no child left, reaping each; false if one is
// still there then.
bool allChildrenEnd(std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pid_t pid = ::waitpid(-1, nullptr, WNOHANG | __WALL);
    if (pid < 0 && errno == ECHILD) return true;
    if (pid > 0) continue;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

// The busybox+probe rootfs of the build (tests/run-all passes it on), or "".
std::string testRootfs() {
  const char* rootfs = std::getenv("COCO_TEST_ROOTFS");
  return rootfs ? rootfs : "";
}

struct GuardedRun {
  const char* name;
  bool persistentUpper;  // coco then waits for init's exit (the namespaces' teardown)
  bool holder;           // through the user-namespace holder (of either mapping)
};

class EngineRunTest : public ::testing::TestWithParam<GuardedRun> {
 protected:
  void SetUp() override {
    COCO_REQUIRE_SANDBOX();
    rootfs_ = testRootfs();
    ASSERT_FALSE(rootfs_.empty()) << "COCO_TEST_ROOTFS is not set";
  }

  void TearDown() override {
    if (!holderDir_.empty()) (void)coco::engine::stopHolder(holderDir_);
  }

  // The eslint-shaped run: `sh -c script`, the workspace writable at /ws with the guard on.
  coco::engine::RunSpec spec(const std::string& script) {
    coco::engine::RunSpec s;
    s.layers = {rootfs_};
    s.env = {{"PATH", "/usr/bin:/bin:/usr/sbin:/sbin"}};
    s.argv = {"sh", "-c", script};
    s.workdir = "/ws";
    s.toolName = "guarded";
    s.mounts = {{ws_.path(), "/ws"}};
    s.hostSetup.stagingDir = work_.path() + "/staging";
    if (GetParam().persistentUpper) {
      fs::create_directories(work_.path() + "/layer/upper");
      s.upperDir = work_.path() + "/layer/upper";
    }
    if (GetParam().holder) {
      holderDir_ = work_.path() + "/holder";
      s.hostSetup.holderDir = holderDir_;
    }
    return s;
  }

  std::string rootfs_;
  TempDir ws_{"coco-guarded-ws"};
  TempDir work_{"coco-guarded-run"};
  std::string holderDir_;
};

// The sandbox's init keeps its copy of the workspace guard's inotify instance after the tool's
// end, so that the instance's release (an SRCU grace period, up to ~20 ms) happens in init's
// exit rather than in coco's close; it waits for coco to close its end of the events pipe.
// Attacked here: a process that runs sandboxes one after another does not exit after each, so
// init must end as soon as run() returns, not when coco exits, and the guard's check after the
// run (the planted .envrc removed) still works. Each run's children must be gone within 10 s.
TEST_P(EngineRunTest, InitEndsOnceRunReturnsWithoutCocoExiting) {
  for (int round = 0; round < 3; ++round) {
    auto rc = coco::engine::run(spec("echo 'echo pwned' > /ws/.envrc; exit 7"), nullptr);
    ASSERT_TRUE(rc) << rc.error().describe();
    EXPECT_EQ(*rc, 7);
    EXPECT_FALSE(fs::exists(ws_.path() + "/.envrc")) << "the guard's check after the run did not run";
    EXPECT_TRUE(allChildrenEnd(10s)) << "a sandbox process outlived run() (round " << round << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(Runs, EngineRunTest,
                         ::testing::Values(GuardedRun{"Scratch", false, false},
                                           GuardedRun{"PersistentUpper", true, false},
                                           GuardedRun{"ThroughTheHolder", false, true}),
                         [](const ::testing::TestParamInfo<GuardedRun>& info) { return info.param.name; });

// --- a bind's missing target in an image of several layers ------------------------------------
// The target is made through the overlay (rootfs.cpp, withTarget), which copies the image's
// directories on its way up: they keep what the image gives them (merged contents, mode,
// opaqueness), and a way through anything but a directory, in any layer, is refused with
// nothing made outside the sandbox. The CA bundle's /run/coco/ca-certificates.crt is such a
// target in every run with a network. These cases also guard any cheaper way of making the
// target (stop 56 measured one in a skeleton layer, stop 60 one made in the fresh upper before
// the mount; neither was faster): WhatAPlainMkdirCannotCopyIsLeftToTheCopyUp holds what a
// copy-up does that a mkdir does not.
class LayeredTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    COCO_REQUIRE_SANDBOX();
    rootfs_ = testRootfs();
    ASSERT_FALSE(rootfs_.empty()) << "COCO_TEST_ROOTFS is not set";
    oldUmask_ = ::umask(022);
    writeFile(work_ / "bundle.crt", "the bundle\n");
    fs::create_directories(work_ / "dir");
    writeFile(work_ / "dir/inside", "inside\n");
  }
  void TearDown() override {
    if (oldUmask_) ::umask(*oldUmask_);
  }

  // An empty layer to put above the test rootfs.
  std::string layer(const std::string& name) {
    std::string dir = work_ / ("layer-" + name);
    fs::create_directories(dir);
    return dir;
  }

  // Runs `script` with `layers` above the rootfs and `mounts` beside /ws; out() is its output.
  coco::Result<int> run(const std::vector<std::string>& layers, std::vector<coco::engine::BindMount> mounts,
                        const std::string& script, const std::string& persistentUpper = "") {
    coco::engine::RunSpec s;
    s.layers = layers;
    s.layers.push_back(rootfs_);
    s.env = {{"PATH", "/usr/bin:/bin:/usr/sbin:/sbin"}};
    s.argv = {"sh", "-c", "exec > /ws/out 2>&1; " + script};
    s.workdir = "/ws";
    s.toolName = "layered";
    mounts.push_back({ws_.path(), "/ws"});
    s.mounts = std::move(mounts);
    s.hostSetup.stagingDir = work_ / "staging";
    s.upperDir = persistentUpper;
    return coco::engine::run(s, nullptr);
  }

  std::string out() { return readFile(ws_ / "out"); }

  std::string rootfs_;
  std::optional<mode_t> oldUmask_;  // set once SetUp has set 022
  TempDir ws_{"coco-layered-ws"};
  TempDir work_{"coco-layered"};
};

TEST_F(LayeredTargetTest, TheImagesDirectoriesOnTheWayKeepTheirModeAndContents) {
  std::string top = layer("top");
  fs::create_directories(top + "/run");
  writeFile(top + "/run/from-top", "x\n");
  fs::permissions(top + "/run", fs::perms(0750));
  auto rc =
      run({top}, {{work_ / "bundle.crt", "/run/coco/ca.crt", true}, {work_ / "dir", "/opt/new/dir", true}},
          "stat -c '%a %n' /run /run/coco /opt /opt/new; ls /run; cat /run/coco/ca.crt /opt/new/dir/inside");
  ASSERT_TRUE(rc) << rc.error().describe();
  EXPECT_EQ(*rc, 0) << out();
  EXPECT_EQ(out(),
            "750 /run\n755 /run/coco\n755 /opt\n755 /opt/new\n"
            "coco\nfrom-top\nlock\n"
            "the bundle\ninside\n");
}

// An opaque directory (user.overlay.opaque, as the store marks one) hides the layers below: a
// directory there is not the image's, and a target below it is made as a missing one (755).
TEST_F(LayeredTargetTest, AnOpaqueDirectoryHidesWhatTheLayersBelowHold) {
  std::string top = layer("top"), mid = layer("mid");
  fs::create_directories(top + "/run");
  writeFile(top + "/run/from-top", "x\n");
  if (::setxattr((top + "/run").c_str(), "user.overlay.opaque", "y", 1, 0) != 0)
    GTEST_SKIP() << "user xattrs are not supported where the test's layers are (" << top << ")";
  fs::create_directories(mid + "/run/lock");
  fs::permissions(mid + "/run/lock", fs::perms(0700));
  auto rc = run({top, mid}, {{work_ / "bundle.crt", "/run/lock/ca.crt", true}},
                "stat -c '%a %n' /run/lock; ls /run");
  ASSERT_TRUE(rc) << rc.error().describe();
  EXPECT_EQ(*rc, 0) << out();
  EXPECT_EQ(out(), "755 /run/lock\nfrom-top\nlock\n");
}

// What the kernel's copy-up of an image directory does that a plain mkdir of it would not: each
// case with a scratch upper must end as the same run with a persistent upper (the path of an
// install, through the overlay either way). The image directory on the way is owned by an id the
// sandbox does not map (the host's /usr as a layer: the kernel refuses to copy such a directory
// up, where a directory made for it by init would belong to the tool), has a set-group-id bit
// (a directory made below it would inherit the bit and the group), or carries an extended
// attribute (a copy-up carries it). A version of stop 60 that made targets in the fresh upper
// failed all three.
TEST_F(LayeredTargetTest, WhatAPlainMkdirCannotCopyIsLeftToTheCopyUp) {
  std::string top = layer("top");
  fs::create_directories(top + "/srv/app");
  fs::permissions(top + "/srv", fs::perms(02775));
  fs::permissions(top + "/srv/app", fs::perms(0750));
  fs::create_directories(top + "/run");
  bool xattrs = ::setxattr((top + "/run").c_str(), "user.coco-test", "carried", 7, 0) == 0;
  struct Case {
    const char* name;
    std::vector<std::string> layers;
    std::string dst, script;
    bool copies;  // the copy-up path runs it (an unmapped owner: whatever this kernel decides)
  };
  const std::vector<Case> cases = {
      {"an unmapped owner", {"/usr", top}, "/share/coco/ca.crt", "stat -c '%a %u %g' /share", false},
      {"a set-group-id directory", {top}, "/srv/app/cfg/ca.crt", "stat -c '%a %n' /srv /srv/app", true},
      {"an extended attribute", {top}, "/run/coco/ca.crt", "probe getxattr /run user.coco-test", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    if (!xattrs && c.dst.starts_with("/run")) continue;  // said below
    TempDir keep("coco-layered-keep", work_.path());
    fs::create_directories(keep / "upper");
    auto copied = run(c.layers, {{work_ / "bundle.crt", c.dst, true}}, c.script, keep / "upper");
    std::string copiedOut = copied ? out() : "";
    if (c.copies) {
      EXPECT_TRUE(copied) << copied.error().describe();
    }
    auto made = run(c.layers, {{work_ / "bundle.crt", c.dst, true}}, c.script);
    EXPECT_EQ(static_cast<bool>(made), static_cast<bool>(copied))
        << (made ? "ran: " + out() : made.error().describe())
        << "\nthrough the copy-up: " << (copied ? "ran: " + copiedOut : copied.error().describe());
    if (made && copied) {
      EXPECT_EQ(out(), copiedOut);
    }
  }
  if (!xattrs) GTEST_SKIP() << "user xattrs are not supported where the test's layers are (" << top << ")";
}

// A non-directory in a lower layer below a directory in a higher one ends the merge there: a
// directory of a layer further down is not the image's, and a target below it is made as a
// missing one (755).
TEST_F(LayeredTargetTest, ANonDirectoryBelowADirectoryEndsTheMerge) {
  std::string top = layer("top"), mid = layer("mid"), low = layer("low");
  fs::create_directories(top + "/run/coco");
  fs::permissions(top + "/run/coco", fs::perms(0700));
  fs::create_directories(mid + "/run");
  writeFile(mid + "/run/coco", "a file\n");
  fs::create_directories(low + "/run/coco/sub");
  fs::permissions(low + "/run/coco/sub", fs::perms(0700));
  auto rc = run({top, mid, low}, {{work_ / "bundle.crt", "/run/coco/sub/ca.crt", true}},
                "stat -c '%a %n' /run/coco /run/coco/sub");
  ASSERT_TRUE(rc) << rc.error().describe();
  EXPECT_EQ(*rc, 0) << out();
  EXPECT_EQ(out(), "700 /run/coco\n755 /run/coco/sub\n");
}

// The attacks: an image (any layer, any depth) puts a symlink to a host directory, or a file,
// where the target's way needs a directory. The run is refused, as a bind over a symlink always
// was, and nothing is made in the host directory or in the layers.
TEST_F(LayeredTargetTest, AWayThroughAnImageSymlinkOrFileIsRefusedAndMakesNothing) {
  TempDir host("coco-layered-host");
  struct Case {
    const char* name;
    std::function<void(const std::string& top, const std::string& mid)> make;
  };
  const std::vector<Case> cases = {
      {"top run -> host",
       [&](const std::string& top, const std::string&) {
         fs::create_directory_symlink(host.path(), top + "/run");
       }},
      {"top run/coco -> host",
       [&](const std::string& top, const std::string&) {
         fs::create_directories(top + "/run");
         fs::create_directory_symlink(host.path(), top + "/run/coco");
       }},
      {"mid run/coco -> host below a top run",
       [&](const std::string& top, const std::string& mid) {
         fs::create_directories(top + "/run");
         fs::create_directories(mid + "/run");
         fs::create_directory_symlink(host.path(), mid + "/run/coco");
       }},
      {"mid run/coco -> relative ../../",
       [&](const std::string& top, const std::string& mid) {
         fs::create_directories(top + "/run");
         fs::create_directories(mid + "/run");
         fs::create_directory_symlink("../..", mid + "/run/coco");
       }},
      {"top run is a file",
       [&](const std::string& top, const std::string&) { writeFile(top + "/run", "x\n"); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir top("coco-layered-top", work_.path()), mid("coco-layered-mid", work_.path());
    c.make(top.path(), mid.path());
    auto rc = run({top.path(), mid.path()}, {{work_ / "bundle.crt", "/run/coco/ca.crt", true}}, "echo ran");
    EXPECT_FALSE(rc) << "the run went ahead: " << out();
    if (!rc) {
      EXPECT_TRUE(contains(rc.error().describe(), "/run/coco")) << rc.error().describe();
    }
    EXPECT_TRUE(fs::is_empty(host.path())) << "something was made in the host directory";
    EXPECT_FALSE(fs::exists(top / "run/coco/ca.crt") || fs::exists(mid / "run/coco/ca.crt") ||
                 fs::exists(mid / "ca.crt") || fs::exists(rootfs_ + "/run/coco"))
        << "something was made in a layer";
  }
}

// A directory of the image in a lower layer, over which a higher one holds a file: the file
// hides it (no merge through a non-directory), and the target's way is refused.
TEST_F(LayeredTargetTest, AFileInAHigherLayerHidesADirectoryBelowIt) {
  std::string top = layer("top"), mid = layer("mid");
  fs::create_directories(top + "/run");
  writeFile(top + "/run/coco", "a file\n");
  fs::create_directories(mid + "/run/coco");
  auto rc = run({top, mid}, {{work_ / "bundle.crt", "/run/coco/ca.crt", true}}, "echo ran");
  EXPECT_FALSE(rc) << "the run went ahead: " << out();
  EXPECT_FALSE(fs::exists(mid + "/run/coco/ca.crt"));
}

}  // namespace
}  // namespace cocotest
