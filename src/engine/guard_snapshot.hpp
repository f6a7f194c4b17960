// The workspace guard's picture of one writable mount: every directory (inode and change time)
// and every guarded entry in it. Taken before a run, compared after it; kept between runs so
// that a directory whose change time did not move is not read again.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/workspace_guard.hpp"
#include "util/remove_tree.hpp"
#include "util/unique_fd.hpp"

namespace coco::engine {

// Who an entry is and when it last changed. A change time never goes back (a tool can set
// mtime, not ctime), so an equal stamp means an unchanged directory listing or file.
struct Stamp {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t ctimeSec = 0;
  int64_t ctimeNsec = 0;
  uint32_t mode = 0;
  bool operator==(const Stamp&) const = default;
  bool sameInode(const Stamp& o) const { return dev == o.dev && ino == o.ino; }
  bool isDir() const;
  bool isSymlink() const;
};

// A pinned regular file with other links is compared after the run by its content when it holds
// at most kMaxLinkedRead bytes and fits in the kMaxLinkedReadTotal bytes a walk before the run
// keeps of such files; else by its change time alone (which a link added or removed moves too).
inline constexpr size_t kMaxLinkedRead = 256 * 1024;
inline constexpr size_t kMaxLinkedReadTotal = 1024 * 1024;

// A pinned regular file with other links, as it was before the run. Its change time moves when a
// link to it is added or removed too, so one whose time moved is compared by what it holds.
struct LinkedFile {
  std::string path;  // in its pinned entry; "" for the entry itself
  Stamp stamp;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<std::string> content;  // none when not read (over the caps, unreadable)
  std::string xattrs;                  // with the content: its extended attributes (xattrsOf)
};

// A guarded entry found in a directory.
struct GuardedEntry {
  std::string name;
  Stamp stamp;
  bool pinned = false;        // mounted read-only over itself for the run
  bool gitDirectory = false;  // a git directory (isGitDirectory)
  bool otherMount = false;    // the root of another mount: pinned, not walked
  // Not pinned: everything below it (relative path -> stamp, sorted), to see what the run changed.
  std::vector<std::pair<std::string, Stamp>> contents;
  // Pinned: regular files with more than one link, the entry itself ("") or, in a git directory
  // or hooks directory, its config and hooks ("hooks/pre-commit"), in another directory its files
  // (".vscode/tasks.json" is "tasks.json"). Read-only in the sandbox, they can still be written
  // through another link in the writable mount. Set by the walk before the run (not serialized:
  // every such walk sets it again).
  std::vector<LinkedFile> linked;
};

struct DirNode {
  std::string name;  // in its parent; "" for the mount root
  int32_t parent = -1;
  Stamp stamp;
  bool settled = false;    // changed long enough before the walk that an equal stamp can be trusted
  bool gitDir = false;     // a writable root .git, or a root that is itself a git directory
  bool place = false;      // guarded names count here (GuardRules)
  uint8_t gitMembers = 0;  // which of HEAD, objects, refs, commondir it holds
  std::vector<int32_t> children;
  std::vector<GuardedEntry> guarded;
};

// What a walk could not read although the tool could have written there: a directory it could
// not open or list, or an entry it could not stat (relative to the mount root), and the errno.
struct WalkGap {
  std::string rel;
  int err = 0;
};

// What a run left that the guard removes.
struct GuardFinding {
  std::string rel;       // relative to the mount root
  bool changed = false;  // an existing entry the run changed (else a new one)
  // A pinned file changed through another link: removed even where a removal leaves what was
  // read-only for the run (it is that very file).
  bool throughLink = false;
};

class GuardSnapshot {
 public:
  // Walks the mount at `rootfd`. `before` (may be null) lends the listings of directories whose
  // stamp did not move. With `findings`, what differs from `before` and is guarded is reported
  // there (the check after the run); without, this is the walk before the run.
  static GuardSnapshot take(int rootfd, const GuardRules& rules, const GuardSnapshot* before,
                            std::vector<GuardFinding>* findings);

  const std::vector<DirNode>& nodes() const { return nodes_; }
  // Empty when the walk saw everything the tool could have changed. Not gaps: what vanished
  // while the walk went (or is no longer a directory), and another user's directory that coco
  // may not search (the tool, with coco's ids and no capabilities, cannot reach into it either).
  const std::vector<WalkGap>& gaps() const { return gaps_; }
  std::string relPath(int32_t node) const;  // "" for the root
  bool empty() const { return nodes_.empty(); }

  // The cache file form. parse() returns an empty snapshot for anything but what serialize()
  // wrote with the same key (the rules and coco's version), so a bad cache costs a full walk.
  std::string serialize(std::string_view key) const;
  static GuardSnapshot parse(std::string_view data, std::string_view key);

 private:
  friend class SnapshotWalk;
  std::vector<DirNode> nodes_;
  std::vector<WalkGap> gaps_;  // not serialized: an incomplete walk is never kept
};

struct ListedEntry {
  std::string name;
  bool isDir;
};

// The entries of a directory fd (O_PATH is fine: it is reopened for reading), without "." and
// "..". False when it cannot be read.
bool listEntries(int dirfd, std::vector<ListedEntry>& out);

// The content of the regular file `rel` beneath `dirfd` (each directory on the way and the file
// opened with O_NOFOLLOW) when it is still the inode `stamp` names and holds at most `maxBytes`.
// With `xattrs`, its extended attributes too (names and values, in name order; an ACL or a
// `user.` attribute changes no mode bit): none when they cannot be read.
std::optional<std::string> readPinnedFile(int dirfd, const std::string& rel, const Stamp& stamp,
                                          size_t maxBytes, std::string* xattrs = nullptr);

// Whether the directory `dirfd` is one git would take for a git directory (HEAD with objects and
// refs of any type, symlinks included, or with a commondir file).
bool isGitDirectory(int dirfd);

// Calls `fn` with each git directory in the worktrees/ and modules/ of the git directory `gitfd`
// (a worktree's, a submodule's; submodules nest and their names may hold slashes) and its path
// from `prefix` ("modules/libs/a/"), looking at `budget` directories at most (taken from it).
void forEachInnerGitDir(int gitfd, const std::string& prefix, size_t& budget,
                        const std::function<void(int fd, const std::string& rel)>& fn);

// The directory `rel` (relative to the mount root `rootfd`; "" is the root itself), opened O_PATH
// name by name with O_NOFOLLOW: never through a symlink. Invalid when that fails.
UniqueFd openDirBeneath(int rootfd, std::string_view rel);

// (dev, ino) of what a removal must leave in place: what was read-only for the run (pinned
// entries, another mount's root, a read-only mount's source), which a tool can still move into
// something it planted by renaming a directory above it.
using KeptIdentities = std::set<std::pair<uint64_t, uint64_t>>;

// removeBelow's result when it left something in place (below).
using fs::kRemoveLeftKept;

// Removes the entry `rel` (relative to the mount root `rootfd`, reached without following a
// symlink) and everything below it, never following a symlink, except what is in `kept` (may be
// null) or on another file system than `rel`'s directory, and the directories holding that.
// Returns 0, an errno, or kRemoveLeftKept. fs::removeAt does the removal.
int removeBelow(int rootfd, const std::string& rel, const KeptIdentities* kept = nullptr);
// What removeBelow's non-zero result means, for a message.
std::string removeFailureText(int err);

}  // namespace coco::engine
