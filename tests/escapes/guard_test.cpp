// Escapes through the workspace: files a tool plants in a writable mount that the host later runs
// (git's config, hooks and repository discovery, direnv, mise, editors). Each test runs a tool
// shaped like eslint's config (`.` writable at /workspace, guard on) that attacks from inside the
// sandbox, then does on the host what a user does next (git status, git commit) and checks that
// no planted command ran: the planted commands touch a marker file outside the workspace.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace fs = std::filesystem;

namespace cocotest {
namespace {

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exitCode) + (r.timedOut ? " (timed out)" : "") + "\n--- stdout ---\n" + r.out +
         "--- stderr ---\n" + r.err;
}

// A shell snippet that writes `text` to `path` (inside the sandbox), creating its directory.
std::string plant(const std::string& path, const std::string& text) {
  std::string dir = fs::path(path).parent_path().string();
  return (dir.empty() ? "" : "mkdir -p " + shellQuote(dir) + " && ") + "cat > " + shellQuote(path) +
         " <<'COCO_EOF'\n" + text + "COCO_EOF\n";
}

class GuardEscapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    COCO_REQUIRE_SANDBOX();
    marker_ = outside_.path() + "/PWNED";
    writeFile(home_.path() + "/.gitconfig",
              "[user]\n\tname = coco test\n\temail = test@example.invalid\n"
              "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
              "[protocol \"file\"]\n\tallow = always\n");
    writeTool("lint", "");
  }

  // The eslint-shaped tool: `sh` from the test image, `.` writable at /workspace.
  void writeTool(const std::string& name, const std::string& extra) {
    env_.writeTool(name, R"({"command": "sh", "network": "none",
      "mounts": [{"src": ".", "dst": "/workspace", "opts": "rw"}])" +
                             (extra.empty() ? "" : ", " + extra) + "}\n");
  }

  // Runs `script` in the sandbox with `cwd` (default: the workspace) as the directory coco runs from.
  RunResult attack(const std::string& script, const std::string& cwd = "", const std::string& tool = "lint") {
    RunOptions opts;
    opts.env = {{"HOME", home_.path()}};
    opts.cwd = cwd;
    opts.fdSoftLimit = fdLimit_.first;
    opts.fdHardLimit = fdLimit_.second;
    return env_.run({"run", tool, "-c", "cd /workspace || exit 99\n" + script}, opts);
  }

  // Runs a command on the host as the user would, in `dir`; returns its exit status and output.
  std::pair<int, std::string> host(const std::string& dir, const std::string& cmd) const {
    RunResult r = hostShell("cd " + shellQuote(dir) + " && exec env -i HOME=" + shellQuote(home_.path()) +
                            " PATH=/usr/local/bin:/usr/bin:/bin LANG=C GIT_CONFIG_NOSYSTEM=1 sh -c " +
                            shellQuote(cmd));
    return {r.exitCode, r.out};
  }

  void hostOk(const std::string& dir, const std::string& cmd) const {
    auto [rc, out] = host(dir, cmd);
    ASSERT_EQ(rc, 0) << cmd << " in " << dir << ":\n" << out;
  }

  // A repository with one commit in the workspace (or `dir`).
  void makeRepo(const std::string& dir, const std::string& initArgs = "") const {
    fs::create_directories(dir);
    writeFile(dir + "/README", "hello\n");
    hostOk(dir, "git init -q " + initArgs + " && git add README && git commit -qm init");
  }

  // What a planted command runs: it leaves the marker outside the workspace.
  std::string evilCommand() const { return "touch " + marker_; }
  std::string evilHook() const { return "#!/bin/sh\n" + evilCommand() + "\n"; }
  std::string evilConfig(const std::string& extra = "") const {
    return "[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tfsmonitor = \"" + evilCommand() +
           "; false\"\n" + extra;
  }
  // A repository's git directory, planted by the tool at `gitdir` (a path in the sandbox).
  std::string plantGitDir(const std::string& gitdir, const std::string& configExtra = "") const {
    return "mkdir -p " + gitdir + "/objects " + gitdir + "/refs/heads && echo 'ref: refs/heads/main' > " + gitdir +
           "/HEAD\n" + plant(gitdir + "/config", evilConfig(configExtra)) +
           plant(gitdir + "/hooks/pre-commit", evilHook()) + "chmod +x " + gitdir + "/hooks/pre-commit\n";
  }

  // The checks a user's next steps amount to: git status (shell prompts, editors) and git commit.
  void expectNoPlantedCommandRuns(const std::string& dir, const RunResult& r) {
    auto status = host(dir, "git status");
    EXPECT_FALSE(fs::exists(marker_)) << "git status in " << dir << " ran a planted command\n"
                                      << status.second << describe(r);
    auto commit = host(dir, "git commit -q --allow-empty -m after");
    EXPECT_FALSE(fs::exists(marker_)) << "git commit in " << dir << " ran a planted command\n"
                                      << commit.second << describe(r);
  }

  const std::string& ws() const { return env_.workdir(); }

  Env env_;
  std::pair<unsigned long, unsigned long> fdLimit_{0, 0};  // coco's RLIMIT_NOFILE (soft, hard); 0: inherited
  TempDir home_{"coco-home"};
  TempDir outside_{"coco-outside"};
  std::string marker_;
};

// --- git's own files ----------------------------------------------------------------------

// The issue's first finding: .git/commondir did not exist, so nothing guarded it.
TEST_F(GuardEscapeTest, CommondirPointingAtAPlantedCopy) {
  makeRepo(ws());
  RunResult r = attack("cp -r .git evil\n" + plant("evil/config", evilConfig()) +
                       plant("evil/hooks/pre-commit", evilHook()) +
                       "chmod +x evil/hooks/pre-commit\necho ../evil > .git/commondir\n");
  expectNoPlantedCommandRuns(ws(), r);
  EXPECT_FALSE(fs::exists(ws() + "/.git/commondir")) << describe(r);
}

// What the guard made read-only for the run (a nested repository's .git) or the config mounts
// read-only over part of the workspace cannot be changed by the tool, but the directory above
// it can be renamed to a guarded name: the guard's removal of that name deleted the repository
// and the read-only data with it. They stay; what the tool wrote around them goes.
TEST_F(GuardEscapeTest, RemovingAPlantedNameKeepsWhatWasReadOnly) {
  makeRepo(ws() + "/projX");
  writeFile(ws() + "/sub/data/secret-config", "keep\n");
  env_.writeTool("shro", R"({"command": "sh", "network": "none",
      "mounts": [{"src": ".", "dst": "/workspace", "opts": "rw"},
                 {"src": "./sub/data", "dst": "/workspace/sub/data", "opts": "ro"}]})");
  RunResult r = attack("echo x > projX/.git/HEAD; rm -rf projX/.git 2>/dev/null; mv projX .vscode\n"
                       "echo '{\"tasks\": []}' > .vscode/tasks.json\n"
                       "rm -f sub/data/secret-config 2>/dev/null; mv sub .idea && echo x > .idea/workspace.xml\n"
                       "sleep 0.5; echo moved\n",
                       "", "shro");
  ASSERT_TRUE(contains(r.out, "moved")) << describe(r);
  // The planted names are gone; what was read-only is kept under names of the guard's own.
  EXPECT_FALSE(fs::exists(ws() + "/.vscode")) << describe(r);
  EXPECT_FALSE(fs::exists(ws() + "/.idea")) << describe(r);
  std::string repo, data;
  for (const auto& e : fs::directory_iterator(ws())) {
    std::string name = e.path().filename().string();
    if (name.rfind(".coco-guard-", 0) != 0) continue;
    if (fs::exists(e.path() / ".git/config")) repo = e.path().string();
    if (fs::exists(e.path() / "data/secret-config")) data = e.path().string();
  }
  ASSERT_FALSE(repo.empty()) << "the nested repository was removed\n" << describe(r);
  EXPECT_EQ(readFile(repo + "/.git/HEAD"), "ref: refs/heads/main\n") << describe(r);
  EXPECT_FALSE(fs::exists(repo + "/tasks.json")) << describe(r);
  ASSERT_FALSE(data.empty()) << "the read-only mount's data was removed\n" << describe(r);
  EXPECT_EQ(readFile(data + "/data/secret-config"), "keep\n") << describe(r);
  EXPECT_FALSE(fs::exists(data + "/workspace.xml")) << describe(r);
  EXPECT_TRUE(contains(r.err, "read-only for the run")) << describe(r);
}

