// The workspace guard: what in a writable mount the host later runs or trusts, and how it is kept
// from the tool. The one list of guarded names lives here; README's security model repeats it.
//
// Default-deny, in three layers:
//  1. Before the run, coco walks every writable mount (guard_snapshot.hpp) and pins what exists:
//     each guarded entry at the mount root, every `.git` (directory, file or symlink) and every
//     git directory (a directory holding HEAD, objects/ and refs/) at any depth, the hooks
//     directory git uses (core.hooksPath from the repository's and the user's config, a
//     symlinked .git/hooks) and what git's configuration points at in the mount (where hook
//     symlinks lead, included config files, programs config values run: guard_git.hpp) are
//     mounted read-only over themselves; a guarded symlink gets an
//     empty read-only file mounted over it. A mount point cannot be written, removed or
//     renamed, so these cannot be changed or moved away and replaced. With `git: write` the
//     root `.git` stays writable but everything in it that git's object and ref writes do not
//     need (kGitWritable) is pinned the same way.
//  2. During the run, coco watches the mount root and its first level (and a writable root
//     `.git`) with inotify and removes a new guarded entry as soon as it appears, in the directory
//     the event came from (held open), and never one that was a guarded entry before the run.
//     In a git directory the tool may write, the directories below objects, refs and logs are
//     watched too (but objects' 256 fan-out directories): a symlink or other entry git does not
//     make there is removed at once, since a host git run meanwhile writes through it.
//     At most kMaxWatchedDirs directories (and kMaxGitDataWatches in git directories) are
//     watched: each holds a descriptor for the run, and a tool making thousands must not use up
//     coco's. What is not watched is left to layer 3.
//  3. After the run, coco compares the mount with the walk from before (only directories whose
//     change time moved are read again) and removes every guarded entry the run created, and
//     what the run changed in guarded entries below the root that were not pinned (those are
//     left writable so that a tool can still delete and rebuild trees such as node_modules).
//     Pinned files with another hard link (and such hooks and config in a pinned git directory,
//     such files in another pinned directory) are compared too: the tool can write them through
//     that link. One whose change time moved but whose mode, owner and content did not (only a
//     link to it came or went) stays.
//     Every removal is reported on stderr. The watch's descriptors are closed first. A pinned
//     file of the root or of a writable .git that something outside the sandbox replaced during
//     the run (the tool cannot: a mount point) is removed like the rest, since the tool could
//     write to the replacement, and put back as it was before the run.
// A name that does not exist cannot be pinned without creating it on the host (a mount needs a
// directory entry to sit on), so new names are removed rather than refused.
//
// A walk that cannot read a directory the tool could write in (a descriptor limit, EIO, a
// directory of yours without read permission) never passes for a complete one: before the run it
// refuses the run (addMount fails); after it, each such directory is named in a warning, and the
// walk is not kept as the next run's cache. The tool's exit status stays the tool's, as podman
// keeps the container's when its clean-up after the run fails: the warning is the signal.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/child_plan.hpp"
#include "engine/run_spec.hpp"
#include "util/result.hpp"

