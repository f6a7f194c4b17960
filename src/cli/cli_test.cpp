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
#include "sys/process.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::cli {
namespace {

constexpr const char* kEslint =
    R"({"tool": "npm:eslint", "mounts": [{"src": ".", "dst": "/workspace", "opts": "ro"}],)"
    R"( "env_passthrough": ["TERM", "NODE_ENV", "MY_TOKEN"], "network": "none"})";

struct Output {
  int code;
  std::string out, err;
};

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
    EXPECT_EQ(v.out, std::string("coco ") + COCO_VERSION + "\n") << "not built from git: no commit";
    return;
  }
  std::string commit = head->output.substr(0, head->output.find('\n'));
  EXPECT_NE(v.out.find(" (git " + commit), std::string::npos) << v.out << " vs HEAD " << commit;
}

// The attack of util/data_dir_test.cpp with the real binary: a copy of coco outside
// its build tree (as installed) takes the bundled store from the installed data
// only, never from the source tree it was built from (a path a local user may create).
TEST_F(CliTest, InstalledBinaryNeverReadsTheSourceTree) {
  std::string copy = root_ + "/bin/coco";
  ASSERT_TRUE(fs::makeDirs(root_ + "/bin").ok());
  std::error_code ec;
  std::filesystem::copy_file(std::string(COCO_BUILD_ROOT) + "/src/coco", copy, ec);
  ASSERT_FALSE(ec) << ec.message();
  sys::SpawnOptions o{.argv = {"sh", "-c", "exec \"$0\" get --force eslint 2>&1", copy},
                      .out = sys::Stdio::Capture};
  o.env = {"PATH=/usr/bin:/bin", "HOME=" + home_};
  auto r = sys::run(o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->output.find(COCO_SOURCE_ROOT), std::string::npos) << r->output;
  EXPECT_NE(r->output.find(COCO_DATADIR), std::string::npos) << r->output;
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
  EXPECT_NE(o.err.find("coco get nosuchtool"), std::string::npos) << o.err;
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
  EXPECT_NE(unknown.err.find("coco get ruff"), std::string::npos) << unknown.err;
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
// docker the tool comes with that runtime's image, coco's tool layers play no part.
TEST_F(CliTest, ListReportsTheRuntimeRunsWouldUse) {
  addTool("eslint.json", kEslint);
  ::unsetenv("COCO_IMAGE");
  EXPECT_EQ(cli({"list"}).out, "eslint  not installed\n");
  ::setenv("COCO_RUNTIME", "podman", 1);
  auto podman = cli({"list"});
  EXPECT_EQ(podman.code, 0) << podman.err;
  EXPECT_EQ(podman.out, "eslint  comes with podman's image localhost/coco:latest\n");
  ::setenv("COCO_RUNTIME", "docker", 1);
  ::setenv("COCO_IMAGE", "registry.example/tools:1", 1);
  EXPECT_EQ(cli({"list"}).out, "eslint  comes with docker's image registry.example/tools:1\n");
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
