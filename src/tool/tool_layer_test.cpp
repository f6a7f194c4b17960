// Unit tests: install scripts, layer records, tool states and the run-phase environment, without sandboxes.
#include "tool/tool_layer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <mutex>
#include <thread>

#include "tool/base_image.hpp"
#include "tool/ca_bundle.hpp"
#include "tool/install_sandbox.hpp"
#include "tool/plan.hpp"
#include "util/fd_limit.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::tool {
namespace {

config::ToolConfig eslintConfig() {
  config::ToolConfig c;
  c.name = "eslint";
  c.path = "/x/eslint.json";
  c.tool = "npm:eslint";
  c.command = "eslint";
  c.hash = "h1";
  return c;
}

image::Image baseImage() {
  return image::Image{"coco-base", {"/store/layers/top", "/store/layers/debian"},
                      {{"PATH", "/usr/bin:/bin"}, {"MISE_YES", "1"}}, "/workspace"};
}

class ToolLayerStore : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path();
  }
  void addLayer(const std::string& name, const std::string& dir, const ToolLayer& layer) {
    std::string d = root_ + "/tool-layers/" + name + "/" + dir;
    ASSERT_TRUE(fs::makeDirs(d + "/layer"));
    ASSERT_TRUE(fs::writeFileAtomic(d + "/record.json", layerToJson(layer)));
  }
  TempDir tmp_{"coco-tool-layer"};
  std::string root_;
};

