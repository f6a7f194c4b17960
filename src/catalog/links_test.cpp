// Tests for up/down: links are made and removed, foreign files are never touched.
#include "catalog/links.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <climits>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::catalog {
namespace {

using Action = LinkOutcome::Action;

class LinksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path();
    bin_ = root_ + "/home/.local/bin";
    coco_ = root_ + "/opt/coco";
    ASSERT_TRUE(fs::makeDirs(root_ + "/opt").ok());
    ASSERT_TRUE(fs::writeFileAtomic(coco_, "#!/bin/true\n", 0755).ok());
  }

  std::string target(const std::string& name) const {
    char buf[PATH_MAX];
    ssize_t n = ::readlink((bin_ + "/" + name).c_str(), buf, sizeof buf);
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
  }
  void link(const std::string& to, const std::string& name) {
    ASSERT_TRUE(fs::makeDirs(bin_).ok());
    ASSERT_EQ(::symlink(to.c_str(), (bin_ + "/" + name).c_str()), 0);
  }

  TempDir tmp_{"coco-links-test"};
  std::string root_, bin_, coco_;
};

TEST_F(LinksTest, UpCreatesLinksAndTheBinDir) {
  auto r = up({"eslint", "ruff"}, bin_, coco_);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].action, Action::Created);
  EXPECT_EQ((*r)[0].path, bin_ + "/eslint");
  EXPECT_EQ(target("eslint"), coco_);
  EXPECT_EQ(target("ruff"), coco_);
}

// A tool named like a system command (python3, sh, node) would take its name
// for every program that runs it: skipped unless forced, and said why.
TEST_F(LinksTest, UpRefusesToShadowACommandElsewhereInPath) {
  std::string sys = root_ + "/usr/bin";
  ASSERT_TRUE(fs::makeDirs(sys).ok());
  ASSERT_TRUE(fs::writeFileAtomic(sys + "/python3", "#!/bin/true\n", 0755).ok());
  ASSERT_TRUE(fs::writeFileAtomic(sys + "/notes", "not executable\n", 0644).ok());
  UpOptions options{{bin_, "relative/bin", sys}, false};
  auto r = up({"python3", "notes", "eslint"}, bin_, coco_, options);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ((*r)[0].action, Action::Skipped);
  EXPECT_NE((*r)[0].detail.find(sys + "/python3 is a command in your PATH"), std::string::npos)
      << (*r)[0].detail;
  EXPECT_NE((*r)[0].detail.find("--force"), std::string::npos);
  EXPECT_FALSE(fs::exists(bin_ + "/python3"));
  EXPECT_EQ((*r)[1].action, Action::Created);  // a file that is no command is no command
  EXPECT_EQ((*r)[2].action, Action::Created);
  options.force = true;
  auto forced = up({"python3"}, bin_, coco_, options);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ((*forced)[0].action, Action::Created);
  EXPECT_NE((*forced)[0].detail.find(sys + "/python3"), std::string::npos);
  EXPECT_EQ(target("python3"), coco_);
}

// coco's own links elsewhere in PATH (another bin directory of links) are no command of their own.
TEST_F(LinksTest, CommandElsewhereIgnoresCocoLinksAndTheBinDir) {
  std::string other = root_ + "/other-bin";
  ASSERT_TRUE(fs::makeDirs(other).ok());
  ASSERT_EQ(::symlink(coco_.c_str(), (other + "/eslint").c_str()), 0);
  link(coco_, "ruff");
  EXPECT_EQ(commandElsewhere("eslint", {other, bin_}, bin_, coco_), "");
  EXPECT_EQ(commandElsewhere("ruff", {bin_}, bin_, coco_), "");
  ASSERT_TRUE(fs::writeFileAtomic(other + "/black", "#!/bin/true\n", 0755).ok());
  EXPECT_EQ(commandElsewhere("black", {bin_, other}, bin_, coco_), other + "/black");
}

TEST_F(LinksTest, UpTwiceIsUnchanged) {
  ASSERT_TRUE(up({"eslint"}, bin_, coco_).ok());
  auto r = up({"eslint"}, bin_, coco_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].action, Action::Unchanged);
}

TEST_F(LinksTest, UpSkipsForeignFilesAndLinks) {
  ASSERT_TRUE(fs::makeDirs(bin_).ok());
  ASSERT_TRUE(fs::writeFileAtomic(bin_ + "/eslint", "real eslint", 0755).ok());
  link("/usr/bin/true", "ruff");
  auto r = up({"eslint", "ruff"}, bin_, coco_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].action, Action::Skipped);
  EXPECT_EQ((*r)[1].action, Action::Skipped);
  EXPECT_FALSE((*r)[0].detail.empty());
  EXPECT_EQ(fs::readFile(bin_ + "/eslint").value(), "real eslint");
  EXPECT_EQ(target("ruff"), "/usr/bin/true");
}

TEST_F(LinksTest, UpRepointsLinksToAnotherCoco) {
  link("/old/place/coco", "eslint");
  auto r = up({"eslint"}, bin_, coco_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].action, Action::Updated);
  EXPECT_EQ(target("eslint"), coco_);
}

TEST_F(LinksTest, UpNeverLinksCocoItselfAndNeedsAbsolutePath) {
  auto r = up({"coco"}, bin_, coco_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].action, Action::Skipped);
  EXPECT_FALSE(fs::exists(bin_ + "/coco"));
  EXPECT_FALSE(up({"eslint"}, bin_, "coco").ok());
  EXPECT_FALSE(up({"eslint"}, bin_, "").ok());
}

TEST_F(LinksTest, DownRemovesOnlyCocoLinks) {
  ASSERT_TRUE(up({"eslint"}, bin_, coco_).ok());
  link("/usr/bin/true", "ruff");
  ASSERT_TRUE(fs::writeFileAtomic(bin_ + "/black", "mine", 0755).ok());
  auto r = down({"eslint", "ruff", "black", "prettier"}, bin_, coco_);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].action, Action::Removed);
  EXPECT_EQ((*r)[1].action, Action::Skipped);
  EXPECT_EQ((*r)[2].action, Action::Skipped);
  EXPECT_EQ((*r)[3].action, Action::Absent);
  EXPECT_FALSE(fs::exists(bin_ + "/eslint"));
  EXPECT_EQ(target("ruff"), "/usr/bin/true");
  EXPECT_EQ(fs::readFile(bin_ + "/black").value(), "mine");
}

TEST_F(LinksTest, DownRemovesStrayCocoLinksButNotCocoItself) {
  link(coco_, "oldtool");       // config removed after `coco up`
  link(coco_, "coco");          // coco installed into ~/.local/bin this way
  link("/usr/bin/true", "other");
  auto r = down({}, bin_, coco_);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].name, "oldtool");
  EXPECT_EQ((*r)[0].action, Action::Removed);
  EXPECT_EQ(target("coco"), coco_);
  EXPECT_EQ(target("other"), "/usr/bin/true");
}

TEST_F(LinksTest, DownWithoutBinDirIsFine) {
  auto r = down({"eslint"}, bin_, coco_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].action, Action::Absent);
}

TEST_F(LinksTest, PointsToCocoFollowsRelativeLinks) {
  link("../../../opt/coco", "eslint");
  EXPECT_TRUE(pointsToCoco(bin_ + "/eslint", coco_));
  link("/usr/bin/true", "ruff");
  EXPECT_FALSE(pointsToCoco(bin_ + "/ruff", coco_));
  EXPECT_FALSE(pointsToCoco(bin_ + "/missing", coco_));
}

}  // namespace
}  // namespace coco::catalog
