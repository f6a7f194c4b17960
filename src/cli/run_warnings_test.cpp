// Tests for the warnings a run prints once per config change and the record behind them.
#include "cli/run_warnings.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::cli {
namespace {

const ShowContext kCtx{"/nonexistent-coco/home/u/project", "/nonexistent-coco/home/u", ""};

config::ToolConfig fullNetworkTool() {
  config::ToolConfig c;
  c.name = "t";
  c.path = "/x/t.json";
  c.command = "t";
  c.hash = "hash-1";
  return c;  // no `network` key: full outbound
}

// Attack first: a record planted as a symlink (to a file that holds the right
// digest) must not silence the warnings, nor be written through.
TEST(RunWarnings, SymlinkRecordIsAbsentAndNeverFollowed) {
  TempDir tmp("coco-warned");
  std::string state = tmp.sub("state");
  auto config = fullNetworkTool();
  std::vector<std::string> warnings = {"w1"};
  std::string digest = warnedDigest(config, warnings);
  std::string target = tmp.sub("elsewhere");
  ASSERT_TRUE(fs::writeFileAtomic(target, digest + "\n").ok());
  ASSERT_TRUE(fs::makeDirs(state + "/warned").ok());
  ASSERT_EQ(::symlink(target.c_str(), (state + "/warned/t").c_str()), 0);
  EXPECT_FALSE(alreadyWarned(state, "t", digest));
  std::ostringstream err;
  warnOncePerConfig(err, state, config, warnings);
  EXPECT_NE(err.str().find("coco: warning: w1"), std::string::npos) << err.str();
  // The record replaced the link; the link's target is untouched.
  struct stat st;
  ASSERT_EQ(::lstat((state + "/warned/t").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(*fs::readFile(target), digest + "\n");
  EXPECT_TRUE(alreadyWarned(state, "t", digest));
}

TEST(RunWarnings, UnreadableOrOddRecordIsAbsent) {
  TempDir tmp("coco-warned");
  std::string state = tmp.sub("state");
  auto config = fullNetworkTool();
  std::string digest = warnedDigest(config, {"w1"});
  ASSERT_TRUE(rememberWarned(state, "t", digest).ok());
  EXPECT_TRUE(alreadyWarned(state, "t", digest));
  if (::geteuid() != 0) {  // root reads a mode-0 file
    ASSERT_EQ(::chmod((state + "/warned/t").c_str(), 0), 0);
    EXPECT_FALSE(alreadyWarned(state, "t", digest));
  }
  ASSERT_EQ(::unlink((state + "/warned/t").c_str()), 0);
  ASSERT_TRUE(fs::makeDirs(state + "/warned/t").ok());  // a directory
  EXPECT_FALSE(alreadyWarned(state, "t", digest));
  ASSERT_EQ(::rmdir((state + "/warned/t").c_str()), 0);
  ASSERT_TRUE(fs::writeFileAtomic(state + "/warned/t", std::string(4096, 'a')).ok());  // too big
  EXPECT_FALSE(alreadyWarned(state, "t", digest));
  EXPECT_FALSE(alreadyWarned("", "t", digest));
}

TEST(RunWarnings, OncePerConfigChange) {
  TempDir tmp("coco-warned");
  std::string state = tmp.sub("state");
  auto config = fullNetworkTool();
  auto warnings = configWarnings(config, kCtx, true);
  ASSERT_EQ(warnings.size(), 1u);
  std::ostringstream first, second, changed;
  warnOncePerConfig(first, state, config, warnings);
  EXPECT_NE(first.str().find("coco: warning: network: full outbound access"), std::string::npos)
      << first.str();
  EXPECT_NE(first.str().find("'coco show t'"), std::string::npos) << first.str();
  warnOncePerConfig(second, state, config, warnings);
  EXPECT_EQ(second.str(), "");
  config.hash = "hash-2";
  warnOncePerConfig(changed, state, config, warnings);
  EXPECT_NE(changed.str().find("full outbound"), std::string::npos);
  // The record is private to the user.
  struct stat st;
  ASSERT_EQ(::stat((state + "/warned/t").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Nothing to warn about: nothing printed, nothing written.
  std::ostringstream none;
  warnOncePerConfig(none, state, config, {});
  EXPECT_EQ(none.str(), "");
}

// The native runtime ignores podman_args: said by name; podman and docker use them.
TEST(RunWarnings, PodmanArgsWithTheNativeRuntime) {
  auto config = fullNetworkTool();
  config.network = NetworkMode::None;
  EXPECT_TRUE(configWarnings(config, kCtx, true).empty());
  config.podmanArgs = {"--pids-limit", "100"};
  auto w = configWarnings(config, kCtx, true);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("podman_args (--pids-limit 100) are ignored by the native runtime"), std::string::npos)
      << w[0];
  EXPECT_TRUE(configWarnings(config, kCtx, false).empty());
}

// z, Z and U are podman's: a note under the native runtime, nothing for podman and docker.
TEST(RunWarnings, PodmanMountOptionsWithTheNativeRuntime) {
  auto config = fullNetworkTool();
  config.network = NetworkMode::None;
  config::MountConfig m;
  m.src = "/p";
  m.dst = "/workspace";
  m.relabel = "z,U";
  config.mounts.push_back(m);
  auto w = configWarnings(config, kCtx, true);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("mount /workspace: podman's option z,U is ignored by the native runtime"), std::string::npos)
      << w[0];
  EXPECT_TRUE(configWarnings(config, kCtx, false).empty());
}

TEST(RunWarnings, StateDir) {
  EXPECT_EQ(stateDir({{"HOME", "/h"}}), "/h/.local/state/coco");
  EXPECT_EQ(stateDir({{"HOME", "/h"}, {"XDG_STATE_HOME", "/s"}}), "/s/coco");
  EXPECT_EQ(stateDir({{"HOME", "/h"}, {"XDG_STATE_HOME", "rel"}}), "/h/.local/state/coco");
  EXPECT_EQ(stateDir({{"HOME", "rel"}}), "");
}

}  // namespace
}  // namespace coco::cli
