// What the host's git runs or reads as config, for the workspace guard: repositories as git finds
// them, their hooks, the config files they read (includes followed) and what those name.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "engine/run_spec.hpp"
#include "util/git_config.hpp"

namespace coco::engine {

inline constexpr size_t kMaxConfigBytes = 1 << 20;

// A small regular file (no FIFO, device or endless file behind a planted symlink), or "".
std::string readSmall(const std::string& path, size_t cap = kMaxConfigBytes);

struct GitRepo {
  std::string worktree, gitdir, commondir;
};

// The repository whose worktree holds `dir` (searching its parents when `up`), as git finds it:
// a .git directory, or a .git file naming the git directory; commondir from the git directory.
std::optional<GitRepo> findRepo(std::string dir, bool up);

// A git directory found by itself (a bare repository, or a directory git's discovery takes for
// one): git run there works in it.
GitRepo gitDirRepo(const std::string& dir);

// The user's system and global git configs (GuardSpec::gitConfigs) with what they include.
gitconfig::Loaded loadUserConfig(const GuardSpec& spec);

inline constexpr size_t kMaxGitPaths = 1024;

// Absolute paths, lexical ("/w/.git/../x") and also through the symlinks on the way where they
// exist: the guard keeps whatever of them lies in a writable mount.
struct GitPaths {
  // Where git runs hooks from (core.hooksPath, .git/hooks) and the git directories: a mount root
  // among them has its hook names guarded.
  std::vector<std::string> dirs;
  // Config files and their includes, what hooks link to, programs and paths in the commands the
  // configs run (relative ones from the worktree's top, where git runs them).
  std::vector<std::string> paths;
};

// What git run in `repo` takes from it and from the user's config.
GitPaths repoGitPaths(const GitRepo& repo, const gitconfig::Loaded& user, const GuardSpec& spec);
// What the user's config alone names for git run in `dir`: a repository made there later, or a
// command that needs none (an alias, a credential helper).
GitPaths userGitPaths(const gitconfig::Loaded& user, const std::string& dir, const GuardSpec& spec);

}  // namespace coco::engine
