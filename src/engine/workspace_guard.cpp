// The workspace guard of one run: which paths are guarded (names, hooks paths), the binds that
// pin them, the inotify watch during the run and the check after it.
#include "engine/workspace_guard.hpp"

#include <fcntl.h>
#include <limits.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <set>

#include "engine/guard_git.hpp"
#include "engine/guard_snapshot.hpp"
#include "sys/io.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"
#include "util/terminal_text.hpp"
#include "util/unique_fd.hpp"

namespace coco::engine {

namespace {

// Every guarded name starts with one of these (checked below): the walk calls isGuardedName for
// every entry of a tree, and most can be turned away by their first byte.
constexpr bool startsGuarded(char c) {
  return c == '.' || c == 'm' || c == 'l' || c == 'o' || c == 'M' || c == 'L' || c == 'O';
}
static_assert(std::all_of(std::begin(kGuardedNames), std::end(kGuardedNames),
                          [](std::string_view n) { return !n.empty() && startsGuarded(n.front()); }));

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

bool isGuardedName(std::string_view name) {
  if (name.empty() || !startsGuarded(name.front())) return false;
  // In any case: in a case-insensitive directory (ext4 casefold, vfat) ".GIT" is ".git".
  for (std::string_view n : kGuardedNames)
    if (equalsIgnoringCase(n, name)) return true;
  // mise.ENV.toml, .mise.ENV.toml, mise.ENV.local.toml: mise's per-environment configs.
  auto startsWith = [&](std::string_view p) { return equalsIgnoringCase(name.substr(0, p.size()), p); };
  return (startsWith("mise.") || startsWith(".mise.")) && name.size() > 10 &&
         equalsIgnoringCase(name.substr(name.size() - 5), ".toml");
}

bool isGitName(std::string_view name) { return equalsIgnoringCase(name, ".git"); }

bool isGitHookName(std::string_view name) {
  return std::find(std::begin(kGitHookNames), std::end(kGitHookNames), name) != std::end(kGitHookNames);
}

bool isRepositoryName(std::string_view name) {
  return isGitName(name) || equalsIgnoringCase(name, ".hg") || equalsIgnoringCase(name, ".jj") ||
         equalsIgnoringCase(name, ".sl");
}

bool inDependencyTree(std::string_view rel) {
  for (size_t start = 0; start < rel.size();) {
    size_t end = std::min(rel.find('/', start), rel.size());
    std::string_view part = rel.substr(start, end - start);
    if (std::find(std::begin(kDependencyTrees), std::end(kDependencyTrees), part) != std::end(kDependencyTrees))
      return true;
    start = end + 1;
  }
  return false;
}

bool gitWritable(std::string_view name) {
  if (std::find(std::begin(kGitWritable), std::end(kGitWritable), name) != std::end(kGitWritable))
    return true;
  return (name.ends_with(".lock") && name.size() > 5) || name.starts_with("sharedindex.") ||
         name.starts_with("index.stash.");
}

namespace {

// HEAD as git wrote it with core.preferSymlinkRefs (long gone, still read): a relative symlink to
// a ref. Git replaces it by rename, never writing through it.
bool isSymlinkedHead(int gitfd, const std::string& name) {
  if (name != "HEAD") return false;
  char target[256];
  ssize_t n = ::readlinkat(gitfd, name.c_str(), target, sizeof target - 1);
  if (n <= 0) return false;
  std::string_view t(target, static_cast<size_t>(n));
  return t.starts_with("refs/") && t.find("..") == std::string_view::npos;
}

}  // namespace

bool gitWritableKindOk(int gitfd, const std::string& name, const struct stat& st) {
  if (S_ISLNK(st.st_mode) && isSymlinkedHead(gitfd, name)) return true;
  bool dataDir = name == "objects" || name == "refs" || name == "logs";
  return dataDir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

namespace {

int64_t monotonicMs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

bool isPrefixDir(std::string_view prefix, std::string_view path) {
  return path.size() > prefix.size() && path.starts_with(prefix) && path[prefix.size()] == '/';
}

}  // namespace

namespace {

bool atOrAbove(const std::vector<std::string>& paths, std::string_view rel) {
  return std::any_of(paths.begin(), paths.end(),
                     [&](const std::string& p) { return p == rel || isPrefixDir(rel, p); });
}

}  // namespace

bool GuardRules::isExtra(std::string_view rel) const { return atOrAbove(extraPaths, rel); }

bool GuardRules::isGitInner(std::string_view rel) const { return atOrAbove(gitInnerPaths, rel); }

bool GuardRules::hasExtraBelow(std::string_view rel) const {
  if (rel.empty()) return !extraPaths.empty();
  return std::any_of(extraPaths.begin(), extraPaths.end(),
                     [&](const std::string& p) { return isPrefixDir(rel, p); });
}

bool GuardRules::isRulePlace(std::string_view rel) const {
  return rel.empty() || (cwd && (*cwd == rel || isPrefixDir(rel, *cwd)));
}

bool GuardRules::isGuarded(std::string_view rel, std::string_view name, bool isDir, bool place) const {
  if (isRepositoryName(name) || (place && isGuardedName(name))) return true;
  for (const auto& p : extraPaths)
    if (p == rel || (!isDir && isPrefixDir(rel, p))) return true;
  return false;
}

namespace {

bool addSorted(std::vector<std::string>& paths, const std::string& rel) {
  auto it = std::lower_bound(paths.begin(), paths.end(), rel);
  if (it != paths.end() && *it == rel) return false;
  paths.insert(it, rel);
  return true;
}

}  // namespace

bool GuardRules::addExtraPath(const std::string& rel) { return addSorted(extraPaths, rel); }

bool GuardRules::addGitInnerPath(const std::string& rel) { return addSorted(gitInnerPaths, rel); }

namespace {

std::string parentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

}  // namespace

// --- one writable mount -------------------------------------------------------------------------

// Entries the watch removed, or could not remove, during the run that are kept by name; past
// these, counted.
constexpr size_t kMaxListed = 1000;

struct GuardMount {
  std::string src;      // the host directory
  std::string realSrc;  // the same, symlinks resolved
  std::string dst;      // where the sandbox sees it
  UniqueFd root;
  GuardRules rules;
  std::set<std::string> innerGitDirsRead;  // git directories guardInnerGitDirs went through
  GuardSnapshot before;
  std::string cacheFile;
  std::string cachedText;  // that file as read before the run: not written again when the walk after matches it
  // A watched directory (the root, or one at the first level), by its inotify wd. Held open:
  // what its events name is acted on in that directory, even after the tool renamed it and put
  // another directory (a repository of yours) under its name.
  struct Watch {
    std::string rel;     // its name relative to the root as last seen ("" for the root)
    bool stale = false;  // another watched directory has taken that name since: its own is unknown
    UniqueFd dir;
    uint64_t dev = 0, ino = 0;
  };
  std::map<int, Watch> watches;
  // During the run, relative to the root: the first kMaxListed of each, and how many came past
  // them. The tool can make the watch remove entry after entry, each costing it a file that is
  // gone again at once, so an unbounded list grew coco's memory without end.
  std::vector<std::string> removed;
  std::vector<std::string> failed;
  size_t removedUnlisted = 0, failedUnlisted = 0;
  void noteRemoved(std::string rel) {
    if (removed.size() < kMaxListed) removed.push_back(std::move(rel));
    else ++removedUnlisted;
  }
  // `mustList`: where your own entry went ("move it back") and what the check after the run left.
  // Those have kMaxListed more room, so other failures cannot crowd them out (a tool can win the
  // race for one entry again and again, so they too have a bound).
  void noteFailed(std::string text, bool mustList = false) {
    if (failed.size() < (mustList ? 2 * kMaxListed : kMaxListed)) failed.push_back(std::move(text));
    else ++failedUnlisted;
  }
  // The pinned regular files of the root and of a writable .git as they were before the run (at
  // most kMaxOriginalBytes each): what something outside the sandbox replaces during the run (an
  // editor saving .envrc, `git config` or `git push -u` rewriting .git/config) is not pinned, so
  // the tool could write to it, and it is removed; the one from before is put back after the run.
  struct Original {
    std::string content;
    mode_t mode = 0;
  };
  std::map<std::string, Original> originals;  // by path relative to the root
  std::set<std::string> replaced;             // originals removed, to put back after the run
  std::set<std::string> changedThroughLink;   // ... of which these were written through another link
  std::vector<std::string> restored;
  // A removal of `rel`, done: noted, or kept to put back when it was a pinned file (which the
  // tool cannot replace: a mount point).
  void noteGone(std::string rel) {
    if (originals.count(rel)) replaced.insert(std::move(rel));
    else noteRemoved(std::move(rel));
  }
  // The pinned entries, held open (O_PATH) until the check after the run: while one is held its
  // inode number cannot go to something new, which the watch (existed) and the check after the
  // run (an entry is matched to the walk before by name and inode, or by inode alone when moved)
  // would take for yours. The tool cannot remove a pinned entry, but something outside the
  // sandbox can (an editor saving .envrc by rename frees the old one's inode).
  std::vector<UniqueFd> held;
  std::vector<std::pair<UniqueFd, std::string>> aside;  // renamed away during the run (directory, name)
  std::set<std::pair<uint64_t, uint64_t>> existing;     // (dev, ino) of every guarded entry walked before
  // What was read-only for the run (pinned, another mount, a read-only mount's source): a removal
  // leaves it in place wherever the tool moved it (renaming a directory above it to a guarded name).
  KeptIdentities kept;
  std::function<void(const std::string&, const std::vector<std::string>&, size_t)> onRemoved;  // GuardSpec::onRemoved

  // Whether the entry with this stat was a guarded entry before the run (a .git or git directory
  // of yours the tool moved, never one it made): the watch leaves those alone.
  bool existed(const struct stat& st) const {
    return existing.count({static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)}) != 0;
  }

  // A new descriptor of the watched directory `wd`, or invalid.
  UniqueFd watchedDir(int wd) const {
    auto it = watches.find(wd);
    return it == watches.end() ? UniqueFd() : UniqueFd(::fcntl(it->second.dir.get(), F_DUPFD_CLOEXEC, 3));
  }

  // Whether `name` in the watched directory `wd` (known as `dirRel`) is the guarded entry walked
  // there before the run: the same name and the same inode. A name alone is not enough: what
  // replaced a pinned entry from outside the sandbox has no pin (and the tool may make the name
  // again after the watch removed that).
  bool existedBefore(int wd, const std::string& dirRel, const std::string& name) const {
    const DirNode* node = nodeAt(dirRel);
    if (!node) return false;
    auto g = std::find_if(node->guarded.begin(), node->guarded.end(),
                          [&](const GuardedEntry& e) { return e.name == name; });
    if (g == node->guarded.end()) return false;
    UniqueFd dir = watchedDir(wd);
    struct stat st;
    return dir && ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           static_cast<uint64_t>(st.st_dev) == g->stamp.dev && static_cast<uint64_t>(st.st_ino) == g->stamp.ino;
  }
  // Whether `dirRel` is a writable .git (or a root that is a git directory), as walked before.
  bool isGitDir(const std::string& dirRel) const {
    const DirNode* node = nodeAt(dirRel);
    return node && node->gitDir;
  }
  // Where `rel` lies in such a git directory when it is its objects, refs or logs or below them
  // ("objects", "refs/heads"...).
  std::optional<std::string_view> gitDataPath(std::string_view rel) const {
    auto inData = [](std::string_view rest) {
      std::string_view first = rest.substr(0, rest.find('/'));
      return first == "objects" || first == "refs" || first == "logs";
    };
    if (isGitDir("") && inData(rel)) return rel;
    size_t slash = rel.find('/');
    if (slash != std::string_view::npos && isGitDir(std::string(rel.substr(0, slash))) &&
        inData(rel.substr(slash + 1)))
      return rel.substr(slash + 1);
    return std::nullopt;
  }
  // The watch of the directory with this stat, if it is watched.
  const Watch* watchOf(const struct stat& st) const {
    for (const auto& [wd, w] : watches)
      if (w.dev == static_cast<uint64_t>(st.st_dev) && w.ino == static_cast<uint64_t>(st.st_ino)) return &w;
    return nullptr;
  }
  // The walked node of the root ("") or a directory in it.
  const DirNode* nodeAt(const std::string& dirRel) const {
    const auto& nodes = before.nodes();
    if (nodes.empty()) return nullptr;
    if (dirRel.empty()) return &nodes.front();
    for (int32_t c : nodes.front().children)
      if (nodes[c].name == dirRel) return &nodes[c];
    return nullptr;
  }

  // `path` (absolute, on the host) relative to the mount root, when it lies inside it.
  std::optional<std::string> relative(const std::string& path) const {
    for (const std::string* base : {&src, &realSrc}) {
      if (path == *base) return std::string();
      if (isPrefixDir(*base, path)) return path.substr(base->size() + 1);
    }
    return std::nullopt;
  }

  // Guards an absolute path when it (or where it really leads) is inside the mount.
  bool guardHostPath(const std::string& path) {
    bool added = false;
    if (auto rel = relative(fs::normalize(path))) added |= guardRelative(*rel);
    char real[PATH_MAX];
    if (::realpath(path.c_str(), real))
      if (auto rel = relative(real)) added |= guardRelative(*rel);
    return added;
  }

  // Guards what git takes from a repository or the user's config (guard_git.hpp). A program or
  // config file that would be the mount root itself guards nothing: only a hooks directory
  // there means its hook names.
  bool guardGitPaths(const GitPaths& git) {
    bool added = false;
    for (const auto& dir : git.dirs) added |= guardHostPath(dir);
    for (const auto& path : git.paths) {
      std::optional<std::string> rel = relative(fs::normalize(path));
      if (!rel || !rel->empty()) added |= guardHostPath(path);
    }
    return added;
  }

  bool guardRelative(const std::string& rel) {
    // What lies in a .git is pinned with it (or, in a writable root .git, by its own rule); what
    // in it has other links is compared after the run.
    for (size_t start = 0; start < rel.size();) {
      size_t end = std::min(rel.find('/', start), rel.size());
      if (equalsIgnoringCase(std::string_view(rel).substr(start, end - start), ".git"))
        return rules.addGitInnerPath(rel);
      start = end + 1;
    }
    if (!rel.empty()) return rules.addExtraPath(rel);
    // The mount root is itself a hooks directory: its hook names are guarded.
    bool added = false;
    for (std::string_view hook : kGitHookNames) added |= rules.addExtraPath(std::string(hook));
    return added;
  }
};

namespace {

std::string cacheKey(const GuardRules& rules) {
  std::string names;
  for (auto n : kGuardedNames) names.append(n).push_back('\n');
  for (auto n : kGitWritable) names.append(n).push_back('\n');
  names.append("index.stash.*\n");  // gitWritable's prefix
  return "rules " + sha256Hex(names) + (rules.gitWrite ? " git-write" : " git-read");
}

// Where a symlink guarded at `rel` leads, relative to the mount root ("" for the root), if
// inside it: the host follows it there, so that is guarded too.
std::optional<std::string> symlinkTarget(const GuardMount& m, const std::string& rel) {
  char buf[PATH_MAX];
  size_t slash = rel.rfind('/');
  std::string_view parent = slash == std::string::npos ? std::string_view() : std::string_view(rel).substr(0, slash);
  UniqueFd dir = openDirBeneath(m.root.get(), parent);  // never through a symlink on the way
  std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  ssize_t n = dir ? ::readlinkat(dir.get(), name.c_str(), buf, sizeof buf - 1) : -1;
  if (n <= 0) return std::nullopt;
  std::string target(buf, static_cast<size_t>(n));
  if (target.front() == '/') return m.relative(fs::normalize(target));
  std::string joined =
      fs::normalize(slash == std::string::npos ? target : rel.substr(0, slash) + "/" + target);
  if (joined == ".." || joined.starts_with("../")) return std::nullopt;  // leaves the mount
  return joined == "." ? std::string() : joined;
}

constexpr size_t kMaxInnerGitDirs = 256;

// What git run in the git directories inside `gitdir` takes from their configs: its worktrees'
// (config.worktree) and submodules', also those no checkout in the mount names (a worktree
// outside it, a submodule deinit'ed), up to kMaxInnerGitDirs directories looked at.
bool guardInnerGitDirs(GuardMount& m, const std::string& gitdir, const gitconfig::Loaded& user,
                       const GuardSpec& spec) {
  char real[PATH_MAX];
  // Once per mount: worktrees share their commondir, and addFoundPaths goes round again.
  if (!::realpath(gitdir.c_str(), real) || !m.innerGitDirsRead.insert(real).second) return false;
  UniqueFd fd(::open(real, O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return false;
  bool added = false;
  size_t budget = kMaxInnerGitDirs;
  forEachInnerGitDir(fd.get(), "", budget, [&](int, const std::string& rel) {
    std::string inner = fs::joinPath(gitdir, rel.substr(0, rel.size() - 1));
    added |= m.guardGitPaths(repoGitPaths(gitDirRepo(inner), user, spec));
  });
  if (budget == 0)
    log::debug(
        "workspace guard: {}: more than {} directories in its worktrees and modules; the configs of "
        "the rest are not read",
        gitdir, kMaxInnerGitDirs);
  return added;
}

// What the first walk found that adds paths: what nested repositories' git takes from them (hooks,
// configs, programs), symlink targets.
bool addFoundPaths(GuardMount& m, const GuardSpec& spec, const gitconfig::Loaded& user) {
  bool added = false;
  const auto& nodes = m.before.nodes();
  for (int32_t i = 0; i < static_cast<int32_t>(nodes.size()); ++i) {
    if (nodes[i].guarded.empty()) continue;
    std::string dirRel = m.before.relPath(i);
    for (const auto& g : nodes[i].guarded) {
      std::string rel = dirRel.empty() ? g.name : dirRel + "/" + g.name;
      if (g.stamp.isSymlink())
        if (auto target = symlinkTarget(m, rel)) added |= m.guardRelative(*target);
      if (::strcasecmp(g.name.c_str(), ".git") == 0 && i != 0) {
        if (auto repo = findRepo(fs::joinPath(m.src, dirRel), false)) {
          added |= m.guardGitPaths(repoGitPaths(*repo, user, spec));
          added |= guardInnerGitDirs(m, repo->commondir, user, spec);
        }
      } else if (g.gitDirectory) {
        added |= m.guardGitPaths(repoGitPaths(gitDirRepo(fs::joinPath(m.src, rel)), user, spec));
        added |= guardInnerGitDirs(m, fs::joinPath(m.src, rel), user, spec);
      }
    }
  }
  // A mount that is itself a git directory (a bare repository).
  if (!nodes.empty() && nodes.front().gitDir) {
    added |= m.guardGitPaths(repoGitPaths(gitDirRepo(m.src), user, spec));
    added |= guardInnerGitDirs(m, m.src, user, spec);
  }
  return added;
}

// A hooks path or program in what git writes of a git directory the tool may write (the mount
// root, or its .git with `git: write`): that part stays read-only (the walk pins it), and git
// in the sandbox may fail to write there. Said once per part.
void warnAboutReadOnlyGitData(const GuardMount& m) {
  std::set<std::string> parts;
  auto check = [&](const std::string& p, std::string_view gitRel) {
    if (!gitRel.empty() && !p.starts_with(std::string(gitRel) + "/")) return;
    std::string_view rest = std::string_view(p).substr(gitRel.empty() ? 0 : gitRel.size() + 1);
    std::string_view part = rest.substr(0, rest.find('/'));
    if (gitWritable(part))
      parts.insert(gitRel.empty() ? std::string(part) : std::string(gitRel) + "/" + std::string(part));
  };
  const auto& nodes = m.before.nodes();
  if (!nodes.empty() && nodes.front().gitDir)
    for (const auto& p : m.rules.extraPaths) check(p, "");
  if (m.rules.gitWrite)
    for (const auto& p : m.rules.gitInnerPaths) check(p, ".git");
  for (const auto& part : parts)
    log::warn(
        "workspace guard: git's configuration names a hooks path or program in {}/{}, which git writes; it "
        "stays read-only in the sandbox",
        m.src, part);
}

void addBinds(const GuardMount& m, std::vector<PlannedBind>& out) {
  std::vector<PlannedBind> binds;
  const auto& nodes = m.before.nodes();
  for (int32_t i = 0; i < static_cast<int32_t>(nodes.size()); ++i) {
    if (nodes[i].guarded.empty() && !nodes[i].gitDir) continue;
    std::string dirRel = m.before.relPath(i);
    // A writable root .git stays a mount point, so it cannot be renamed away and replaced.
    if (i != 0 && nodes[i].gitDir)
      binds.push_back({"", fs::joinPath(m.dst, dirRel), false, true, GuardBind::Self});
    for (const auto& g : nodes[i].guarded) {
      if (!g.pinned) continue;
      std::string dst = fs::joinPath(m.dst, dirRel.empty() ? g.name : dirRel + "/" + g.name);
      binds.push_back(
          {"", dst, true, g.stamp.isDir(), g.stamp.isSymlink() ? GuardBind::Pin : GuardBind::Self});
    }
  }
  // Parents first, so a pin inside a writable .git lands on that mount.
  std::stable_sort(binds.begin(), binds.end(), [](const PlannedBind& a, const PlannedBind& b) {
    return std::count(a.dst.begin(), a.dst.end(), '/') < std::count(b.dst.begin(), b.dst.end(), '/');
  });
  out.insert(out.end(), binds.begin(), binds.end());
}

std::string pathIn(const GuardMount& m, const std::string& rel) {
  return rel.empty() ? m.src : m.src + "/" + printable(rel);
}

// The walk before the run could not read what the tool could write: what is there cannot be
// pinned, nor a change to it seen after the run, so the run does not start.
Error gapsBeforeTheRun(const GuardMount& m) {
  const auto& gaps = m.before.gaps();
  std::string more = gaps.size() > 1 ? fmt::format(" (and {} more)", gaps.size() - 1) : "";
  return Error::make(
      "workspace guard: cannot read {} ({}){}, so it cannot keep the tool from planting files there; make it "
      "readable to you, or mount it read-only",
      pathIn(m, gaps.front().rel), std::strerror(gaps.front().err), more);
}

}  // namespace

namespace {

// GuardMount::held, at most this many across the mounts (the hard descriptor limit may be as low
// as 4096, and the walk after the run needs descriptors of its own).
constexpr size_t kMaxHeld = 256;

void holdPinned(GuardMount& m, size_t heldElsewhere) {
  const auto& nodes = m.before.nodes();
  for (size_t i = 0; i < nodes.size(); ++i) {
    UniqueFd dir;
    for (const auto& g : nodes[i].guarded) {
      // Not another file system's root: held, it could not be unmounted on the host meanwhile.
      if (!g.pinned || g.otherMount) continue;
      if (heldElsewhere + m.held.size() >= kMaxHeld) {
        log::debug("workspace guard: {} pinned entries held; later ones are matched by inode only", kMaxHeld);
        return;
      }
      if (!dir) dir = i == 0 ? UniqueFd(::fcntl(m.root.get(), F_DUPFD_CLOEXEC, 3))
                             : openDirBeneath(m.root.get(), m.before.relPath(static_cast<int32_t>(i)));
      if (!dir) break;
      UniqueFd fd(::openat(dir.get(), g.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      struct stat st;
      if (fd && ::fstat(fd.get(), &st) == 0 && static_cast<uint64_t>(st.st_ino) == g.stamp.ino &&
          static_cast<uint64_t>(st.st_dev) == g.stamp.dev)
        m.held.push_back(std::move(fd));
    }
  }
}

constexpr size_t kMaxOriginalBytes = 256 * 1024;
constexpr size_t kMaxOriginalsBytes = 1024 * 1024;

// Reads GuardMount::originals: the pinned regular files of the root and of a writable .git.
void keepOriginals(GuardMount& m) {
  const auto& nodes = m.before.nodes();
  size_t total = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const DirNode& node = nodes[i];
    if (i != 0 && !(node.gitDir && node.parent == 0)) continue;
    UniqueFd dir = i == 0 ? UniqueFd(::fcntl(m.root.get(), F_DUPFD_CLOEXEC, 3)) : openDirBeneath(m.root.get(), node.name);
    if (!dir) continue;
    for (const auto& g : node.guarded) {
      if (!g.pinned || g.otherMount || !S_ISREG(g.stamp.mode)) continue;
      auto content =
          readPinnedFile(dir.get(), g.name, g.stamp, std::min(kMaxOriginalBytes, kMaxOriginalsBytes - total));
      if (!content) continue;
      total += content->size();
      m.originals[i == 0 ? g.name : node.name + "/" + g.name] = {std::move(*content), g.stamp.mode & 07777};
    }
  }
}

// Puts `o` back at `rel` (gone: removed by the guard), written under a name of the guard's own and
// renamed into place without replacing anything that came meanwhile. 0 or an errno.
int restoreOriginal(const GuardMount& m, const std::string& rel, const GuardMount::Original& o) {
  size_t slash = rel.rfind('/');
  std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  UniqueFd dir = openDirBeneath(m.root.get(), slash == std::string::npos ? "" : rel.substr(0, slash));
  if (!dir) return errno;
  // A name the tool cannot have made ready for it beforehand (it can write in these directories).
  std::string tmp;
  UniqueFd fd;
  for (int attempt = 0; attempt < 8 && !fd; ++attempt) {
    uint64_t nonce = 0;
    if (::getrandom(&nonce, sizeof nonce, 0) != sizeof nonce) return errno ? errno : EIO;
    tmp = fmt::format(".coco-guard-restoring-{:016x}", nonce);
    fd.reset(::openat(dir.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd && errno != EEXIST) return errno;
  }
  if (!fd) return EEXIST;
  int err = -sys::writeAll(fd.get(), o.content.data(), o.content.size());
  if (err == 0 && (::fchmod(fd.get(), o.mode) != 0 || ::fsync(fd.get()) != 0 ||
                   ::renameat2(dir.get(), tmp.c_str(), dir.get(), name.c_str(), RENAME_NOREPLACE) != 0))
    err = errno;
  if (err) ::unlinkat(dir.get(), tmp.c_str(), 0);
  return err;
}

}  // namespace

// --- the run's guard ----------------------------------------------------------------------------

WorkspaceGuard::WorkspaceGuard() = default;
WorkspaceGuard::WorkspaceGuard(WorkspaceGuard&& o) noexcept
    : mounts_(std::move(o.mounts_)),
      inotifyFd_(std::exchange(o.inotifyFd_, -1)),
      asideCount_(o.asideCount_),
      watchedDirs_(std::exchange(o.watchedDirs_, 0)),
      gitDataWatches_(std::exchange(o.gitDataWatches_, 0)),
      watchesCapped_(o.watchesCapped_),
      readOnlyBinds_(std::move(o.readOnlyBinds_)) {}
WorkspaceGuard& WorkspaceGuard::operator=(WorkspaceGuard&& o) noexcept {
  mounts_ = std::move(o.mounts_);
  std::swap(inotifyFd_, o.inotifyFd_);
  std::swap(watchedDirs_, o.watchedDirs_);
  std::swap(gitDataWatches_, o.gitDataWatches_);
  asideCount_ = o.asideCount_;
  watchesCapped_ = o.watchesCapped_;
  readOnlyBinds_ = std::move(o.readOnlyBinds_);
  return *this;
}
WorkspaceGuard::~WorkspaceGuard() {
  if (inotifyFd_ >= 0) ::close(inotifyFd_);
}

void WorkspaceGuard::keepReadOnlyBinds(GuardMount& m) const {
  for (const auto& [src, dst] : readOnlyBinds_) {
    std::optional<std::string> rel = m.relative(src);
    if (!rel || rel->empty() || fs::joinPath(m.dst, *rel) != fs::normalize(dst)) continue;
    struct stat st;
    if (::stat(src.c_str(), &st) == 0) m.kept.emplace(st.st_dev, st.st_ino);
  }
}

Status WorkspaceGuard::addMount(const PlannedBind& mount, const GuardSpec& spec,
                                std::vector<PlannedBind>& out) {
  if (!spec.enabled) return {};
  if (mount.readOnly) {
    // A read-only mount over its own place in a writable one (`./sub/data` ro at
    // /workspace/sub/data inside `.` rw at /workspace): the tool cannot change it, so no removal
    // of the guard's may either. (Mounted elsewhere, the writable mount reaches it: not kept.)
    readOnlyBinds_.push_back({fs::normalize(mount.src), mount.dst});
    for (auto& m : mounts_) keepReadOnlyBinds(*m);
    return {};
  }
  if (!mount.isDir) return {};
  auto m = std::make_unique<GuardMount>();
  m->src = fs::normalize(mount.src);
  char real[PATH_MAX];
  m->realSrc = ::realpath(m->src.c_str(), real) ? real : m->src;
  m->dst = mount.dst;
  m->onRemoved = spec.onRemoved;
  m->root.reset(::open(m->src.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!m->root) return Error::fromErrno("workspace guard: open {}", m->src);
  m->rules.gitWrite = spec.gitWrite;
  if (!spec.cwd.empty()) m->rules.cwd = m->relative(fs::normalize(spec.cwd));
  // The repository the mount is in (its own, or a parent's when the tool runs from a
  // subdirectory): its hooks, git directories, configs and what they run, wherever they are.
  gitconfig::Loaded user = loadUserConfig(spec);
  if (auto repo = findRepo(m->src, true)) {
    m->guardGitPaths(repoGitPaths(*repo, user, spec));
    guardInnerGitDirs(*m, repo->commondir, user, spec);
  }
  // The user's config also applies to a repository made here later, and to git run from here.
  m->guardGitPaths(userGitPaths(user, m->src, spec));
  if (!spec.cwd.empty() && fs::normalize(spec.cwd) != m->src)
    m->guardGitPaths(userGitPaths(user, spec.cwd, spec));
  GuardSnapshot cached;
  if (!spec.cacheDir.empty()) {
    // One file per directory and git mode (the walks differ in what they pin).
    m->cacheFile = fmt::format("{}/{}.snapshot", spec.cacheDir,
                               sha256Hex(m->realSrc + "\n" + cacheKey(m->rules)).substr(0, 32));
    m->cachedText = readSmall(m->cacheFile, size_t{1} << 30);
    cached = GuardSnapshot::parse(m->cachedText, cacheKey(m->rules));
  }
  m->before = GuardSnapshot::take(m->root.get(), m->rules, &cached, nullptr);
  for (int round = 0; round < 8 && addFoundPaths(*m, spec, user); ++round) {
    GuardSnapshot first = std::move(m->before);
    m->before = GuardSnapshot::take(m->root.get(), m->rules, &first, nullptr);
  }
  if (!m->before.gaps().empty()) return gapsBeforeTheRun(*m);
  warnAboutReadOnlyGitData(*m);
  addBinds(*m, out);
  keepReadOnlyBinds(*m);
  for (const auto& node : m->before.nodes())
    for (const auto& g : node.guarded) {
      m->existing.emplace(g.stamp.dev, g.stamp.ino);
      if (g.pinned || g.otherMount) m->kept.emplace(g.stamp.dev, g.stamp.ino);
    }
  size_t held = 0;
  for (const auto& other : mounts_) held += other->held.size();
  holdPinned(*m, held);
  keepOriginals(*m);
  log::debug("workspace guard: {}: {} directories walked, {} guarded paths", m->src, m->before.nodes().size(),
             m->rules.extraPaths.size());
  mounts_.push_back(std::move(m));
  return {};
}

// --- during the run -----------------------------------------------------------------------------

namespace {

constexpr std::string_view kAsidePrefix = ".coco-guard-removed-";
constexpr std::string_view kKeptPrefix = ".coco-guard-kept-";  // what a removal had to leave
constexpr uint32_t kWatchMask = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR;

}  // namespace

void WorkspaceGuard::startWatching() {
  if (mounts_.empty()) return;
  inotifyFd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotifyFd_ < 0) {
    log::debug("workspace guard: inotify: {}", std::strerror(errno));
    return;
  }
  for (auto& m : mounts_) addWatch(*m, "");  // the roots first: they need no held descriptor
  for (auto& m : mounts_) {
    const DirNode& root = m->before.nodes().front();
    for (int32_t c : root.children) addWatch(*m, m->before.nodes()[c].name);
  }
  // In the git directories the tool may write: past kMaxGitDataWatches, the later ones are left
  // to the check after the run.
  for (auto& m : mounts_) {
    const auto& nodes = m->before.nodes();
    std::vector<std::string> top;
    if (nodes.front().gitDir)
      for (const char* data : {"logs", "refs", "objects"}) top.emplace_back(data);
    for (int32_t c : nodes.front().children)
      if (nodes[c].gitDir)
        for (const char* data : {"logs", "refs", "objects"}) top.push_back(nodes[c].name + "/" + data);
    watchGitData(*m, top);
  }
}

namespace {

// One of the 256 directories git spreads loose objects over (objects/ab), in `dataPath`
// (GuardMount::gitDataPath). Not watched: git makes the files in them with O_EXCL and link(2),
// which do not follow a symlink, so the check after the run suffices there (and 256 watches
// per repository would crowd out refs and logs, where git appends to and creates in whatever a
// symlink leads to).
bool isObjectFanOut(std::string_view dataPath, std::string_view name) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  return dataPath == "objects" && name.size() == 2 && hex(name[0]) && hex(name[1]);
}

// Where git appends and creates by name (GuardMount::gitDataPath), watched before other
// directories of their level: a tool that left hundreds of directories in refs/ must not use up
// the watches before logs/refs/heads.
bool isKnownGitDataDir(std::string_view dataPath) {
  for (std::string_view known : {"logs", "refs", "objects", "logs/refs", "logs/refs/heads", "logs/refs/remotes",
                                 "refs/heads", "refs/tags", "refs/remotes", "objects/info", "objects/pack"})
    if (dataPath == known) return true;
  return false;
}

}  // namespace

// Watches the directories `top` (a writable git directory's objects, refs and logs) and those
// below them: the ones git appends and creates in by name first (isKnownGitDataDir), then the
// rest level by level; past kMaxGitDataWatches the rest is left to the check after the run. What
// was in them before the run is checked after it, not here.
void WorkspaceGuard::watchGitData(GuardMount& m, const std::vector<std::string>& top) {
  struct Dir {
    std::string rel;
    int depth;
  };
  std::deque<Dir> known, other;
  for (const auto& rel : top) known.push_back({rel, 0});
  while ((!known.empty() || !other.empty()) && gitDataWatches_ < kMaxGitDataWatches) {
    std::deque<Dir>& from = known.empty() ? other : known;
    Dir d = std::move(from.front());
    from.pop_front();
    int wd = addWatch(m, d.rel, true);
    UniqueFd dir = wd >= 0 && d.depth < 64 ? m.watchedDir(wd) : UniqueFd();
    std::vector<ListedEntry> entries;
    if (!dir || !listEntries(dir.get(), entries)) continue;
    std::optional<std::string_view> dataPath = m.gitDataPath(d.rel);
    for (const auto& e : entries) {
      if (!e.isDir || !dataPath || isObjectFanOut(*dataPath, e.name)) continue;
      Dir sub{d.rel + "/" + e.name, d.depth + 1};
      std::optional<std::string_view> subPath = m.gitDataPath(sub.rel);
      if (subPath && isKnownGitDataDir(*subPath)) known.push_back(std::move(sub));
      else if (other.size() < kMaxGitDataWatches) other.push_back(std::move(sub));
    }
  }
}

int WorkspaceGuard::watchFd() const { return inotifyFd_; }

// Watches the mount root or one of its directories (through its fd, not a path a tool could
// redirect).
// Returns the new watch's wd when `rel` is watched from now on and was not before (-1 otherwise):
// only then is what was put in it before the watch listed (checkNew). A directory already watched that the tool renamed keeps
// its watch (inotify gives its descriptor back) under the new name; listing it again at every
// rename let a tool that renamed a directory of 50,000 entries back and forth (0.2 s of its own
// time) keep coco listing for minutes, deaf to signals and to the process limit's stop.
int WorkspaceGuard::addWatch(GuardMount& m, const std::string& rel, bool gitData) {
  UniqueFd dir(rel.empty()
                   ? ::fcntl(m.root.get(), F_DUPFD_CLOEXEC, 3)
                   : ::openat(m.root.get(), rel.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (!dir || ::fstat(dir.get(), &st) != 0) {
    log::debug("workspace guard: watching {}/{}: {} (checked after the run)", m.src, rel,
               std::strerror(errno));
    return -1;
  }
  auto sameDir = [&](const GuardMount::Watch& w) {
    return w.dev == static_cast<uint64_t>(st.st_dev) && w.ino == static_cast<uint64_t>(st.st_ino);
  };
  auto known = std::find_if(m.watches.begin(), m.watches.end(), [&](const auto& e) { return sameDir(e.second); });
  if (known != m.watches.end()) {
    // Renamed: its events are checked under the name it has now (the rules go by name). Another
    // watched directory that had this name has been renamed too: until its own event says to
    // what, its name is not known (renamed; swapped with RENAME_EXCHANGE).
    for (auto& [wd, w] : m.watches)
      if (wd != known->first && w.rel == rel) w.stale = true;
    known->second.rel = rel;
    known->second.stale = false;
    return -1;
  }
  size_t& count = gitData ? gitDataWatches_ : watchedDirs_;
  size_t cap = gitData ? kMaxGitDataWatches : kMaxWatchedDirs;
  if (!rel.empty() && count >= cap) {
    if (!watchesCapped_)
      log::debug("workspace guard: {} directories watched; {}/{} and later ones are checked after the run",
                 cap, m.src, rel);
    watchesCapped_ = true;
    return -1;
  }
  std::string self = "/proc/self/fd/" + std::to_string(dir.get());
  int wd = ::inotify_add_watch(inotifyFd_, self.c_str(), kWatchMask);
  if (wd < 0) {
    log::debug("workspace guard: watching {}/{}: {} (checked after the run)", m.src, rel,
               std::strerror(errno));
    return -1;
  }
  for (auto& [other, w] : m.watches)
    if (w.rel == rel) w.stale = true;
  m.watches[wd] = GuardMount::Watch{rel, false, std::move(dir), static_cast<uint64_t>(st.st_dev),
                                    static_cast<uint64_t>(st.st_ino)};
  if (!rel.empty()) ++count;
  return wd;
}

bool WorkspaceGuard::readWatchEvents() {
  alignas(struct inotify_event) char buf[65536];
  ssize_t n = ::read(inotifyFd_, buf, sizeof buf);
  for (char* p = buf; n > 0 && p < buf + n;) {
    auto* ev = reinterpret_cast<struct inotify_event*>(p);
    p += sizeof(struct inotify_event) + ev->len;
    if (ev->mask & IN_Q_OVERFLOW) {
      rescanPending_ = true;
      continue;
    }
    if (ev->len == 0) continue;
    for (auto& m : mounts_)
      if (m->watches.count(ev->wd))
        checkNew(*m, ev->wd, ev->name, ev->mask & IN_ISDIR, false, ev->mask & IN_MOVED_TO);
  }
  // After lost events, every watched directory is listed again, but not more often than every
  // rescanGapMs_ nor than ten times as long as the last listing took: a tool can make the queue
  // overflow again and again at little cost of its own. A listing put off is made when it is
  // due, events or not: coco's loop waits no longer than watchTimeoutMs().
  int64_t now = monotonicMs();
  if (rescanPending_ && now >= nextRescanMs_) {
    rescanPending_ = false;
    for (auto& m : mounts_)
      for (const auto& [wd, w] : m->watches) checkWatched(*m, wd);
    int64_t took = monotonicMs() - now;
    nextRescanMs_ = monotonicMs() + std::max<int64_t>(rescanGapMs_, 10 * took);
  }
  return n > 0;
}

int WorkspaceGuard::watchTimeoutMs() const {
  if (inotifyFd_ < 0 || !rescanPending_) return -1;
  return static_cast<int>(std::clamp<int64_t>(nextRescanMs_ - monotonicMs(), 0, INT32_MAX));
}

// One buffer of events per call: a tool making events as fast as it can must never keep coco's
// loop (signals, the sandbox's end, the process limit's stop) from its turn; poll says when more wait.
void WorkspaceGuard::onWatchEvents() { readWatchEvents(); }

// Everything in a watched directory, as if just created (after the watch lost events).
void WorkspaceGuard::checkWatched(GuardMount& m, int wd) {
  UniqueFd dir = m.watchedDir(wd);
  std::vector<ListedEntry> entries;
  if (!dir || !listEntries(dir.get(), entries)) return;
  ++watchListings_;
  for (const auto& e : entries) checkNew(m, wd, e.name, e.isDir, true);
}

namespace {

// A name git writes, in a git directory the tool may write: of a kind git makes there, or gone
// already (its own event, or none, says what came instead). Git writes the names by name,
// following a symlink, so a host git run during the run would write where the tool pointed it.
bool gitKindOkNow(const GuardMount& m, int wd, const std::string& name) {
  UniqueFd dir = m.watchedDir(wd);
  struct stat st;
  if (!dir || ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return true;
  return gitWritableKindOk(dir.get(), name, st);
}

// The root's .git of `workspace_guard: {git: write}`, the directory it was before the run (listed
// again after lost events, or renamed away and back): yours, and not a guarded entry (the
// writable git directory's own rules apply in it), so the watch must not take it for a new one.
bool isWritableGitFromBefore(const GuardMount& m, int wd, const std::string& rel) {
  const DirNode* node = m.watches.at(wd).rel.empty() ? m.nodeAt(rel) : nullptr;
  UniqueFd dir = node && node->gitDir ? m.watchedDir(wd) : UniqueFd();
  struct stat st;
  return dir && ::fstatat(dir.get(), rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
         node->stamp.dev == static_cast<uint64_t>(st.st_dev) &&
         node->stamp.ino == static_cast<uint64_t>(st.st_ino);
}

}  // namespace

// A new entry in the watched directory `wd`: removed at once when guarded. Entries that were
// there before the run (pinned, or below the root) are left to the check after the run.
void WorkspaceGuard::checkNew(GuardMount& m, int wd, const std::string& name, bool isDir, bool rescan,
                              bool moved) {
  if (name.starts_with(kAsidePrefix)) return;  // ours
  const GuardMount::Watch& w = m.watches.at(wd);
  // A directory whose name is not known (stale) is checked only for what is guarded wherever it
  // is (a repository, a git directory): a place's names there may be yours from before the run,
  // which only names guarded everywhere are known by (m.existed). The check after the run goes by
  // where it really is.
  const std::string& dirRel = w.rel;
  std::string rel = w.rel.empty() ? name : w.rel + "/" + name;
  if (rescan && !w.stale && m.existedBefore(wd, dirRel, name)) return;
  bool gitDir = !w.stale && m.isGitDir(dirRel);
  const DirNode* node = w.stale ? nullptr : m.nodeAt(dirRel);
  bool place = !w.stale && (m.rules.isRulePlace(dirRel) || (node && node->place));
  bool guarded = w.stale ? isRepositoryName(name)
                 : gitDir
                     ? !gitWritable(name) || !gitKindOkNow(m, wd, name)
                     : m.rules.isGuarded(rel, name, isDir, place) && !isWritableGitFromBefore(m, wd, rel);
  if (!gitDir && !guarded && (name == "HEAD" || name == "objects" || name == "refs" || name == "commondir"))
    if (UniqueFd dir = m.watchedDir(wd)) guarded = isGitDirectory(dir.get());
  if (guarded) {
    removeNow(m, wd, name);
    return;
  }
  if (!w.stale && (m.gitDataPath(dirRel) || (gitDir && m.gitDataPath(rel)))) {
    checkGitData(m, wd, name, moved);
    return;
  }
  if (isDir && w.rel.empty() && !rescan) {
    // A new directory in the root: watched too, and what was put in it before the watch.
    if (int added = addWatch(m, rel); added >= 0) checkWatched(m, added);
  }
}

// A new entry below objects, refs or logs of a git directory the tool may write, or one of those
// three: git makes regular files and directories there, the directories with mkdir(2). Anything
// else (a symlink: git appends to logs/HEAD and creates refs/heads/NAME and objects/info's files
// in whatever one leads to; a fifo, which hangs git), and a directory brought in by a rename with
// what it holds unchecked, is removed at once. A new directory is watched, and what the tool put
// in it before the watch is checked the same way.
void WorkspaceGuard::checkGitData(GuardMount& m, int wd, const std::string& name, bool moved) {
  UniqueFd dir = m.watchedDir(wd);
  struct stat st;
  // Gone already: its own event, or none, says what came instead.
  if (!dir || ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISREG(st.st_mode))
    return;
  const std::string dirRel = m.watches.at(wd).rel;
  std::string rel = dirRel.empty() ? name : dirRel + "/" + name;
  // After lost events a rename is known only by the watch a directory had elsewhere.
  const GuardMount::Watch* known = S_ISDIR(st.st_mode) ? m.watchOf(st) : nullptr;
  if (!S_ISDIR(st.st_mode) || moved || (known && (known->stale || !m.gitDataPath(known->rel)))) {
    removeNow(m, wd, name);
    return;
  }
  std::optional<std::string_view> dataPath = m.gitDataPath(dirRel);
  if (known || (dataPath && isObjectFanOut(*dataPath, name))) return;
  if (int added = addWatch(m, rel, true); added >= 0) checkWatched(m, added);
}

// While the tool runs it may still be writing into what it planted: the entry is first renamed
// out of the way (one step, which it cannot race), then removed; what the tool keeps filling is
// removed after the run.
void WorkspaceGuard::removeNow(GuardMount& m, int wd, const std::string& name) {
  const GuardMount::Watch& w = m.watches.at(wd);
  const std::string& dirRel = w.rel;
  std::string rel = w.stale ? fmt::format("(the directory last named {})/{}", w.rel, name)
                            : dirRel.empty() ? name : dirRel + "/" + name;
  UniqueFd dir = m.watchedDir(wd);
  struct stat st;
  if (!dir || ::fstat(dir.get(), &st) != 0 || m.existed(st)) return;  // left to the check after the run
  // Checked before the rename too: putting one back below makes a new event for its name. Gone
  // already (removed, or renamed on, which makes an event of its own): nothing to remove here.
  if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno != ENOENT) m.noteFailed(rel + ": " + std::strerror(errno));
    return;
  }
  if (m.existed(st)) return;
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string aside = fmt::format("{}{}-{}", kAsidePrefix, ::getpid(), ++asideCount_);
    if (::renameat2(dir.get(), name.c_str(), dir.get(), aside.c_str(), RENAME_NOREPLACE) == 0) {
      // Yours, moved here by the tool (the name was checked, not who it is): put back, or at
      // least kept under the aside name and reported.
      if (::fstatat(dir.get(), aside.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && m.existed(st)) {
        if (::renameat2(dir.get(), aside.c_str(), dir.get(), name.c_str(), RENAME_NOREPLACE) != 0)
          m.noteFailed(rel + ": moved to " + aside + " by the guard; move it back", true);
        return;
      }
      int err = removeBelow(dir.get(), aside, &m.kept);
      if (err == kRemoveLeftKept) {
        // What stays (yours, read-only for the run) stays under the aside name, never under the
        // guarded one again.
        m.noteFailed(fmt::format("{} (moved to {}/{} by the guard): {}", rel, dirRel.empty() ? "." : dirRel,
                                       aside, removeFailureText(err)));
        return;
      }
      if (err) {
        // Tried again after the run, through this descriptor; so many cannot be held.
        if (m.aside.size() >= kMaxAside) {
          m.noteFailed(fmt::format("{} (moved to {}/{} by the guard): {}", rel,
                                         dirRel.empty() ? "." : dirRel, aside, removeFailureText(err)));
          return;
        }
        m.aside.emplace_back(std::move(dir), aside);
      }
      m.noteGone(rel);
      return;
    }
    if (errno != EEXIST) break;
  }
  if (int err = removeBelow(dir.get(), name, &m.kept))
    m.noteFailed(rel + ": " + removeFailureText(err));
  else
    m.noteGone(rel);
}

// --- after the run ------------------------------------------------------------------------------

namespace {

// Renames the finding `rel`, of which only what was read-only for the run is left, to a name the
// guard does not guard beside it; returns the new path relative to the mount, or "" when it
// could not be moved.
std::string keptAside(const GuardMount& m, const std::string& rel) {
  size_t slash = rel.rfind('/');
  std::string dirRel = slash == std::string::npos ? "" : rel.substr(0, slash);
  std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  UniqueFd dir = openDirBeneath(m.root.get(), dirRel);
  if (!dir) return "";
  for (int attempt = 1; attempt <= 16; ++attempt) {
    std::string aside = fmt::format("{}{}-{}", kKeptPrefix, ::getpid(), attempt);
    if (::renameat2(dir.get(), name.c_str(), dir.get(), aside.c_str(), RENAME_NOREPLACE) == 0)
      return dirRel.empty() ? aside : dirRel + "/" + aside;
    if (errno != EEXIST) break;
  }
  return "";
}

constexpr size_t kMaxReported = 20;

// What the guard removed and could not remove in `m`, during and after the run.
void report(const GuardMount& m) {
  const std::vector<std::string>& removed = m.removed;
  size_t shown = 0;
  for (const auto& rel : removed) {
    if (++shown > kMaxReported) break;
    log::notice(
        "workspace guard: removed {}/{}, which the run created or changed (the host would run or trust it)",
        m.src, printable(rel));
  }
  size_t total = removed.size() + m.removedUnlisted;
  if (total > kMaxReported)
    log::notice("workspace guard: ... and {} more (COCO_DEBUG=1 lists {})", total - kMaxReported,
                m.removedUnlisted ? fmt::format("the first {}", removed.size()) : "them");
  for (size_t i = kMaxReported; i < removed.size(); ++i)
    log::debug("workspace guard: removed {}/{}", m.src, printable(removed[i]));
  for (const auto& rel : m.restored)
    if (m.changedThroughLink.count(rel))
      log::notice(
          "workspace guard: {}/{} was changed during the run through another link to it in the mount "
          "(read-only in the sandbox, the file is not read-only elsewhere): removed, and put back as it "
          "was before the run",
          m.src, printable(rel));
    else
      log::notice(
          "workspace guard: {}/{} was replaced during the run from outside the sandbox (there it was "
          "read-only), and the tool could write to what replaced it: removed, and put back as it was "
          "before the run",
          m.src, printable(rel));
  for (const auto& f : m.failed)
    log::warn(
        "workspace guard: could not remove {}/{}; remove it before running git or opening an editor there",
        m.src, printable(f));
  if (m.failedUnlisted)
    log::warn("workspace guard: ... and {} more entries in {} it could not remove; check it before running git "
              "or opening an editor there",
              m.failedUnlisted, m.src);
}

// What the check after the run could not read: what the tool may have left there (a .git, a hook,
// an .envrc) was not looked for, so the user is told where to look.
void reportGaps(const GuardMount& m, const std::vector<WalkGap>& gaps) {
  for (size_t i = 0; i < gaps.size() && i < kMaxReported; ++i)
    log::warn(
        "workspace guard: could not check {} after the run ({}): what the tool may have left there was not "
        "looked for; check it before running git or opening an editor there",
        pathIn(m, gaps[i].rel), std::strerror(gaps[i].err));
  if (gaps.size() > kMaxReported)
    log::warn("workspace guard: ... and {} more directories it could not check (COCO_DEBUG=1 lists them)",
              gaps.size() - kMaxReported);
}

// An incomplete walk is no base for the next run's: that run walks everything again.
void dropCache(const GuardMount& m) {
  if (!m.cacheFile.empty() && ::unlink(m.cacheFile.c_str()) != 0 && errno != ENOENT)
    log::debug("workspace guard: removing the cache {}: {}", m.cacheFile, std::strerror(errno));
}

// Written whole and renamed into place, without fsync: a cache lost in a crash costs one full
// walk (parse refuses a torn file); an fsync would cost every run.
void saveCache(const GuardMount& m, const GuardSnapshot& snap) {
  if (m.cacheFile.empty() || !fs::makeDirs(parentOf(m.cacheFile), 0700)) return;
  std::string data = snap.serialize(cacheKey(m.rules));
  if (data == m.cachedText) return;  // the file holds it already
  std::string tmp = m.cacheFile + ".XXXXXX";
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return;
  int rc = sys::writeAll(fd.get(), data.data(), data.size());
  if (rc != 0) errno = -rc;
  if (rc != 0 || ::rename(tmp.c_str(), m.cacheFile.c_str()) != 0) {
    log::debug("workspace guard: cache {}: {}", m.cacheFile, std::strerror(errno));
    ::unlink(tmp.c_str());
  }
}

}  // namespace

// The watch's descriptors (the inotify instance, the watched directories, the directories of
// entries set aside) are closed before the walk after the run, which needs some of its own: a run
// that made the watch use up coco's must not leave that walk without.
void WorkspaceGuard::releaseWatch() {
  if (inotifyFd_ >= 0) {
    // What is still queued, within bounds: the sandbox holds no process, so the queue only shrinks
    // (a host process writing there aside), and the check after the run comes next.
    for (int i = 0; i < 64 && readWatchEvents(); ++i) {
    }
    ::close(inotifyFd_);
    inotifyFd_ = -1;
  }
  for (auto& m : mounts_) m->watches.clear();
  watchedDirs_ = 0;
  for (auto& m : mounts_) {
    for (const auto& [dir, name] : m->aside)
      if (int err = removeBelow(dir.get(), name, &m->kept)) m->noteFailed(name + ": " + removeFailureText(err));
    m->aside.clear();
  }
}

void WorkspaceGuard::finish() {
  releaseWatch();
  for (auto& m : mounts_) {
    std::vector<GuardFinding> findings;
    GuardSnapshot after = GuardSnapshot::take(m->root.get(), m->rules, &m->before, &findings);
    for (const auto& f : findings) {
      // A pinned file written through another link is itself what goes (as a file with no other
      // link left, `kept` would leave it).
      int err = removeBelow(m->root.get(), f.rel, f.throughLink ? nullptr : &m->kept);
      if (f.throughLink) m->changedThroughLink.insert(f.rel);
      if (err == kRemoveLeftKept) {
        // What stays leaves the guarded name for one of the guard's own.
        std::string moved = keptAside(*m, f.rel);
        m->noteFailed(f.rel + (moved.empty() ? "" : " (moved to " + moved + " by the guard)") + ": " +
                          removeFailureText(err),
                      true);
      } else if (err) {
        m->noteFailed(f.rel + ": " + removeFailureText(err), true);
      } else {
        m->noteGone(f.rel);
      }
    }
    for (const auto& rel : m->replaced) {
      if (int err = restoreOriginal(*m, rel, m->originals.at(rel)); err == 0)
        m->restored.push_back(rel);
      else
        log::warn("workspace guard: {} was replaced during the run from outside the sandbox and removed (the "
                  "tool could write to what replaced it); the one from before the run could not be put back: {}",
                  pathIn(*m, rel), std::strerror(err));
    }
    report(*m);
    if (m->onRemoved) m->onRemoved(m->src, m->removed, m->removedUnlisted);
    if (after.gaps().empty()) {
      saveCache(*m, after);
    } else {
      reportGaps(*m, after.gaps());
      dropCache(*m);
    }
  }
  mounts_.clear();
}

}  // namespace coco::engine
