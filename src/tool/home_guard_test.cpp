// Tests for the writable home guard: what counts as home, what is refused, and what the refusal says.
#include "tool/home_guard.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::tool {
namespace {

class HomeGuard : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = fs::joinPath(tmp_.path(), "home/u");
    project_ = fs::joinPath(home_, "project");
    ASSERT_TRUE(fs::makeDirs(project_).ok());
  }

  config::ToolConfig tool(const std::string& src, bool readOnly = false) {
    config::ToolConfig c;
    c.name = "eslint";
    c.path = "/cfg/eslint.json";
    c.mounts.push_back({src, "/workspace", readOnly});
    return c;
  }

  GrantContext from(const std::string& cwd) { return {cwd, home_, "", {}}; }

  std::string refusal(const config::ToolConfig& c, const std::string& cwd, HomeGuardOptions o = {}) {
    Status s = checkWritableHome(c, from(cwd), o);
    return s ? std::string() : s.error().message();
  }

  TempDir tmp_{"coco-home-guard"};
  std::string home_, project_;
};

TEST_F(HomeGuard, ExposesHomeIsHomeAboveItOrRoot) {
  EXPECT_TRUE(exposesHome(home_, home_));
  EXPECT_TRUE(exposesHome(fs::joinPath(tmp_.path(), "home"), home_));
  EXPECT_TRUE(exposesHome("/", home_));
  EXPECT_FALSE(exposesHome(project_, home_));
  EXPECT_FALSE(exposesHome(home_ + "2", home_));
  EXPECT_TRUE(exposesHome("/", ""));
}

// `cd ~ && eslint .`: the whole home, writable, refused; the message says what and both ways to allow it.
TEST_F(HomeGuard, DotRunFromHomeIsRefused) {
  std::string msg = refusal(tool("."), home_);
  ASSERT_FALSE(msg.empty());
  EXPECT_NE(msg.find("/cfg/eslint.json: mount . -> /workspace is writable and exposes your home directory"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find(home_), std::string::npos) << msg;
  EXPECT_NE(msg.find("coco run --allow-home eslint"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'allow_home: true' in /cfg/eslint.json"), std::string::npos) << msg;
  EXPECT_EQ(checkWritableHome(tool("."), from(home_), {}).error().code(), EACCES);
  // From the project it is an ordinary workspace.
  EXPECT_EQ(refusal(tool("."), project_), "");
}

TEST_F(HomeGuard, AboveHomeAndRootAreRefused) {
  EXPECT_NE(refusal(tool("."), fs::joinPath(tmp_.path(), "home")).find("a directory above your home"),
            std::string::npos);
  EXPECT_NE(refusal(tool("/"), project_).find("the whole host file system"), std::string::npos);
  EXPECT_NE(refusal(tool("."), "/").find("the whole host file system"), std::string::npos);
  EXPECT_NE(refusal(tool(".."), project_).find("your home directory"), std::string::npos);
}

// Naming the home in the config is no confirmation: a writable ~ is refused too.
TEST_F(HomeGuard, ExplicitHomeIsRefusedToo) {
  EXPECT_NE(refusal(tool("~"), project_).find("~ is " + home_), std::string::npos);
  EXPECT_NE(refusal(tool(home_), project_), "");
  EXPECT_NE(refusal(tool("~/project/.."), project_), "");
}

// A symlink that leads to home (the user's or one planted) is resolved first.
TEST_F(HomeGuard, SymlinkToHomeIsRefused) {
  std::string link = fs::joinPath(tmp_.path(), "elsewhere");
  ASSERT_EQ(::symlink(home_.c_str(), link.c_str()), 0);
  EXPECT_NE(refusal(tool("."), link), "");
  EXPECT_NE(refusal(tool(link), project_), "");
  std::string projLink = fs::joinPath(tmp_.path(), "proj");
  ASSERT_EQ(::symlink(project_.c_str(), projLink.c_str()), 0);
  EXPECT_EQ(refusal(tool("."), projLink), "");
}

TEST_F(HomeGuard, ReadOnlyIsNotItsToRefuse) {
  EXPECT_EQ(refusal(tool(".", true), home_), "");
  EXPECT_EQ(refusal(tool("/", true), project_), "");
}

TEST_F(HomeGuard, FlagOrConfigKeyAllows) {
  EXPECT_EQ(refusal(tool("."), home_, {true, true}), "");
  config::ToolConfig c = tool("~");
  c.allowHome = true;
  EXPECT_EQ(refusal(c, project_), "");
}

// Started through its link, the tool takes no coco options: the config key comes first.
TEST_F(HomeGuard, ThroughTheLinkTheConfigKeyIsNamed) {
  std::string msg = refusal(tool("."), home_, {false, false});
  EXPECT_NE(
      msg.find("set 'allow_home: true' in /cfg/eslint.json to allow it (a tool started through its link"),
      std::string::npos)
      << msg;
}

// The grants check (a path reached through '.') lets a confirmed home pass, and says how to confirm it.
TEST_F(HomeGuard, GrantsCheckHonoursTheConfirmation) {
  config::ToolConfig ro = tool(".", true);
  Status refused = checkMountGrants(ro, from(home_));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("--allow-home"), std::string::npos) << refused.error().message();
  EXPECT_TRUE(checkMountGrants(ro, from(home_), true).ok());
  // Credentials are no home: the confirmation does not cover them.
  ASSERT_TRUE(fs::makeDirs(fs::joinPath(home_, ".ssh")).ok());
  EXPECT_FALSE(checkMountGrants(tool(".", true), from(fs::joinPath(home_, ".ssh")), true).ok());
}

}  // namespace
}  // namespace coco::tool