TEST(InstallScript, QuotesSpecsAndRecordsTheEnvironment) {
  auto c = eslintConfig();
  c.tool = "npm:eslint@9";
  c.aptDependencies = {"build-essential", "it's"};
  c.miseDependencies = {"node@22"};
  std::string s = installScript(c);
  EXPECT_NE(s.find("apt-get $apt_opts install -y --no-install-recommends 'build-essential' 'it'\\''s'\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("apt_opts='-o APT::Sandbox::User=root'"), std::string::npos) << s;
  EXPECT_NE(s.find("mise use --global 'node@22' 'npm:eslint[npm_args=--ignore-scripts=false]@9'\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("mise env --json > /.coco/mise-env.json"), std::string::npos);
  EXPECT_LT(s.find("apt-get $apt_opts update"), s.find("mise use"));
}

TEST(InstallScript, PrimesNodesCompileCacheByOneStartOfTheTool) {
  auto c = eslintConfig();
  c.command = "eslint --cache";
  std::string s = smokeStartScript(c);
  EXPECT_EQ(s,
            "exec </dev/null >/.coco-check/log 2>&1\n"
            "NODE_COMPILE_CACHE=/root/.cache/node-compile-cache exec timeout 60 mise exec -- 'eslint' '--version'\n");
  EXPECT_EQ(smokeStartCommand(c), "eslint --version");
  // The start runs package code: it has a sandbox of its own, where the io dir
  // coco reads back is not mounted, so the install script does not start the tool.
  EXPECT_EQ(s.find("/.coco/"), std::string::npos) << s;
  EXPECT_EQ(installScript(c).find("--version"), std::string::npos);
  EXPECT_EQ(installScript(c).find("NODE_COMPILE_CACHE"), std::string::npos);
  c.tool.reset();  // a command from the image: nothing installed, nothing primed
  c.miseDependencies = {"node@22"};
  EXPECT_EQ(smokeStartScript(c), "");
}

// `check` replaces --version; an empty list starts the tool with no arguments.
TEST(InstallScript, TheCheckArgumentsReplaceVersion) {
  auto c = eslintConfig();
  c.command = "go";
  c.check = std::vector<std::string>{"version", "it's"};
  EXPECT_NE(smokeStartScript(c).find("mise exec -- 'go' 'version' 'it'\\''s'\n"), std::string::npos)
      << smokeStartScript(c);
  EXPECT_EQ(smokeStartCommand(c), "go version it's");
  c.check = std::vector<std::string>{};
  EXPECT_NE(smokeStartScript(c).find("mise exec -- 'go'\n"), std::string::npos) << smokeStartScript(c);
}

// mise skips npm install scripts unless told; a package whose binary comes from
// its postinstall (claude) then fails with "Exec format error".
TEST(InstallScript, NpmPackagesRunTheirInstallScripts) {
  const std::string o = "[npm_args=--ignore-scripts=false]";
  EXPECT_EQ(miseInstallSpec("npm:eslint"), "npm:eslint" + o);
  EXPECT_EQ(miseInstallSpec("npm:eslint@9"), "npm:eslint" + o + "@9");
  EXPECT_EQ(miseInstallSpec("npm:@anthropic-ai/claude-code"), "npm:@anthropic-ai/claude-code" + o);
  EXPECT_EQ(miseInstallSpec("npm:@scope/x@2.1"), "npm:@scope/x" + o + "@2.1");
  EXPECT_EQ(miseInstallSpec("npm:x[foo=bar]@1"), "npm:x[npm_args=--ignore-scripts=false,foo=bar]@1");
  EXPECT_EQ(miseInstallSpec("npm:x[npm_args=--y]"), "npm:x[npm_args=--y]");
  for (const char* other : {"pipx:black", "node@22", "ripgrep", "cargo:npm-x"}) EXPECT_EQ(miseInstallSpec(other), other);
  auto c = eslintConfig();
  c.tool = "npm:eslint@9";
  c.miseDependencies = {"node@22"};
  EXPECT_NE(installScript(c).find("mise use --global 'node@22' 'npm:eslint[npm_args=--ignore-scripts=false]@9'\n"),
            std::string::npos)
      << installScript(c);
}

TEST(InstallScript, TheHostsCratesIoReplacementGoesWhereTheInstallsCargoReadsIt) {
  auto c = eslintConfig();
  c.tool = "cargo:tokei";
  std::string plain = installScript(c), s = installScript(c, /*cargoConfig=*/true);
  EXPECT_EQ(plain.find("cargo-config.toml"), std::string::npos) << plain;
  std::string step = "mkdir -p \"${CARGO_HOME:-$HOME/.cargo}\"\n"
                     "cp /.coco/cargo-config.toml \"${CARGO_HOME:-$HOME/.cargo}/config.toml\"\n";
  size_t at = s.find(step);
  ASSERT_NE(at, std::string::npos) << s;
  EXPECT_LT(at, s.find("mise use")) << "cargo must see it before mise runs cargo install";
}

TEST(InstallScript, NoAptWithoutAptDependencies) {
  std::string s = installScript(eslintConfig());
  EXPECT_EQ(s.find("apt-get"), std::string::npos);
  EXPECT_EQ(s.rfind("set -eu\n", 0), 0u);
}

TEST(NeedsLayer, OnlyForToolsAndDependencies) {
  config::ToolConfig plain;
  plain.command = "probe";
  EXPECT_FALSE(needsLayer(plain));
  plain.aptDependencies = {"jq"};
  EXPECT_TRUE(needsLayer(plain));
  EXPECT_TRUE(needsLayer(eslintConfig()));
}

TEST(LayerRecord, RoundTripAndBadInput) {
  ToolLayer l{"", "h1", "top", "npm:eslint", "9.39.1", "2026-01-01T00:00:00Z", {{"PATH", "/a:/b"}, {"X", "y"}}};
  auto back = layerFromJson(layerToJson(l));
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(back->hash, "h1");
  EXPECT_EQ(back->version, "9.39.1");
  EXPECT_EQ(back->env, l.env);
  EXPECT_EQ(back->recipe, 0);
  l.recipe = kInstallRecipe;
  EXPECT_EQ(layerFromJson(layerToJson(l))->recipe, kInstallRecipe);
  EXPECT_EQ(layerFromJson(R"({"hash": "h", "base": "b", "recipe": "2"})")->recipe, 0);
  EXPECT_FALSE(layerFromJson("not json").ok());
  EXPECT_FALSE(layerFromJson("[]").ok());
  EXPECT_FALSE(layerFromJson(R"({"hash": 3, "base": "top"})").ok());
  auto odd = layerFromJson(R"({"hash": "h", "base": "b", "env": [["A"], ["B", 1], ["C", "c"], 5]})");
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->env, (std::vector<std::pair<std::string, std::string>>{{"C", "c"}}));
}

TEST_F(ToolLayerStore, ToolStates) {
  auto base = baseImage();
  auto c = eslintConfig();
  auto none = toolStatus(c, base, root_);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->state, ToolState::NotInstalled);

  addLayer("eslint", "h0", {"", "h0", "top", "npm:eslint", "9.0.0", "", {}});
  auto old = toolStatus(c, base, root_);
  EXPECT_EQ(old->state, ToolState::Outdated);
  EXPECT_EQ(old->layer->version, "9.0.0");

  addLayer("eslint", "h1", {"", "h1", "oldbase", "npm:eslint", "9.1.0", "", {}});
  EXPECT_EQ(toolStatus(c, base, root_)->state, ToolState::Outdated);  // built on a previous base image

  // Installed by an earlier recipe (npm's install scripts skipped): outdated, installed again.
  addLayer("eslint", "h1", {"", "h1", "top", "npm:eslint", "9.2.0", "", {}});
  EXPECT_EQ(toolStatus(c, base, root_)->state, ToolState::Outdated);

  addLayer("eslint", "h1", {"", "h1", "top", "npm:eslint", "9.2.0", "", {}, kInstallRecipe});
  auto now = toolStatus(c, base, root_);
  EXPECT_EQ(now->state, ToolState::Installed);
  EXPECT_EQ(now->layer->version, "9.2.0");
  EXPECT_EQ(now->layer->dir, root_ + "/tool-layers/eslint/h1/layer");

  config::ToolConfig plain;
  plain.name = "probe";
  EXPECT_EQ(toolStatus(plain, base, root_)->state, ToolState::NotNeeded);
}

// The install's package code chooses the version mise reports, which the record keeps: what
// `coco list` reads back has no control character (an OSC 52 clipboard write, a C1 CSI, a
// newline), as the install's progress line showed it, and a huge one is cut.
TEST_F(ToolLayerStore, AVersionWithControlCharactersIsReadBackWithout) {
  auto base = baseImage();
  auto c = eslintConfig();
  const std::string version = "9.2.0\033]52;c;ZWNobyBoaQ==\a\xc2\x9b" "2A\r\nx";
  addLayer("eslint", "h1", {"", "h1", "top", "npm:eslint", version, "", {}, kInstallRecipe});
  auto status = toolStatus(c, base, root_);
  ASSERT_TRUE(status.ok()) << status.error().describe();
  ASSERT_TRUE(status->layer);
  EXPECT_EQ(status->layer->version, "9.2.0?]52;c;ZWNobyBoaQ==??2A??x");
  addLayer("eslint", "h1", {"", "h1", "top", "npm:eslint", std::string(100000, '9'), "", {}, kInstallRecipe});
  EXPECT_EQ(toolStatus(c, base, root_)->layer->version.size(), 64u);
}

TEST_F(ToolLayerStore, WarmLayerIsUsedWithoutARunner) {
  auto base = baseImage();
  auto c = eslintConfig();
  addLayer("eslint", "h1", {"", "h1", "top", "npm:eslint", "9.2.0", "", {{"PATH", "/mise/bin"}}, kInstallRecipe});
  ToolLayerOptions o;
  o.storageRoot = root_;  // no runner: an install would fail
  auto layer = ensureToolLayer(c, base, o);
  ASSERT_TRUE(layer.ok()) << layer.error().describe();
  ASSERT_TRUE(layer->has_value());
  EXPECT_EQ((*layer)->env.front().second, "/mise/bin");

  c.hash = "h2";  // the config changed: an install is needed, and without a runner that is an error
  EXPECT_FALSE(ensureToolLayer(c, base, o).ok());
}

// mise installs into /opt/mise, not its default /root/.local/share/mise/installs: node's module
// paths are shorter (tool_layer.cpp). The install and the tool's one start, which primes the
// compile cache for the paths the runs will use, both see it.
TEST_F(ToolLayerStore, MiseInstallsUnderOptMiseInTheInstallAndItsStart) {
  auto c = eslintConfig();
  ToolLayerOptions o;
  o.storageRoot = root_;
  o.cacheRoot = root_ + "/cache";
  std::vector<engine::RunSpec> runs;
  o.run = [&](const engine::RunSpec& spec) -> Result<int> {
    runs.push_back(spec);
    return 0;
  };
  o.progress = [](const image::ProgressEvent&) {};
  auto layer = ensureToolLayer(c, baseImage(), o);
  ASSERT_TRUE(layer.ok()) << layer.error().describe();
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& spec : runs) {
    auto var = std::find_if(spec.env.begin(), spec.env.end(),
                            [](const auto& kv) { return kv.first == "MISE_INSTALLS_DIR"; });
    ASSERT_NE(var, spec.env.end()) << spec.argv.back();
    EXPECT_EQ(var->second, "/opt/mise") << spec.argv.back();
  }
  ASSERT_TRUE(layer->has_value());
  auto recorded = std::find_if((*layer)->env.begin(), (*layer)->env.end(),
                               [](const auto& kv) { return kv.first == "MISE_INSTALLS_DIR"; });
  ASSERT_NE(recorded, (*layer)->env.end()) << "the runs' environment would send a mise to its default directory";
  EXPECT_EQ(recorded->second, "/opt/mise");
}

TEST_F(ToolLayerStore, RemoveToolLayersKeepsCurrentOnes) {
  addLayer("eslint", "h0", {"", "h0", "top", "npm:eslint", "", "", {}});
  addLayer("eslint", "h1", {"", "h1", "top", "npm:eslint", "", "", {}});
  addLayer("gone", "h9", {"", "h9", "top", "npm:gone", "", "", {}});
  auto freed = removeToolLayers(root_, {{"eslint", "h1"}}, true);
  ASSERT_TRUE(freed.ok()) << freed.error().describe();
  EXPECT_FALSE(fs::exists(root_ + "/tool-layers/eslint/h0"));
  EXPECT_TRUE(fs::exists(root_ + "/tool-layers/eslint/h1/record.json"));
  EXPECT_FALSE(fs::exists(root_ + "/tool-layers/gone/h9"));
  ASSERT_TRUE(removeToolLayers(root_, {}, false).ok());
  EXPECT_FALSE(fs::exists(root_ + "/tool-layers/eslint/h1"));
}

// The attacks first: what a listing finds must be the storage's own directories.
TEST_F(ToolLayerStore, ListingSkipsPlantedSymlinksAndForeignRecords) {
  std::string outside = root_ + "/outside";
  ASSERT_TRUE(fs::makeDirs(outside + "/h5/layer"));
  ASSERT_TRUE(
      fs::writeFileAtomic(outside + "/h5/record.json", layerToJson({"", "h5", "top", "npm:x", "", "", {}})));
  ASSERT_TRUE(fs::makeDirs(root_ + "/tool-layers/ok"));
  ASSERT_EQ(::symlink(outside.c_str(), (root_ + "/tool-layers/evil").c_str()), 0);             // a tool dir
  ASSERT_EQ(::symlink((outside + "/h5").c_str(), (root_ + "/tool-layers/ok/h5").c_str()), 0);  // a layer dir
  addLayer("ok", "h6", {"", "other-hash", "top", "npm:x", "", "", {}});  // a record of another dir
  addLayer("ok", ".build-1", {"", ".build-1", "top", "npm:x", "", "", {}});
  addLayer("eslint", "h1", {"", "h1", "top", "npm:eslint", "9.0.0", "", {}});
  auto list = listToolLayers(root_);
  ASSERT_TRUE(list.ok()) << list.error().describe();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].tool, "eslint");
  EXPECT_EQ((*list)[0].layer.version, "9.0.0");
  EXPECT_EQ((*list)[0].layer.base, "top");

  EXPECT_FALSE(removeToolLayer(root_, {"../outside", {"", "h5", "top", "", "", "", {}}}).ok());
  EXPECT_FALSE(removeToolLayer(root_, {"ok", {"", "../../outside/h5", "top", "", "", "", {}}}).ok());
  // The symlinked layer dir is not followed: removing "ok/h5" leaves its target alone.
  auto viaLink = removeToolLayer(root_, {"ok", {"", "h5", "top", "", "", "", {}}});
  ASSERT_TRUE(viaLink.ok()) << viaLink.error().describe();
  EXPECT_TRUE(fs::exists(outside + "/h5/record.json"));
  auto freed = removeToolLayer(root_, (*list)[0]);
  ASSERT_TRUE(freed.ok()) << freed.error().describe();
  EXPECT_FALSE(fs::exists(root_ + "/tool-layers/eslint/h1"));
  EXPECT_TRUE(listToolLayers(root_)->empty());
}

