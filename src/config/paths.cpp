// XDG paths, tool names and the expansion of mount sources.
#include "config/paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <vector>

#include "util/fs.hpp"
#include "util/log.hpp"

namespace coco::config {
namespace {

constexpr std::array<std::string_view, 3> kExtensions = {".json", ".yaml", ".yml"};

using Lookup = std::function<const char*(const char*)>;

// The XDG spec says relative values are invalid and must be ignored: "" for them.
std::string absoluteVar(const Lookup& env, const char* var) {
  const char* value = env(var);
  return value != nullptr && value[0] == '/' ? fs::normalize(value) : std::string();
}

std::string xdgDir(const Lookup& env, const char* var, const std::string& home, std::string_view fallback) {
  std::string value = absoluteVar(env, var);
  return value.empty() ? fs::joinPath(home, fallback) : value;
}

Lookup lookupIn(const std::map<std::string, std::string>& env) {
  return [&env](const char* var) -> const char* {
    auto it = env.find(var);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}

Result<Paths> pathsFrom(const Lookup& env) {
  const char* home = env("HOME");
  if (home == nullptr || home[0] == '\0')
    return Error::make(
        "HOME is not set, and your password database entry gives no absolute home: set HOME to your home "
        "directory");
  if (home[0] != '/') return Error::make("HOME is not an absolute path: '{}'", home);
  Paths paths;
  paths.home = fs::normalize(home);
  paths.dataHome = xdgDir(env, "XDG_DATA_HOME", paths.home, ".local/share");
  paths.configHome = xdgDir(env, "XDG_CONFIG_HOME", paths.home, ".config");
  paths.cacheHome = xdgDir(env, "XDG_CACHE_HOME", paths.home, ".cache");
  return paths;
}

bool isRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::string Paths::toolsDir() const { return dataHome + "/coco/tools"; }

Result<Paths> Paths::fromEnvironment() {
  return pathsFrom([](const char* var) { return std::getenv(var); });
}

Result<Paths> Paths::fromVariables(const std::map<std::string, std::string>& env) { return pathsFrom(lookupIn(env)); }

EngineDirs engineDirs(const std::map<std::string, std::string>& env) {
  Lookup lookup = lookupIn(env);
  // Unlike Paths, no home is required: XDG_RUNTIME_DIR or XDG_CACHE_HOME alone is a place.
  std::string home = absoluteVar(lookup, "HOME");
  std::string cache = absoluteVar(lookup, "XDG_CACHE_HOME");
  if (cache.empty() && !home.empty()) cache = home + "/.cache";
  std::string runtime = absoluteVar(lookup, "XDG_RUNTIME_DIR");
  std::string state = !runtime.empty() && fs::isDirectory(runtime) ? runtime : cache;
  EngineDirs dirs;
  if (!state.empty()) dirs.staging = state + "/coco/staging";
  if (!cache.empty()) dirs.seccompCache = cache + "/coco/seccomp";
  struct stat st;
  bool ownRuntime = !runtime.empty() && ::stat(runtime.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
                    st.st_uid == ::getuid();
  if (ownRuntime) dirs.holder = runtime + "/coco";
  else if (!cache.empty()) dirs.holder = cache + "/coco";
  return dirs;
}

bool isValidToolName(std::string_view name) {
  if (name.empty()) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front())) return false;
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '_' && c != '+' && c != '-') return false;
  }
  return true;
}

Result<std::string> findToolFile(const std::string& toolsDir, const std::string& name) {
  if (!isValidToolName(name))
    return Error::make("invalid tool name '{}': use letters, digits and . _ + - (not first)", name);
  std::vector<std::string> found;
  for (std::string_view ext : kExtensions) {
    std::string candidate = fs::joinPath(toolsDir, name + std::string(ext));
    if (isRegularFile(candidate)) found.push_back(candidate);
  }
  if (found.empty())
    return Error::withErrno(ENOENT, fmt::format("no tool named '{}' in {}", name, toolsDir))
        .withKind(ErrorKind::NotConfigured, name);
  if (found.size() > 1)
    return Error::make("tool '{}' has two configs, {} and {}; remove one", name, found[0], found[1])
        .withKind(ErrorKind::ConfigFile, found[1]);
  return found.front();
}

std::string expandSource(const std::string& src, const std::string& cwd, const std::string& home) {
  if (src == "~") return fs::normalize(home);
  if (src.starts_with("~/")) return fs::normalize(fs::joinPath(home, src.substr(2)));
  return fs::normalize(fs::joinPath(cwd, src));
}

Status checkCreatable(const std::string& absSrc, const std::string& cwd, const std::string& home) {
  std::string path = fs::normalize(absSrc);
  if (!fs::isAtOrBelow(path, fs::normalize(home)) && !fs::isAtOrBelow(path, fs::normalize(cwd)))
    return Error::withErrno(ENOENT,
                            fmt::format("mount source {} does not exist and lies outside your home and the "
                                        "current directory, so coco does not create it; create it first",
                                        path));
  return {};
}

Status ensureSource(const std::string& absSrc, const std::string& cwd, const std::string& home) {
  if (fs::exists(absSrc)) return {};
  COCO_TRY(checkCreatable(absSrc, cwd, home));
  log::debug("creating missing mount source {}", absSrc);
  return fs::makeDirs(fs::normalize(absSrc), 0755);
}

}  // namespace coco::config
