// In-process tests of the command line: dispatch, exit codes, dry-run JSON, store commands.
#include "cli/cli.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/context.hpp"
#include "coco_config.h"
#include "image/storage.hpp"
#include "sys/process.hpp"
#include "tool/tool_layer.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::cli {
namespace {

constexpr const char* kEslint =
    R"({"tool": "npm:eslint", "mounts": [{"src": ".", "dst": "/workspace", "opts": "ro"}],)"
    R"( "env_passthrough": ["TERM", "NODE_ENV", "MY_TOKEN"], "network": "none"})";

// An image record naming one layer (the rest left empty).
image::ImageRecord imageRecord(const std::string& name, const std::string& layerHex) {
  image::ImageRecord r;
  r.name = name;
  r.layers = {"sha256:" + layerHex};
  return r;
}

struct Output {
  int code;
  std::string out, err;
};

// A stop signal's 128+N survives every command's error path; a tool's 126/127 only `run` gives.
TEST(ContextTest, FailKeepsAStopSignalsExitCode) {
  std::ostringstream out, err;
  Context ctx{out, err, "coco"};
  EXPECT_EQ(ctx.fail(Error::make("stopped by SIGINT").withExitCode(130)), 130);
  EXPECT_EQ(ctx.fail(Error::make("stopped by SIGTERM").withExitCode(143), "a hint"), 143);
  EXPECT_EQ(ctx.fail(Error::make("not found").withExitCode(127)), kExitCocoError);
  EXPECT_EQ(ctx.fail(Error::make("plain")), kExitCocoError);
  EXPECT_NE(err.str().find("coco: error: stopped by SIGINT\n"), std::string::npos);
  EXPECT_NE(err.str().find("coco: hint: a hint\n"), std::string::npos);
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path();
    home_ = root_ + "/home";
    project_ = home_ + "/project";
    rootfs_ = root_ + "/rootfs";
    ASSERT_TRUE(fs::makeDirs(project_).ok());
    ASSERT_TRUE(fs::makeDirs(rootfs_ + "/usr/bin").ok());
    ASSERT_TRUE(fs::makeDirs(root_ + "/store").ok());
    char buf[PATH_MAX];
    ASSERT_NE(::getcwd(buf, sizeof buf), nullptr);
    oldCwd_ = buf;
    ASSERT_EQ(::chdir(project_.c_str()), 0);
    ::setenv("HOME", home_.c_str(), 1);
    for (const char* v : {"XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "COCO_RUNTIME", "COCO_STORE_BASE",
                          "COCO_ALLOW_NETWORK", "COCO_EXTRA_PORTS", "COCO_DEBUG", "NODE_ENV"})
      ::unsetenv(v);
    ::setenv("COCO_IMAGE", ("rootfs:" + rootfs_).c_str(), 1);
    ::setenv("COCO_STORE_DIR", (root_ + "/store").c_str(), 1);
    ::setenv("MY_TOKEN", "s3cr3t-token-value", 1);
    ::setenv("UNRELATED_SECRET", "other-s3cr3t", 1);
  }
  void TearDown() override { EXPECT_EQ(::chdir(oldCwd_.c_str()), 0); }

  Output cli(std::vector<std::string> args, std::string argv0 = "coco") {
    args.insert(args.begin(), argv0);
    std::ostringstream out, err;
    int code = run(args, out, err);
    return {code, out.str(), err.str()};
  }
  std::string toolsDir() const { return home_ + "/.local/share/coco/tools"; }
  void addTool(const std::string& file, const std::string& text) {
    ASSERT_TRUE(fs::makeDirs(toolsDir()).ok());
    ASSERT_TRUE(fs::writeFileAtomic(toolsDir() + "/" + file, text).ok());
  }

  TempDir tmp_{"coco-cli-test"};
  std::string root_, home_, project_, rootfs_, oldCwd_;
};