// An install's output is the tool's: a failure's message shows its escapes instead of sending them
// to the terminal (OSC 52 would write the clipboard, CSI 2J clear the screen).
TEST(TailOfFile, ShowsControlCharactersInsteadOfSendingThem) {
  TempDir tmp("coco-tail");
  std::string log = tmp.path() + "/log";
  ASSERT_TRUE(fs::writeFileAtomic(
      log, "one\r\nhello \x1b]52;c;ZXZpbA==\x07 \x1b[2J\n" + std::string(400, 'x') + "\nlast\n"));
  std::string tail = tailOfFile(log, 3);
  EXPECT_EQ(tail.find('\x1b'), std::string::npos) << tail;
  EXPECT_EQ(tail.find('\x07'), std::string::npos) << tail;
  EXPECT_EQ(tail.find('\r'), std::string::npos) << tail;
  EXPECT_EQ(tail, "\n  hello \\x1b]52;c;ZXZpbA==\\x07 \\x1b[2J\n  " + std::string(300, 'x') + "...\n  last");
  EXPECT_EQ(tailOfFile(log, 4).substr(0, 6), "\n  one");
}

TEST(ImageBaseId, TheTopLayersHex) {
  image::ImageRecord r;
  EXPECT_EQ(imageBaseId(r), "");
  r.layers = {"sha256:aaaa", "sha256:bbbb"};  // bottom first
  EXPECT_EQ(imageBaseId(r), "bbbb");
}

