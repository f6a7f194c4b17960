// Computes the read-only binds that protect a writable workspace.
#include "engine/workspace_guard.hpp"

#include <sys/stat.h>

#include <string>

#include "util/fs.hpp"

namespace coco::engine {

namespace {
bool lstatOk(const std::string& path, struct stat& st) { return ::lstat(path.c_str(), &st) == 0; }
}  // namespace

void addGuardBinds(const PlannedBind& mount, std::vector<PlannedBind>& out) {
  if (mount.readOnly || !mount.isDir) return;
  struct stat st;
  std::string git = fs::joinPath(mount.src, ".git");
  if (lstatOk(git, st)) {
    if (S_ISDIR(st.st_mode)) out.push_back({git, fs::joinPath(mount.dst, ".git"), false, true});
    // A worktree's `.git` is a file naming the real git dir: keep it from being redirected.
    if (S_ISREG(st.st_mode)) out.push_back({git, fs::joinPath(mount.dst, ".git"), true, false});
  }
  for (std::string_view rel : kGuardedPaths) {
    std::string src = fs::joinPath(mount.src, rel);
    if (!lstatOk(src, st) || S_ISLNK(st.st_mode)) continue;
    out.push_back({src, fs::joinPath(mount.dst, rel), true, S_ISDIR(st.st_mode)});
  }
}

}  // namespace coco::engine
