// Where the host's git looks: repository discovery, hooks directories and the links in them, the
// config files git reads with their includes, and the programs named in them.
#include "engine/guard_git.hpp"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace coco::engine {

std::string readSmall(const std::string& path, size_t cap) {
  auto text = fs::readFileAtMost(path, cap);
  return text ? std::move(*text) : std::string();
}

namespace {

std::string trimLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string dirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::optional<std::string> realPath(const std::string& path) {
  char real[PATH_MAX];
  if (!::realpath(path.c_str(), real)) return std::nullopt;
  return std::string(real);
}

// Where the rest of a git directory is: its commondir file, or itself.
std::string commonDirOf(const std::string& gitdir) {
  std::string common = trimLine(readSmall(gitdir + "/commondir", 4096));
  return common.empty() ? gitdir : fs::normalize(fs::joinPath(gitdir, common));
}

}  // namespace

std::optional<GitRepo> findRepo(std::string dir, bool up) {
  for (;;) {
    std::string dotgit = fs::joinPath(dir, ".git");
    struct stat st;
    if (::stat(dotgit.c_str(), &st) == 0) {
      GitRepo repo{dir, dotgit, {}};
      if (S_ISREG(st.st_mode)) {
        std::string text = trimLine(readSmall(dotgit, 4096));
        if (!text.starts_with("gitdir: ")) return std::nullopt;
        repo.gitdir = fs::normalize(fs::joinPath(dir, text.substr(8)));
      }
      repo.commondir = commonDirOf(repo.gitdir);
      return repo;
    }
    if (!up || dir == "/") return std::nullopt;
    dir = dirOf(dir);
  }
}

GitRepo gitDirRepo(const std::string& dir) { return {dir, dir, commonDirOf(dir)}; }

gitconfig::Loaded loadUserConfig(const GuardSpec& spec) {
  gitconfig::Loaded user;
  auto read = [](const std::string& path) { return readSmall(path); };
  for (const auto& file : spec.gitConfigs) gitconfig::load(file, read, spec.home, user);
  if (user.truncated)
    log::warn(
        "workspace guard: your git config includes more than {} files or nests deeper than {}; "
        "what is beyond is not guarded",
        gitconfig::kMaxLoadedFiles, gitconfig::kMaxIncludeDepth);
  return user;
}

namespace {

// Collects paths up to kMaxGitPaths, each also as it lies through symlinks: git opens the path
// as written, and the kernel resolves ".." after a symlink, not before.
class Collector {
 public:
  explicit Collector(GitPaths& out) : out_(out) {}

  void dir(const std::string& path) { add(out_.dirs, path); }
  void path(const std::string& path) { add(out_.paths, path); }

  // Hooks in `dir` that are symlinks (a shared hook in the worktree): where they lead.
  void hookLinks(const std::string& dir) {
    std::vector<std::string> names = fs::listDir(dir);
    std::optional<std::string> realDir = realPath(dir);
    for (size_t i = 0; i < names.size() && i < kMaxHooks; ++i) {
      std::string link = dir + "/" + names[i];
      char target[PATH_MAX];
      ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      std::string to(target, static_cast<size_t>(n));
      path(link);  // followed to its end below
      if (to.front() == '/') {
        path(to);
        continue;
      }
      path(dir + "/" + to);
      if (realDir) path(*realDir + "/" + to);
    }
  }

  bool full() const { return full_; }

 private:
  static constexpr size_t kMaxHooks = 256;

  void add(std::vector<std::string>& list, const std::string& p) {
    if (out_.dirs.size() + out_.paths.size() >= kMaxGitPaths) {
      full_ = true;
      return;
    }
    list.push_back(p);
    // Where the path leads when it exists, or its directory when only that does.
    std::optional<std::string> real = realPath(p);
    if (!real && p.rfind('/') != std::string::npos && p.rfind('/') != 0)
      if (auto parent = realPath(dirOf(p))) real = *parent + p.substr(p.rfind('/'));
    if (real && *real != fs::normalize(p)) list.push_back(*real);
  }

  GitPaths& out_;
  bool full_ = false;
};

// A path a config names, as git or the shell it starts resolves it from `base`; nullopt for
// `~user/` (another user's home).
std::optional<std::string> resolve(const std::string& word, const std::string& base,
                                   const std::string& home) {
  if (word.front() == '/') return word;
  if (word == "~" || word.starts_with("~/")) {
    if (home.empty()) return std::nullopt;
    return home + word.substr(1);
  }
  if (word.front() == '~') return std::nullopt;
  return base + "/" + word;
}

// What config entries name: hooks directories (core.hooksPath), template directories, and the
// paths in commands git runs, each resolved from every base (where git may run it from).
void collect(const std::vector<gitconfig::Entry>& entries, const std::vector<std::string>& bases,
             const std::string& home, Collector& out) {
  for (const auto& e : entries) {
    if (e.value.empty()) continue;
    if (gitconfig::namesPath(e)) {
      for (const auto& base : bases)
        if (auto p = resolve(e.value, base, home)) {
          if (e.section == "core") {
            out.dir(*p);
            out.hookLinks(*p);
          } else {
            out.path(*p);
          }
        }
    } else if (gitconfig::runsCommand(e)) {
      for (const auto& word : gitconfig::pathWords(e.value))
        for (const auto& base : bases)
          if (auto p = resolve(word, base, home)) out.path(*p);
    }
  }
}

void warnIfFull(const Collector& c, const std::string& where) {
  if (c.full())
    log::warn("workspace guard: git config for {} names more than {} paths; what is beyond is not guarded",
              where, kMaxGitPaths);
}

}  // namespace

GitPaths repoGitPaths(const GitRepo& repo, const gitconfig::Loaded& user, const GuardSpec& spec) {
  GitPaths out;
  Collector c(out);
  c.dir(repo.gitdir);
  c.dir(repo.commondir);
  std::string hooks = repo.commondir + "/hooks";
  c.dir(hooks);
  c.hookLinks(hooks);
  // config.worktree is read whether or not extensions.worktreeConfig turns it on: looking at
  // more than git does only guards more.
  gitconfig::Loaded own;
  auto read = [](const std::string& path) { return readSmall(path); };
  gitconfig::load(repo.commondir + "/config", read, spec.home, own);
  gitconfig::load(repo.gitdir + "/config.worktree", read, spec.home, own);
  if (own.truncated)
    log::warn(
        "workspace guard: the git config of {} includes more than {} files or nests deeper than {}; "
        "what is beyond is not guarded",
        repo.worktree, gitconfig::kMaxLoadedFiles, gitconfig::kMaxIncludeDepth);
  for (const auto& file : own.files) c.path(file);
  for (const auto& file : user.files) c.path(file);
  // git runs commands from the worktree's top: the one it was found from, or core.worktree.
  std::vector<std::string> bases{repo.worktree};
  for (const auto& e : own.entries)
    if (e.section == "core" && !e.hasSubsection && e.key == "worktree" && !e.value.empty())
      bases.push_back(e.value.front() == '/' ? e.value : repo.gitdir + "/" + e.value);
  collect(user.entries, bases, spec.home, c);
  collect(own.entries, bases, spec.home, c);
  warnIfFull(c, repo.worktree);
  return out;
}

GitPaths userGitPaths(const gitconfig::Loaded& user, const std::string& dir, const GuardSpec& spec) {
  GitPaths out;
  Collector c(out);
  for (const auto& file : user.files) c.path(file);
  collect(user.entries, {dir}, spec.home, c);
  warnIfFull(c, dir);
  return out;
}

}  // namespace coco::engine
