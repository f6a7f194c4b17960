// Walking a writable mount for the workspace guard: every directory is reached from the mount
// root through O_NOFOLLOW opens of single names, never by a path that could follow a symlink a
// tool planted; removal works the same way.
#include "engine/guard_snapshot.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "sys/io.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace coco::engine {

namespace {

constexpr int32_t kGitDirectory = -2;   // visit(): the directory is a git directory
constexpr size_t kMaxContents = 10000;  // a larger unpinned guarded directory is pinned instead
// Entries of a pinned directory looked at for files with other links (a .direnv can hold a venv).
constexpr size_t kMaxLinkedLooked = 1000;
// Each level of a walk holds one descriptor; real trees (node_modules included) stay far below.
constexpr int kMaxDepth = 200;
// Whether an unchanged change time means an unchanged entry: file systems take change times
// from the coarse clock (or finer), so a change after the walk gets a later time unless the
// entry changed in the very tick the walk started in. File systems with whole-second times
// (ext4 with small inodes; FAT: two seconds) repeat a time for every change in that second.
constexpr int64_t kSettleSeconds = 2;

enum GitMember : uint8_t { kHead = 1, kObjects = 2, kRefs = 4, kCommondir = 8, kAllMembers = 15 };

// git's is_git_directory: HEAD, and objects and refs it can reach (access(X_OK) follows a
// symlink; a file can pass too), or a commondir file naming where they are. Any type counts
// here: a tool plants a git directory with symlinks as easily as with directories.
bool isGitDirectoryBits(uint8_t bits) {
  return (bits & kHead) && ((bits & (kObjects | kRefs)) == (kObjects | kRefs) || (bits & kCommondir));
}

Stamp stampOf(const struct stat& st) {
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), st.st_ctim.tv_sec,
          st.st_ctim.tv_nsec, static_cast<uint32_t>(st.st_mode)};
}

std::string join(const std::string& rel, std::string_view name) {
  return rel.empty() ? std::string(name) : rel + "/" + std::string(name);
}

// `path` in the guarded entry `entry` ("" for the entry itself).
std::string inEntry(const std::string& entry, const std::string& path) {
  return path.empty() ? entry : entry + "/" + path;
}

uint8_t memberBit(std::string_view name) {
  if (name == "HEAD") return kHead;
  if (name == "objects") return kObjects;
  if (name == "refs") return kRefs;
  if (name == "commondir") return kCommondir;
  return 0;
}

const char* memberName(uint8_t bit) {
  return bit == kHead ? "HEAD" : bit == kObjects ? "objects" : bit == kRefs ? "refs" : "commondir";
}