TEST(ParseEnvFile, KeyValueLines) {
  auto env = parseEnvFile("# comment\nMISE_YES=1\n\n  A=b=c\n=novalue\nnoequals\n");
  EXPECT_EQ(env, (std::vector<std::pair<std::string, std::string>>{{"MISE_YES", "1"}, {"A", "b=c"}}));
}

TEST(RuntimeDir, FoundFromTheSourceTree) {
  auto dir = findRuntimeDir();
  ASSERT_TRUE(dir.ok()) << dir.error().describe();
  EXPECT_TRUE(fs::exists(*dir + "/setup.sh"));
}

TEST(BaseImage, MissingIsNotAnErrorAndCreatesNothing) {
  TempDir tmp("coco-base");
  auto img = loadBaseImage(tmp.path());
  ASSERT_TRUE(img.ok()) << img.error().describe();
  EXPECT_FALSE(img->has_value());
  EXPECT_FALSE(fs::exists(tmp.sub("layers")));
  auto info = loadBaseInfo(tmp.path());
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->has_value());
}

// COCO_BASE_IMAGE: a published base image is taken as it is, without a sandbox.
class PublishedBase : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = tmp_.path();
  }

  // A rootfs tarball; with `versions`, one that `coco rebuild` could have made.
  std::string tarball(const std::string& name, const std::string& versions) {
    std::string root = dir_ + "/" + name;
    EXPECT_TRUE(fs::makeDirs(root + "/etc/coco"));
    EXPECT_TRUE(fs::writeFileAtomic(root + "/etc/hostname", name + "\n"));
    if (!versions.empty()) {
      EXPECT_TRUE(fs::writeFileAtomic(root + "/etc/coco/runtime-versions", versions));
    }
    std::string tar = dir_ + "/" + name + ".tar";
    EXPECT_EQ(std::system(("tar -C " + root + " -cf " + tar + " .").c_str()), 0);
    return tar;
  }

  BaseImageOptions options(const std::string& published) {
    BaseImageOptions o;
    o.storageRoot = dir_ + "/store";
    o.published = published;
    o.progress = [](const image::ProgressEvent&) {};
    o.run = [](const engine::RunSpec&) -> Result<int> {
      ADD_FAILURE() << "a published base image needs no sandbox";
      return 1;
    };
    return o;
  }

  TempDir tmp_{"coco-published"};
  std::string dir_;
};

TEST_F(PublishedBase, IsUsedAsItIsAndReplacedWhenAnotherIsNamed) {
  std::string one = "rootfs:" + tarball("one", "mise=2026.1.0\nnode=v20.19.2\n");
  auto img = ensureBaseImage(options(one));
  ASSERT_TRUE(img.ok()) << img.error().describe();
  ASSERT_EQ(img->layers.size(), 1u);
  EXPECT_EQ(*fs::readFile(img->layers[0] + "/etc/hostname"), "one\n");
  EXPECT_EQ(img->workdir, "/workspace");
  auto info = loadBaseInfo(dir_ + "/store");
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->from, one);
  EXPECT_EQ((*info)->versions["mise"], "2026.1.0");
  EXPECT_EQ((*info)->layer, "sha256:" + img->layers[0].substr(img->layers[0].rfind('/') + 1));
  // Without COCO_BASE_IMAGE the stored base is used as it is.
  auto again = ensureBaseImage(options(""));
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_EQ(again->layers, img->layers);

  std::string two = "rootfs:" + tarball("two", "mise=2026.2.0\n");
  auto next = ensureBaseImage(options(two));
  ASSERT_TRUE(next.ok()) << next.error().describe();
  EXPECT_EQ(*fs::readFile(next->layers[0] + "/etc/hostname"), "two\n");
  EXPECT_EQ((*loadBaseInfo(dir_ + "/store"))->from, two);
}