TEST_F(GuardEscapeTest, HooksDirectoryThatDidNotExist) {
  makeRepo(ws(), "--template=");
  ASSERT_FALSE(fs::exists(ws() + "/.git/hooks"));
  RunResult r = attack(plant(".git/hooks/pre-commit", evilHook()) + "chmod +x .git/hooks/pre-commit\n");
  expectNoPlantedCommandRuns(ws(), r);
}

TEST_F(GuardEscapeTest, HooksSymlinkReplacedByADirectory) {
  makeRepo(ws());
  fs::create_directories(outside_.path() + "/hooks");
  fs::remove_all(ws() + "/.git/hooks");
  fs::create_directory_symlink(outside_.path() + "/hooks", ws() + "/.git/hooks");
  RunResult r = attack("rm -f .git/hooks\n" + plant(".git/hooks/pre-commit", evilHook()) +
                       "chmod +x .git/hooks/pre-commit\n");
  expectNoPlantedCommandRuns(ws(), r);
  EXPECT_TRUE(fs::is_symlink(ws() + "/.git/hooks")) << describe(r);
}

TEST_F(GuardEscapeTest, HooksSymlinkIntoTheWorktree) {
  makeRepo(ws());
  fs::remove_all(ws() + "/.git/hooks");
  fs::create_directories(ws() + "/githooks");
  fs::create_directory_symlink("../githooks", ws() + "/.git/hooks");
  RunResult r = attack(plant("githooks/pre-commit", evilHook()) + "chmod +x githooks/pre-commit\n");
  expectNoPlantedCommandRuns(ws(), r);
}

TEST_F(GuardEscapeTest, ExistingSubmoduleGitDir) {
  makeRepo(outside_.path() + "/lib");
  makeRepo(ws());
  hostOk(ws(), "git submodule -q add " + shellQuote(outside_.path() + "/lib") + " lib && git commit -qm sub");
  ASSERT_TRUE(fs::exists(ws() + "/.git/modules/lib/config"));
  RunResult r = attack(plant(".git/modules/lib/config", evilConfig("\tworktree = ../../../lib\n")));
  expectNoPlantedCommandRuns(ws() + "/lib", r);
  expectNoPlantedCommandRuns(ws(), r);
}

TEST_F(GuardEscapeTest, LinkedWorktreeCommondir) {
  makeRepo(ws());
  hostOk(ws(), "git worktree add -q wt");
  ASSERT_TRUE(fs::exists(ws() + "/.git/worktrees/wt/gitdir"));
  RunResult r = attack("cp -r .git evil\n" + plant("evil/config", evilConfig()) +
                       "echo ../../../evil > .git/worktrees/wt/commondir\n");
  expectNoPlantedCommandRuns(ws() + "/wt", r);
}

TEST_F(GuardEscapeTest, ConfigWorktree) {
  makeRepo(ws());
  hostOk(ws(), "git config extensions.worktreeConfig true");
  RunResult r = attack(plant(".git/config.worktree", evilConfig()));
  expectNoPlantedCommandRuns(ws(), r);
}

// --- repository discovery -------------------------------------------------------------------

// A new repository anywhere in the workspace: git run in that directory uses its config.
class NestedRepositoryTest : public GuardEscapeTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(NestedRepositoryTest, IsNotLeftBehind) {
  makeRepo(ws());
  std::string dir = GetParam();
  fs::create_directories(ws() + "/" + dir);
  RunResult r = attack(plantGitDir(dir + "/.git"));
  expectNoPlantedCommandRuns(ws() + "/" + dir, r);
  EXPECT_FALSE(fs::exists(ws() + "/" + dir + "/.git")) << describe(r);
  EXPECT_TRUE(contains(r.err, dir + "/.git")) << "the removal is reported\n" << describe(r);
}

INSTANTIATE_TEST_SUITE_P(Depths, NestedRepositoryTest, ::testing::Values("sub", "a/b/c", "node_modules/pkg"));

TEST_F(GuardEscapeTest, GitFilePointingAtAPlantedGitDir) {
  makeRepo(ws());
  fs::create_directories(ws() + "/sub");
  RunResult r = attack(plantGitDir("stash/x") + "echo 'gitdir: ../stash/x' > sub/.git\n");
  expectNoPlantedCommandRuns(ws() + "/sub", r);
  EXPECT_FALSE(fs::exists(ws() + "/sub/.git")) << describe(r);
}

TEST_F(GuardEscapeTest, GitSymlinkToAPlantedGitDir) {
  makeRepo(ws());
  fs::create_directories(ws() + "/sub");
  RunResult r = attack(plantGitDir("stash/x") + "ln -s ../stash/x sub/.git\n");
  expectNoPlantedCommandRuns(ws() + "/sub", r);
  EXPECT_FALSE(fs::symlink_status(ws() + "/sub/.git").type() != fs::file_type::not_found) << describe(r);
}

// A directory holding HEAD, objects/ and refs/ is a git directory to git's discovery; with
// core.worktree set in its config, git status inside it runs the fsmonitor command.
TEST_F(GuardEscapeTest, EmbeddedBareRepository) {
  makeRepo(ws());
  fs::create_directories(ws() + "/sub");
  RunResult r = attack(plantGitDir("sub", "\tworktree = ..\n"));
  expectNoPlantedCommandRuns(ws() + "/sub", r);
}

// git's is_git_directory follows symlinks: HEAD plus objects and refs symlinked to the real
// repository's make a git directory too, and its config (core.worktree, core.fsmonitor) runs
// for git in any directory below it. Planted in a directory that existed (watched during the
// run, and one too deep to be watched), and in a new one.
TEST_F(GuardEscapeTest, GitDirectoryMadeOfSymlinks) {
  makeRepo(ws());
  for (const char* dir : {"src/x", "deep/er/src/x"}) fs::create_directories(ws() + "/" + dir);
  std::string script;
  for (const std::string dir : {"src", "deep/er/src", "newdir"}) {
    std::string up = dir == "deep/er/src" ? "../../../" : "../";
    script += "mkdir -p " + dir + "/x && cp .git/HEAD " + dir + "/HEAD && ln -s " + up + ".git/objects " + dir +
              "/objects && ln -s " + up + ".git/refs " + dir + "/refs\n" +
              plant(dir + "/config", evilConfig("\tworktree = " + up.substr(0, up.size() - 1) + "\n"));
  }
  RunResult r = attack(script + "true\n");
  // newdir goes whole (or loses HEAD to the watch): git there then has nothing to run.
  for (const char* dir : {"src/x", "deep/er/src/x", "newdir/x"}) expectNoPlantedCommandRuns(ws() + "/" + dir, r);
  EXPECT_TRUE(fs::is_directory(ws() + "/.git/objects")) << describe(r);
}

// The user ran the tool from a subdirectory of a repository (or from a directory in no
// repository): a git directory in the mount root shadows the parent's for git run there.
struct RootCase {
  const char* name;
  bool parentRepo;
  const char* kind;  // "dir", "file" or "bare"
};

void PrintTo(const RootCase& c, std::ostream* os) { *os << c.name; }

class RepositoryAtTheMountRootTest : public GuardEscapeTest, public ::testing::WithParamInterface<RootCase> {};

TEST_P(RepositoryAtTheMountRootTest, IsNotLeftBehind) {
  const RootCase& c = GetParam();
  std::string root = ws() + "/project/sub";
  if (c.parentRepo) makeRepo(ws() + "/project");
  fs::create_directories(root);
  std::string kind = c.kind;
  std::string script = kind == "dir"    ? plantGitDir(".git")
                       : kind == "file" ? plantGitDir("stash/x") + "echo 'gitdir: stash/x' > .git\n"
                                        : plantGitDir(".", "\tworktree = .\n");
  RunResult r = attack(script, root);
  auto status = host(root, "git status");
  EXPECT_FALSE(fs::exists(marker_)) << status.second << describe(r);
  if (c.parentRepo) {
    auto commit = host(root, "git commit -q --allow-empty -m after");
    EXPECT_FALSE(fs::exists(marker_)) << commit.second << describe(r);
  }
  EXPECT_FALSE(fs::exists(root + "/.git")) << describe(r);
}