TEST_F(CliTest, HelpVersionAndUsage) {
  for (const char* h : {"help", "--help", "-h"}) {
    auto o = cli({h});
    EXPECT_EQ(o.code, 0) << h;
    EXPECT_NE(o.out.find("Usage: coco"), std::string::npos);
  }
  auto none = cli({});
  EXPECT_EQ(none.code, 125);
  EXPECT_TRUE(none.out.empty());
  EXPECT_NE(none.err.find("Usage: coco"), std::string::npos);
  auto v = cli({"version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out.rfind("coco ", 0), 0u);
}

// One version (meson's project version), and the commit when built from a git checkout.
TEST_F(CliTest, VersionIsTheProjectsAndNamesTheCommit) {
  auto v = cli({"version"});
  EXPECT_EQ(v.out.rfind(std::string("coco ") + COCO_VERSION, 0), 0u) << v.out;
  sys::SpawnOptions git{.argv = {"git", "-C", COCO_SOURCE_ROOT, "rev-parse", "--short=12", "HEAD"},
                        .out = sys::Stdio::Capture, .err = sys::Stdio::Null};
  auto head = sys::run(git);
  if (!head || head->exitCode != 0) {
    EXPECT_EQ(v.out.substr(0, v.out.find('\n')), std::string("coco ") + COCO_VERSION)
        << "not built from git: no commit";
    return;
  }
  std::string commit = head->output.substr(0, head->output.find('\n'));
  EXPECT_NE(v.out.find(" (git " + commit), std::string::npos) << v.out << " vs HEAD " << commit;
}

// The attack of util/data_dir_test.cpp with the real binary: a copy of coco outside
// its build tree (as installed) takes the bundled store from the installed data
// only, never from the source tree it was built from (a path a local user may create).
// With a static front (util/front.hpp) `get` is coco-full's: that is the copy, started as coco.
TEST_F(CliTest, InstalledBinaryNeverReadsTheSourceTree) {
  std::string built = std::string(COCO_BUILD_ROOT) + "/src/";
  built += fs::exists(built + "coco-full") ? "coco-full" : "coco";
  std::string copy = root_ + "/bin/copy";
  ASSERT_TRUE(fs::makeDirs(root_ + "/bin").ok());
  std::error_code ec;
  std::filesystem::copy_file(built, copy, ec);
  ASSERT_FALSE(ec) << ec.message();
  sys::SpawnOptions o{.argv = {"bash", "-c", "exec -a coco \"$0\" get --force eslint 2>&1", copy},
                      .out = sys::Stdio::Capture};
  o.env = {"PATH=/usr/bin:/bin", "HOME=" + home_};
  auto r = sys::run(o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->output.find(COCO_SOURCE_ROOT), std::string::npos) << r->output;
  EXPECT_NE(r->output.find(COCO_DATADIR), std::string::npos) << r->output;
}

// A copy of the static front away from its coco-full (neither in the build tree nor where the
// build installs it) hands nothing over: it says so, and runs nothing else in its place.
TEST_F(CliTest, AFrontCopiedAwayFromItsCocoFullSaysSo) {
  std::string front = std::string(COCO_BUILD_ROOT) + "/src/coco";
  if (!fs::exists(std::string(COCO_BUILD_ROOT) + "/src/coco-full")) return;  // -Dstatic_front=false: one coco
  std::string copy = root_ + "/bin/coco";
  ASSERT_TRUE(fs::makeDirs(root_ + "/bin").ok());
  std::error_code ec;
  std::filesystem::copy_file(front, copy, ec);
  ASSERT_FALSE(ec) << ec.message();
  std::filesystem::copy_file(std::string(COCO_BUILD_ROOT) + "/src/coco-full", root_ + "/bin/coco-full", ec);
  ASSERT_FALSE(ec) << ec.message();
  sys::SpawnOptions o{.argv = {"sh", "-c", "exec \"$0\" get --force eslint 2>&1", copy},
                      .out = sys::Stdio::Capture};
  o.env = {"PATH=/usr/bin:/bin", "HOME=" + home_};
  auto r = sys::run(o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exitCode, 125) << r->output;
  EXPECT_NE(r->output.find("needs coco-full, which this coco cannot find; reinstall coco"), std::string::npos)
      << r->output;
  EXPECT_FALSE(fs::exists(home_ + "/.local/share/coco/tools/eslint.json")) << r->output;
}

TEST_F(CliTest, CompletionKnowsEveryCommandOfTheHelp) {
  std::string help = cli({"help"}).out;
  help = help.substr(0, help.find("Symlink invocation:"));
  std::set<std::string> listed, inHelp;
  std::istringstream lines(cli({"completion", "--list", "commands"}).out);
  for (std::string l; std::getline(lines, l);) listed.insert(l);
  std::istringstream helpLines(help);
  for (std::string l; std::getline(helpLines, l);)
    if (l.size() > 2 && l.rfind("  ", 0) == 0 && std::islower(static_cast<unsigned char>(l[2])))
      inHelp.insert(l.substr(2, l.find(' ', 2) - 2));
  EXPECT_GE(inHelp.size(), 10u) << help;
  EXPECT_EQ(listed, inHelp);
  auto bad = cli({"completion", "tcsh"});
  EXPECT_EQ(bad.code, 125);
  EXPECT_EQ(cli({"completion"}).code, 125);
}

// The scripts complete for real: bash (and zsh and fish, where installed: CI installs them).
TEST_F(CliTest, CompletionScriptsCompleteCommandsToolsAndStoreNames) {
  addTool("eslint.json", kEslint);
  ASSERT_TRUE(fs::writeFileAtomic(root_ + "/store/prettier.json", R"({"tool": "npm:prettier"})"));
  EXPECT_EQ(cli({"completion", "--list", "tools"}).out, "eslint\n");
  EXPECT_EQ(cli({"completion", "--list", "store"}).out, "prettier\n");
  std::string bash = root_ + "/coco.bash";
  ASSERT_TRUE(fs::writeFileAtomic(bash, cli({"completion", "bash"}).out));
  auto complete = [&](const std::string& words, int cword) {
    std::string script = "source " + bash + "; COMP_WORDS=(" + words + "); COMP_CWORD=" + std::to_string(cword) +
                         "; _coco; printf '%s\\n' \"${COMPREPLY[@]}\"";
    sys::SpawnOptions o{.argv = {"bash", "--norc", "-c", script}, .out = sys::Stdio::Capture};
    o.env = {"PATH=" + std::string(COCO_BUILD_ROOT) + "/src:/usr/bin:/bin", "HOME=" + home_,
             "COCO_STORE_DIR=" + root_ + "/store"};
    auto r = sys::run(o);
    return r && r->exitCode == 0 ? r->output : std::string("failed");
  };
  EXPECT_EQ(complete("coco ru", 1), "run\n");
  EXPECT_EQ(complete("coco run es", 2), "eslint\n");
  EXPECT_EQ(complete("coco run --dry-run ''", 3), "eslint\n");
  EXPECT_EQ(complete("coco get pre", 2), "prettier\n");
  EXPECT_EQ(complete("coco completion z", 2), "zsh\n");
  EXPECT_EQ(complete("coco st", 1), "store\n");
  EXPECT_EQ(complete("coco ima", 1), "images\nimage\n");
  EXPECT_EQ(complete("coco image ''", 2), "rm\n");
  EXPECT_EQ(complete("coco image rm --f", 3), "--force\n");
  EXPECT_EQ(complete("coco list --j", 2), "--json\n");
  EXPECT_EQ(complete("coco show --j", 2), "--json\n");
  EXPECT_EQ(complete("coco version --j", 2), "--json\n");
  EXPECT_EQ(complete("coco help li", 2), "list\n");
  for (auto [shell, check] : {std::pair{"zsh", "-n"}, std::pair{"fish", "--no-execute"}}) {
    std::string file = root_ + "/coco." + shell;
    ASSERT_TRUE(fs::writeFileAtomic(file, cli({"completion", shell}).out));
    sys::SpawnOptions o{.argv = {shell, check, file}, .err = sys::Stdio::Capture};
    auto r = sys::run(o);
    if (!r && std::getenv("CI") == nullptr) {
      std::printf("[ note ] %s is not installed: its script's syntax is not checked here\n", shell);
      continue;
    }
    ASSERT_TRUE(r) << shell << " is not installed (packaging/deps-test.txt lists it)";
    EXPECT_EQ(r->exitCode, 0) << shell << ": " << r->output;
  }
}

TEST_F(CliTest, UnknownCommandAndBadOptions) {
  auto o = cli({"frobnicate"});
  EXPECT_EQ(o.code, 125);
  EXPECT_NE(o.err.find("coco: error: unknown command 'frobnicate'"), std::string::npos);
  EXPECT_NE(o.err.find("coco: hint:"), std::string::npos);
  EXPECT_EQ(cli({"list", "extra"}).code, 125);
  EXPECT_EQ(cli({"get"}).code, 125);
  EXPECT_EQ(cli({"get", "--bogus", "eslint"}).code, 125);
  EXPECT_EQ(cli({"run"}).code, 125);
  EXPECT_EQ(cli({"run", "--bogus", "eslint"}).code, 125);
  EXPECT_EQ(cli({"show"}).code, 125);
  EXPECT_EQ(cli({"get", "--help"}).code, 0);
  EXPECT_EQ(cli({"run", "--help"}).code, 0);
}

TEST_F(CliTest, PruneRemovesCachesAndOutdatedToolLayers) {
  addTool("eslint.json", kEslint);
  std::string layers = home_ + "/.local/share/coco/tool-layers/eslint";
  ASSERT_TRUE(fs::makeDirs(home_ + "/.cache/coco/cache/npm").ok());
  ASSERT_TRUE(fs::makeDirs(layers + "/0ld/layer/bin").ok());
  ASSERT_TRUE(fs::writeFileAtomic(home_ + "/.cache/coco/cache/npm/blob", std::string(5000, 'x')).ok());
  ASSERT_TRUE(fs::writeFileAtomic(layers + "/0ld/layer/bin/eslint", "old").ok());
  auto o = cli({"prune"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("removed download caches: "), std::string::npos) << o.out;
  EXPECT_FALSE(fs::exists(home_ + "/.cache/coco/cache/npm/blob"));
  EXPECT_FALSE(fs::exists(layers + "/0ld"));
  // The caches tools keep between runs (`caches`, what CI keeps) go only with --all.
  std::string kept = home_ + "/.cache/coco/run-caches/eslint/npm";
  ASSERT_TRUE(fs::makeDirs(kept).ok());
  ASSERT_TRUE(fs::writeFileAtomic(kept + "/blob", std::string(3000, 'x')).ok());
  ASSERT_EQ(cli({"prune"}).code, 0);
  EXPECT_TRUE(fs::exists(kept + "/blob"));
  auto all = cli({"prune", "--all"});
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_NE(all.out.find("removed the tools' kept caches: "), std::string::npos) << all.out;
  EXPECT_FALSE(fs::exists(kept));
  EXPECT_EQ(cli({"prune", "--bogus"}).code, 125);
  EXPECT_EQ(cli({"rebuild", "--help"}).code, 0);
  EXPECT_EQ(cli({"rebuild", "extra"}).code, 125);
}

TEST_F(CliTest, SaveRefusesBadInputAndWritesNothing) {
  auto noBase = cli({"save", "-o", root_ + "/out"});
  EXPECT_EQ(noBase.code, 125);
  EXPECT_NE(noBase.err.find("there is no base image to save"), std::string::npos) << noBase.err;
  auto badTag = cli({"save", "-t", ".bad", "-o", root_ + "/out", "some/image"});
  EXPECT_EQ(badTag.code, 125);
  EXPECT_NE(badTag.err.find("bad tag '.bad'"), std::string::npos) << badTag.err;
  auto missing = cli({"save", "-o", root_ + "/out", "some/image"});
  EXPECT_EQ(missing.code, 125);
  EXPECT_NE(missing.err.find("no image 'some/image'"), std::string::npos) << missing.err;
  for (const auto& n : fs::listDir(root_)) EXPECT_NE(n.rfind("out", 0), 0u) << "written: " << n;
}

TEST_F(CliTest, RunUnknownToolIs125WithHint) {
  auto o = cli({"run", "nosuchtool"});
  EXPECT_EQ(o.code, 125);
  EXPECT_NE(o.err.find("coco: error:"), std::string::npos);
  // Suggested only when the store has it (RunSuggestsConfiguredToolsAndOnlyStoreNamesThatExist).
  EXPECT_NE(o.err.find("coco: hint: 'coco list' shows the configured tools"), std::string::npos) << o.err;
  auto bad = cli({"run", "../evil"});
  EXPECT_EQ(bad.code, 125);
  EXPECT_NE(bad.err.find("not a valid tool name"), std::string::npos);
}

TEST_F(CliTest, DryRunPrintsThePlanWithoutSecrets) {
  addTool("eslint.json", kEslint);
  ::setenv("COCO_EXTRA_PORTS", "3000:3000", 1);
  auto o = cli({"run", "--dry-run", "eslint", "--fix", "src/"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out.find("s3cr3t"), std::string::npos);
  auto j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["image"], "rootfs:" + rootfs_);
  EXPECT_EQ(j["layers"][0], rootfs_);
  EXPECT_EQ(j["mounts"][0]["src"], project_);
  EXPECT_EQ(j["mounts"][0]["mode"], "ro");
  EXPECT_EQ(j["network"], "none");
  EXPECT_EQ(j["ports"][0]["host_port"], 3000);
  EXPECT_EQ(j["argv"], nlohmann::json({"eslint", "--fix", "src/"}));
  auto env = j["env"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(env.begin(), env.end(), "MY_TOKEN"), env.end());
  EXPECT_EQ(std::find(env.begin(), env.end(), "NODE_ENV"), env.end());  // not set on the host
  EXPECT_EQ(std::find(env.begin(), env.end(), "UNRELATED_SECRET"), env.end());
}

// CI keeps its sandbox policy in the repository and names it: `coco run --config FILE NAME`.
// Run as root (as CI runs the unit tests) a run says once that the sandbox's root is the real
// one; run as anyone else it says nothing of the kind.
TEST_F(CliTest, ARunAsRootSaysSoOnce) {
  addTool("eslint.json", kEslint);
  auto o = cli({"run", "--dry-run", "eslint"});
  ASSERT_EQ(o.code, 0) << o.err;
  const std::string warning = "coco: warning: coco runs as root";
  if (::geteuid() == 0) {
    size_t at = o.err.find(warning);
    EXPECT_NE(at, std::string::npos) << o.err;
    EXPECT_EQ(o.err.find(warning, at + 1), std::string::npos) << "said twice: " << o.err;
  } else {
    EXPECT_EQ(o.err.find(warning), std::string::npos) << o.err;
  }
  EXPECT_EQ(o.out.find(warning), std::string::npos) << "on stdout: " << o.out;
}

TEST_F(CliTest, RunWithAConfigFileUsesThatFileOnly) {
  addTool("npm.json", R"({"command": "npm", "mounts": [{"src": "~", "dst": "/home"}], "network": "host"})");
  ASSERT_TRUE(fs::makeDirs(project_ + "/.coco"));
  ASSERT_TRUE(fs::writeFileAtomic(project_ + "/.coco/npm-ci.json",
                                  R"({"mounts": [{"src": ".", "dst": "/workspace"}], "network": "none"})"));
  for (const std::string& flag : {std::string("--config=.coco/npm-ci.json"), std::string("--config")}) {
    std::vector<std::string> args = {"run", "--dry-run", flag};
    if (flag == "--config") args.push_back(project_ + "/.coco/npm-ci.json");
    args.insert(args.end(), {"npm", "ci", "--offline"});
    auto o = cli(args);
    ASSERT_EQ(o.code, 0) << flag << ": " << o.err;
    auto j = nlohmann::json::parse(o.out);
    EXPECT_EQ(j["argv"], nlohmann::json({"npm", "ci", "--offline"}));
    EXPECT_EQ(j["network"], "none") << "the file's policy, not the configured tool's";
    ASSERT_EQ(j["mounts"].size(), 1u) << o.out;
    EXPECT_EQ(j["mounts"][0]["src"], project_);
  }
}

TEST_F(CliTest, AConfigFileIsReadOnlyWhenItIsARegularFileOfAConfigsSize) {
  auto fails = [&](const std::string& file, const std::string& why) {
    auto o = cli({"run", "--dry-run", "--config", file, "npm"});
    EXPECT_EQ(o.code, 125) << file;
    EXPECT_NE(o.err.find(why), std::string::npos) << file << ": " << o.err;
    EXPECT_TRUE(o.out.empty()) << o.out;
  };
  fails(project_ + "/missing.json", project_ + "/missing.json");
  ASSERT_EQ(::mkfifo((project_ + "/fifo.json").c_str(), 0644), 0);
  fails(project_ + "/fifo.json", "not a regular file");  // and no hang on the fifo
  fails(project_, "not a regular file");
  ASSERT_TRUE(fs::writeFileAtomic(project_ + "/big.json", std::string(2 << 20, ' ')));
  fails(project_ + "/big.json", "at most");
  ASSERT_TRUE(fs::writeFileAtomic(project_ + "/bad.json", "{\n  \"network\": \"sometimes\"\n}\n"));
  fails(project_ + "/bad.json", project_ + "/bad.json:2:");
  EXPECT_EQ(cli({"run", "--config"}).code, 125);
  EXPECT_EQ(cli({"run", "--config", project_ + "/bad.json", "../x"}).code, 125);
}

// A cloned repository must not grant itself anything: its .coco/ is never read unless named.
TEST_F(CliTest, AProjectsOwnConfigsAreNeverUsedImplicitly) {
  ASSERT_TRUE(fs::makeDirs(project_ + "/.coco"));
  ASSERT_TRUE(fs::writeFileAtomic(project_ + "/.coco/eslint.json",
                                  R"({"tool": "npm:eslint", "mounts": [{"src": "~", "dst": "/h"}]})"));
  ASSERT_TRUE(fs::writeFileAtomic(project_ + "/.coco/npm.json", R"({"network": "host"})"));
  EXPECT_EQ(cli({"run", "--dry-run", "npm"}).code, 125) << "a project's config for a tool the user has not";
  addTool("eslint.json", kEslint);
  auto o = cli({"run", "--dry-run", "eslint"});
  ASSERT_EQ(o.code, 0) << o.err;
  auto j = nlohmann::json::parse(o.out);
  ASSERT_EQ(j["mounts"].size(), 1u);
  EXPECT_EQ(j["mounts"][0]["dst"], "/workspace");
}

TEST_F(CliTest, RunOptionsStopAtTheToolName) {
  addTool("eslint.json", kEslint);
  auto o = cli({"run", "--dry-run", "--", "eslint", "--dry-run", "--help", "-x"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(nlohmann::json::parse(o.out)["argv"], nlohmann::json({"eslint", "--dry-run", "--help", "-x"}));
  EXPECT_EQ(cli({"run", "--dry-run", "--"}).code, 125);
}

TEST_F(CliTest, DryRunHonoursAllowNetworkAndRejectsBadPorts) {
  addTool("eslint.json", kEslint);
  ::setenv("COCO_ALLOW_NETWORK", "true", 1);
  auto o = cli({"run", "--dry-run", "eslint"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(nlohmann::json::parse(o.out)["network"], "full");
  ::setenv("COCO_EXTRA_PORTS", "99999:1", 1);
  auto bad = cli({"run", "--dry-run", "eslint"});
  EXPECT_EQ(bad.code, 125);
  EXPECT_NE(bad.err.find("COCO_EXTRA_PORTS"), std::string::npos);
}

TEST_F(CliTest, SymlinkInvocationRunsTheToolNamedByArgv0) {
  addTool("eslint.json", kEslint);
  // The engine is not reachable from here without privileges, so prove dispatch by
  // the tool it looks up: an unknown name fails naming it, a known one gets past it.
  auto unknown = cli({"--version"}, "/home/u/.local/bin/ruff");
  EXPECT_EQ(unknown.code, 125);
  EXPECT_NE(unknown.err.find("no tool named 'ruff'"), std::string::npos) << unknown.err;
  ::setenv("COCO_RUNTIME", "lxc", 1);
  auto known = cli({"--fix"}, "/home/u/.local/bin/eslint");
  EXPECT_EQ(known.code, 125);
  EXPECT_NE(known.err.find("unknown runtime 'lxc'"), std::string::npos) << known.err;
  auto self = cli({"version"}, "/usr/local/bin/coco");
  EXPECT_EQ(self.code, 0);
}

TEST_F(CliTest, DefaultImageIsTheBaseImageAndADryRunDoesNotBuildIt) {
  addTool("eslint.json", kEslint);
  ::unsetenv("COCO_IMAGE");
  auto o = cli({"run", "--dry-run", "eslint"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(nlohmann::json::parse(o.out)["image"], "coco-base");
  EXPECT_FALSE(fs::exists(home_ + "/.local/share/coco/layers")) << "a dry run built or pulled an image";
}

TEST_F(CliTest, PodmanRuntimeNeedsNoLocalImage) {
  addTool("eslint.json", kEslint);
  ::unsetenv("COCO_IMAGE");
  ::setenv("COCO_RUNTIME", "podman", 1);
  auto o = cli({"run", "--dry-run", "eslint"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(nlohmann::json::parse(o.out)["image"], "localhost/coco:latest");
}

// `list` and `run` choose runtime and image with one function: under podman or
// docker too the tool is coco's tool layer, installed on coco's native base.
TEST_F(CliTest, ListReportsTheRuntimeRunsWouldUse) {
  addTool("eslint.json", kEslint);
  ::unsetenv("COCO_IMAGE");
  EXPECT_EQ(cli({"list"}).out, "eslint  not installed\n");
  ::setenv("COCO_RUNTIME", "podman", 1);
  auto podman = cli({"list"});
  EXPECT_EQ(podman.code, 0) << podman.err;
  EXPECT_EQ(podman.out, "eslint  not installed\n");
  ::setenv("COCO_RUNTIME", "docker", 1);
  ::setenv("COCO_IMAGE", "registry.example/tools:1", 1);
  EXPECT_EQ(cli({"list"}).out, "eslint  not installed\n");
  ::setenv("COCO_RUNTIME", "lxc", 1);
  auto bad = cli({"list"});
  EXPECT_EQ(bad.code, 125);
  EXPECT_NE(bad.err.find("unknown runtime 'lxc'"), std::string::npos) << bad.err;
}

TEST_F(CliTest, GetListShowUpDown) {
  ASSERT_TRUE(fs::writeFileAtomic(root_ + "/store/eslint.json", kEslint).ok());
  auto got = cli({"get", "eslint"});
  ASSERT_EQ(got.code, 0) << got.err;
  EXPECT_NE(got.out.find("saved " + toolsDir() + "/eslint.json"), std::string::npos);
  EXPECT_NE(got.out.find("network:"), std::string::npos);
  auto again = cli({"get", "eslint"});
  EXPECT_EQ(again.code, 125);
  EXPECT_NE(again.err.find("--force"), std::string::npos);
  EXPECT_EQ(cli({"get", "--force", "eslint"}).code, 0);

  auto list = cli({"list"});
  EXPECT_EQ(list.code, 0);
  EXPECT_EQ(list.out, "eslint  not installed\n");
  EXPECT_EQ(cli({"show", "eslint"}).code, 0);

  auto up = cli({"up"});
  ASSERT_EQ(up.code, 0) << up.err;
  EXPECT_NE(up.out.find("eslint: linked"), std::string::npos);
  std::string link = home_ + "/.local/bin/eslint";
  char buf[PATH_MAX];
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  ASSERT_GT(n, 0);
  auto down = cli({"down"});
  EXPECT_EQ(down.code, 0);
  EXPECT_NE(down.out.find("eslint: removed"), std::string::npos);
  EXPECT_FALSE(fs::exists(link));
}

// A tool named like a command elsewhere in PATH is not linked over it without --force.
TEST_F(CliTest, UpSkipsToolsNamedLikeCommandsInPath) {
  std::string sysBin = root_ + "/sysbin";
  ASSERT_TRUE(fs::makeDirs(sysBin).ok());
  ASSERT_TRUE(fs::writeFileAtomic(sysBin + "/python3", "#!/bin/sh\n", 0755).ok());
  addTool("python3.json", R"({"command": "python3", "network": "none"})");
  addTool("ruff.json", R"({"tool": "pipx:ruff", "network": "none"})");
  std::string oldPath = ::getenv("PATH") ? ::getenv("PATH") : "";
  ::setenv("PATH", (home_ + "/.local/bin:" + sysBin).c_str(), 1);
  auto up = cli({"up"});
  auto forced = cli({"up", "--force"});
  ::setenv("PATH", oldPath.c_str(), 1);
  ASSERT_EQ(up.code, 0) << up.err;
  EXPECT_NE(up.out.find("python3: skipped " + home_ + "/.local/bin/python3: " + sysBin +
                        "/python3 is a command in your PATH"),
            std::string::npos)
      << up.out;
  EXPECT_NE(up.out.find("ruff: linked"), std::string::npos) << up.out;
  ASSERT_EQ(forced.code, 0) << forced.err;
  EXPECT_NE(forced.out.find("python3: linked"), std::string::npos) << forced.out;
  EXPECT_NE(forced.out.find("takes the name of " + sysBin + "/python3"), std::string::npos) << forced.out;
}

// `cd ~ && eslint .` with a writable `.`: refused (a dry run too), saying both ways to allow it;
// through the tool's link, the config key.
TEST_F(CliTest, WritableHomeNeedsAllowHome) {
  addTool("fmt.json",
          R"({"command": "fmt", "network": "none", "mounts": [{"src": ".", "dst": "/workspace"}]})");
  ASSERT_EQ(::chdir(home_.c_str()), 0);
  auto refused = cli({"run", "--dry-run", "fmt"});
  EXPECT_EQ(refused.code, 125);
  EXPECT_NE(refused.err.find("exposes your home directory"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("coco run --allow-home fmt"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("allow_home: true"), std::string::npos) << refused.err;
  auto allowed = cli({"run", "--dry-run", "--allow-home", "fmt"});
  EXPECT_EQ(allowed.code, 0) << allowed.err;
  auto viaLink = cli({"--check"}, home_ + "/.local/bin/fmt");
  EXPECT_EQ(viaLink.code, 125);
  EXPECT_NE(viaLink.err.find("set 'allow_home: true' in " + toolsDir() + "/fmt.json"), std::string::npos)
      << viaLink.err;
  EXPECT_EQ(viaLink.out, "");
  ASSERT_EQ(::chdir(project_.c_str()), 0);
  EXPECT_EQ(cli({"run", "--dry-run", "fmt"}).code, 0);
}

TEST_F(CliTest, GetRefusesBadNameAndInvalidConfig) {
  ASSERT_TRUE(fs::writeFileAtomic(root_ + "/store/typo.json", R"({"tool": "x", "comand": "y"})").ok());
  auto typo = cli({"get", "typo"});
  EXPECT_EQ(typo.code, 125);
  EXPECT_FALSE(fs::exists(toolsDir() + "/typo.json"));
  auto bad = cli({"get", "../../etc/passwd"});
  EXPECT_EQ(bad.code, 125);
  EXPECT_NE(bad.err.find("not a valid tool name"), std::string::npos);
}

// Progress is written to fd 2 itself (a live line must reach the terminal
// unbuffered); these tests read it from a file put in its place.
class QuietTest : public CliTest {
 protected:
  struct Run {
    Output o;
    std::string fd2;  // what went to file descriptor 2
  };
  Run cliFd2(std::vector<std::string> args) {
    std::string path = root_ + "/fd2";
    int saved = ::dup(STDERR_FILENO);
    int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(saved, 0);
    EXPECT_GE(file, 0);
    ::dup2(file, STDERR_FILENO);
    ::close(file);
    Output o = cli(std::move(args));
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    auto text = fs::readFile(path);
    return {o, text ? *text : std::string("?")};
  }
  // A base image as `coco rebuild` makes one, in a rootfs tarball: a new one
  // each time, since an import already made prints nothing.
  std::string baseTarball() {
    std::string dir = root_ + "/base";
    EXPECT_TRUE(fs::makeDirs(dir + "/etc/coco").ok());
    EXPECT_TRUE(fs::writeFileAtomic(dir + "/etc/coco/runtime-versions", "mise=2026.1.0\n").ok());
    std::string tar = fmt::format("{}/base{}.tar", root_, ++tarballs_);
    EXPECT_EQ(std::system(("tar -C " + dir + " -cf " + tar + " .").c_str()), 0);
    return "rootfs:" + tar;
  }
  int tarballs_ = 0;
};

TEST_F(QuietTest, RebuildPrintsProgressUnlessQuiet) {
  ::setenv("COCO_BASE_IMAGE", baseTarball().c_str(), 1);
  auto loud = cliFd2({"rebuild"});
  ASSERT_EQ(loud.o.code, 0) << loud.o.err << loud.fd2;
  EXPECT_NE(loud.fd2.find("coco: "), std::string::npos) << loud.fd2;
  EXPECT_NE(loud.o.out.find("pulled coco-base"), std::string::npos) << loud.o.out;
  for (const auto& args :
       {std::vector<std::string>{"rebuild", "--quiet"}, {"rebuild", "-q"}, {"--quiet", "rebuild"}}) {
    ::setenv("COCO_BASE_IMAGE", baseTarball().c_str(), 1);
    auto quiet = cliFd2(args);
    EXPECT_EQ(quiet.o.code, 0) << quiet.o.err << quiet.fd2;
    EXPECT_EQ(quiet.fd2, "") << args[0];
    EXPECT_EQ(quiet.o.err, "") << args[0];
    EXPECT_EQ(quiet.o.out, "") << args[0];
  }
  // Quiet is this invocation's only: the next one prints again.
  ::setenv("COCO_BASE_IMAGE", baseTarball().c_str(), 1);
  EXPECT_NE(cliFd2({"rebuild"}).fd2, "");
  ::unsetenv("COCO_BASE_IMAGE");
}

TEST_F(QuietTest, RunShowsOnlyErrorsAndItsOwnOutput) {
  addTool("eslint.json", kEslint);
  ::setenv("COCO_IMAGE", baseTarball().c_str(), 1);
  auto loud = cliFd2({"run", "--dry-run", "eslint"});  // the image is unpacked first: progress
  ASSERT_EQ(loud.o.code, 0) << loud.o.err << loud.fd2;
  EXPECT_NE(loud.fd2.find("coco: "), std::string::npos) << loud.fd2;
  for (const auto& args : {std::vector<std::string>{"run", "--quiet", "--dry-run", "eslint"},
                           {"-q", "run", "--dry-run", "eslint"}}) {
    ::setenv("COCO_IMAGE", baseTarball().c_str(), 1);
    auto quiet = cliFd2(args);
    ASSERT_EQ(quiet.o.code, 0) << quiet.o.err << quiet.fd2;
    EXPECT_EQ(quiet.fd2, "") << args[1];
    EXPECT_EQ(nlohmann::json::parse(quiet.o.out)["tool"], "eslint");  // the command's own output stays
  }
  // Errors still are printed.
  auto missing = cliFd2({"run", "--quiet", "nosuchtool"});
  EXPECT_EQ(missing.o.code, 125);
  EXPECT_NE(missing.o.err.find("coco: error:"), std::string::npos);
}

TEST_F(QuietTest, GetIsSilentButForErrors) {
  ASSERT_TRUE(fs::writeFileAtomic(root_ + "/store/eslint.json", kEslint).ok());
  auto got = cliFd2({"get", "--quiet", "eslint"});
  ASSERT_EQ(got.o.code, 0) << got.o.err;
  EXPECT_EQ(got.o.out, "");
  EXPECT_EQ(got.fd2, "");
  EXPECT_TRUE(fs::exists(toolsDir() + "/eslint.json"));
  auto again = cliFd2({"get", "-q", "eslint"});
  EXPECT_EQ(again.o.code, 125);
  EXPECT_NE(again.o.err.find("coco: error:"), std::string::npos);
}

// --- Help that helps: did-you-mean, per-command help, hints by error kind ---

TEST_F(CliTest, UnknownCommandsGetTheNearestCommandOnly) {
  auto far = cli({"frobnicate"});
  EXPECT_EQ(far.code, 125);
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
  auto typo = cli({"lsit"});
  EXPECT_EQ(typo.code, 125);
  EXPECT_NE(typo.err.find("coco: hint: did you mean 'list'?"), std::string::npos) << typo.err;
  EXPECT_NE(cli({"imgaes"}).err.find("did you mean 'images'?"), std::string::npos);
  // Option spellings are no commands to suggest.
  EXPECT_EQ(cli({"-v"}).err.find("'-V'"), std::string::npos);
}

TEST_F(CliTest, HelpOfACommandIsThatCommandsOwnUsage) {
  EXPECT_EQ(cli({"help", "nosuch"}).code, 125);
  EXPECT_NE(cli({"help", "lsit"}).err.find("did you mean 'list'?"), std::string::npos);
  EXPECT_EQ(cli({"help", "run", "extra"}).code, 125);
  EXPECT_EQ(cli({"help", "--version"}).code, 125);
  for (const auto& command : {"run", "list", "show", "get", "store", "up", "down", "images", "image", "prune",
                              "rebuild", "save", "system", "completion", "version"}) {
    auto viaHelp = cli({"help", command});
    auto viaFlag = cli({command, "--help"});
    EXPECT_EQ(viaHelp.code, 0) << command << ": " << viaHelp.err;
    EXPECT_EQ(viaHelp.out, viaFlag.out) << command;
    EXPECT_NE(viaHelp.out, cli({"help"}).out) << command << " printed the general help";
    EXPECT_NE(viaHelp.out.find(std::string("coco ") + command), std::string::npos) << viaHelp.out;
  }
  EXPECT_NE(cli({"help", "list"}).out.find("--json"), std::string::npos);
  EXPECT_NE(cli({"help", "run"}).out.find("--dry-run"), std::string::npos);
  EXPECT_EQ(cli({"help", "help"}).out, cli({"help"}).out);
  auto v = cli({"-V"});
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out, cli({"--version"}).out);
  EXPECT_EQ(v.out, cli({"version"}).out);
}

TEST_F(CliTest, RunSuggestsConfiguredToolsAndOnlyStoreNamesThatExist) {
  addTool("eslint.json", kEslint);
  auto typo = cli({"run", "eslnt"});
  EXPECT_EQ(typo.code, 125);
  EXPECT_NE(typo.err.find("did you mean 'eslint'?"), std::string::npos) << typo.err;
  EXPECT_EQ(typo.err.find("coco get eslnt"), std::string::npos) << typo.err;
  EXPECT_EQ(typo.err.find("No such file"), std::string::npos) << "an errno tail: " << typo.err;
  EXPECT_NE(cli({"show", "eslnt"}).err.find("did you mean 'eslint'?"), std::string::npos);
  auto none = cli({"run", "nosuchtool"});
  EXPECT_EQ(none.err.find("coco get nosuchtool"), std::string::npos)
      << "the store has no nosuchtool: " << none.err;
  ASSERT_TRUE(fs::writeFileAtomic(root_ + "/store/ruff.json", R"({"tool": "pipx:ruff"})").ok());
  auto inStore = cli({"run", "ruff"});
  EXPECT_EQ(inStore.code, 125);
  EXPECT_NE(inStore.err.find("coco: hint: 'coco get ruff' copies its config from the store"),
            std::string::npos)
      << inStore.err;
}

TEST_F(CliTest, GetSuggestsStoreNamesAndDropsErrnoTailsItAlreadySays) {
  ASSERT_TRUE(fs::writeFileAtomic(root_ + "/store/eslint.json", kEslint).ok());
  auto typo = cli({"get", "eslnt"});
  EXPECT_EQ(typo.code, 125);
  EXPECT_NE(typo.err.find("coco: hint: did you mean 'eslint'?"), std::string::npos) << typo.err;
  EXPECT_EQ(typo.err.find("No such file"), std::string::npos) << typo.err;
  auto far = cli({"get", "nosuch"});
  EXPECT_NE(far.err.find("the store has: eslint"), std::string::npos) << far.err;
  ASSERT_EQ(cli({"get", "eslint"}).code, 0);
  auto again = cli({"get", "eslint"});
  EXPECT_EQ(again.code, 125);
  EXPECT_EQ(again.err.find("File exists"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
  // COCO_DEBUG keeps the errno for whoever debugs.
  ::setenv("COCO_DEBUG", "1", 1);
  auto debug = cli({"get", "eslint"});
  ::unsetenv("COCO_DEBUG");
  EXPECT_NE(debug.err.find("already exists: File exists"), std::string::npos) << debug.err;
  // An errno that says what failed stays: here the config cannot be read.
  auto unreadable = cli({"run", "--config", root_ + "/missing.json", "eslint"});
  EXPECT_NE(unreadable.err.find("No such file or directory"), std::string::npos) << unreadable.err;
}

TEST_F(CliTest, AMissingRootfsImageIsSaidOnce) {
  addTool("eslint.json", kEslint);
  ::setenv("COCO_IMAGE", ("rootfs:" + root_ + "/nonexistent").c_str(), 1);
  auto o = cli({"run", "--dry-run", "eslint"});
  EXPECT_EQ(o.code, 125);
  EXPECT_NE(o.err.find("no such directory"), std::string::npos) << o.err;
  EXPECT_EQ(o.err.find("No such file or directory"), std::string::npos) << "said twice: " << o.err;
}

TEST_F(CliTest, HintsFollowTheKindOfError) {
  addTool("eslint.json", R"({"tool": "npm:eslint", "netwrok": "none"})");
  auto config = cli({"run", "--dry-run", "eslint"});
  EXPECT_EQ(config.code, 125);
  EXPECT_NE(config.err.find("coco: hint: the error is in " + toolsDir() + "/eslint.json"), std::string::npos)
      << config.err;
  EXPECT_EQ(config.err.find("coco get"), std::string::npos) << config.err;
  EXPECT_NE(cli({"show", "eslint"}).err.find("the error is in " + toolsDir() + "/eslint.json"),
            std::string::npos);

  addTool("eslint.json", kEslint);
  ::setenv("COCO_EXTRA_PORTS", "99999:1", 1);
  auto ports = cli({"run", "--dry-run", "eslint"});
  EXPECT_EQ(ports.code, 125);
  EXPECT_NE(ports.err.find("coco: hint: COCO_EXTRA_PORTS is set in your environment"), std::string::npos)
      << ports.err;
  EXPECT_EQ(ports.err.find("eslint.json"), std::string::npos) << "points at the config: " << ports.err;
  ::unsetenv("COCO_EXTRA_PORTS");
  ::setenv("COCO_RUNTIME", "lxc", 1);
  EXPECT_NE(cli({"list"}).err.find("COCO_RUNTIME is set in your environment"), std::string::npos);
}

// --- Machine-readable output ---

TEST_F(CliTest, ListShowAndVersionSpeakJson) {
  EXPECT_EQ(nlohmann::json::parse(cli({"list", "--json"}).out)["tools"], nlohmann::json::array());
  addTool("eslint.json", kEslint);
  auto list = cli({"list", "--json"});
  ASSERT_EQ(list.code, 0) << list.err;
  auto l = nlohmann::json::parse(list.out);
  EXPECT_EQ(l["runtime"], "native");
  ASSERT_EQ(l["tools"].size(), 1u);
  EXPECT_EQ(l["tools"][0]["name"], "eslint");
  EXPECT_EQ(l["tools"][0]["state"], "not-installed");

  auto show = cli({"show", "--json", "eslint"});
  ASSERT_EQ(show.code, 0) << show.err;
  auto s = nlohmann::json::parse(show.out);
  EXPECT_EQ(s["name"], "eslint");
  EXPECT_EQ(s["tool"], "npm:eslint");
  EXPECT_EQ(s["network"], "none");
  EXPECT_EQ(s["mounts"][0]["src"], project_);
  EXPECT_EQ(s["mounts"][0]["read_only"], true);
  EXPECT_EQ(s["env_passthrough"][2], "MY_TOKEN");
  EXPECT_EQ(show.out.find("s3cr3t"), std::string::npos) << "a value of the environment in the output";
  EXPECT_TRUE(s["warnings"].is_array());
  EXPECT_EQ(cli({"show", "--json", "nosuch"}).code, 125);

  auto version = cli({"version", "--json"});
  ASSERT_EQ(version.code, 0) << version.err;
  auto v = nlohmann::json::parse(version.out);
  EXPECT_EQ(v["version"], COCO_VERSION);
  EXPECT_TRUE(v["commit"].is_string());
  EXPECT_EQ(v["runtime"], "native");
  EXPECT_TRUE(v["base_image"].is_null()) << "no base image was built in this HOME";
  ::setenv("COCO_RUNTIME", "podman", 1);
  EXPECT_EQ(nlohmann::json::parse(cli({"version", "--json"}).out)["runtime"], "podman");
  EXPECT_NE(cli({"version"}).out.find("\nruntime: podman\n"), std::string::npos);
  ::setenv("COCO_RUNTIME", "lxc", 1);
  auto bad = cli({"version", "--json"});
  EXPECT_EQ(bad.code, 0) << "version reports a bad COCO_RUNTIME instead of failing";
  EXPECT_TRUE(nlohmann::json::parse(bad.out)["runtime"].is_null());
}

TEST_F(CliTest, VersionNamesTheBaseImagesVersions) {
  std::string storage = home_ + "/.local/share/coco", base = storage + "/base", layer(64, 'b');
  ASSERT_TRUE(fs::makeDirs(base).ok());
  ASSERT_TRUE(fs::makeDirs(storage + "/images").ok());
  ASSERT_TRUE(fs::makeDirs(storage + "/layers/" + layer).ok());
  ASSERT_TRUE(fs::writeFileAtomic(
                  base + "/info.json",
                  R"({"from": "docker.io/library/debian:trixie-slim", "layer": "sha256:aa",)"
                  R"( "built": "2026-12-01T10:00:00Z", "versions": {"node": "22.1.0", "mise": "2026.1"}})")
                  .ok());
  // A build record without the image (removed since) is no base image.
  EXPECT_TRUE(nlohmann::json::parse(cli({"version", "--json"}).out)["base_image"].is_null());
  ASSERT_TRUE(fs::writeFileAtomic(storage + "/images/coco-base.json",
                                  image::recordToJson(imageRecord("coco-base", layer)))
                  .ok());
  auto plain = cli({"version"});
  EXPECT_NE(plain.out.find("base image: coco-base built on docker.io/library/debian:trixie-slim"),
            std::string::npos)
      << plain.out;
  EXPECT_NE(plain.out.find("  node 22.1.0\n"), std::string::npos) << plain.out;
  auto v = nlohmann::json::parse(cli({"version", "--json"}).out);
  EXPECT_EQ(v["base_image"]["versions"]["node"], "22.1.0");
  EXPECT_EQ(v["base_image"]["from"], "docker.io/library/debian:trixie-slim");
}

// --- The store ---

TEST_F(CliTest, StoreListsBundledAndRemoteConfigs) {
  ASSERT_TRUE(fs::writeFileAtomic(root_ + "/store/eslint.json", kEslint).ok());
  ASSERT_TRUE(
      fs::writeFileAtomic(root_ + "/store/gofmt.json", R"({"command": "gofmt", "network": "none"})").ok());
  auto o = cli({"store"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "eslint  npm:eslint\ngofmt   runs gofmt from the image\n");
  auto j = nlohmann::json::parse(cli({"store", "--json"}).out);
  EXPECT_EQ(j["store"], root_ + "/store");
  EXPECT_EQ(j["entries"][1]["name"], "gofmt");
  EXPECT_EQ(cli({"store", "extra"}).code, 125);

  std::string remote = root_ + "/remote";
  ASSERT_TRUE(fs::makeDirs(remote).ok());
  ::setenv("COCO_STORE_BASE", ("file://" + remote).c_str(), 1);
  auto noIndex = cli({"store"});
  EXPECT_EQ(noIndex.code, 125);
  EXPECT_NE(noIndex.err.find("has no index.json"), std::string::npos) << noIndex.err;
  ASSERT_TRUE(
      fs::writeFileAtomic(remote + "/index.json", R"([{"name": "ruff", "description": "Python linter"}])")
          .ok());
  EXPECT_EQ(cli({"store"}).out, "ruff  Python linter\n");
  auto miss = cli({"get", "ruf"});
  EXPECT_NE(miss.err.find("did you mean 'ruff'?"), std::string::npos) << miss.err;
}

// --- Images ---

class CliImagesTest : public CliTest {
 protected:
  std::string storage() const { return home_ + "/.local/share/coco"; }
  // A stored image: a record and its (empty) unpacked layer.
  void addImage(const std::string& name, const std::string& configHex, const std::string& layerHex) {
    image::ImageRecord r;
    r.name = name;
    r.configDigest = "sha256:" + configHex;
    r.layers = {"sha256:" + layerHex};
    r.size = 2048;
    r.created = "2026-12-01T10:00:00Z";
    for (const std::string& sub :
         {std::string("/images"), "/layers/" + layerHex, std::string("/blobs/sha256")})
      ASSERT_TRUE(fs::makeDirs(storage() + sub).ok());
    ASSERT_TRUE(fs::writeFileAtomic(storage() + "/images/" + image::escapeName(name) + ".json",
                                    image::recordToJson(r))
                    .ok());
  }
  void addToolLayer(const std::string& tool, const std::string& base) {
    std::string dir = storage() + "/tool-layers/" + tool + "/h1";
    ASSERT_TRUE(fs::makeDirs(dir + "/layer").ok());
    ASSERT_TRUE(
        fs::writeFileAtomic(dir + "/record.json", tool::layerToJson({"", "h1", base, "npm:x", "1.0", "", {}}))
            .ok());
  }
  static std::string hex(char c, char d = '0') { return std::string(1, c) + std::string(63, d); }
};

TEST_F(CliImagesTest, RemoveRefusesWhatItMustNotTouch) {
  addImage("docker.io/library/debian:trixie-slim", "abcd1" + std::string(59, '0'), hex('1'));
  addImage("docker.io/library/alpine:3", "abcd2" + std::string(59, '0'), hex('2'));
  std::string outside = root_ + "/x.json";
  ASSERT_TRUE(fs::writeFileAtomic(outside, "keep").ok());
  // A name that climbs out of the storage names nothing.
  for (const char* bad : {"../x", "../../x.json", "/etc/passwd", "", "images/../x"}) {
    auto o = cli({"image", "rm", bad});
    EXPECT_EQ(o.code, 125) << bad;
  }
  EXPECT_TRUE(fs::exists(outside));
  // An id prefix that matches two images removes neither, and names both.
  auto twice = cli({"image", "rm", "abcd"});
  EXPECT_EQ(twice.code, 125);
  EXPECT_NE(twice.err.find("matches 2 images"), std::string::npos) << twice.err;
  EXPECT_NE(twice.err.find("alpine"), std::string::npos) << twice.err;
  EXPECT_EQ(cli({"image", "rm", "abc"}).code, 125) << "a 3-digit prefix is too short to name an image";
  EXPECT_EQ(nlohmann::json::parse(cli({"images", "--json"}).out).size(), 2u);
  // A tool layer built on an image keeps it, unless --force (which removes the layer too).
  addToolLayer("eslint", hex('1'));
  auto used = cli({"image", "rm", "debian:trixie-slim"});
  EXPECT_EQ(used.code, 125);
  EXPECT_NE(used.err.find("tool layers are built on docker.io/library/debian:trixie-slim: eslint"),
            std::string::npos)
      << used.err;
  EXPECT_TRUE(fs::exists(storage() + "/tool-layers/eslint/h1"));
  auto forced = cli({"image", "rm", "--force", "abcd1"});
  ASSERT_EQ(forced.code, 0) << forced.err;
  EXPECT_NE(forced.out.find("removed the tool layer of eslint"), std::string::npos) << forced.out;
  EXPECT_NE(forced.out.find("removed docker.io/library/debian:trixie-slim"), std::string::npos) << forced.out;
  EXPECT_FALSE(fs::exists(storage() + "/tool-layers/eslint/h1"));
  EXPECT_FALSE(fs::exists(storage() + "/layers/" + hex('1'))) << "its layer was not freed";
  EXPECT_TRUE(fs::exists(storage() + "/layers/" + hex('2')));
  EXPECT_EQ(cli({"image", "rm", "abcd1"}).code, 125) << "removed twice";
}

TEST_F(CliImagesTest, ThePlantedSymlinkAndTheImageInUse) {
  addImage("coco-base", hex('c'), hex('3'));
  // The image runs use (no COCO_IMAGE: coco-base) is refused without --force.
  ::unsetenv("COCO_IMAGE");
  auto inUse = cli({"image", "rm", "coco-base"});
  EXPECT_EQ(inUse.code, 125);
  EXPECT_NE(inUse.err.find("runs use coco-base"), std::string::npos) << inUse.err;
  EXPECT_TRUE(fs::exists(storage() + "/images/coco-base.json"));
  auto list = cli({"images"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find("(runs use it)"), std::string::npos) << list.out;
  // A symlink planted among the records is never followed to what it points at.
  std::string victim = root_ + "/victim.json";
  ASSERT_TRUE(fs::writeFileAtomic(victim, image::recordToJson(imageRecord("evil", hex('4')))).ok());
  ASSERT_EQ(::symlink(victim.c_str(), (storage() + "/images/evil.json").c_str()), 0);
  // The listing refuses it and names the file, so the user can look at it.
  auto listed = cli({"images", "--json"});
  EXPECT_EQ(listed.code, 125);
  EXPECT_EQ(listed.out.find("\"evil\""), std::string::npos) << "a planted record was listed: " << listed.out;
  EXPECT_NE(listed.err.find("evil.json"), std::string::npos) << listed.err;
  auto removed = cli({"image", "rm", "--force", "evil"});
  EXPECT_EQ(removed.code, 125) << removed.out;
  EXPECT_TRUE(fs::exists(victim));
  EXPECT_NE(fs::readFile(victim).value().find("evil"), std::string::npos);
  EXPECT_TRUE(fs::exists(storage() + "/images/coco-base.json"));
}

TEST(ExitCodes, Mapping) {
  EXPECT_EQ(exitCodeFor(Result<int>(0)), 0);
  EXPECT_EQ(exitCodeFor(Result<int>(1)), 1);
  EXPECT_EQ(exitCodeFor(Result<int>(126)), 126);
  EXPECT_EQ(exitCodeFor(Result<int>(127)), 127);
  EXPECT_EQ(exitCodeFor(Result<int>(128 + 9)), 137);
  EXPECT_EQ(exitCodeFor(Result<int>(Error::make("sandbox failed"))), 125);
  EXPECT_EQ(exitCodeFor(Result<int>(Error::make("noexec").withExitCode(126))), 126);
  EXPECT_EQ(exitCodeFor(Result<int>(Error::make("missing").withExitCode(127).wrap("tool"))), 127);
  EXPECT_EQ(exitCodeFor(Result<int>(-1)), 125);
  EXPECT_EQ(exitCodeFor(Result<int>(256)), 125);
}

}  // namespace
}  // namespace coco::cli