namespace coco::engine {

// Guarded in the places host programs read them (GuardRules::isPlace); `.git`, the first, is
// guarded everywhere.
inline constexpr std::string_view kGuardedNames[] = {
    ".git",  // git: config (core.fsmonitor, core.hooksPath, aliases, filters), hooks, commondir...
    ".hg",   // Mercurial: .hg/hgrc's [hooks] and [extensions] run on any hg command
    ".jj",   // Jujutsu: .jj/repo/config.toml names programs it runs (editor, pager, merge and fix tools)
    ".sl",   // Sapling (a Mercurial descendant): .sl/config's [hooks] run on its commands
    // direnv: runs .envrc on cd (after `direnv allow`); .direnv holds the PATH entries of `layout`
    ".envrc",
    ".direnv",
    // mise and asdf: config files are read on cd (env, hooks, tasks, tool versions)
    "mise.toml",
    ".mise.toml",
    "mise.local.toml",
    ".mise.local.toml",
    ".mise",
    "mise",
    ".rtx.toml",
    ".tool-versions",
    ".config",  // .config/mise.toml, .config/mise/, .config/lefthook.yml
    // git hook managers: what their installed hooks run at commit time
    ".husky",
    ".pre-commit-config.yaml",
    ".pre-commit-config.yml",
    "lefthook.yml",
    ".lefthook.yml",
    "lefthook.yaml",
    ".lefthook.yaml",
    "lefthook.json",
    ".lefthook.json",
    "lefthook.toml",
    ".lefthook.toml",
    "lefthook-local.yml",
    ".lefthook-local.yml",
    "lefthook-local.yaml",
    ".lefthook-local.yaml",
    ".lefthook",
    ".lefthook-local",
    ".overcommit.yml",
    // editors: tasks, launch configurations, settings naming executables, language servers
    ".vscode",
    ".idea",
    ".fleet",
    ".zed",
    ".helix",
    ".devcontainer",
    ".devcontainer.json",
    ".nvim.lua",
    ".nvimrc",
    ".exrc",
    ".dir-locals.el",
    ".dir-locals-2.el",
    // AI coding agents: project settings whose hooks, MCP servers or lint and test commands they
    // run on start or after an edit (Claude Code, Cursor, Gemini CLI, aider, Continue, Windsurf,
    // opencode)
    ".claude",
    ".mcp.json",
    ".cursor",
    ".gemini",
    ".aider.conf.yml",
    ".continue",
    ".windsurf",
    ".opencode",
    "opencode.json",
    "opencode.jsonc",
    // coco's own policies (`coco run --config .coco/npm-test.json`): CI's next step runs under
    // what is there, granting mounts, hosts and variables
    ".coco",
};
// Also guarded: mise's per-environment files, `mise.ENV.toml` and `.mise.ENV.toml`
// (isGuardedName). Not guarded, because nothing in them runs without a command the user's own
// config defines: .gitattributes and .git/info/attributes (they select filter and diff drivers
// that only config defines), .gitmodules (git ignores `update = !command` from it), .lfsconfig.

// In a writable `.git` (`workspace_guard: {git: write}`): what git writes for commit, fetch,
// merge, reset, checkout, branch, tag and gc. Everything else there (config, hooks, info,
// commondir, config.worktree, worktrees, modules, rebase-merge and sequencer todo lists, which
// can hold `exec` lines) is pinned read-only when it exists and removed when the run creates it.
// `packed-refs.new` is what `git gc` and `git pack-refs` write before renaming it to
// packed-refs, REBASE_HEAD a stopped rebase's: names a host git writes too while the tool runs.
// Not MERGE_AUTOSTASH: git applies the stash it names at the next commit, which would bring a
// tool's files (a .vscode/tasks.json, a hook manager's config) into the worktree; nor BISECT_*:
// `git bisect reset` checks out what BISECT_START names.
inline constexpr std::string_view kGitWritable[] = {
    "objects",     "refs",           "logs",        "index",       "HEAD",           "ORIG_HEAD",
    "FETCH_HEAD",  "MERGE_HEAD",     "MERGE_MSG",   "MERGE_MODE",  "AUTO_MERGE",     "CHERRY_PICK_HEAD",
    "REVERT_HEAD", "COMMIT_EDITMSG", "TAG_EDITMSG", "SQUASH_MSG",  "packed-refs",    "shallow",
    "gc.pid",      "gc.log",         "REBASE_HEAD", "packed-refs.new",
};
// ... and lock files (NAME.lock), split-index files (sharedindex.*) and `git stash`'s temporary
// index (index.stash.PID, read only by the stash that made it): gitWritable().

// The hook names git runs, guarded at a mount root that is itself core.hooksPath.
inline constexpr std::string_view kGitHookNames[] = {
    "applypatch-msg",
    "pre-applypatch",
    "post-applypatch",
    "pre-commit",
    "pre-merge-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "pre-rebase",
    "post-checkout",
    "post-merge",
    "pre-push",
    "pre-receive",
    "update",
    "proc-receive",
    "post-receive",
    "post-update",
    "reference-transaction",
    "push-to-checkout",
    "pre-auto-gc",
    "post-rewrite",
    "sendemail-validate",
    "fsmonitor-watchman",
    "p4-changelist",
    "p4-prepare-changelist",
    "p4-post-changelist",
    "p4-pre-submit",
    "post-index-change",
};

// Dependency trees: package managers delete and rebuild what is below them, packages ship
// `.vscode`, `.config` or `.husky` of their own, and no host program reads those there. A guarded
// name below one of these is guarded only when its directory is a place by another rule (the
// directory coco runs from or one above it, a repository's root).
inline constexpr std::string_view kDependencyTrees[] = {
    "node_modules", "bower_components", "jspm_packages", "site-packages", "vendor", ".venv",
};

bool isGuardedName(std::string_view name);
bool isGitHookName(std::string_view name);  // one of kGitHookNames
bool isGitName(std::string_view name);  // ".git" in any case
// A repository's own directory: ".git", ".hg" or ".jj", in any case. Guarded at any depth and
// pinned read-only wherever it is, as git's is.
bool isRepositoryName(std::string_view name);
bool gitWritable(std::string_view name);
// Whether `name`, a gitWritable() entry of a writable git directory `gitfd` (`st`: its lstat), is
// of a kind git makes there: objects, refs and logs directories, every other name a regular file,
// HEAD also git's old symlink to refs/... Git writes the others by name, following a symlink.
bool gitWritableKindOk(int gitfd, const std::string& name, const struct stat& st);
// Whether the directory `rel` (relative to the mount root) lies in a dependency tree.
bool inDependencyTree(std::string_view rel);

// What is guarded in one writable mount: the names above, plus paths found at plan time
// (core.hooksPath and similar targets), relative to the mount root.
//
// The guarded names (kGuardedNames) count only in places where host programs read them: the
// mount root, the directory coco runs from and every directory between it and the mount root
// (direnv and mise read their files from the shell's directory and its parents, editors open
// the workspace root), the root of each repository (a directory holding `.git` before the run),
// and each directory that held a guarded name before the run outside dependency trees (a
// monorepo package's own `.envrc` or `.vscode`). A place stays one for the check after the run
// by its path, so a place renamed away and made again is still checked, and by its inode, so the
// one renamed away is checked where it went; what is left at a place's path that is no directory
// (a symlink to where it went) is a finding. `.git`, git directories and the extra paths count
// everywhere.
struct GuardRules {
  bool gitWrite = false;
  std::vector<std::string> extraPaths;  // sorted, unique, relative ("tools/hooks")
  // Paths of the same kind inside a .git (`core.hooksPath = .git/githooks`): pinned with the .git,
  // and what in them has other links compared after the run. Sorted, unique, relative.
  std::vector<std::string> gitInnerPaths;
  std::optional<std::string> cwd;       // where coco runs from, relative, when inside the mount