INSTANTIATE_TEST_SUITE_P(Kinds, RepositoryAtTheMountRootTest,
                         ::testing::Values(RootCase{"ParentRepoGitDir", true, "dir"},
                                           RootCase{"ParentRepoGitFile", true, "file"},
                                           RootCase{"ParentRepoBare", true, "bare"},
                                           RootCase{"NoRepoGitDir", false, "dir"}),
                         [](const auto& info) { return std::string(info.param.name); });

// The repository the user runs the tool in from a subdirectory, with only that subdirectory
// mounted: its .git lies outside the mount, where the sandbox cannot reach it.
TEST_F(GuardEscapeTest, EnclosingRepositoryOutsideTheMountIsNotReachable) {
  makeRepo(ws() + "/project");
  std::string config = readFile(ws() + "/project/.git/config");
  fs::create_directories(ws() + "/project/sub");
  RunResult r = attack("ls -a .. | grep -x .git && echo 'the enclosing .git is visible'\n"
                       "for d in .. ../.. ../../.. /; do mkdir -p \"$d/.git/hooks\" 2>/dev/null; "
                       "printf '#!/bin/sh\\n" + evilCommand() + "\\n' > \"$d/.git/hooks/pre-commit\" 2>/dev/null; "
                       "chmod +x \"$d/.git/hooks/pre-commit\" 2>/dev/null; "
                       "printf '[core]\\n\\tfsmonitor = \"" + evilCommand() + "; false\"\\n' >> \"$d/.git/config\" 2>/dev/null; done\ntrue\n",
                       ws() + "/project/sub");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_FALSE(contains(r.out, "visible")) << describe(r);
  EXPECT_EQ(readFile(ws() + "/project/.git/config"), config) << describe(r);
  EXPECT_FALSE(fs::exists(ws() + "/project/.git/hooks/pre-commit")) << describe(r);
  expectNoPlantedCommandRuns(ws() + "/project/sub", r);
}

// --- hooks outside .git -----------------------------------------------------------------------

struct HooksPathCase {
  const char* name;
  const char* hooksPath;  // core.hooksPath
  bool exists;            // the directory is there before the run
  bool global;            // set in the user's global config instead of the repository's
};

void PrintTo(const HooksPathCase& c, std::ostream* os) { *os << c.name; }

class HooksPathTest : public GuardEscapeTest, public ::testing::WithParamInterface<HooksPathCase> {};

TEST_P(HooksPathTest, HookCannotBePlanted) {
  const HooksPathCase& c = GetParam();
  makeRepo(ws());
  std::string dir = c.hooksPath;
  if (c.global) {
    writeFile(home_.path() + "/.gitconfig", readFile(home_.path() + "/.gitconfig") + "[core]\n\thooksPath = " + dir + "\n");
  } else {
    hostOk(ws(), "git config core.hooksPath " + dir);
  }
  if (c.exists) {
    writeFile(ws() + "/" + dir + "/pre-commit", "#!/bin/sh\ntrue\n");
    fs::permissions(ws() + "/" + dir + "/pre-commit", fs::perms::owner_exec, fs::perm_options::add);
  }
  RunResult r = attack("rm -f " + dir + "/pre-commit\n" + plant(dir + "/pre-commit", evilHook()) + "chmod +x " + dir +
                       "/pre-commit\n");
  expectNoPlantedCommandRuns(ws(), r);
}

INSTANTIATE_TEST_SUITE_P(Layouts, HooksPathTest,
                         ::testing::Values(HooksPathCase{"HuskyExisting", ".husky", true, false},
                                           HooksPathCase{"HuskyMissing", ".husky/_", false, false},
                                           HooksPathCase{"CustomExisting", "tools/git-hooks", true, false},
                                           HooksPathCase{"CustomMissing", "tools/git-hooks", false, false},
                                           HooksPathCase{"GlobalRelative", "githooks", true, true}),
                         [](const auto& info) { return std::string(info.param.name); });