UniqueFd openDirPath(int dirfd, const std::string& name) {
  return UniqueFd(::openat(dirfd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

// listEntries, and a directory the owner cannot read (a tool, root in its namespace, can still
// fill it) is given u+rwx first when `openUp` is set.
// `keep` (when given) sees every entry and says which to list: a walk need not hold the names of
// the files of a large tree.
bool listDir(int fd, std::vector<ListedEntry>& out, bool openUp,
             const std::function<bool(std::string_view, bool)>& keep = nullptr) {
  int rfd = ::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (rfd < 0 && errno == EACCES && openUp && ::fstat(fd, &st) == 0) {
    std::string self = "/proc/self/fd/" + std::to_string(fd);
    if (::chmod(self.c_str(), (st.st_mode & 07777) | 0700) == 0)
      rfd = ::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  if (rfd < 0) return false;
  DIR* d = ::fdopendir(rfd);
  if (!d) {
    ::close(rfd);
    return false;
  }
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (!e) break;
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    bool isDir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN)
      isDir = ::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    if (!keep || keep(e->d_name, isDir)) out.push_back({e->d_name, isDir});
  }
  int err = errno;  // a listing cut short (EIO, ENOMEM) is no listing
  ::closedir(d);
  errno = err;
  return err == 0;
}

// What forEachBelow calls with each entry: the directory holding it, its name there, its path
// relative to where the walk started, its lstat. False stops the walk.
using EntryFn =
    std::function<bool(int dirfd, const std::string& name, const std::string& rel, const struct stat&)>;

// Every entry below a directory, a directory before what it holds; false when `fn` stops the
// walk, past kMaxDepth, or when a directory cannot be read.
bool forEachBelow(int dirfd, const std::string& prefix, int depth, bool openUp, const EntryFn& fn) {
  std::vector<ListedEntry> entries;
  if (depth > kMaxDepth || !listDir(dirfd, entries, openUp)) return false;
  for (const auto& e : entries) {
    struct stat st;
    if (::fstatat(dirfd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    std::string rel = join(prefix, e.name);
    if (!fn(dirfd, e.name, rel, st)) return false;
    if (!S_ISDIR(st.st_mode)) continue;
    UniqueFd sub = openDirPath(dirfd, e.name);
    if (!sub || !forEachBelow(sub.get(), rel, depth + 1, openUp, fn)) return false;
  }
  return true;
}

// What is below a guarded directory (nothing for a file); false when too large to follow.
bool fingerprint(int parentfd, const std::string& name, const Stamp& stamp, bool openUp,
                 std::vector<std::pair<std::string, Stamp>>& out) {
  out.clear();
  if (!stamp.isDir()) return true;
  UniqueFd fd = openDirPath(parentfd, name);
  auto add = [&](int, const std::string&, const std::string& rel, const struct stat& st) {
    out.emplace_back(rel, stampOf(st));
    return out.size() <= kMaxContents;
  };
  if (!fd || !forEachBelow(fd.get(), "", 0, openUp, add)) return false;
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return true;
}

}  // namespace

bool listEntries(int dirfd, std::vector<ListedEntry>& out) { return listDir(dirfd, out, false); }

bool isGitDirectory(int dirfd) {
  uint8_t bits = 0;
  struct stat st;
  for (uint8_t bit : {kHead, kObjects, kRefs, kCommondir})
    if (::fstatat(dirfd, memberName(bit), &st, AT_SYMLINK_NOFOLLOW) == 0) bits |= bit;
  return isGitDirectoryBits(bits);
}

namespace {

// The git directories below `dirfd` (a worktrees/ or modules/), each with those inside it: the
// directories on the way to one (a name with slashes) are looked through.
void forEachGitDirIn(int dirfd, const std::string& prefix, int depth, size_t& budget,
                     const std::function<void(int fd, const std::string& rel)>& fn) {
  std::vector<ListedEntry> dirs;
  if (depth > kMaxDepth || budget == 0 ||
      !listDir(dirfd, dirs, false, [](std::string_view, bool isDir) { return isDir; }))
    return;
  for (const auto& d : dirs) {
    if (budget == 0) return;
    --budget;
    UniqueFd sub = openDirPath(dirfd, d.name);
    if (!sub) continue;
    std::string rel = prefix + d.name + "/";
    if (!isGitDirectory(sub.get())) {
      forEachGitDirIn(sub.get(), rel, depth + 1, budget, fn);
      continue;
    }
    fn(sub.get(), rel);
    for (const char* holder : {"worktrees", "modules"})
      if (UniqueFd inner = openDirPath(sub.get(), holder))
        forEachGitDirIn(inner.get(), rel + holder + "/", depth + 1, budget, fn);
  }
}

}  // namespace

void forEachInnerGitDir(int gitfd, const std::string& prefix, size_t& budget,
                        const std::function<void(int fd, const std::string& rel)>& fn) {
  for (const char* holder : {"worktrees", "modules"})
    if (UniqueFd dir = openDirPath(gitfd, holder))
      forEachGitDirIn(dir.get(), prefix + holder + "/", 0, budget, fn);
}

bool Stamp::isDir() const { return S_ISDIR(mode); }
bool Stamp::isSymlink() const { return S_ISLNK(mode); }

// A directory of a walk: its path from the root and, once one is needed, a descriptor (opened
// from its parent's when that is open, else name by name from the root, never through a
// symlink). An unchanged directory needs none: what is in it is stat'ed by its path from the
// root, and a stamp equal to the one from before is that same directory whatever way led there.
struct DirRef {
  const std::string& rel;
  const std::string& name;
  Stamp stamp;
  int parentFd = -1;
  UniqueFd fd;
};

// One walk: the state its recursion shares.
class SnapshotWalk {
 public:
  SnapshotWalk(int rootfd, const GuardRules& rules, const GuardSnapshot* before,
               std::vector<GuardFinding>* findings)
      : rootfd_(rootfd),
        rules_(rules),
        before_(before && !before->empty() ? before : nullptr),
        findings_(findings) {
    ::clock_gettime(CLOCK_REALTIME_COARSE, &walkStart_);
    if (findings_ && before_)
      for (int32_t i = 0; i < static_cast<int32_t>(before_->nodes_.size()); ++i) {
        const DirNode& node = before_->nodes_[i];
        for (const auto& g : node.guarded) identities_.emplace(std::make_pair(g.stamp.dev, g.stamp.ino), &g);
        if (!node.place) continue;
        std::string rel = before_->relPath(i);
        placeInodes_.emplace(std::make_pair(node.stamp.dev, node.stamp.ino), i);
        // The place's path and each directory on the way to it: a symlink at any of them leads the
        // host's `cd` elsewhere (`cp -a libs libs2; rm -rf libs; ln -s libs2 libs` for libs/foo).
        for (std::string way = rel; i > 0 && !way.empty() && placeWays_.insert(way).second;) {
          size_t slash = way.rfind('/');
          way = slash == std::string::npos ? std::string() : way.substr(0, slash);
          placeParents_.insert(way);
        }
        placesBefore_.insert(std::move(rel));
      }
  }

  GuardSnapshot run() {
    struct stat st;
    if (::fstat(rootfd_, &st) != 0) {
      out_.gaps_.push_back({"", errno});
      return std::move(out_);
    }
    out_.nodes_.reserve(before_ ? before_->nodes_.size() + 64 : 1024);
    std::string root;
    DirRef dir{root, root, stampOf(st), -1, UniqueFd()};
    visit(dir, -1, before_ ? 0 : -1, 0, false, nullptr);
    return std::move(out_);
  }

 private:
  bool after() const { return findings_ != nullptr; }
  // Whether a later change will show in this stamp. The walk after a run is kept for the next
  // run, which can come at any time: it trusts no time from the last seconds.
  bool settled(const Stamp& s) const {
    if (after() || s.ctimeNsec == 0) return s.ctimeSec + kSettleSeconds <= walkStart_.tv_sec;
    return s.ctimeSec < walkStart_.tv_sec ||
           (s.ctimeSec == walkStart_.tv_sec && s.ctimeNsec < walkStart_.tv_nsec);
  }
  const DirNode* beforeNode(int32_t index) const { return index >= 0 ? &before_->nodes_[index] : nullptr; }
  // Whether a directory is a place for guarded names before its listing is read: by the rules,
  // or (after the run) because it was one before the run, whatever the run did to it.
  bool knownPlace(const std::string& rel) const {
    return rules_.isRulePlace(rel) || (after() && placesBefore_.count(rel) != 0);
  }
  // After the run, a place from before found under another path (renamed, or a directory above
  // it was): by its inode. Still a place, and its node from before stands for it.
  const DirNode* movedPlace(const Stamp& s) const {
    auto it = placeInodes_.find({s.dev, s.ino});
    return it == placeInodes_.end() ? nullptr : &before_->nodes_[it->second];
  }
  // After the run, whether `name` in the directory `rel` was a place before or a directory on the
  // way to one (`here`: whether any was in that directory, so that most directories cost no lookup
  // of a joined path).
  bool wasPlace(bool here, const std::string& rel, std::string_view name) const {
    return here && placeWays_.count(join(rel, name)) != 0;
  }
  // Whether an earlier listing can stand for this one: it looked for guarded names wherever
  // this walk does.
  // A git directory's listing also says which of its members git writes were left as data: not
  // when git's configuration now names something below one (core.hooksPath = .git/refs/hooks,
  // found after the first walk, or since the cached one).
  bool reusable(const DirNode& b, const std::string& rel) const {
    return b.settled && (b.place || !knownPlace(rel)) && !rules_.hasExtraBelow(rel) &&
           !(b.gitDir && namedInGitData(rel));
  }
  bool namedInGitData(const std::string& rel) const {
    for (const auto* paths : {&rules_.gitInnerPaths, &rules_.extraPaths})
      for (const auto& p : *paths) {
        if (!rel.empty() && !(p.size() > rel.size() && p.starts_with(rel) && p[rel.size()] == '/')) continue;
        std::string_view rest = std::string_view(p).substr(rel.empty() ? 0 : rel.size() + 1);
        if (gitWritable(rest.substr(0, rest.find('/')))) return true;
      }
    return false;
  }

  void finding(std::string rel, bool changed) {
    if (findings_) findings_->push_back({std::move(rel), changed});
  }
  void unreadable(const std::string& rel, int err);
  bool outOfReach(const std::string& rel) const;

  int fdOf(DirRef& dir) const;
  bool statIn(const DirRef& dir, const std::string& name, struct stat& st, bool* mountRoot = nullptr) const;
  int32_t visit(DirRef& dir, int32_t parent, int32_t before, int depth, bool gitDir, uint8_t* members);
  void reuse(DirRef& dir, const DirNode& b, int32_t self, int depth);
  bool scan(DirRef& dir, const DirNode* b, int32_t self, int depth, uint8_t* members);
  void child(DirRef& dir, const std::string& name, const DirNode* b, int32_t before, int32_t self, int depth,
             bool gitDir);
  void guarded(DirRef& dir, const std::string& name, const DirNode* b, int32_t self, bool gitDirectory,
               bool otherMount = false);
  void compareGuarded(const GuardedEntry& was, GuardedEntry& now, DirRef& dir, const std::string& entryRel);
  void noteLinkedIn(DirRef& dir, GuardedEntry& entry, const struct stat& st, const std::string& entryRel,
                    bool inGitDir);
  void noteLinked(int dirfd, const std::string& name, const std::string& path, const struct stat& st,
                  GuardedEntry& entry);
  void noteLinkedAt(int dirfd, const std::string& name, const std::string& path, GuardedEntry& entry);
  void noteLinkedHooks(int hooksfd, const std::string& prefix, GuardedEntry& entry);
  void noteLinkedBelow(int dirfd, const std::string& prefix, GuardedEntry& entry);
  void noteLinkedInGit(int selffd, const std::string& entryRel, GuardedEntry& entry);
  void noteLinkedNamed(int selffd, const std::string& entryRel, const std::string& path, GuardedEntry& entry);
  void noteLinkedGitDir(int gitfd, const std::string& prefix, GuardedEntry& entry);
  void noteLinkedGitFiles(int gitfd, const std::string& prefix, GuardedEntry& entry);
  void compareLinked(const GuardedEntry& was, const GuardedEntry& now, const struct stat& nowSt, DirRef& dir,
                     const std::string& entryRel);
  bool unchangedLinked(DirRef& dir, const std::string& entryName, const LinkedFile& was,
                       const struct stat& st);
  void gitMembersAppeared(const std::string& rel, uint8_t was, uint8_t now);

  int rootfd_;
  const GuardRules& rules_;
  const GuardSnapshot* before_;
  std::vector<GuardFinding>* findings_;
  struct timespec walkStart_ = {};  // the coarse clock
  std::map<std::pair<uint64_t, uint64_t>, const GuardedEntry*> identities_;
  std::unordered_set<std::string> placesBefore_;  // after the run: the places of the walk before, by path
  // ... by inode (their nodes there), and the directories holding them, by path.
  std::map<std::pair<uint64_t, uint64_t>, int32_t> placeInodes_;
  std::unordered_set<std::string> placeWays_;     // ... and the directories on the way to them
  std::unordered_set<std::string> placeParents_;  // the directories holding those
  size_t linkedRead_ = 0;                         // bytes of linked pinned files read (kMaxLinkedReadTotal)
  // For the pinned entry noteLinkedIn is at: the paths noted, the entries looked at.
  std::unordered_set<std::string> linkedNoted_;
  size_t linkedLooked_ = 0;
  GuardSnapshot out_;
};

// The directory's descriptor, or -1 when it is gone or is no longer the directory walked.
int SnapshotWalk::fdOf(DirRef& dir) const {
  if (dir.fd) return dir.fd.get();
  if (dir.rel.empty()) {
    dir.fd.reset(::fcntl(rootfd_, F_DUPFD_CLOEXEC, 3));
  } else if (dir.parentFd >= 0) {
    dir.fd = openDirPath(dir.parentFd, dir.name);
  } else {
    UniqueFd cur(::fcntl(rootfd_, F_DUPFD_CLOEXEC, 3));
    for (size_t start = 0; cur && start < dir.rel.size();) {
      size_t end = std::min(dir.rel.find('/', start), dir.rel.size());
      cur = openDirPath(cur.get(), dir.rel.substr(start, end - start));
      start = end + 1;
    }
    dir.fd = std::move(cur);
  }
  struct stat st;
  if (dir.fd && (::fstat(dir.fd.get(), &st) != 0 || !stampOf(st).sameInode(dir.stamp))) {
    dir.fd.reset();
    errno = ENOENT;  // another directory under that name now: the one walked is gone from there
  }
  return dir.fd.get();
}

// What could not be read: a gap in the walk unless it vanished or is out of the tool's reach.
void SnapshotWalk::unreadable(const std::string& rel, int err) {
  if (err == ENOENT || err == ENOTDIR || err == ELOOP) return;  // gone, or no longer a directory
  if ((err == EACCES || err == EPERM) && outOfReach(rel)) {
    log::debug("workspace guard: {} is another user's and not searchable: out of the tool's reach too", rel);
    return;
  }
  log::debug("workspace guard: cannot read {}: {}", rel.empty() ? "." : rel, std::strerror(err));
  out_.gaps_.push_back({rel, err});
}

// Another user's directory that coco may not search: the tool runs with coco's ids and without
// capabilities, so it can neither reach into it nor change its mode (its owner could, and a
// directory coco may search but not list can still be written in).
bool SnapshotWalk::outOfReach(const std::string& rel) const {
  UniqueFd dir = openDirBeneath(rootfd_, rel);
  struct stat st;
  if (!dir || ::fstat(dir.get(), &st) != 0 || st.st_uid == ::geteuid()) return false;
  std::string self = "/proc/self/fd/" + std::to_string(dir.get());
  return ::faccessat(AT_FDCWD, self.c_str(), X_OK, AT_EACCESS) != 0;
}

// Stats `name` in the directory: through its descriptor when open, else by path from the root.
// `mountRoot` (when given) says whether the entry is the root of another mount.
bool SnapshotWalk::statIn(const DirRef& dir, const std::string& name, struct stat& st, bool* mountRoot) const {
  int fd = dir.fd ? dir.fd.get() : rootfd_;
  return fs::statAt(fd, dir.fd ? name : join(dir.rel, name), st, mountRoot);
}

// Visits a directory and returns its node, or kGitDirectory for a git directory below the root
// (the caller records it as a guarded entry, `members` holding its HEAD/objects/refs bits).
int32_t SnapshotWalk::visit(DirRef& dir, int32_t parent, int32_t before, int depth, bool gitDir,
                            uint8_t* members) {
  const DirNode* b = beforeNode(before);
  if (b && !b->stamp.sameInode(dir.stamp)) b = nullptr;  // another directory under the same name now
  // A directory not found by its name: a place moved here is still one (its guarded entries are
  // compared with before). Only new and renamed directories are looked up, and by what stat gave.
  if (!b && after()) b = movedPlace(dir.stamp);
  int32_t self = static_cast<int32_t>(out_.nodes_.size());
  DirNode node;
  node.name = dir.name;
  node.parent = parent;
  node.stamp = dir.stamp;
  node.settled = settled(dir.stamp);
  node.gitDir = gitDir;
  node.place = knownPlace(dir.rel) || (after() && b && b->place);
  out_.nodes_.push_back(std::move(node));
  if (b && b->stamp == dir.stamp && reusable(*b, dir.rel)) {
    reuse(dir, *b, self, depth);
    return self;
  }
  if (!scan(dir, b, self, depth, members)) {
    out_.nodes_.resize(static_cast<size_t>(self));
    return kGitDirectory;
  }
  return self;
}

// An unchanged directory: its listing is the one from before; what is in it is looked at again.
void SnapshotWalk::reuse(DirRef& dir, const DirNode& b, int32_t self, int depth) {
  out_.nodes_[self].gitDir = b.gitDir;
  out_.nodes_[self].gitMembers = b.gitMembers;
  out_.nodes_[self].place |= b.place;
  for (const auto& g : b.guarded) guarded(dir, g.name, &b, self, g.gitDirectory, g.otherMount);
  for (int32_t c : b.children) {
    const DirNode& n = before_->nodes_[c];
    child(dir, n.name, &b, c, self, depth, n.gitDir);
  }
}

// A new or changed directory: read it. False when it turns out to be a git directory.
bool SnapshotWalk::scan(DirRef& dir, const DirNode* b, int32_t self, int depth, uint8_t* members) {
  std::vector<ListedEntry> entries;
  // A directory its owner cannot read that the run made so (a tool, root in its namespace, can
  // still fill it) is opened up after the run; one that was like that before is the user's.
  bool madeUnreadable = after() && (!b || b->stamp.mode != dir.stamp.mode);
  uint8_t bits = 0;
  bool holdsGit = false, holdsGuardedName = false;
  // Files that are neither guarded nor git directory members are not needed (and most are
  // that), except in the root and in git directories, where other names count too.
  bool keepAll = self == 0 || out_.nodes_[self].gitDir || !rules_.extraPaths.empty();
  // After the run: what now holds the name of a place from before and is no directory (a
  // symlink to where the tool moved it, a file, a fifo) is a finding.
  bool placesHere = after() && placeParents_.count(dir.rel) != 0;
  auto keep = [&](std::string_view name, bool isDir) {
    bits |= memberBit(name);
    if (!isGuardedName(name)) return keepAll || isDir || wasPlace(placesHere, dir.rel, name);
    (isRepositoryName(name) ? holdsGit : holdsGuardedName) = true;
    return true;
  };
  int fd = fdOf(dir);
  if (fd < 0 || !listDir(fd, entries, madeUnreadable, keep)) {
    int err = errno;
    out_.nodes_[self].settled = false;
    // Made unreadable by the run and not to be opened up: removed whole (or reported as not).
    // Any other failure (no descriptor left, EIO) says nothing about the directory: a gap.
    if (madeUnreadable && !dir.rel.empty() && (err == EACCES || err == EPERM))
      finding(dir.rel, b != nullptr);
    else
      unreadable(dir.rel, err);
    return true;
  }
  if (members) *members = bits;
  bool isRoot = self == 0;
  if (isGitDirectoryBits(bits) && !isRoot && !out_.nodes_[self].gitDir) return false;
  DirNode& node = out_.nodes_[self];
  node.gitMembers = bits;
  // The walk before the run decides whether the root is a git directory; one that becomes
  // one during the run loses the members it gained.
  if (isRoot) node.gitDir = after() ? b && b->gitDir : isGitDirectoryBits(bits);
  if (isRoot && after() && isGitDirectoryBits(bits) && !node.gitDir)
    gitMembersAppeared(dir.rel, b ? b->gitMembers : 0, bits);
  // Before the run, a repository's root and a directory already holding guarded names (outside
  // dependency trees) become places; after it, only what was a place before counts.
  if (!after()) node.place |= holdsGit || (holdsGuardedName && !inDependencyTree(dir.rel));
  if (after() && b) node.place |= b->place;
  bool gitDir = node.gitDir;
  bool place = node.place;
  // The sub-directories from before, by name (a directory can hold thousands).
  std::unordered_map<std::string_view, int32_t> beforeChildren;
  if (b)
    for (int32_t c : b->children) beforeChildren.emplace(before_->nodes_[c].name, c);
  for (const auto& e : entries) {
    if (gitDir) {
      // What git writes below objects/, refs/ and logs/ is data, unless git's configuration
      // points there (`core.hooksPath = .git/refs/hooks`): then all of it stays read-only.
      if (!gitWritable(e.name) || rules_.isExtra(join(dir.rel, e.name)) ||
          rules_.isGitInner(join(dir.rel, e.name)))
        guarded(dir, e.name, b, self, false);
      continue;
    }
    bool writableGit = isRoot && e.name == ".git" && e.isDir && rules_.gitWrite;
    bool isGuarded =
        !writableGit && (isRepositoryName(e.name) || (place && isGuardedName(e.name)) ||
                         (!rules_.extraPaths.empty() && rules_.isGuarded(join(dir.rel, e.name), e.name, e.isDir, place)));
    if (isGuarded) {
      guarded(dir, e.name, b, self, false);
    } else if (e.isDir) {
      auto it = beforeChildren.find(e.name);
      child(dir, e.name, b, it == beforeChildren.end() ? -1 : it->second, self, depth, writableGit);
    } else if (wasPlace(placesHere, dir.rel, e.name)) {
      finding(join(dir.rel, e.name), false);
    }
  }
  return true;
}

// A sub-directory (`before`: the node of that name in the walk before, or -1): visited, or
// recorded as a guarded entry when it is a git directory.
void SnapshotWalk::child(DirRef& dir, const std::string& name, const DirNode* b, int32_t before, int32_t self,
                         int depth, bool gitDir) {
  struct stat st;
  bool mountRoot = false;
  std::string childRel = join(dir.rel, name);
  if (!statIn(dir, name, st, &mountRoot)) return unreadable(childRel, errno);
  if (!S_ISDIR(st.st_mode)) {  // no longer a directory
    if (after() && placeWays_.count(childRel)) finding(childRel, false);
    return;
  }
  if (mountRoot) {
    // Another file system (or a bind mount) inside the mount: not walked (its size and what it
    // holds are not the workspace's), so it is pinned read-only like a guarded entry.
    log::debug("workspace guard: {} is another mount: read-only in the sandbox, not walked", childRel);
    guarded(dir, name, b, self, false, true);
    return;
  }
  DirRef sub{childRel, name, stampOf(st), dir.fd.get(), UniqueFd()};
  const DirNode* cb = beforeNode(before);
  if (cb && !cb->stamp.sameInode(sub.stamp)) {  // another directory under the same name now
    cb = nullptr;
    before = -1;
  }
  if (depth + 1 >= kMaxDepth) {
    // Deeper than any real tree: recorded but not read. After the run, a new or changed one
    // is removed unread (a tool can make a chain this deep to hide a .git at its end).
    log::debug("workspace guard: {} is too deep to walk", childRel);
    if (after() && !(cb && cb->stamp == sub.stamp)) finding(childRel, cb != nullptr);
    DirNode leaf;
    leaf.name = name;
    leaf.parent = self;
    leaf.stamp = sub.stamp;
    out_.nodes_.push_back(std::move(leaf));
    out_.nodes_[self].children.push_back(static_cast<int32_t>(out_.nodes_.size() - 1));
    return;
  }
  // Unchanged and holding nothing to look at again: taken as it was.
  if (cb && cb->stamp == sub.stamp && cb->children.empty() && cb->guarded.empty() && reusable(*cb, childRel)) {
    out_.nodes_.push_back(*cb);
    out_.nodes_.back().parent = self;
    out_.nodes_.back().place |= knownPlace(childRel);
    out_.nodes_.back().settled = settled(sub.stamp);
    out_.nodes_[self].children.push_back(static_cast<int32_t>(out_.nodes_.size() - 1));
    return;
  }
  uint8_t members = 0;
  int32_t index = visit(sub, self, before, depth + 1, gitDir, &members);
  if (index >= 0) {
    out_.nodes_[self].children.push_back(index);
  } else if (after() && cb) {
    gitMembersAppeared(childRel, cb->gitMembers, members);  // an ordinary directory before the run
  } else {
    guarded(dir, name, b, self, true);
  }
}

void SnapshotWalk::gitMembersAppeared(const std::string& rel, uint8_t was, uint8_t now) {
  for (uint8_t bit : {kHead, kObjects, kRefs, kCommondir})
    if ((now & bit) && !(was & bit)) finding(join(rel, memberName(bit)), false);
}

// A guarded entry: before the run, pinned or fingerprinted; after it, compared with before.
void SnapshotWalk::guarded(DirRef& dir, const std::string& name, const DirNode* b, int32_t self,
                           bool gitDirectory, bool otherMount) {
  struct stat st;
  if (!statIn(dir, name, st)) return unreadable(join(dir.rel, name), errno);
  GuardedEntry now;
  now.name = name;
  now.stamp = stampOf(st);
  now.gitDirectory = gitDirectory;
  now.otherMount = otherMount;
  std::string entryRel = join(dir.rel, name);
  if (!after()) {
    // Pinned: whatever is at the root or in a git directory, every .git and git directory,
    // hooks paths, and what changed too recently (or holds too much) to be compared later.
    auto fingerprinted = [&] {
      int fd = fdOf(dir);
      return fd >= 0 && fingerprint(fd, name, now.stamp, false, now.contents) &&
             std::none_of(now.contents.begin(), now.contents.end(),
                          [&](const auto& c) { return !settled(c.second); });
    };
    now.pinned = gitDirectory || otherMount || self == 0 || out_.nodes_[self].gitDir ||
                 isRepositoryName(name) || rules_.isExtra(entryRel) || !settled(now.stamp) ||
                 !fingerprinted();
    if (now.pinned) now.contents.clear();
    if (now.pinned && !otherMount) noteLinkedIn(dir, now, st, entryRel, out_.nodes_[self].gitDir);
    out_.nodes_[self].guarded.push_back(std::move(now));
    return;
  }
  const GuardedEntry* was = nullptr;
  if (b)
    for (const auto& g : b->guarded)
      if (g.name == name && g.stamp.sameInode(now.stamp)) was = &g;
  if (!was) {
    // Moved here along with a directory the run renamed: the same entry, compared as such.
    auto it = identities_.find({now.stamp.dev, now.stamp.ino});
    if (it != identities_.end()) was = it->second;
  }
  if (!was) {
    finding(entryRel, false);
  } else {
    now.pinned = was->pinned;
    if (!was->pinned)
      compareGuarded(*was, now, dir, entryRel);
    else
      compareLinked(*was, now, st, dir, entryRel);
  }
  out_.nodes_[self].guarded.push_back(std::move(now));
}

// Before the run, a pinned entry (`st`: its lstat): GuardedEntry::linked. In a git directory its
// config, the hooks of its hooks/ and what git's configuration points at in it (noteLinkedInGit); in
// a hooks directory inside a git directory its hooks; in another pinned directory (.vscode, .claude,
// .husky, .hg, a hooks path such as .husky/_ whose hooks source husky.sh) its files, the first
// kMaxLinkedLooked entries. The rest of a git directory (objects, refs, info...) is not looked at:
// git runs nothing from there that its configuration does not name.
void SnapshotWalk::noteLinkedIn(DirRef& dir, GuardedEntry& entry, const struct stat& st,
                                const std::string& entryRel, bool inGitDir) {
  linkedNoted_.clear();
  linkedLooked_ = 0;
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) return noteLinked(fdOf(dir), entry.name, "", st, entry);
  int fd = S_ISDIR(st.st_mode) ? fdOf(dir) : -1;
  UniqueFd self = fd >= 0 ? openDirPath(fd, entry.name) : UniqueFd();
  if (!self) return;
  if (isGitName(entry.name) || entry.gitDirectory || isGitDirectory(self.get())) {
    // A separate git directory (`.git` the file "gitdir: .gitdata") is one too. What git's
    // configuration names first: the git directories inside have a budget of their own.
    noteLinkedInGit(self.get(), entryRel, entry);
    noteLinkedGitDir(self.get(), "", entry);
  } else if (inGitDir) {
    if (entry.name == "hooks" || rules_.isExtra(entryRel)) noteLinkedHooks(self.get(), "", entry);
    noteLinkedInGit(self.get(), entryRel, entry);
    if (entry.name == "worktrees" || entry.name == "modules") {  // of a writable .git
      size_t budget = kMaxLinkedLooked;
      forEachGitDirIn(self.get(), "", 0, budget,
                      [&](int fd, const std::string& rel) { noteLinkedGitFiles(fd, rel, entry); });
    }
  } else {  // a hooks path outside .git too: its hooks source its other files
    noteLinkedBelow(self.get(), "", entry);
  }
}

// The files below a directory of a pinned entry, within the entry's first kMaxLinkedLooked entries.
void SnapshotWalk::noteLinkedBelow(int dirfd, const std::string& prefix, GuardedEntry& entry) {
  if (linkedLooked_ >= kMaxLinkedLooked) return;
  forEachBelow(dirfd, prefix, 0, false,
               [&](int fd, const std::string& name, const std::string& rel, const struct stat& st) {
                 noteLinked(fd, name, rel, st, entry);
                 return ++linkedLooked_ < kMaxLinkedLooked;
               });
}

// A git directory (`gitfd`, at `prefix` in its pinned entry): what git reads or runs from it, its
// config, config.worktree and hooks, and the same of the git directories in its worktrees/ and
// modules/ (a worktree outside the mount, a submodule no checkout names any more: the host's git
// still reads them), the first kMaxLinkedLooked directories there. Not its objects: they may be
// links of another repository's (`git clone` of a local path), which a host `git gc` there
// changes, and git runs nothing from them.
void SnapshotWalk::noteLinkedGitDir(int gitfd, const std::string& prefix, GuardedEntry& entry) {
  noteLinkedGitFiles(gitfd, prefix, entry);
  size_t budget = kMaxLinkedLooked;
  forEachInnerGitDir(gitfd, prefix, budget,
                     [&](int fd, const std::string& rel) { noteLinkedGitFiles(fd, rel, entry); });
  if (budget == 0)
    log::debug(
        "workspace guard: {}: more than {} directories in its worktrees and modules; the rest is not "
        "compared",
        entry.name, kMaxLinkedLooked);
}

// What git reads or runs from one git directory: its config, config.worktree and hooks.
void SnapshotWalk::noteLinkedGitFiles(int gitfd, const std::string& prefix, GuardedEntry& entry) {
  noteLinkedAt(gitfd, "config", prefix + "config", entry);
  noteLinkedAt(gitfd, "config.worktree", prefix + "config.worktree", entry);
  if (UniqueFd hooksDir = openDirPath(gitfd, "hooks"))
    noteLinkedHooks(hooksDir.get(), prefix + "hooks/", entry);
}

// In a pinned entry at `entryRel` that is or lies in a git directory (`selffd`: the entry), what
// git's configuration points at below it (GuardRules::gitInnerPaths: `core.hooksPath =
// .git/githooks`, a `core.fsmonitor` program; extraPaths in a git directory named otherwise): a
// file, or a directory's files (hooks source their other files). A path that is the entry itself
// means its hooks. A git directory among them (a submodule's, .git/modules/sub) is looked at as
// noteLinkedGitFiles says.
void SnapshotWalk::noteLinkedInGit(int selffd, const std::string& entryRel, GuardedEntry& entry) {
  for (const auto* paths : {&rules_.gitInnerPaths, &rules_.extraPaths})
    for (const auto& p : *paths) noteLinkedNamed(selffd, entryRel, p, entry);
}

void SnapshotWalk::noteLinkedNamed(int selffd, const std::string& entryRel, const std::string& p,
                                   GuardedEntry& entry) {
  if (p.size() < entryRel.size() || ::strncasecmp(p.c_str(), entryRel.c_str(), entryRel.size()) != 0) return;
  if (p.size() == entryRel.size()) return noteLinkedHooks(selffd, "", entry);
  if (p[entryRel.size()] != '/') return;
  std::string sub = p.substr(entryRel.size() + 1);
  size_t slash = sub.rfind('/');
  UniqueFd parent = openDirBeneath(
      selffd, slash == std::string::npos ? std::string_view() : std::string_view(sub).substr(0, slash));
  std::string name = slash == std::string::npos ? sub : sub.substr(slash + 1);
  struct stat st;
  if (!parent || ::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  UniqueFd dir = S_ISDIR(st.st_mode) ? openDirPath(parent.get(), name) : UniqueFd();
  if (!S_ISDIR(st.st_mode)) {
    noteLinked(parent.get(), name, sub, st, entry);
  } else if (dir && isGitDirectory(dir.get())) {
    noteLinkedGitFiles(dir.get(), sub + "/", entry);  // what is inside: the .git's own walk
  } else if (dir) {
    noteLinkedBelow(dir.get(), sub, entry);
  }
}

// `name` in `dirfd` (`st`: its lstat), known as `path` in its pinned entry, when it is a regular
// file with other links: its stamp, owner and (within kMaxLinkedRead and kMaxLinkedReadTotal) its
// content. Kept rather than hashed: comparing costs less than a digest of every such file before
// every run.
void SnapshotWalk::noteLinked(int dirfd, const std::string& name, const std::string& path,
                              const struct stat& st, GuardedEntry& entry) {
  if (!S_ISREG(st.st_mode) || st.st_nlink < 2) return;
  // Found twice (`core.hooksPath = .git/hooks`): compared once.
  if (!linkedNoted_.insert(path).second) return;
  LinkedFile f{path, stampOf(st), st.st_uid, st.st_gid, std::nullopt, {}};
  auto size = static_cast<size_t>(st.st_size);
  if (size <= kMaxLinkedRead && linkedRead_ + size <= kMaxLinkedReadTotal) {
    f.content = readPinnedFile(dirfd, name, f.stamp, size, &f.xattrs);
    if (f.content) linkedRead_ += size + f.xattrs.size();
  }
  entry.linked.push_back(std::move(f));
}

void SnapshotWalk::noteLinkedAt(int dirfd, const std::string& name, const std::string& path,
                                GuardedEntry& entry) {
  struct stat st;
  if (fs::statAt(dirfd, name, st)) noteLinked(dirfd, name, path, st, entry);
}

// The hooks of a hooks directory with other links. Only the names git runs are stat'ed: most hooks
// directories hold nothing but the *.sample files.
void SnapshotWalk::noteLinkedHooks(int hooksfd, const std::string& prefix, GuardedEntry& entry) {
  std::vector<ListedEntry> hooks;
  if (!listDir(hooksfd, hooks, false,
               [](std::string_view name, bool isDir) { return !isDir && isGitHookName(name); }))
    return;
  for (const auto& h : hooks) noteLinkedAt(hooksfd, h.name, prefix + h.name, entry);
}

// A pinned entry (`nowSt`: its lstat now): a file of GuardedEntry::linked whose stamp moved and
// that is no longer what it was was changed through another link. One with another inode now was
// replaced from outside the sandbox (the tool cannot), not written.
void SnapshotWalk::compareLinked(const GuardedEntry& was, const GuardedEntry& now, const struct stat& nowSt,
                                 DirRef& dir, const std::string& entryRel) {
  for (const auto& f : was.linked) {
    struct stat st = nowSt;
    if (!f.path.empty() && !statIn(dir, join(now.name, f.path), st)) continue;
    Stamp seen = stampOf(st);
    if (!seen.sameInode(f.stamp) || seen == f.stamp || unchangedLinked(dir, now.name, f, st)) continue;
    if (findings_) findings_->push_back({inEntry(entryRel, f.path), true, true});
  }
}

// Whether a linked file whose change time moved still is what it was: a link to it added or
// removed (`sed -i` renaming a new file over the other link), a chmod to the mode it has. Same
// mode, owner, content and extended attributes (an ACL granting a mapped id write leaves the mode
// as it was); one whose content was not read before the run is taken as changed.
bool SnapshotWalk::unchangedLinked(DirRef& dir, const std::string& entryName, const LinkedFile& was,
                                   const struct stat& st) {
  if (!was.content || st.st_mode != was.stamp.mode || st.st_uid != was.uid || st.st_gid != was.gid ||
      static_cast<size_t>(st.st_size) != was.content->size())
    return false;
  int fd = fdOf(dir);
  std::string rel = inEntry(entryName, was.path);
  std::string xattrs;
  auto content = fd >= 0 ? readPinnedFile(fd, rel, was.stamp, was.content->size(), &xattrs) : std::nullopt;
  if (content != was.content || xattrs != was.xattrs) return false;
  log::debug("workspace guard: {} has other links than before the run, and its content: unchanged",
             join(dir.rel, rel));
  return true;
}

// An entry that was not pinned: a changed file, or what is new or changed inside a directory,
// is a finding; what did not change stays.
void SnapshotWalk::compareGuarded(const GuardedEntry& was, GuardedEntry& now, DirRef& dir,
                                  const std::string& entryRel) {
  if (!now.stamp.isDir() || !was.stamp.isDir()) {
    if (!(now.stamp == was.stamp)) finding(entryRel, true);
    return;
  }
  int fd = fdOf(dir);
  if (fd < 0 || !fingerprint(fd, now.name, now.stamp, true, now.contents)) {
    finding(entryRel, true);
    return;
  }
  auto it = was.contents.begin();
  for (const auto& [path, stamp] : now.contents) {
    while (it != was.contents.end() && it->first < path) ++it;
    bool same = it != was.contents.end() && it->first == path && it->second.sameInode(stamp);
    // A directory that only gained or lost entries is not itself a finding; its new entries are.
    if (same && (stamp.isDir() || it->second == stamp)) continue;
    finding(entryRel + "/" + path, same);
  }
}

namespace {

// What git reads and writes by name in a git directory the tool could write (the root's .git with
// `git: write`, or a mount root that is itself a git directory): git appends to reflogs and
// rewrites COMMIT_EDITMSG, FETCH_HEAD and the *_MSG files with open(2), which follows a symlink,
// so a symlink planted there (logs/HEAD -> ~/.bashrc) makes the host's next `git checkout` write
// outside the workspace, text the tool chose included (a branch name); a fifo there hangs git.
// Git itself makes none of these: objects, refs and logs must be directories, the rest regular
// files, and everything below objects, refs and logs a directory or a regular file. What is not,
// new or old, is a finding (`changed`, since the entry is git's). Directories there are read with
// the owner's permissions given back (`chmod 300` hides a symlink from a listing, not from git's
// open); one that still cannot be read is a gap (reported, the cache dropped), not a finding: an
// I/O error must not remove a repository's objects.
void checkGitData(int dirfd, const std::string& rel, int depth, std::vector<GuardFinding>& out,
                  std::vector<WalkGap>& gaps) {
  std::vector<ListedEntry> entries;
  if (depth > kMaxDepth) {  // deeper than git makes
    out.push_back({rel, true});
    return;
  }
  if (!listDir(dirfd, entries, true)) {
    if (errno != ENOENT) gaps.push_back({rel, errno});
    return;
  }
  for (const auto& e : entries) {
    struct stat st;
    std::string entryRel = join(rel, e.name);
    if (::fstatat(dirfd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) gaps.push_back({entryRel, errno});
      continue;
    }
    if (S_ISREG(st.st_mode)) continue;
    if (!S_ISDIR(st.st_mode)) {
      out.push_back({entryRel, true});
      continue;
    }
    UniqueFd sub = openDirPath(dirfd, e.name);
    if (sub)
      checkGitData(sub.get(), entryRel, depth + 1, out, gaps);
    else if (errno != ENOENT)
      gaps.push_back({entryRel, errno});
  }
}

void checkWritableGitDirectory(int rootfd, const std::string& gitRel, std::vector<GuardFinding>& out,
                               std::vector<WalkGap>& gaps) {
  UniqueFd git = gitRel.empty() ? UniqueFd(::fcntl(rootfd, F_DUPFD_CLOEXEC, 3)) : openDirPath(rootfd, gitRel);
  std::vector<ListedEntry> entries;
  if (!git || !listEntries(git.get(), entries)) return;  // the walk says what it could not read
  for (const auto& e : entries) {
    if (!gitWritable(e.name)) continue;  // the walk compares the rest with before the run
    struct stat st;
    if (::fstatat(git.get(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    std::string rel = join(gitRel, e.name);
    if (!gitWritableKindOk(git.get(), e.name, st)) {
      out.push_back({rel, true});
      continue;
    }
    if (!S_ISDIR(st.st_mode)) continue;  // objects, refs, logs
    UniqueFd dir = openDirPath(git.get(), e.name);
    if (dir)
      checkGitData(dir.get(), rel, 0, out, gaps);
    else if (errno != ENOENT)
      gaps.push_back({rel, errno});
  }
}

}  // namespace

GuardSnapshot GuardSnapshot::take(int rootfd, const GuardRules& rules, const GuardSnapshot* before,
                                  std::vector<GuardFinding>* findings) {
  SnapshotWalk walk(rootfd, rules, before, findings);
  GuardSnapshot snap = walk.run();
  if (findings && before) {
    // The git directories the tool could write in, by the walk before the run.
    if (!before->nodes_.empty() && before->nodes_[0].gitDir)
      checkWritableGitDirectory(rootfd, "", *findings, snap.gaps_);
    struct stat st;
    if (rules.gitWrite && ::fstatat(rootfd, ".git", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
      checkWritableGitDirectory(rootfd, ".git", *findings, snap.gaps_);
  }
  if (findings) {
    // A finding below another one goes with it.
    std::sort(findings->begin(), findings->end(), [](const auto& a, const auto& b) { return a.rel < b.rel; });
    std::vector<GuardFinding> kept;
    for (auto& f : *findings) {
      if (!kept.empty() && (f.rel == kept.back().rel || f.rel.starts_with(kept.back().rel + "/"))) continue;
      kept.push_back(std::move(f));
    }
    *findings = std::move(kept);
  }
  return snap;
}

std::string GuardSnapshot::relPath(int32_t node) const {
  std::string rel;
  for (int32_t n = node; n > 0; n = nodes_[n].parent)
    rel = rel.empty() ? nodes_[n].name : nodes_[n].name + "/" + rel;
  return rel;
}

// --- the cache file ---------------------------------------------------------------------------

namespace {

constexpr std::string_view kMagic = "coco-guard-snapshot 3\n";  // 2: places; 3: commondir member

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u64(uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  void stamp(const Stamp& s) {
    u64(s.dev);
    u64(s.ino);
    u64(static_cast<uint64_t>(s.ctimeSec));
    u64(static_cast<uint64_t>(s.ctimeNsec));
    u64(s.mode);
  }

 private:
  std::string& out_;
};

// Bounds-checked reads; `ok` turns false at the first short or absurd field.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok = true;
  uint64_t u64() {
    uint64_t v = 0;
    if (in_.size() - pos_ < sizeof v) return fail();
    std::memcpy(&v, in_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string str() {
    uint64_t n = u64();
    if (!ok || n > in_.size() - pos_) {
      fail();
      return {};
    }
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  Stamp stamp() {
    Stamp s;
    s.dev = u64();
    s.ino = u64();
    s.ctimeSec = static_cast<int64_t>(u64());
    s.ctimeNsec = static_cast<int64_t>(u64());
    s.mode = static_cast<uint32_t>(u64());
    return s;
  }
  // A count of items each at least `minBytes` long: no more than what is left can hold.
  uint64_t count(size_t minBytes) {
    uint64_t n = u64();
    if (ok && n > (in_.size() - pos_) / minBytes) fail();
    return ok ? n : 0;
  }
  bool atEnd() const { return pos_ == in_.size(); }

 private:
  uint64_t fail() {
    ok = false;
    pos_ = in_.size();
    return 0;
  }
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

std::string GuardSnapshot::serialize(std::string_view key) const {
  std::string out(kMagic);
  Writer w(out);
  w.str(key);
  w.u64(nodes_.size());
  for (const auto& n : nodes_) {
    w.str(n.name);
    w.u64(static_cast<uint64_t>(static_cast<int64_t>(n.parent)));
    w.stamp(n.stamp);
    w.u64((n.settled ? 1 : 0) | (n.gitDir ? 2 : 0) | (n.place ? 4 : 0) | (static_cast<uint64_t>(n.gitMembers) << 8));
    w.u64(n.guarded.size());
    for (const auto& g : n.guarded) {
      w.str(g.name);
      w.stamp(g.stamp);
      w.u64((g.pinned ? 1 : 0) | (g.gitDirectory ? 2 : 0) | (g.otherMount ? 4 : 0));
      w.u64(g.contents.size());
      for (const auto& [path, stamp] : g.contents) {
        w.str(path);
        w.stamp(stamp);
      }
    }
  }
  return out;
}

GuardSnapshot GuardSnapshot::parse(std::string_view data, std::string_view key) {
  if (!data.starts_with(kMagic)) return {};
  Reader r(data.substr(kMagic.size()));
  if (r.str() != key || !r.ok) return {};
  GuardSnapshot snap;
  uint64_t count = r.count(64);
  snap.nodes_.resize(count);
  for (uint64_t i = 0; i < count && r.ok; ++i) {
    DirNode& n = snap.nodes_[i];
    n.name = r.str();
    auto parent = static_cast<int64_t>(r.u64());
    // Written parents first: a node's parent comes before it (the root has none).
    if ((i == 0) != (parent == -1) || parent >= static_cast<int64_t>(i)) return {};
    n.parent = static_cast<int32_t>(parent);
    if (parent >= 0) snap.nodes_[parent].children.push_back(static_cast<int32_t>(i));
    n.stamp = r.stamp();
    uint64_t flags = r.u64();
    n.settled = flags & 1;
    n.gitDir = flags & 2;
    n.place = flags & 4;
    n.gitMembers = static_cast<uint8_t>((flags >> 8) & kAllMembers);
    n.guarded.resize(r.count(64));
    for (auto& g : n.guarded) {
      g.name = r.str();
      g.stamp = r.stamp();
      uint64_t gflags = r.u64();
      g.pinned = gflags & 1;
      g.gitDirectory = gflags & 2;
      g.otherMount = gflags & 4;
      g.contents.resize(r.count(48));
      for (auto& [path, stamp] : g.contents) {
        path = r.str();
        stamp = r.stamp();
      }
    }
  }
  if (!r.ok || !r.atEnd()) return {};
  return snap;
}

// --- removal --------------------------------------------------------------------------------

UniqueFd openDirBeneath(int rootfd, std::string_view rel) {
  UniqueFd cur(::fcntl(rootfd, F_DUPFD_CLOEXEC, 3));
  for (size_t start = 0; cur && start < rel.size();) {
    size_t end = std::min(rel.find('/', start), rel.size());
    cur = openDirPath(cur.get(), std::string(rel.substr(start, end - start)));
    start = end + 1;
  }
  return cur;
}

namespace {

// The extended attributes of `fd` as one text: each name (in name order), its value's size and
// the value, at most kMaxXattrText bytes (an ACL or an SELinux label takes tens). None when they
// cannot be read or are larger; "" on a file system without them. A buffer of the cap, not of
// the kernel's 64 KiB maximum: the text is taken before every run.
constexpr size_t kMaxXattrText = 8192;

std::optional<std::string> xattrsOf(int fd) {
  char names[kMaxXattrText], value[kMaxXattrText];
  ssize_t n = ::flistxattr(fd, names, sizeof names);
  if (n < 0) return errno == ENOTSUP ? std::optional<std::string>("") : std::nullopt;
  std::vector<std::string_view> sorted;
  for (size_t at = 0; at < static_cast<size_t>(n);) {
    sorted.emplace_back(names + at, ::strnlen(names + at, static_cast<size_t>(n) - at));
    at += sorted.back().size() + 1;
  }
  std::sort(sorted.begin(), sorted.end());
  std::string text;
  for (auto name : sorted) {
    ssize_t len = ::fgetxattr(fd, std::string(name).c_str(), value, sizeof value);
    if (len < 0) return std::nullopt;
    text.append(name).append(1, '\0').append(std::to_string(len)).append(1, '\0');
    text.append(value, static_cast<size_t>(len));
    if (text.size() > kMaxXattrText) return std::nullopt;
  }
  return text;
}

}  // namespace

std::optional<std::string> readPinnedFile(int dirfd, const std::string& rel, const Stamp& stamp,
                                          size_t maxBytes, std::string* xattrs) {
  size_t slash = rel.rfind('/');
  UniqueFd dir = slash == std::string::npos ? UniqueFd() : openDirBeneath(dirfd, rel.substr(0, slash));
  if (slash != std::string::npos && !dir) return std::nullopt;
  std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  // O_NONBLOCK: a fifo put there must not hang the open.
  UniqueFd fd(::openat(dir ? dir.get() : dirfd, name.c_str(),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !stampOf(st).sameInode(stamp) ||
      static_cast<uint64_t>(st.st_size) > maxBytes)
    return std::nullopt;
  if (xattrs) {
    auto text = xattrsOf(fd.get());
    if (!text) return std::nullopt;
    *xattrs = std::move(*text);
  }
  std::string content(static_cast<size_t>(st.st_size), '\0');
  if (!content.empty() && sys::readExact(fd.get(), content.data(), content.size()) != 0) return std::nullopt;
  return content;
}

int removeBelow(int rootfd, const std::string& rel, const KeptIdentities* kept) {
  size_t slash = rel.rfind('/');
  std::string_view dir = slash == std::string::npos ? std::string_view() : std::string_view(rel).substr(0, slash);
  UniqueFd parent = openDirBeneath(rootfd, dir);
  if (!parent) return errno == ENOENT ? 0 : errno;
  // A file only while it has no other link: a tool can add a link to one it can reach elsewhere
  // and plant that.
  fs::KeepEntry keep;
  if (kept)
    keep = [kept](const struct stat& st) {
      return kept->count({static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)}) &&
             (S_ISDIR(st.st_mode) || st.st_nlink == 1);
    };
  return fs::removeAt(parent.get(), slash == std::string::npos ? rel : rel.substr(slash + 1), keep);
}

std::string removeFailureText(int err) {
  if (err == kRemoveLeftKept)
    return "it holds what was read-only for the run or another mount, which the tool moved there (that was "
           "left in place, the rest removed)";
  return std::strerror(err);
}

}  // namespace coco::engine