TEST_F(PublishedBase, ABuiltBaseIsOutdatedWhenRuntimeChangesAPulledOneNever) {
  std::string runtime = dir_ + "/runtime";
  ASSERT_TRUE(fs::makeDirs(runtime));
  ASSERT_TRUE(fs::writeFileAtomic(runtime + "/setup.sh", "echo v1\n"));
  ASSERT_TRUE(fs::writeFileAtomic(runtime + "/env", "MISE_YES=1\n"));
  BaseImageOptions o = options("");
  o.sources = {"rootfs:" + tarball("debian", "")};
  o.runtimeDir = runtime;
  int runs = 0;
  o.run = [&](const engine::RunSpec&) -> Result<int> {  // the setup "ran" and changed nothing
    ++runs;
    return 0;
  };
  auto built = buildBaseImage(o);
  ASSERT_TRUE(built.ok()) << built.error().describe();
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(*baseImageOutdated(o.storageRoot, runtime));
  ASSERT_TRUE(fs::writeFileAtomic(runtime + "/setup.sh", "echo v2\n"));
  EXPECT_TRUE(*baseImageOutdated(o.storageRoot, runtime));

  // The same runtime/ as a pulled base's is beside the point: it is the publisher's.
  auto pulled = ensureBaseImage(options("rootfs:" + tarball("pub", "mise=1\n")));
  ASSERT_TRUE(pulled.ok()) << pulled.error().describe();
  EXPECT_FALSE(*baseImageOutdated(o.storageRoot, runtime));
  EXPECT_TRUE((*loadBaseInfo(o.storageRoot))->published);
}

// The first run's notice says the base image is about to be built, before the
// build: only when none is stored and COCO_BASE_IMAGE names none.
TEST_F(PublishedBase, FirstBuildIsAnnouncedOnlyWhenItHappens) {
  std::string runtime = dir_ + "/runtime";
  ASSERT_TRUE(fs::makeDirs(runtime));
  ASSERT_TRUE(fs::writeFileAtomic(runtime + "/setup.sh", "echo v1\n"));
  std::vector<image::ProgressEvent> events;
  bool firstBuild = true;
  auto record = [&](const image::ProgressEvent& e) { events.push_back(e); };
  auto noticed = [&] {
    return std::count_if(events.begin(), events.end(), [](const image::ProgressEvent& e) {
      return e.kind == image::ProgressEvent::Kind::Step && e.text == kFirstBuildNotice;
    });
  };

  // COCO_BASE_IMAGE set: pulled, not built, no notice.
  BaseImageOptions pulled = options("rootfs:" + tarball("pub", "mise=1\n"));
  pulled.progress = record;
  ASSERT_TRUE(ensureBaseImage(pulled).ok());
  EXPECT_EQ(noticed(), 0);

  // None stored, none named: announced once, before the build's steps.
  BaseImageOptions o = options("");
  o.storageRoot = dir_ + "/fresh";
  o.sources = {"rootfs:" + tarball("debian", "")};
  o.runtimeDir = runtime;
  o.progress = record;
  o.run = [&](const engine::RunSpec&) -> Result<int> {
    EXPECT_EQ(noticed(), firstBuild ? 1 : 0) << "the notice comes before the first build only";
    return 0;
  };
  events.clear();
  ASSERT_TRUE(ensureBaseImage(o).ok());
  EXPECT_EQ(noticed(), 1);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().text, kFirstBuildNotice);
  // The build's two numbered steps, each ended.
  std::vector<std::string> steps;
  for (const auto& e : events)
    if (e.kind == image::ProgressEvent::Kind::Step && e.step > 0)
      steps.push_back(fmt::format("{}/{} {}", e.step, e.steps, e.text.substr(0, e.text.find(' ', 9))));
  EXPECT_EQ(steps, (std::vector<std::string>{"1/2 getting Debian", "2/2 installing"}));
  EXPECT_EQ(
      std::count_if(events.begin(), events.end(),
                    [](const image::ProgressEvent& e) { return e.kind == image::ProgressEvent::Kind::Done; }),
      2);

  // Stored now: no notice, no build.
  firstBuild = false;
  events.clear();
  ASSERT_TRUE(ensureBaseImage(o).ok());
  EXPECT_EQ(noticed(), 0);
  // `coco rebuild` was asked for: no first-run notice either.
  ASSERT_TRUE(buildBaseImage(o).ok());
  EXPECT_EQ(noticed(), 0);
}

