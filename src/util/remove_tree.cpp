// rm -rf by descriptor, for fs::removeTree and the workspace guard: directories reached downwards
// from the entry through the descriptors of the levels above, never by path and never through "..".
#include "util/remove_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

namespace coco::fs {

bool statAt(int dirfd, const std::string& name, struct stat& st, bool* mountRoot) {
  struct statx stx;
  if (::statx(dirfd, name.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &stx) != 0)
    return false;
  st = {};
  st.st_dev = ::makedev(stx.stx_dev_major, stx.stx_dev_minor);
  st.st_ino = stx.stx_ino;
  st.st_mode = stx.stx_mode;
  st.st_nlink = stx.stx_nlink;
  st.st_uid = stx.stx_uid;
  st.st_gid = stx.stx_gid;
  st.st_size = static_cast<off_t>(stx.stx_size);
  st.st_ctim = {stx.stx_ctime.tv_sec, stx.stx_ctime.tv_nsec};
  if (mountRoot)
    *mountRoot =
        (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
  return true;
}

UniqueFd openUpDirectory(int parent, const std::string& name) {
  UniqueFd path(::openat(parent, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (!path || ::fstat(path.get(), &st) != 0) return UniqueFd();
  // chmod of the descriptor's /proc link changes the directory it holds, never a symlink's target.
  std::string self = "/proc/self/fd/" + std::to_string(path.get());
  if (::chmod(self.c_str(), (st.st_mode & 07777) | 0700) != 0) return UniqueFd();
  return UniqueFd(::openat(path.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

namespace {

// Removal keeps this many directories open; a deeper sub-directory is moved up to the top of
// the entry being removed and taken from there (a tree can be deeper than descriptors allow).
constexpr size_t kMaxOpenLevels = 128;
constexpr std::string_view kDeepPrefix = ".coco-rm-deep-";

struct Level {
  UniqueFd fd;
  std::string name;                  // in the level above
  std::vector<std::string> subdirs;  // still to remove
  bool leftKept = false;             // something below stays: the level stays too
};

// The names in the open directory `fd`, without "." and "..". False (errno set) when it cannot
// be read to the end.
bool readNames(int fd, std::vector<std::string>& out) {
  int rfd = ::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = rfd < 0 ? nullptr : ::fdopendir(rfd);
  if (!d) {
    if (rfd >= 0) ::close(rfd);
    return false;
  }
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (!e) break;
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) out.emplace_back(e->d_name);
  }
  int err = errno;
  ::closedir(d);
  errno = err;
  return err == 0;
}

class Remover {
 public:
  explicit Remover(const KeepEntry& keep) : keep_(keep) {}
  int run(int dirfd, const std::string& name);
  std::string failed;  // the entry the result is about, relative to run's dirfd

 private:
  int judge(int dirfd, const std::string& name, struct stat& st) const;
  int enter(int parent, const std::string& name);
  int moveUp(int cur, const std::string& sub);
  std::string pathTo(std::string_view name) const;
  int fail(int err, std::string_view name) {
    failed = pathTo(name);
    return err;
  }

  const KeepEntry& keep_;
  std::vector<Level> stack_;
  std::string firstKept_;
  size_t moved_ = 0;
};

std::string Remover::pathTo(std::string_view name) const {
  std::string path;
  for (const auto& level : stack_) path += level.name + "/";
  if (name.empty() && !path.empty()) path.pop_back();
  return path += name;
}

// 0 to remove the entry (its lstat in `st`), kRemoveLeftKept to leave it, or an errno. Another
// mount's root stays (st_dev alone is no sign: a btrfs subvolume, which any user can make, has
// its own).
int Remover::judge(int dirfd, const std::string& name, struct stat& st) const {
  bool mountRoot = false;
  if (!statAt(dirfd, name, st, &mountRoot)) return errno;
  return mountRoot || (keep_ && keep_(st)) ? kRemoveLeftKept : 0;
}

// Opens `name` in `parent`, removes what in it is not a directory and pushes a level listing
// its sub-directories. Directories without owner permissions are opened up first.
int Remover::enter(int parent, const std::string& name) {
  errno = 0;
  UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd && errno == EACCES) fd = openUpDirectory(parent, name);
  if (!fd) return fail(errno ? errno : EACCES, name);
  struct stat st;
  if (::fstat(fd.get(), &st) == 0 && (st.st_mode & 0700) != 0700)
    ::fchmod(fd.get(), (st.st_mode & 07777) | 0700);
  std::vector<std::string> names;
  if (!readNames(fd.get(), names)) return fail(errno, name);
  Level level{std::move(fd), name, {}};
  for (const auto& entry : names) {
    std::string rel = name + "/" + entry;
    int verdict = judge(level.fd.get(), entry, st);
    if (verdict == kRemoveLeftKept) {
      level.leftKept = true;
      if (firstKept_.empty()) firstKept_ = pathTo(rel);
    } else if (verdict == ENOENT) {
      continue;
    } else if (verdict) {
      return fail(verdict, rel);
    } else if (S_ISDIR(st.st_mode)) {
      level.subdirs.push_back(entry);
    } else if (::unlinkat(level.fd.get(), entry.c_str(), 0) != 0 && errno != ENOENT) {
      return fail(errno, rel);
    }
  }
  stack_.push_back(std::move(level));
  return 0;
}

// Moves the sub-directory `sub` of the deepest level (`cur`) up to the first one, to be removed
// from there. Moving a directory rewrites its "..": it needs write permission.
int Remover::moveUp(int cur, const std::string& sub) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string name = std::string(kDeepPrefix) + std::to_string(++moved_);
    if (::renameat2(cur, sub.c_str(), stack_.front().fd.get(), name.c_str(), RENAME_NOREPLACE) == 0) {
      stack_.front().subdirs.push_back(std::move(name));
      return 0;
    }
    if (errno == EACCES && attempt == 0 && openUpDirectory(cur, sub)) continue;
    if (errno != EEXIST) return errno == ENOENT ? 0 : fail(errno, sub);
  }
  return fail(EEXIST, sub);
}

int Remover::run(int dirfd, const std::string& name) {
  struct stat st;
  int verdict = judge(dirfd, name, st);
  if (verdict == kRemoveLeftKept) return fail(kRemoveLeftKept, name);
  if (verdict) return verdict == ENOENT ? 0 : fail(verdict, name);
  if (!S_ISDIR(st.st_mode))
    return ::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT ? 0 : fail(errno, name);
  if (int err = enter(dirfd, name)) return err;
  size_t steps = 0;
  while (!stack_.empty()) {
    if (++steps > 10'000'000) return fail(EMLINK, "");  // a tree that keeps growing under us
    if (!stack_.back().subdirs.empty()) {
      std::string sub = std::move(stack_.back().subdirs.back());
      stack_.back().subdirs.pop_back();
      int cur = stack_.back().fd.get();
      int err = stack_.size() >= kMaxOpenLevels ? moveUp(cur, sub) : enter(cur, sub);
      if (err == ENOTDIR || err == ELOOP) err = ::unlinkat(cur, sub.c_str(), 0) == 0 ? 0 : fail(errno, sub);
      if (err && err != ENOENT) return err;
      continue;
    }
    std::string leaf = std::move(stack_.back().name);
    bool leftKept = stack_.back().leftKept;
    stack_.pop_back();
    if (stack_.empty()) {
      if (!leftKept) break;
      failed = firstKept_;
      return kRemoveLeftKept;
    }
    if (leftKept)
      stack_.back().leftKept = true;
    else if (::unlinkat(stack_.back().fd.get(), leaf.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
      return fail(errno, leaf);
  }
  return ::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : fail(errno, name);
}

}  // namespace

int removeAt(int dirfd, const std::string& name, const KeepEntry& keep, std::string* failed) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    if (failed) *failed = name;
    return EINVAL;
  }
  Remover remover(keep);
  int err = remover.run(dirfd, name);
  if (failed) *failed = std::move(remover.failed);
  return err;
}

}  // namespace coco::fs