// The hooks directory is pinned, but the directory it lies in is not: moved away (the mount moves
// with it) and replaced by a symlink to planted hooks, it would redirect core.hooksPath.
TEST_F(GuardEscapeTest, HooksPathParentReplacedByASymlink) {
  makeRepo(ws());
  hostOk(ws(), "git config core.hooksPath tools/git-hooks");
  writeFile(ws() + "/tools/git-hooks/pre-commit", "#!/bin/sh\ntrue\n");
  RunResult r = attack("mv tools tools-old\n" + plant("evil/git-hooks/pre-commit", evilHook()) +
                       "chmod +x evil/git-hooks/pre-commit\nln -s evil tools\ntrue\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  expectNoPlantedCommandRuns(ws(), r);
  EXPECT_FALSE(fs::is_symlink(ws() + "/tools")) << describe(r);
}

// --- files git's configuration points at -------------------------------------------------------
// The hooks directory and the configs are pinned, but what they name in the worktree is a file
// like any other: a hook that is a symlink to a shared script, a config pulled in with
// include.path, a program a config runs by a relative path. The tool rewrites that file; the
// user's next git command runs it.

// A worktree file, as it was before the run: the pin keeps it so (or the check after the run
// removes what replaced it, and says so).
void expectUnchangedOrRemoved(const std::string& path, const std::string& before, const RunResult& r) {
  if (fs::exists(path)) {
    EXPECT_EQ(readFile(path), before) << path << " keeps the tool's change\n" << describe(r);
  } else {
    EXPECT_TRUE(contains(r.err, "workspace guard: removed")) << path << " went unreported\n" << describe(r);
  }
}

struct HookLinkCase {
  const char* name;
  const char* hooksPath;  // core.hooksPath, or "" for .git/hooks
  bool replaceDir;        // the tool moves the target's directory away and makes a new one
};

void PrintTo(const HookLinkCase& c, std::ostream* os) { *os << c.name; }

class HookSymlinkTest : public GuardEscapeTest, public ::testing::WithParamInterface<HookLinkCase> {};

// `.git/hooks/pre-commit -> ../../scripts/pre-commit`, the usual way to share a hook.
TEST_P(HookSymlinkTest, TargetCannotBeRewritten) {
  const HookLinkCase& c = GetParam();
  makeRepo(ws());
  std::string hooks = *c.hooksPath ? std::string(c.hooksPath) : ".git/hooks";
  if (*c.hooksPath) hostOk(ws(), std::string("git config core.hooksPath ") + c.hooksPath);
  std::string original = "#!/bin/sh\nexit 0\n";
  writeFile(ws() + "/scripts/pre-commit", original);
  fs::permissions(ws() + "/scripts/pre-commit", fs::perms::owner_exec, fs::perm_options::add);
  fs::create_directories(ws() + "/" + hooks);
  fs::remove(ws() + "/" + hooks + "/pre-commit");
  std::string up;
  for (size_t n = std::count(hooks.begin(), hooks.end(), '/') + 1; n > 0; --n) up += "../";
  fs::create_symlink(up + "scripts/pre-commit", ws() + "/" + hooks + "/pre-commit");
  hostOk(ws(), "git commit -q --allow-empty -m 'the hook runs'");
  std::string script = c.replaceDir ? "mv scripts scripts-old\n" : "";
  RunResult r = attack(script + plant("scripts/pre-commit", evilHook()) + "chmod +x scripts/pre-commit\ntrue\n");
  expectNoPlantedCommandRuns(ws(), r);
  expectUnchangedOrRemoved(ws() + "/scripts/pre-commit", original, r);
}

INSTANTIATE_TEST_SUITE_P(Layouts, HookSymlinkTest,
                         ::testing::Values(HookLinkCase{"GitHooks", "", false},
                                           HookLinkCase{"GitHooksDirectoryReplaced", "", true},
                                           HookLinkCase{"HooksPath", ".githooks", false},
                                           HookLinkCase{"HooksPathNested", "tools/git-hooks", false}),
                         [](const auto& info) { return std::string(info.param.name); });

struct IncludeCase {
  const char* name;
  bool global;          // in the user's ~/.gitconfig instead of the repository's config
  const char* section;  // "include" or an includeIf condition (WS: the workspace)
  const char* path;     // include.path as written (WS: the workspace)
  const char* target;   // the file the tool writes, relative to the workspace
  bool exists;          // the target is there before the run
  const char* via;      // an existing included file that includes the target, or ""
};

void PrintTo(const IncludeCase& c, std::ostream* os) { *os << c.name; }

class ConfigIncludeTest : public GuardEscapeTest, public ::testing::WithParamInterface<IncludeCase> {
 protected:
  // Each "WS" becomes the workspace's path; the search goes on after what replaced it, since the
  // path (a random temporary name) may hold "WS" itself: searching from the start looped forever.
  std::string expand(std::string s) const {
    const std::string path = ws();
    for (size_t at = 0; (at = s.find("WS", at)) != std::string::npos; at += path.size())
      s.replace(at, 2, path);
    return s;
  }
};

// `[include] path = ../.gitconfig-project` in .git/config (relative to the including file), an
// includeIf, an include of an include, and the same in the user's ~/.gitconfig: the tool writes
// core.fsmonitor into the included file, and git status on the host runs it.
TEST_P(ConfigIncludeTest, IncludedFileCannotBeRewritten) {
  const IncludeCase& c = GetParam();
  makeRepo(ws());
  std::string section = std::string(c.section) == "include" ? "[include]" : "[includeIf \"" + expand(c.section) + "\"]";
  std::string include = section + "\n\tpath = " + expand(c.path) + "\n";
  if (c.global) {
    writeFile(home_.path() + "/.gitconfig", readFile(home_.path() + "/.gitconfig") + include);
  } else {
    writeFile(ws() + "/.git/config", readFile(ws() + "/.git/config") + include);
  }
  if (*c.via) writeFile(ws() + "/" + c.via, "[include]\n\tpath = more.cfg\n");
  std::string original = "[user]\n\tname = coco test\n";
  if (c.exists) writeFile(ws() + "/" + c.target, original);
  hostOk(ws(), "git status --short");
  ASSERT_FALSE(fs::exists(marker_));
  RunResult r = attack("rm -f " + std::string(c.target) + " 2>/dev/null\n" +
                       plant(c.target, "[core]\n\tfsmonitor = \"" + evilCommand() + "; false\"\n") + "true\n");
  expectNoPlantedCommandRuns(ws(), r);
  if (c.exists)
    expectUnchangedOrRemoved(ws() + "/" + c.target, original, r);
  else
    EXPECT_FALSE(fs::exists(ws() + "/" + c.target)) << describe(r);
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, ConfigIncludeTest,
    ::testing::Values(IncludeCase{"Include", false, "include", "../.gitconfig-project", ".gitconfig-project", true, ""},
                      IncludeCase{"IncludeMissing", false, "include", "../.gitconfig-project", ".gitconfig-project",
                                  false, ""},
                      IncludeCase{"IncludeIfGitdir", false, "gitdir:WS/", "../conf/git.cfg", "conf/git.cfg", true, ""},
                      IncludeCase{"IncludeIfOnbranch", false, "onbranch:main", "../conf/git.cfg", "conf/git.cfg",
                                  false, ""},
                      IncludeCase{"Nested", false, "include", "../conf/project.cfg", "conf/more.cfg", true,
                                  "conf/project.cfg"},
                      IncludeCase{"NestedMissing", false, "include", "../conf/project.cfg", "conf/more.cfg", false,
                                  "conf/project.cfg"},
                      IncludeCase{"GlobalIncludeIf", true, "gitdir:WS/", "WS/.gitconfig-team", ".gitconfig-team",
                                  true, ""},
                      IncludeCase{"GlobalMissing", true, "include", "WS/.gitconfig-team", ".gitconfig-team", false,
                                  ""}),
    [](const auto& info) { return std::string(info.param.name); });

struct ProgramCase {
  const char* name;
  bool global;             // set in the user's ~/.gitconfig instead of the repository's config
  const char* config;      // config lines (a section and its keys)
  const char* attributes;  // .gitattributes, or ""
  const char* program;     // the worktree file the command runs, relative to the workspace
  const char* body;        // what the program does (after the #! line)
  const char* hostCommand; // what the user runs on the host that runs the program
};

void PrintTo(const ProgramCase& c, std::ostream* os) { *os << c.name; }

class ConfigProgramTest : public GuardEscapeTest, public ::testing::WithParamInterface<ProgramCase> {};

// A program a config names by a relative path, which git resolves from the worktree's top (or a
// path among the command's words, like an interpreter's script): the tool rewrites it.
TEST_P(ConfigProgramTest, ProgramCannotBeRewritten) {
  const ProgramCase& c = GetParam();
  makeRepo(ws());
  std::string original = std::string("#!/bin/sh\n") + c.body;
  writeFile(ws() + "/" + c.program, original);
  fs::permissions(ws() + "/" + c.program, fs::perms::owner_exec, fs::perm_options::add);
  writeFile(ws() + "/a.txt", "one\n");
  if (*c.attributes) writeFile(ws() + "/.gitattributes", c.attributes);
  hostOk(ws(), "git add -A && git commit -qm tools");
  if (c.global) {
    writeFile(home_.path() + "/.gitconfig", readFile(home_.path() + "/.gitconfig") + c.config);
  } else {
    writeFile(ws() + "/.git/config", readFile(ws() + "/.git/config") + c.config);
  }
  host(ws(), c.hostCommand);
  ASSERT_FALSE(fs::exists(marker_)) << "the program runs before the attack";
  RunResult r = attack("echo two >> a.txt\n" + plant(c.program, "#!/bin/sh\n" + evilCommand() + "\n" + c.body) +
                       "chmod +x " + c.program + "\ntrue\n");
  auto ran = host(ws(), c.hostCommand);
  EXPECT_FALSE(fs::exists(marker_)) << c.hostCommand << " ran the planted program\n" << ran.second << describe(r);
  expectNoPlantedCommandRuns(ws(), r);
  expectUnchangedOrRemoved(ws() + "/" + c.program, original, r);
  EXPECT_EQ(readFile(ws() + "/a.txt"), "one\ntwo\n") << "the tool's own work stays\n" << describe(r);
}

INSTANTIATE_TEST_SUITE_P(
    Keys, ConfigProgramTest,
    ::testing::Values(
        ProgramCase{"Fsmonitor", false, "[core]\n\tfsmonitor = ./tools/fsmon\n", "", "tools/fsmon", "exit 1\n",
                    "git status"},
        ProgramCase{"FsmonitorInterpreter", false, "[core]\n\tfsmonitor = sh tools/fsmon.sh\n", "", "tools/fsmon.sh",
                    "exit 1\n", "git status"},
        ProgramCase{"FilterClean", false, "[filter \"x\"]\n\tclean = ./tools/clean\n\tsmudge = cat\n",
                    "*.txt filter=x\n", "tools/clean", "exec cat\n", "git status && git add -A"},
        ProgramCase{"DiffTextconv", false, "[diff \"x\"]\n\ttextconv = \"./tools/conv\"\n", "*.txt diff=x\n",
                    "tools/conv", "exec cat \"$1\"\n", "git diff"},
        ProgramCase{"Alias", false, "[alias]\n\tlint = !./tools/lint\n", "", "tools/lint", "exit 0\n", "git lint"},
        ProgramCase{"AliasFunction", false, "[alias]\n\tlint = \"!f() { ./tools/lint \\\"$@\\\"; }; f\"\n", "",
                    "tools/lint", "exit 0\n", "git lint"},
        ProgramCase{"Editor", false, "[core]\n\teditor = tools/editor\n", "", "tools/editor",
                    "echo message > \"$1\"\n", "git commit -q --allow-empty"},
        ProgramCase{"CredentialHelper", false, "[credential]\n\thelper = !./tools/cred\n", "", "tools/cred",
                    "exit 0\n", "printf 'protocol=https\\nhost=x.invalid\\n\\n' | GIT_TERMINAL_PROMPT=0 git credential fill"},
        ProgramCase{"GlobalAlias", true, "[alias]\n\tlint = !./tools/lint\n", "", "tools/lint", "exit 0\n",
                    "git lint"},
        ProgramCase{"GlobalFsmonitor", true, "[core]\n\tfsmonitor = tools/fsmon\n", "", "tools/fsmon", "exit 1\n",
                    "git status"}),
    [](const auto& info) { return std::string(info.param.name); });

// A program's directory moved away and made again: the new program is removed after the run.
TEST_F(GuardEscapeTest, ConfigProgramDirectoryReplaced) {
  makeRepo(ws());
  std::string original = "#!/bin/sh\nexit 1\n";
  writeFile(ws() + "/tools/fsmon", original);
  fs::permissions(ws() + "/tools/fsmon", fs::perms::owner_exec, fs::perm_options::add);
  hostOk(ws(), "git config core.fsmonitor ./tools/fsmon");
  RunResult r = attack("mv tools tools-old\n" + plant("tools/fsmon", evilHook()) + "chmod +x tools/fsmon\ntrue\n");
  expectNoPlantedCommandRuns(ws(), r);
  expectUnchangedOrRemoved(ws() + "/tools/fsmon", original, r);
}

// What the configuration points at is pinned, not reported: a run that leaves it alone (and
// changes other files) is told nothing.
TEST_F(GuardEscapeTest, FilesConfigsPointAtAreQuietWhenUntouched) {
  makeRepo(ws());
  writeFile(ws() + "/tools/fsmon", "#!/bin/sh\nexit 1\n");
  writeFile(ws() + "/.gitconfig-project", "[include]\n\tpath = conf/more.cfg\n");
  writeFile(ws() + "/scripts/pre-commit", "#!/bin/sh\nexit 0\n");
  fs::create_symlink("../../scripts/pre-commit", ws() + "/.git/hooks/pre-commit");
  writeFile(ws() + "/.git/config", readFile(ws() + "/.git/config") +
                                       "[include]\n\tpath = ../.gitconfig-project\n[core]\n\tfsmonitor = ./tools/fsmon\n");
  usleep(50000);  // see NothingIsTouchedWhenNothingIsPlanted
  RunResult r = attack("echo changed > README\nmkdir -p build && echo x > build/a.js\ncat tools/fsmon >/dev/null\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(readFile(ws() + "/README"), "changed\n");
  EXPECT_FALSE(contains(r.err, "guard")) << describe(r);
}

// --- files other programs on the host read -----------------------------------------------------

// direnv, mise, editors and hook managers read these; a new one must not be left behind where
// they read it: at the top of the workspace and at the root of a repository in it.
class PlantedFileTest : public GuardEscapeTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(PlantedFileTest, IsNotLeftBehind) {
  std::string rel = GetParam();
  makeRepo(ws() + "/sub");
  RunResult r = attack(plant(rel, "touch " + marker_ + "\n") + plant("sub/" + rel, "touch " + marker_ + "\n"));
  std::string top = ws() + "/" + fs::path(rel).begin()->string();
  std::string below = ws() + "/sub/" + fs::path(rel).begin()->string();
  EXPECT_EQ(fs::symlink_status(top).type(), fs::file_type::not_found) << describe(r);
  EXPECT_EQ(fs::symlink_status(below).type(), fs::file_type::not_found) << describe(r);
}

INSTANTIATE_TEST_SUITE_P(
    Names, PlantedFileTest,
    ::testing::Values(".envrc", ".direnv/bin/git", ".vscode/tasks.json", ".vscode/settings.json", ".idea/workspace.xml",
                      ".devcontainer/devcontainer.json", ".devcontainer.json", "mise.toml", ".mise.toml",
                      "mise.local.toml", "mise.dev.toml", ".mise/config.toml", ".config/mise/config.toml",
                      ".tool-versions", ".husky/pre-commit", ".pre-commit-config.yaml", "lefthook.yml",
                      ".lefthook.yml", ".overcommit.yml", ".helix/languages.toml", ".zed/tasks.json", ".nvim.lua",
                      ".exrc", ".dir-locals.el"));

// The user runs the tool from app/ with `..` mounted: direnv and mise read app/ and every
// directory above it, and the enclosing repository's .git is inside the mount.
TEST_F(GuardEscapeTest, TheWayFromTheMountRootToTheCwdAndTheEnclosingRepository) {
  env_.writeTool("up", R"({"command": "sh", "network": "none",
    "mounts": [{"src": "..", "dst": "/workspace", "opts": "rw"}]})" "\n");
  makeRepo(ws());
  fs::create_directories(ws() + "/app/src");
  RunResult r = attack(plant("app/.envrc", evilCommand() + "\n") + plant("app/mise.toml", "[env]\n") +
                           plant(".tool-versions", "nodejs 20\n") + plant(".git/hooks/pre-commit", evilHook()) +
                           "chmod +x .git/hooks/pre-commit\n" + plant("app/src/.envrc", "export A=1\n") + "true\n",
                       ws() + "/app", "up");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  expectNoPlantedCommandRuns(ws() + "/app", r);
  for (const char* rel : {"/app/.envrc", "/app/mise.toml", "/.tool-versions"})
    EXPECT_FALSE(fs::exists(ws() + rel)) << rel << "\n" << describe(r);
  // Below the directory the user ran from, a new .envrc is nobody's yet (direnv asks first).
  EXPECT_TRUE(fs::exists(ws() + "/app/src/.envrc")) << describe(r);
}

// Packages ship .vscode, .config, .husky and the like; an install that deletes and rebuilds
// node_modules keeps them (no host program reads them there). A .git there is still removed.
TEST_F(GuardEscapeTest, DependencyTreesKeepTheirPackagesFiles) {
  makeRepo(ws());
  writeFile(ws() + "/node_modules/pkg/.vscode/settings.json", "{}\n");
  writeFile(ws() + "/node_modules/pkg/index.js", "x\n");
  usleep(50000);  // see NothingIsTouchedWhenNothingIsPlanted
  std::string reinstall = "rm -rf node_modules\n";
  for (const char* rel : {"pkg/.vscode/settings.json", "pkg/.config/tool.json", "pkg/.husky/pre-commit",
                          "pkg/.envrc", "other/.tool-versions", "other/mise.toml", "@scope/x/.devcontainer/d.json"})
    reinstall += plant(std::string("node_modules/") + rel, "x\n");
  RunResult r = attack(reinstall + plantGitDir("node_modules/evil/.git") + "true\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  for (const char* rel : {"pkg/.vscode/settings.json", "pkg/.config/tool.json", "pkg/.husky/pre-commit",
                          "pkg/.envrc", "other/.tool-versions", "other/mise.toml", "@scope/x/.devcontainer/d.json"})
    EXPECT_TRUE(fs::exists(ws() + "/node_modules/" + rel)) << rel << "\n" << describe(r);
  EXPECT_FALSE(fs::exists(ws() + "/node_modules/evil/.git")) << describe(r);
  expectNoPlantedCommandRuns(ws() + "/node_modules/evil", r);
}