// Behind an intercepting proxy whose CA is only in SSL_CERT_FILE: the install
// sandbox gets that bundle, named by the same variables a run gets.
TEST_F(PublishedBase, ABuildUsesTheHostsCaBundleFoundAsRunsFindIt) {
  std::string runtime = dir_ + "/runtime";
  ASSERT_TRUE(fs::makeDirs(runtime));
  ASSERT_TRUE(fs::writeFileAtomic(runtime + "/setup.sh", "true\n"));
  std::string corp = dir_ + "/corp-proxy-ca.pem";
  ASSERT_TRUE(fs::writeFileAtomic(corp, "-----BEGIN CERTIFICATE-----\ncorp\n"));
  BaseImageOptions o = options("");
  o.sources = {"rootfs:" + tarball("debian", "")};
  o.runtimeDir = runtime;
  o.host.env["SSL_CERT_FILE"] = corp;
  std::string copied;
  engine::RunSpec seen;
  o.run = [&](const engine::RunSpec& spec) -> Result<int> {
    seen = spec;
    for (const auto& m : spec.mounts)
      if (auto text = fs::readFile(m.src + "/ca-certificates.crt"); m.dst == kIoDir && text) copied = *text;
    return 0;
  };
  auto built = buildBaseImage(o);
  ASSERT_TRUE(built.ok()) << built.error().describe();
  EXPECT_TRUE(copied == "-----BEGIN CERTIFICATE-----\ncorp\n") << "the install got another bundle (" << copied.size()
                                                                 << " bytes)";
  for (const auto& [name, value] : caBundleEnv(kIoCaBundle)) {
    auto it = std::find_if(seen.env.begin(), seen.env.end(), [&](const auto& kv) { return kv.first == name; });
    ASSERT_NE(it, seen.env.end()) << name;
    EXPECT_EQ(it->second, value) << name;
  }
}

// The hosts coco derives for an install (the image's apt sources, npm's
// registry) reach the sandbox apart from the user's allowed_hosts, so the
// gateway trusts their literal addresses less (net::EntryOrigin).
TEST_F(PublishedBase, InstallHostsReachTheSandboxAsDerivedEntries) {
  std::string runtime = dir_ + "/runtime";
  ASSERT_TRUE(fs::makeDirs(runtime));
  ASSERT_TRUE(fs::writeFileAtomic(runtime + "/setup.sh", "echo v1\n"));
  std::string root = dir_ + "/apt-image";
  ASSERT_TRUE(fs::makeDirs(root + "/etc/apt"));
  ASSERT_TRUE(fs::writeFileAtomic(root + "/etc/apt/sources.list", "deb http://mirror.example.test/debian trixie main\n"));
  std::string tar = dir_ + "/apt-image.tar";
  ASSERT_EQ(std::system(("tar -C " + root + " -cf " + tar + " .").c_str()), 0);
  BaseImageOptions o = options("");
  o.sources = {"rootfs:" + tar};
  o.runtimeDir = runtime;
  o.host.env = {{"npm_config_registry", "https://registry.example.test/"}};
  o.host.command = nullptr;
  engine::RunSpec seen;
  o.run = [&](const engine::RunSpec& spec) -> Result<int> {
    seen = spec;
    return 0;
  };
  auto built = buildBaseImage(o);
  ASSERT_TRUE(built.ok()) << built.error().describe();
  EXPECT_TRUE(seen.allowedHosts.empty());
  EXPECT_EQ(seen.derivedHosts, (std::vector<std::string>{"mirror.example.test", "registry.example.test"}));
}

// An install sandbox gets the host setup a run gets, from the same environment.
TEST_F(PublishedBase, ABuildsSandboxGetsTheHostSetupOfItsEnvironment) {
  std::string runtime = dir_ + "/runtime";
  ASSERT_TRUE(fs::makeDirs(runtime));
  ASSERT_TRUE(fs::writeFileAtomic(runtime + "/setup.sh", "true\n"));
  std::string xdgRuntime = dir_ + "/xdg-run";
  ASSERT_TRUE(fs::makeDirs(xdgRuntime));
  BaseImageOptions o = options("");
  o.sources = {"rootfs:" + tarball("debian", "")};
  o.runtimeDir = runtime;
  o.host.env = {{"HOME", dir_ + "/home"}, {"XDG_RUNTIME_DIR", xdgRuntime}, {"COCO_USERNS", "single"},
                {"npm_config_registry", "https://registry.example.test/"}};
  o.host.command = nullptr;
  engine::RunSpec seen;
  o.run = [&](const engine::RunSpec& spec) -> Result<int> {
    seen = spec;
    return 0;
  };
  auto built = buildBaseImage(o);
  ASSERT_TRUE(built.ok()) << built.error().describe();
  engine::HostSetup expected = hostSetup(o.host.env, startingFdLimit());
  EXPECT_EQ(seen.hostSetup.stagingDir, xdgRuntime + "/coco/staging");
  EXPECT_EQ(seen.hostSetup.seccompCacheDir, dir_ + "/home/.cache/coco/seccomp");
  EXPECT_TRUE(seen.hostSetup.singleIdMap);
  EXPECT_EQ(seen.hostSetup.fdSoftLimit, expected.fdSoftLimit);
}

TEST_F(PublishedBase, AnImageThatIsNotACocoBaseIsRefusedAndNothingRecorded) {
  std::string plain = "rootfs:" + tarball("plain", "");
  auto img = ensureBaseImage(options(plain));
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.error().describe().find(plain + " is not a coco base image"), std::string::npos)
      << img.error().describe();
  EXPECT_FALSE(loadBaseImage(dir_ + "/store")->has_value());
  EXPECT_FALSE(fs::exists(dir_ + "/store/base/info.json"));
}