  // Whether the entry `name` at `rel` (its path relative to the mount root) is guarded, in a
  // directory that is (`place`) or is not a place for guarded names. An entry on the way to an
  // extra path (a prefix of it) is guarded unless it is a directory: a symlink or file there
  // would redirect the path.
  bool isGuarded(std::string_view rel, std::string_view name, bool isDir, bool place) const;
  // Whether the directory `rel` is a place by these rules alone: the root, or the directory coco
  // runs from or one of its parents.
  bool isRulePlace(std::string_view rel) const;
  // An extra path, or an entry on the way to one.
  bool isExtra(std::string_view rel) const;
  // The same for gitInnerPaths.
  bool isGitInner(std::string_view rel) const;
  // Whether an extra path lies below the directory `rel` ("" for the root): its listing from
  // an earlier walk did not look for it.
  bool hasExtraBelow(std::string_view rel) const;
  // Adds a path (relative, normalised, inside the mount); false when it was there already.
  bool addExtraPath(const std::string& rel);
  // The same for a path inside a .git (gitInnerPaths).
  bool addGitInnerPath(const std::string& rel);
};

struct GuardMount;  // one writable mount's snapshot and watches (workspace_guard.cpp)

// The guard of one run: planned before clone, watching during the run, checking after it.
// Inert (no binds, no fd) when the spec turns the guard off.
class WorkspaceGuard {
 public:
  WorkspaceGuard();
  ~WorkspaceGuard();
  WorkspaceGuard(WorkspaceGuard&&) noexcept;
  WorkspaceGuard& operator=(WorkspaceGuard&&) noexcept;