// A directory that held a guarded name before the run stays guarded by its path: renamed away and
// made again, the new one's files are removed.
TEST_F(GuardEscapeTest, AGuardedPlaceReplacedByANewDirectory) {
  writeFile(ws() + "/packages/app/.envrc", "export A=1\n");
  usleep(50000);
  RunResult r = attack("mv packages/app packages/app-old\n" + plant("packages/app/.envrc", evilCommand() + "\n") +
                       plant("packages/app/.vscode/tasks.json", "{}\n") + "true\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_FALSE(fs::exists(ws() + "/packages/app/.envrc")) << describe(r);
  EXPECT_FALSE(fs::exists(ws() + "/packages/app/.vscode")) << describe(r);
  EXPECT_EQ(readFile(ws() + "/packages/app-old/.envrc"), "export A=1\n") << describe(r);
}

// A place's files changed, then the place renamed away and a symlink left at its path: the host
// follows the link into the changed files (helper-68). The link goes, and the moved place is
// checked as the place it was.
TEST_F(GuardEscapeTest, APlaceMovedAwayBehindASymlink) {
  writeFile(ws() + "/packages/app/.envrc", "export A=1\n");
  writeFile(ws() + "/packages/app/.vscode/tasks.json", "{}\n");
  usleep(50000);  // see NothingIsTouchedWhenNothingIsPlanted
  RunResult r = attack("echo '" + evilCommand() +
                       "' >> packages/app/.envrc\necho evil > packages/app/.vscode/tasks.json\n"
                       "mv packages/app packages/.app-moved && ln -s .app-moved packages/app\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_FALSE(fs::is_symlink(ws() + "/packages/app")) << describe(r);
  for (const char* rel : {"/packages/.app-moved/.envrc", "/packages/.app-moved/.vscode/tasks.json",
                          "/packages/app/.envrc", "/packages/app/.vscode/tasks.json"}) {
    std::string path = ws() + rel;
    EXPECT_TRUE(!fs::exists(path) ||
                (!contains(readFile(path), "touch") && !contains(readFile(path), "evil")))
        << rel << " keeps the tool's change\n"
        << describe(r);
  }
}

// The same one level up (helper-72): the place's parent copied with the tool's change in the copy,
// removed, and a symlink to the copy left at its path.
TEST_F(GuardEscapeTest, APlacesParentReplacedByASymlinkToACopy) {
  writeFile(ws() + "/libs/foo/.envrc", "export A=1\n");
  usleep(50000);  // see NothingIsTouchedWhenNothingIsPlanted
  RunResult r = attack("cp -a libs libs2 && echo '" + evilCommand() +
                       "' >> libs2/foo/.envrc && rm -rf libs && ln -s libs2 libs\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_FALSE(fs::is_symlink(ws() + "/libs")) << describe(r);
  std::string envrc = ws() + "/libs/foo/.envrc";
  EXPECT_TRUE(!fs::exists(envrc) || !contains(readFile(envrc), "touch")) << describe(r);
}

// A pinned file is read-only in the sandbox, but the same file under another hard link in the
// mount is not (helper-68): what the tool writes there does not stay in the pinned one.
TEST_F(GuardEscapeTest, APinnedFileWrittenThroughAnotherHardLink) {
  makeRepo(ws());
  writeFile(ws() + "/scripts/pre-commit", "#!/bin/sh\nexit 0\n");
  fs::permissions(ws() + "/scripts/pre-commit", fs::perms::owner_all);
  fs::create_hard_link(ws() + "/scripts/pre-commit", ws() + "/.git/hooks/pre-commit");
  writeFile(ws() + "/.envrc", "export A=1\n");
  fs::create_hard_link(ws() + "/.envrc", ws() + "/scripts/envrc.shared");
  usleep(50000);
  RunResult r = attack("echo '" + evilCommand() + "' >> scripts/pre-commit\necho '" + evilCommand() +
                       "' >> scripts/envrc.shared\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(readFile(ws() + "/.envrc"), "export A=1\n") << describe(r);
  std::string hook = ws() + "/.git/hooks/pre-commit";
  EXPECT_TRUE(!fs::exists(hook) || !contains(readFile(hook), "touch")) << describe(r);
  expectNoPlantedCommandRuns(ws(), r);
}

// CI runs its steps in one workspace, each under the policy it names (`coco run --config
// .coco/npm-test.json npm test`): the install step, with `.` writable, rewrote the test step's
// policy to mount a host directory (it could as well have granted the network, variables or `/`),
// and coco printed warnings nobody reads in CI and ran the next step under it.
TEST_F(GuardEscapeTest, AStepCannotRewriteTheNextStepsPolicy) {
  std::string policy = R"({"network": "none", "mounts": [{"src": ".", "dst": "/workspace", "opts": "rw"}]})";
  writeFile(ws() + "/.coco/test.json", policy + "\n");
  std::string granted = R"({"network": "none", "mounts": [{"src": ".", "dst": "/workspace", "opts": "rw"}, )"
                        R"({"src": ")" +
                        outside_.path() + R"(", "dst": "/outside", "opts": "rw"}]})";
  RunResult r = attack(plant(".coco/test.json", granted + "\n") + plant(".coco/lint.json", granted + "\n"));
  EXPECT_EQ(readFile(ws() + "/.coco/test.json"), policy + "\n") << describe(r);
  EXPECT_FALSE(fs::exists(ws() + "/.coco/lint.json")) << describe(r);
  RunOptions opts;
  opts.env = {{"HOME", home_.path()}};
  for (const char* step : {".coco/test.json", ".coco/lint.json"}) {
    RunResult next = env_.run({"run", "--config", step, "sh", "-c", "touch /outside/PWNED"}, opts);
    EXPECT_FALSE(fs::exists(marker_)) << step << " granted the host directory\n" << describe(next);
  }
}

