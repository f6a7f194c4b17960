// Where tool configs live (XDG directories), tool names, and mount sources.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace coco::config {

struct Paths {
  std::string home, dataHome, configHome, cacheHome;  // XDG_* with the usual defaults under $HOME
  std::string toolsDir() const;                       // dataHome + "/coco/tools"
  static Result<Paths> fromEnvironment();             // error if HOME is unset or relative
  // The same from a copy of the environment (a RunContext's).
  static Result<Paths> fromVariables(const std::map<std::string, std::string>& env);
};

// Where the engine keeps its state on the host, by the rules coco has always used; each is ""
// when the environment gives no place (the engine then fails, or keeps no cache):
//   staging       $XDG_RUNTIME_DIR/coco/staging when that is an absolute path to a directory,
//                 else <cache>/coco/staging
//   seccompCache  <cache>/coco/seccomp
//   holder        $XDG_RUNTIME_DIR/coco when that is an absolute path to a directory owned by
//                 this user, else <cache>/coco: where the user-namespace holder's record is
// where <cache> is $XDG_CACHE_HOME when absolute, else $HOME/.cache when HOME is absolute.
struct EngineDirs {
  std::string staging;
  std::string seccompCache;
  std::string holder;
};
EngineDirs engineDirs(const std::map<std::string, std::string>& env);

// [A-Za-z0-9][A-Za-z0-9._+-]*: a name that is safe as a file name and a symlink.
bool isValidToolName(std::string_view name);

// NAME.json | NAME.yaml | NAME.yml in dir; an Error if none or more than one.
Result<std::string> findToolFile(const std::string& toolsDir, const std::string& name);

// "." -> cwd, "~" and "~/x" -> home, relative -> cwd/x; always absolute and normalised.
std::string expandSource(const std::string& src, const std::string& cwd, const std::string& home);

// A missing source directory is created (mkdir -p) when it lies under home or cwd;
// elsewhere it is an Error.
Status ensureSource(const std::string& absSrc, const std::string& cwd, const std::string& home);
// The rule of ensureSource alone: an Error unless absSrc lies under home or cwd.
Status checkCreatable(const std::string& absSrc, const std::string& cwd, const std::string& home);

}  // namespace coco::config
