// engine::run() called in this process, as coco's own callers call it: what a process that runs
// sandboxes sees of them once run() has returned (a learn run or an install runs several).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

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

struct GuardedRun {
  const char* name;
  bool persistentUpper;  // coco then waits for init's exit (the namespaces' teardown)
  bool holder;           // through the user-namespace holder (of either mapping)
};

class EngineRunTest : public ::testing::TestWithParam<GuardedRun> {
 protected:
  void SetUp() override {
    COCO_REQUIRE_SANDBOX();
    const char* rootfs = std::getenv("COCO_TEST_ROOTFS");
    ASSERT_TRUE(rootfs && *rootfs) << "COCO_TEST_ROOTFS is not set";
    rootfs_ = rootfs;
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

}  // namespace
}  // namespace cocotest