// The version file of a published image is the publisher's: a symlink there
// (to a host file, directly or through etc/coco) is not followed.
TEST_F(PublishedBase, AVersionFileBehindASymlinkIsRefusedAndNothingRecorded) {
  std::string secret = dir_ + "/host-secret";
  ASSERT_TRUE(fs::writeFileAtomic(secret, "TOKEN=host-secret-value\n"));
  tarball("direct", "");
  ASSERT_EQ(::symlink(secret.c_str(), (dir_ + "/direct/etc/coco/runtime-versions").c_str()), 0);
  ASSERT_TRUE(fs::makeDirs(dir_ + "/secretdir"));
  ASSERT_TRUE(fs::writeFileAtomic(dir_ + "/secretdir/runtime-versions", "TOKEN=host-secret-value\n"));
  tarball("through", "");
  ASSERT_TRUE(fs::removeTree(dir_ + "/through/etc/coco"));
  ASSERT_EQ(::symlink((dir_ + "/secretdir").c_str(), (dir_ + "/through/etc/coco").c_str()), 0);
  for (const char* name : {"direct", "through"}) {
    std::string tar = dir_ + "/" + name + "-linked.tar";
    ASSERT_EQ(std::system(("tar -C " + dir_ + "/" + name + " -cf " + tar + " .").c_str()), 0);
    auto img = ensureBaseImage(options("rootfs:" + tar));
    ASSERT_FALSE(img.ok()) << name;
    EXPECT_NE(img.error().describe().find("runtime-versions: it is a symbolic link"), std::string::npos)
        << img.error().describe();
    EXPECT_EQ(img.error().describe().find("host-secret-value"), std::string::npos) << img.error().describe();
    EXPECT_FALSE(fs::exists(dir_ + "/store/base/info.json")) << name;
  }
}

TEST_F(PublishedBase, ADirectoryUsedInPlaceIsRefused) {
  tarball("dir", "mise=1\n");
  auto img = ensureBaseImage(options("rootfs:" + dir_ + "/dir"));
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.error().describe().find("not kept in coco's image storage"), std::string::npos)
      << img.error().describe();
  EXPECT_FALSE(loadBaseImage(dir_ + "/store")->has_value());
}

TEST_F(PublishedBase, AnUnreachableImageFailsNamingIt) {
  auto img = ensureBaseImage(options("oci:" + dir_ + "/nothing-here"));
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.error().describe().find(dir_ + "/nothing-here"), std::string::npos) << img.error().describe();
  EXPECT_FALSE(loadBaseImage(dir_ + "/store")->has_value());
}

// The install's one start of the tool runs package code too: it gets the
// tool's limits, like the install before it.
TEST(InstallSandbox, TheSmokeStartRunsUnderTheToolsLimits) {
  TempDir dir;
  InstallJob job;
  job.title = "installing probe";
  job.name = "probe";
  job.workDir = dir.path();
  job.script = "true";
  job.smokeStart = "probe --version";
  job.limits.pids = 64;
  job.limits.memoryBytes = 256ull << 20;
  job.limits.tmpfsBytes = 64ull << 20;
  job.hostSetup = {"/run/user/1000/coco/staging", "/home/u/.cache/coco/seccomp", true, 1024, "/run/user/1000/coco"};
  std::vector<engine::RunSpec> runs;
  job.run = [&](const engine::RunSpec& spec) -> Result<int> {
    runs.push_back(spec);
    return 0;
  };
  auto r = runInstall(job);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& spec : runs) {
    EXPECT_EQ(spec.limits.pids, 64u) << spec.argv.back();
    EXPECT_EQ(spec.limits.memoryBytes, 256ull << 20) << spec.argv.back();
    EXPECT_EQ(spec.limits.tmpfsBytes, 64ull << 20) << spec.argv.back();
    EXPECT_EQ(spec.hostSetup.stagingDir, "/run/user/1000/coco/staging") << spec.argv.back();
    EXPECT_EQ(spec.hostSetup.seccompCacheDir, "/home/u/.cache/coco/seccomp") << spec.argv.back();
    EXPECT_TRUE(spec.hostSetup.singleIdMap) << spec.argv.back();
    EXPECT_EQ(spec.hostSetup.fdSoftLimit, 1024u) << spec.argv.back();
    EXPECT_EQ(spec.hostSetup.holderDir, "/run/user/1000/coco") << spec.argv.back();
  }
}

// A stop signal while the engine still set the sandbox up comes back as an Error with 128+N
// (engine.cpp, SetupWait): for the install and for its smoke start it is an interruption like
// one the tool died of, with its exit code, not "setting up the sandbox failed".
TEST(InstallSandbox, AStopDuringTheSandboxSetupIsAnInterruption) {
  for (int stage : {1, 2}) {
    TempDir dir;
    InstallJob job;
    job.title = "installing probe";
    job.name = "probe";
    job.workDir = dir.path();
    job.script = "true";
    job.smokeStart = "probe --version";
    int runs = 0;
    job.run = [&](const engine::RunSpec&) -> Result<int> {
      if (++runs < stage) return 0;
      return Error::make("stopped by SIGTERM while the sandbox was being set up (the tool never started)")
          .withExitCode(128 + SIGTERM);
    };
    auto r = runInstall(job);
    ASSERT_FALSE(r.ok()) << "stage " << stage;
    EXPECT_EQ(r.error().exitCode(), 128 + SIGTERM) << "stage " << stage;
    EXPECT_EQ(r.error().message(), "installing probe was interrupted (TERM); nothing of it was kept, the next run "
                                   "installs again")
        << "stage " << stage;
  }
}

