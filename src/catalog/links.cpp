// Creating and removing the tool symlinks, never touching files that are not coco's.
#include "catalog/links.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <memory>
#include <optional>

#include "util/fs.hpp"

namespace coco::catalog {

namespace {

using Action = LinkOutcome::Action;

// The name coco itself may be installed under in binDir; never ours to link or remove.
constexpr std::string_view kSelfName = "coco";

std::optional<std::string> readLink(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

std::string realPath(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr), &std::free);
  return real ? std::string(real.get()) : std::string();
}

std::string baseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

bool isSymlink(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

LinkOutcome linkOne(const std::string& name, const std::string& binDir, const std::string& cocoPath,
                    const UpOptions& options) {
  std::string path = fs::joinPath(binDir, name);
  if (name == kSelfName) return {name, path, Action::Skipped, "a tool cannot be named coco"};
  if (!fs::exists(path)) {
    std::string other = commandElsewhere(name, options.searchPath, binDir, cocoPath);
    if (!other.empty() && !options.force)
      return {name, path, Action::Skipped,
              fmt::format(
                  "{} is a command in your PATH, and the link would take its name; 'coco run {}' runs the "
                  "tool, or 'coco up --force' links it anyway",
                  other, name)};
    if (::symlink(cocoPath.c_str(), path.c_str()) != 0)
      return {name, path, Action::Failed, Error::fromErrno("symlink {}", path).describe()};
    return {name, path, Action::Created,
            other.empty() ? "" : fmt::format("takes the name of {} (--force)", other)};
  }
  if (!isSymlink(path) || !pointsToCoco(path, cocoPath))
    return {name, path, Action::Skipped, "exists and is not a link to coco; left alone"};
  if (readLink(path) == cocoPath) return {name, path, Action::Unchanged, ""};
  // Replace via a temporary link and rename(2) so the command never disappears.
  std::string tmp = path + ".coco-tmp";
  ::unlink(tmp.c_str());
  if (::symlink(cocoPath.c_str(), tmp.c_str()) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = Error::fromErrno("replace {}", path);
    ::unlink(tmp.c_str());
    return {name, path, Action::Failed, e.describe()};
  }
  return {name, path, Action::Updated, ""};
}

LinkOutcome unlinkOne(const std::string& name, const std::string& binDir, const std::string& cocoPath) {
  std::string path = fs::joinPath(binDir, name);
  if (!fs::exists(path)) return {name, path, Action::Absent, ""};
  if (name == kSelfName || !isSymlink(path) || !pointsToCoco(path, cocoPath))
    return {name, path, Action::Skipped, "not a link to coco; left alone"};
  if (::unlink(path.c_str()) != 0)
    return {name, path, Action::Failed, Error::fromErrno("remove {}", path).describe()};
  return {name, path, Action::Removed, ""};
}

// Links in binDir to coco whose tool config is gone (removed after `coco up`).
Result<std::vector<std::string>> strayLinks(const std::string& binDir, const std::string& cocoPath,
                                            const std::vector<std::string>& tools) {
  std::unique_ptr<DIR, DirCloser> dir(::opendir(binDir.c_str()));
  if (!dir) {
    if (errno == ENOENT) return std::vector<std::string>{};
    return Error::fromErrno("open {}", binDir);
  }
  std::vector<std::string> names;
  while (struct dirent* entry = ::readdir(dir.get())) {
    std::string name = entry->d_name;
    if (name == "." || name == ".." || name == kSelfName) continue;
    if (std::find(tools.begin(), tools.end(), name) != tools.end()) continue;
    std::string path = fs::joinPath(binDir, name);
    if (isSymlink(path) && pointsToCoco(path, cocoPath)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

bool pointsToCoco(const std::string& linkPath, const std::string& cocoPath) {
  auto target = readLink(linkPath);
  if (!target) return false;
  if (*target == cocoPath || baseName(*target) == kSelfName) return true;
  std::string real = realPath(linkPath);
  return !real.empty() && real == realPath(cocoPath);
}

std::string commandElsewhere(const std::string& name, const std::vector<std::string>& searchPath,
                             const std::string& binDir, const std::string& cocoPath) {
  std::string ownDir = realPath(binDir);
  for (const auto& dir : searchPath) {
    if (dir.empty() || dir.front() != '/') continue;  // a relative PATH entry depends on where you are
    if (fs::normalize(dir) == fs::normalize(binDir) || (!ownDir.empty() && realPath(dir) == ownDir)) continue;
    std::string candidate = fs::joinPath(dir, name);
    struct stat st;
    if (::stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::access(candidate.c_str(), X_OK) != 0)
      continue;
    if (isSymlink(candidate) && pointsToCoco(candidate, cocoPath)) continue;
    return candidate;
  }
  return {};
}

Result<std::vector<LinkOutcome>> up(const std::vector<std::string>& tools, const std::string& binDir,
                                    const std::string& cocoPath, const UpOptions& options) {
  if (cocoPath.empty() || cocoPath.front() != '/')
    return Error::make("cannot link to coco at '{}': not an absolute path", cocoPath);
  COCO_TRY(fs::makeDirs(binDir));
  std::vector<LinkOutcome> out;
  for (const auto& name : tools) out.push_back(linkOne(name, binDir, cocoPath, options));
  return out;
}

Result<std::vector<LinkOutcome>> down(const std::vector<std::string>& tools, const std::string& binDir,
                                      const std::string& cocoPath) {
  COCO_ASSIGN(auto stray, strayLinks(binDir, cocoPath, tools));
  std::vector<LinkOutcome> out;
  for (const auto& name : tools) out.push_back(unlinkOne(name, binDir, cocoPath));
  for (const auto& name : stray) out.push_back(unlinkOne(name, binDir, cocoPath));
  return out;
}

}  // namespace coco::catalog