  // Walks one mount of the plan (ignored unless it is a writable directory) and appends the
  // binds that pin its guarded entries.
  Status addMount(const PlannedBind& mount, const GuardSpec& spec, std::vector<PlannedBind>& out);
  // Starts watching the mount roots (their first level, and below objects, refs and logs of a git
  // directory the tool may write) for new guarded entries. Call it
  // before the sandbox starts.
  void startWatching();
  // An inotify fd to poll during the run, or -1.
  int watchFd() const;
  // Whether finish() has a mount to check.
  bool checks() const { return !mounts_.empty(); }
  // Handles what the watch reported: removes new guarded entries at once.
  void onWatchEvents();
  // How long coco's loop may wait for the watch's descriptor before calling onWatchEvents anyway
  // (a listing after lost events that was put off falls due), or -1 for as long as it likes.
  int watchTimeoutMs() const;
  // Directories the watch has listed so far (a new directory at the top once, every watched one
  // again after lost events): what the tool can make coco do at the cost of its own renames.
  size_t watchListings() const { return watchListings_; }
  // After lost events the watched directories are listed again at most once in this long (1 s;
  // tests set it).
  void setRescanGapMs(int64_t ms) { rescanGapMs_ = ms; }
  // Ends the watch once the sandbox holds no process: handles what it still reported and closes
  // its descriptors. finish() does it first if it was not done; later calls do nothing.
  void releaseWatch();
  // After the sandbox is gone: removes what the run created or changed, says so on stderr, and
  // keeps the walk for the next run (or warns about what it could not read, and keeps nothing).
  // Once; later calls do nothing.
  void finish();

  // Directories watched during the run, each holding a descriptor; the root is always watched.
  static constexpr size_t kMaxWatchedDirs = 256;
  // ... and, apart from those, directories below objects, refs and logs of a git directory the
  // tool may write (checkGitData).
  static constexpr size_t kMaxGitDataWatches = 256;
  // Entries renamed aside during the run that could not be removed at once, each holding its
  // directory's descriptor until the run ends; past this many the failure is reported instead.
  static constexpr size_t kMaxAside = 64;

 private:
  int addWatch(GuardMount& m, const std::string& rel, bool gitData = false);
  void watchGitData(GuardMount& m, const std::vector<std::string>& top);
  bool readWatchEvents();  // one buffer's worth; false when none was queued
  void checkWatched(GuardMount& m, int wd);
  void checkNew(GuardMount& m, int wd, const std::string& name, bool isDir, bool rescan = false,
                bool moved = false);
  void checkGitData(GuardMount& m, int wd, const std::string& name, bool moved);
  void removeNow(GuardMount& m, int wd, const std::string& name);

  std::vector<std::unique_ptr<GuardMount>> mounts_;
  int inotifyFd_ = -1;
  unsigned asideCount_ = 0;
  size_t watchedDirs_ = 0;  // across the mounts (kMaxWatchedDirs)
  size_t gitDataWatches_ = 0;  // across the mounts (kMaxGitDataWatches)
  bool watchesCapped_ = false;
  // Listing every watched directory again after lost events (IN_Q_OVERFLOW), rate-limited.
  int64_t rescanGapMs_ = 1000;
  bool rescanPending_ = false;
  size_t watchListings_ = 0;
  int64_t nextRescanMs_ = 0;
  // Adds to m.kept the read-only mounts that cover their own place in m (readOnlyBinds_).
  void keepReadOnlyBinds(GuardMount& m) const;
  std::vector<std::pair<std::string, std::string>> readOnlyBinds_;  // the run's read-only mounts (src, dst)
};

}  // namespace coco::engine