// The same for a file of a pinned directory: `.vscode/tasks.json` linked as tasks.json.
TEST_F(GuardEscapeTest, AFileOfAPinnedDirectoryWrittenThroughAnotherHardLink) {
  makeRepo(ws());
  writeFile(ws() + "/.vscode/tasks.json", "{}\n");
  fs::create_hard_link(ws() + "/.vscode/tasks.json", ws() + "/tasks.json");
  usleep(50000);
  RunResult r = attack("echo '" + evilCommand() + "' >> tasks.json\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  std::string tasks = ws() + "/.vscode/tasks.json";
  EXPECT_TRUE(!fs::exists(tasks) || !contains(readFile(tasks), "touch")) << describe(r);
}

// Not an attack: `sed -i` on the other link renames a new file over it, which drops the pinned
// hook's link count (and moves its change time); the hook is what it was and stays.
TEST_F(GuardEscapeTest, APinnedHookWhoseOtherLinkIsEditedBySedStays) {
  makeRepo(ws());
  writeFile(ws() + "/scripts/pre-commit", "#!/bin/sh\nexit 0\n");
  fs::permissions(ws() + "/scripts/pre-commit", fs::perms::owner_all);
  fs::create_hard_link(ws() + "/scripts/pre-commit", ws() + "/.git/hooks/pre-commit");
  usleep(50000);
  RunResult r = attack("sed -i 's/exit 0/exit 1/' scripts/pre-commit\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(readFile(ws() + "/.git/hooks/pre-commit"), "#!/bin/sh\nexit 0\n") << describe(r);
  EXPECT_EQ(readFile(ws() + "/scripts/pre-commit"), "#!/bin/sh\nexit 1\n") << describe(r);
  EXPECT_FALSE(contains(r.err, "workspace guard")) << describe(r);
}

// Symlinks the tool plants to host directories: the guard removes the link, never what it points
// at, and its walk does not follow a link into them.
TEST_F(GuardEscapeTest, SymlinksToHostDirectoriesAreNeverFollowed) {
  makeRepo(ws());
  std::string host = outside_.path() + "/project";
  makeRepo(host);
  writeFile(host + "/.envrc", "export A=1\n");
  writeFile(host + "/.vscode/tasks.json", "{}\n");
  fs::create_directories(ws() + "/sub");
  RunResult r = attack("ln -s " + shellQuote(host) + " .vscode\nln -s " + shellQuote(host) + "/.git sub/.git\n" +
                       "ln -s " + shellQuote(host) + " link\nln -s " + shellQuote(host + "/.vscode") + " .idea\ntrue\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  for (const char* rel : {"/.vscode", "/sub/.git", "/.idea"})
    EXPECT_EQ(fs::symlink_status(ws() + rel).type(), fs::file_type::not_found) << rel << "\n" << describe(r);
  EXPECT_TRUE(fs::is_symlink(ws() + "/link")) << describe(r);
  for (const char* rel : {"/.envrc", "/.vscode/tasks.json", "/.git/config", "/.git/HEAD"})
    EXPECT_TRUE(fs::exists(host + rel)) << rel << "\n" << describe(r);
  EXPECT_FALSE(contains(r.err, "link/")) << describe(r);
}

// The same files must also be gone while the tool still runs, before it exits: an editor or a
// shell prompt on the host may read them at any time.
TEST_F(GuardEscapeTest, PlantedFilesAreRemovedDuringTheRun) {
  makeRepo(ws());
  fs::create_directories(ws() + "/sub");
  RunResult r = attack(plant(".envrc", "touch " + marker_ + "\n") + plantGitDir("sub/.git") +
                       "i=0; while [ $i -lt 50 ] && { [ -e .envrc ] || [ -e sub/.git ]; }; do sleep 0.1; i=$((i+1)); done\n"
                       "[ -e .envrc ] && echo 'envrc still there'; [ -e sub/.git ] && echo 'sub/.git still there'; true\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_FALSE(contains(r.out, "still there")) << describe(r);
}

// The watch acts in the directory an event came from, not in whatever now has its name: the tool
// renames a watched directory away, moves your nested repository under its name and plants a .git
// in the renamed one; removing "sub/.git" by name would delete your repository's .git on the host.
TEST_F(GuardEscapeTest, RenamedWatchedDirectoryDoesNotRedirectTheRemoval) {
  makeRepo(ws());
  makeRepo(ws() + "/lib");
  fs::create_directories(ws() + "/sub");
  RunResult r = attack("mv sub sub-old && mv lib sub && mkdir sub-old/.git && sleep 1\n"
                       "mv sub lib && mv sub-old sub\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(fs::exists(ws() + "/lib/.git/HEAD")) << describe(r);
  hostOk(ws() + "/lib", "git log --oneline -1");
  EXPECT_FALSE(fs::exists(ws() + "/sub/.git")) << describe(r);
}

// --- what exists before the run ---------------------------------------------------------------

TEST_F(GuardEscapeTest, ExistingNestedRepositoryConfig) {
  makeRepo(ws());
  makeRepo(ws() + "/vendor/lib");
  RunResult r = attack(plant("vendor/lib/.git/config", evilConfig()) +
                       plant("vendor/lib/.git/hooks/pre-commit", evilHook()) + "chmod +x vendor/lib/.git/hooks/pre-commit\n");
  expectNoPlantedCommandRuns(ws() + "/vendor/lib", r);
}

TEST_F(GuardEscapeTest, ExistingFileBelowTheRootChanged) {
  writeFile(ws() + "/packages/app/.envrc", "export A=1\n");
  writeFile(ws() + "/packages/app/.vscode/tasks.json", "{}\n");
  writeFile(ws() + "/packages/app/.vscode/extensions.json", "{\"mine\": true}\n");
  usleep(50000);  // see NothingIsTouchedWhenNothingIsPlanted
  RunResult r = attack("echo 'touch " + marker_ + "' >> packages/app/.envrc\necho evil > packages/app/.vscode/tasks.json\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  for (const char* rel : {"/packages/app/.envrc", "/packages/app/.vscode/tasks.json"}) {
    std::string path = ws() + rel;
    EXPECT_TRUE(!fs::exists(path) || (!contains(readFile(path), "touch") && !contains(readFile(path), "evil")))
        << rel << " keeps the tool's change\n" << describe(r);
  }
  EXPECT_EQ(readFile(ws() + "/packages/app/.vscode/extensions.json"), "{\"mine\": true}\n") << describe(r);
}

// A run that plants nothing leaves everything as it was and reports nothing.
TEST_F(GuardEscapeTest, NothingIsTouchedWhenNothingIsPlanted) {
  makeRepo(ws());
  makeRepo(ws() + "/vendor/lib");
  writeFile(ws() + "/node_modules/pkg/.vscode/settings.json", "{}\n");
  writeFile(ws() + "/packages/app/.envrc", "export A=1\n");
  // As in real use, nothing changed in the clock tick the run starts in (what did is pinned
  // instead, and then node_modules could not be removed).
  usleep(50000);
  RunResult r = attack("echo changed > README\nmkdir -p build/out && echo x > build/out/a.js\n"
                       "rm -rf node_modules && mkdir -p node_modules/other && echo y > node_modules/other/index.js\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(readFile(ws() + "/README"), "changed\n");
  EXPECT_EQ(readFile(ws() + "/build/out/a.js"), "x\n");
  EXPECT_EQ(readFile(ws() + "/packages/app/.envrc"), "export A=1\n");
  EXPECT_TRUE(fs::exists(ws() + "/vendor/lib/.git/config"));
  hostOk(ws() + "/vendor/lib", "git status --short");
  EXPECT_FALSE(contains(r.err, "guard")) << describe(r);
}

// --- resource exhaustion --------------------------------------------------------------------

// coco's descriptor limit as a desktop session sets it: soft 1024 with a higher hard limit, or
// 1024 for both (no room for coco to raise it).
struct FdLimitCase {
  const char* name;
  unsigned long soft;
  unsigned long hard;  // 0: the test's own
};

void PrintTo(const FdLimitCase& c, std::ostream* os) { *os << c.name; }

class DescriptorExhaustionTest : public GuardEscapeTest, public ::testing::WithParamInterface<FdLimitCase> {};

// The review's attack: every new directory at the top of the mount took an inotify watch and a
// descriptor coco held for the run, so ~1,200 of them used up coco's 1024; the watch then missed
// what came next and the check after the run could not open directories, so a nested repository
// with a core.fsmonitor config and a root .envrc stayed, unreported (and the incomplete walk was
// kept as the next run's cache).
TEST_P(DescriptorExhaustionTest, PlantedEntriesAreStillRemovedAndReported) {
  fdLimit_ = {GetParam().soft, GetParam().hard};
  makeRepo(ws());
  std::string mkdirs = "mkdir";
  for (int i = 0; i < 1200; ++i) mkdirs += " d" + std::to_string(i);
  // The pause lets coco take in the 1,200 events before the plants come.
  RunResult r = attack(mkdirs + " || exit 98\nsleep 1\n" + plantGitDir("sub/.git") +
                       plant(".envrc", evilCommand() + "\n") + "true\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  expectNoPlantedCommandRuns(ws() + "/sub", r);
  EXPECT_FALSE(fs::exists(ws() + "/sub/.git")) << describe(r);
  EXPECT_FALSE(fs::exists(ws() + "/.envrc")) << describe(r);
  EXPECT_TRUE(contains(r.err, "sub/.git")) << "the removal is reported\n" << describe(r);
  EXPECT_TRUE(contains(r.err, ".envrc")) << "the removal is reported\n" << describe(r);
  EXPECT_TRUE(fs::exists(ws() + "/d1199")) << describe(r);
  EXPECT_FALSE(contains(r.err, "could not check")) << "the check after the run saw everything\n"
                                                   << describe(r);
}

INSTANTIATE_TEST_SUITE_P(Limits, DescriptorExhaustionTest,
                         ::testing::Values(FdLimitCase{"Soft1024", 1024, 0}, FdLimitCase{"Hard1024", 1024, 1024}),
                         [](const auto& info) { return std::string(info.param.name); });

// A directory of yours without read permission: the walk before the run cannot see into it, and
// the tool (its owner in the sandbox) can open it up, plant a repository in it and close it again,
// which left the check after the run blind too. The run is refused instead.
TEST_F(GuardEscapeTest, ADirectoryTheWalkCannotReadRefusesTheRun) {
  makeRepo(ws());
  fs::create_directories(ws() + "/locked");
  fs::permissions(ws() + "/locked", fs::perms::none);
  usleep(50000);  // see NothingIsTouchedWhenNothingIsPlanted
  RunResult r = attack("chmod 700 locked\n" + plantGitDir("locked/sub/.git") + "chmod 0 locked\necho ran\n");
  fs::permissions(ws() + "/locked", fs::perms::owner_all);
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_FALSE(contains(r.out, "ran")) << describe(r);
  EXPECT_TRUE(contains(r.err, "workspace guard: cannot read ")) << describe(r);
  EXPECT_TRUE(contains(r.err, "/locked (")) << describe(r);
  EXPECT_FALSE(fs::exists(ws() + "/locked/sub/.git")) << describe(r);
  if (fs::exists(ws() + "/locked/sub")) expectNoPlantedCommandRuns(ws() + "/locked/sub", r);
}

// coco raises its own descriptor limit to the hard limit (its init in the sandbox, pid 1, shows
// it) and gives the tool the soft limit it was started with, as the tool would have outside coco.
TEST_F(GuardEscapeTest, CocoRaisesItsDescriptorLimitAndTheToolKeepsItsOwn) {
  struct rlimit limit;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  rlim_t raised = limit.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : limit.rlim_max;
  rlim_t given = std::min<rlim_t>(1024, raised);  // a desktop session's soft limit
  fdLimit_ = {given, 0};
  RunResult r = attack("ulimit -n\nsed -n 's/^Max open files *\\([0-9]*\\).*/\\1/p' /proc/1/limits\n");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(lines(r.out), (std::vector<std::string>{std::to_string(given), std::to_string(raised)})) << describe(r);
}

// --- tools that commit: workspace_guard {git: write} ---------------------------------------------

class GitWriteTest : public GuardEscapeTest {
 protected:
  void SetUp() override {
    GuardEscapeTest::SetUp();
    if (IsSkipped()) return;
    writeTool("committer", R"("workspace_guard": {"git": "write"})");
    makeRepo(ws());
  }
};

// What git itself writes for a commit: objects, a ref through its lock file, the index and
// COMMIT_EDITMSG through lock files and rename in .git.
TEST_F(GitWriteTest, GitsOwnWritesWork) {
  RunResult r = attack("set -e\nmkdir -p .git/objects/ab && echo obj > .git/objects/ab/cdef\n"
                       "echo 0123 > .git/refs/heads/topic.lock && mv .git/refs/heads/topic.lock .git/refs/heads/topic\n"
                       "cp .git/index .git/index.lock && mv .git/index.lock .git/index\n"
                       "echo msg > .git/COMMIT_EDITMSG\necho 0123 > .git/ORIG_HEAD\n"
                       "mkdir -p .git/logs/refs/heads && echo log >> .git/logs/refs/heads/topic\necho ok\n",
                       "", "committer");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(readFile(ws() + "/.git/refs/heads/topic"), "0123\n");
  EXPECT_EQ(readFile(ws() + "/.git/COMMIT_EDITMSG"), "msg\n");
}

TEST_F(GitWriteTest, ConfigAndHooksStayReadOnly) {
  RunResult r = attack(plant(".git/config", evilConfig()) + plant(".git/hooks/pre-commit", evilHook()) +
                           "chmod +x .git/hooks/pre-commit\ntrue\n",
                       "", "committer");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  expectNoPlantedCommandRuns(ws(), r);
}

TEST_F(GitWriteTest, NewFilesInGitDirAreRemoved) {
  hostOk(ws(), "rm -rf .git/hooks .git/info");
  RunResult r = attack(plantGitDir("evil") + "echo ../evil > .git/commondir\n" +
                           plant(".git/config.worktree", evilConfig()) + plant(".git/hooks/pre-commit", evilHook()) +
                           "chmod +x .git/hooks/pre-commit\n" + plantGitDir(".git/modules/x") +
                           "ln evil/config .git/info 2>/dev/null; true\n",
                       "", "committer");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  expectNoPlantedCommandRuns(ws(), r);
  for (const char* name : {"commondir", "config.worktree", "hooks", "modules", "info"})
    EXPECT_FALSE(fs::exists(ws() + "/.git/" + name)) << name << "\n" << describe(r);
}

// Git appends to reflogs and rewrites COMMIT_EDITMSG and FETCH_HEAD by name, following symlinks:
// the tool points them at a file outside the workspace (the user's ~/.bashrc in a real attack,
// where a reflog line carries the tool's branch name, `$(...)` included); the user's next
// checkout and commit on the host must not write there.
TEST_F(GitWriteTest, SymlinksWhereGitWritesAreRemoved) {
  std::string victim = outside_.path() + "/victim";
  writeFile(victim, "mine\n");
  RunResult r = attack("rm -f .git/logs/HEAD .git/COMMIT_EDITMSG\n"
                       "ln -s " + shellQuote(victim) + " .git/logs/HEAD\n"
                       "ln -s " + shellQuote(victim) + " .git/COMMIT_EDITMSG\n"
                       "mkdir -p .git/logs/refs/heads && ln -s " + shellQuote(victim) + " .git/logs/refs/heads/other\n"
                       "ln -s " + shellQuote(victim) + " .git/FETCH_HEAD\n"
                       "chmod 300 .git/logs\necho planted\n",  // unlistable, still searchable: git still opens logs/HEAD
                       "", "committer");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  ASSERT_TRUE(contains(r.out, "planted")) << describe(r);
  for (const char* name : {"logs/HEAD", "COMMIT_EDITMSG", "logs/refs/heads/other", "FETCH_HEAD"})
    EXPECT_FALSE(fs::is_symlink(ws() + "/.git/" + name)) << name << "\n" << describe(r);
  host(ws(), "git checkout -q -b other && git commit -q --allow-empty -m 'host commit' && git checkout -q main");
  EXPECT_EQ(readFile(victim), "mine\n") << describe(r);
}

// The same symlinks in .git's own top level are removed while the tool runs: an editor's
// background fetch on the host during the run writes FETCH_HEAD by name.
TEST_F(GitWriteTest, SymlinksWhereGitWritesByNameAreRemovedDuringTheRun) {
  std::string victim = outside_.path() + "/victim";
  writeFile(victim, "mine\n");
  RunResult r = attack("ln -s " + shellQuote(victim) + " .git/FETCH_HEAD\n"
                       "rm -rf .git/logs && ln -s " + shellQuote(outside_.path()) + " .git/logs\n"
                       "i=0; while [ $i -lt 50 ] && { [ -L .git/FETCH_HEAD ] || [ -L .git/logs ]; }; do "
                       "sleep 0.1; i=$((i+1)); done\n"
                       "[ -L .git/FETCH_HEAD ] && echo 'FETCH_HEAD still there'\n"
                       "[ -L .git/logs ] && echo 'logs still there'; true\n",
                       "", "committer");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_FALSE(contains(r.out, "still there")) << describe(r);
  EXPECT_EQ(readFile(victim), "mine\n") << describe(r);
}

// Below logs, refs and objects too: git appends to logs/HEAD and makes files in refs/heads/NAME/
// and objects/info/commit-graphs/ through a symlink, so a host git run meanwhile (an editor's
// background fetch) would write where the tool pointed it.
TEST_F(GitWriteTest, SymlinksBelowLogsRefsAndObjectsAreRemovedDuringTheRun) {
  std::string victim = outside_.path() + "/victim";
  writeFile(victim, "mine\n");
  std::string script =
      "v=" + shellQuote(victim) + " o=" + shellQuote(outside_.path()) + "\n" +
      "mkdir -p .git/logs/refs/heads .git/objects/info\n"
      "rm -f .git/logs/HEAD .git/logs/refs/heads/main\n"
      "ln -s \"$v\" .git/logs/HEAD && ln -s \"$v\" .git/logs/refs/heads/main\n"
      "ln -s \"$o\" .git/objects/cd && ln -s \"$o\" .git/objects/info/commit-graphs\n"
      "mkdir .git/refs/heads/feature && ln -s \"$v\" .git/refs/heads/feature/x\n"
      "left() { for p in logs/HEAD logs/refs/heads/main objects/cd objects/info/commit-graphs "
      "refs/heads/feature/x; do [ -L .git/$p ] && echo \"$p still there\"; done; true; }\n"
      "i=0; while [ $i -lt 50 ] && [ -n \"$(left)\" ]; do sleep 0.1; i=$((i+1)); done\n"
      "left\n[ -d .git/refs/heads/feature ] || echo 'feature gone'\n";
  RunResult r = attack(script, "", "committer");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_FALSE(contains(r.out, "still there")) << describe(r);
  EXPECT_FALSE(contains(r.out, "feature gone")) << describe(r);
  EXPECT_EQ(readFile(victim), "mine\n") << describe(r);
}

// `git push -u` or `git config` on the host while the tool runs rewrites .git/config by rename.
// The sandbox's read-only mount of it goes with the old one, so the tool can write to the new
// one: it is removed, and the config from before the run is put back after it (not lost).
TEST_F(GitWriteTest, AConfigReplacedOnTheHostDuringTheRunIsPutBackAfterIt) {
  std::string before = readFile(ws() + "/.git/config");
  std::thread host([&] {
    for (int i = 0; i < 600 && !fs::exists(ws() + "/ready"); ++i) ::usleep(10'000);
    writeFile(ws() + "/.git/config.lock", before + "[branch \"main\"]\n\tremote = origin\n");
    fs::rename(ws() + "/.git/config.lock", ws() + "/.git/config");
    writeFile(ws() + "/replaced", "");
  });
  RunResult r = attack("touch ready\n"
                       "i=0; while [ $i -lt 300 ] && [ ! -e replaced ]; do sleep 0.02; i=$((i+1)); done\n"
                       "printf '[core]\\n\\tfsmonitor = \"%s\"\\n' \"" + evilCommand() +
                           "\" >> .git/config 2>/dev/null; sleep 0.3; true\n",
                       "", "committer");
  host.join();
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(readFile(ws() + "/.git/config"), before) << describe(r);
  EXPECT_TRUE(contains(r.err, ".git/config was replaced during the run from outside the sandbox")) << describe(r);
  expectNoPlantedCommandRuns(ws(), r);
}

TEST_F(GitWriteTest, CommondirIsRemovedDuringTheRun) {
  RunResult r = attack("echo ../evil > .git/commondir\n"
                       "i=0; while [ $i -lt 50 ] && [ -e .git/commondir ]; do sleep 0.1; i=$((i+1)); done\n"
                       "[ -e .git/commondir ] && echo 'commondir still there'; true\n",
                       "", "committer");
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_FALSE(contains(r.out, "still there")) << describe(r);
}

}  // namespace
}  // namespace cocotest
