// makeChildPlan's choice of the targets made in a fresh upper layer (ChildPlan::upperTargets):
// the ones a mount made before them would hide are left out, and none with a persistent upper.
#include "engine/child_plan.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "engine/run_spec.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::engine {
namespace {

class UpperTargets : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(fs::makeDirs(dir_.path() + "/layer", 0755));
    ASSERT_TRUE(fs::makeDirs(dir_.path() + "/src", 0755));
    std::ofstream(dir_.path() + "/file") << "x\n";
    spec_.layers = {dir_.path() + "/layer"};
    spec_.argv = {"true"};
    spec_.hostSetup.stagingDir = dir_.path() + "/staging";
  }

  BindMount dirMount(const std::string& dst) { return {dir_.path() + "/src", dst}; }
  BindMount fileMount(const std::string& dst) { return {dir_.path() + "/file", dst, true}; }

  // The plan's targets, a directory's with a trailing "/".
  std::vector<std::string> targets() {
    auto plan = makeChildPlan(spec_, false);
    EXPECT_TRUE(plan) << plan.error().describe();
    std::vector<std::string> out;
    if (!plan) return out;
    for (const auto& t : plan->upperTargets) out.push_back(t.path + (t.isDir ? "/" : ""));
    return out;
  }

  TempDir dir_{"coco-plan"};
  RunSpec spec_;
};

TEST_F(UpperTargets, EachBindAndTheWorkingDirectoryNoOtherMountCovers) {
  spec_.mounts = {dirMount("/home/u/proj/sub"), dirMount("/home/u/proj"), fileMount("/run/coco/ca.crt"),
                  dirMount("/home/u/project2"), fileMount("/home/u/proj/sub/f")};
  spec_.workdir = "/srv/work";
  // In the binds' order (parents first, else as given), then the working directory.
  EXPECT_EQ(targets(), (std::vector<std::string>{"/home/u/proj/", "/run/coco/ca.crt", "/home/u/project2/",
                                                 "/srv/work/"}));
}

TEST_F(UpperTargets, NotBelowTheScratchMountsOrAMountOfTheWorkingDirectory) {
  spec_.mounts = {dirMount("/tmp/.X11-unix"), fileMount("/dev/custom"), dirMount("/proc/x"), dirMount("/ws"),
                  dirMount("/tmpx")};
  spec_.workdir = "/ws/a/b";
  EXPECT_EQ(targets(), (std::vector<std::string>{"/ws/", "/tmpx/"}));
  spec_.workdir = "/";  // the root: nothing to make
  EXPECT_EQ(targets(), (std::vector<std::string>{"/ws/", "/tmpx/"}));
}

TEST_F(UpperTargets, NoneWithAPersistentUpper) {
  ASSERT_TRUE(fs::makeDirs(dir_.path() + "/keep/upper", 0755));
  spec_.upperDir = dir_.path() + "/keep/upper";
  spec_.mounts = {fileMount("/run/coco/ca.crt")};
  spec_.workdir = "/srv/work";
  EXPECT_TRUE(targets().empty());
}

}  // namespace
}  // namespace coco::engine