// The status line follows the install: its steps, and every second the last
// line of its log (what mise says it does), which is sandbox text.
TEST(InstallSandbox, ProgressShowsTheStepsAndTheLogsLastLine) {
  TempDir dir;
  InstallJob job;
  job.title = "installing probe (npm:probe)";
  job.name = "probe";
  job.workDir = dir.path();
  job.script = "true";
  job.smokeStart = "probe --version";
  job.smokeCommand = "probe --version";
  job.step = 1;
  job.steps = 2;
  std::mutex mutex;
  std::vector<image::ProgressEvent> events;
  job.progress = [&](const image::ProgressEvent& e) {
    std::lock_guard<std::mutex> lock(mutex);
    events.push_back(e);
  };
  int runs = 0;
  job.run = [&](const engine::RunSpec&) -> Result<int> {
    if (++runs == 1) {
      EXPECT_TRUE(fs::writeFileAtomic(dir.path() + "/io/log", "resolving\nmise npm:probe@1.0.0 \033[31minstall\n"));
      std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    }
    return 0;
  };
  ASSERT_TRUE(runInstall(job).ok());
  std::vector<std::string> seen;
  for (const auto& e : events) {
    if (e.kind == image::ProgressEvent::Kind::Step) seen.push_back(fmt::format("{}/{} {}", e.step, e.steps, e.text));
    if (e.kind == image::ProgressEvent::Kind::Done) seen.push_back("done " + e.text);
    if (e.kind == image::ProgressEvent::Kind::Status && (seen.empty() || seen.back() != "status " + e.text))
      seen.push_back("status " + e.text);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"1/2 installing probe (npm:probe)",
                                            "status mise npm:probe@1.0.0 install", "done ",
                                            "2/2 starting probe once (probe --version)", "done "}));
}

// A tool that cannot start is no install: the start's output is in the error,
// and its directory does not stay behind in what would be committed.
TEST(InstallSandbox, AToolThatDoesNotStartFailsTheInstallWithItsOutput) {
  for (int exitStatus : {126, 124}) {
    TempDir dir;
    InstallJob job;
    job.title = "installing probe";
    job.workDir = dir.path();
    job.script = "true";
    job.smokeStart = "probe --version";
    job.smokeCommand = "probe --version";
    int runs = 0;
    job.run = [&](const engine::RunSpec& spec) -> Result<int> {
      if (++runs == 1) return 0;
      auto check = std::find_if(spec.mounts.begin(), spec.mounts.end(),
                                [](const engine::BindMount& m) { return m.dst == kCheckDir; });
      EXPECT_NE(check, spec.mounts.end());
      if (check == spec.mounts.end()) return 0;
      EXPECT_TRUE(fs::writeFileAtomic(check->src + "/log", "first\n/usr/bin/probe: Exec format error\n"));
      return exitStatus;
    };
    auto r = runInstall(job);
    ASSERT_FALSE(r.ok());
    std::string said = r.error().describe();
    EXPECT_NE(said.find(exitStatus == 126 ? "the tool does not start (`probe --version` exited with status 126)"
                                          : "(`probe --version` did not finish within 60 s)"),
              std::string::npos)
        << said;
    EXPECT_NE(said.find("Its output:\n  first\n  /usr/bin/probe: Exec format error"), std::string::npos) << said;
    EXPECT_FALSE(fs::exists(dir.path() + "/check"));
  }
}

// The start's log is the tool's file: replaced by a symlink to a host file, it
// is not followed (the secret stays out of the message), and a log larger than
// any message is read only at its end.
TEST(InstallSandbox, TheStartsLogIsNeitherFollowedNorReadWhole) {
  TempDir dir, host;
  ASSERT_TRUE(fs::writeFileAtomic(host.path() + "/secret", "HOST-SECRET-TOKEN\n"));
  for (bool link : {true, false}) {
    InstallJob job;
    job.title = "installing probe";
    job.workDir = dir.path() + (link ? "/a" : "/b");
    job.script = "true";
    job.smokeStart = job.smokeCommand = "probe --version";
    int runs = 0;
    job.run = [&](const engine::RunSpec& spec) -> Result<int> {
      if (++runs == 1) return 0;
      std::string log = spec.mounts.back().src + "/log";
      if (link) EXPECT_EQ(::symlink((host.path() + "/secret").c_str(), log.c_str()), 0);
      else EXPECT_TRUE(fs::writeFileAtomic(log, "HOST-SECRET-TOKEN\n" + std::string(8 << 20, 'x') + "\nlast line\n"));
      return 1;
    };
    auto r = runInstall(job);
    ASSERT_FALSE(r.ok());
    std::string said = r.error().describe();
    EXPECT_EQ(said.find("HOST-SECRET-TOKEN"), std::string::npos) << said.substr(0, 300);
    EXPECT_LT(said.size(), 64u << 10);
    EXPECT_NE(said.find(link ? "It printed nothing." : "  last line"), std::string::npos) << said.substr(0, 300);
  }
}

}  // namespace
}  // namespace coco::tool
