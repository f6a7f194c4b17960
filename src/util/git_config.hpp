// Reads git config files (git's own syntax, includes followed the way git follows them) and says
// which values git runs as commands, so the workspace guard can find what git on the host runs
// or reads without running git on the workspace.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coco::gitconfig {

// One variable of a config file: section and key lower-cased, the subsection as written.
struct Entry {
  std::string section;
  std::string subsection;
  bool hasSubsection = false;  // `[core ""]` has one, `[core]` has none
  std::string key;
  std::string value;  // quotes and escapes resolved; "true" for a key without "="
};

// Every variable of one config file's text, in order. With a syntax error git refuses the whole
// file: `complete` is false and `entries` holds what came before the error.
struct Parsed {
  std::vector<Entry> entries;
  bool complete = true;
};
Parsed parse(std::string_view text);

// The last value of `section.key` in one config file's text, as git reads it: section and key
// case-insensitive, no subsection ("[core]", not "[core \"x\"]"), quotes and escapes resolved, a
// key without "=" meaning "true". nullopt when the key is not set, or when the text has a syntax
// error (git then refuses the whole file, so nothing in it takes effect). `include` and
// `includeIf` are not followed.
std::optional<std::string> lastValue(std::string_view text, std::string_view section, std::string_view key);

// git's boolean spelling: true/yes/on/1 (any case, or a key with no value) and false/no/off/0/"".
std::optional<bool> parseBool(std::string_view value);

// The file an `include.path` or `includeIf.<condition>.path` entry of the file `from` names, as
// git resolves it: `~/` from `home`, a relative path from the directory of `from` (joined, not
// normalised: the kernel resolves ".." after following symlinks, for git as for us). nullopt for
// any other entry, an empty value, `~user/` and `%(prefix)/` (git's installation).
std::optional<std::string> includedPath(const Entry& entry, std::string_view from, std::string_view home);

inline constexpr int kMaxIncludeDepth = 10;  // git's own limit: deeper, git refuses the config
inline constexpr size_t kMaxLoadedFiles = 64;

// Config files with what they include, nested, in git's order. Every includeIf counts as taken
// (its condition is not evaluated: a file included under some condition is guarded always).
struct Loaded {
  std::vector<std::string> files;  // the files given and every include, read or missing
  std::vector<Entry> entries;      // their variables, includes expanded in place
  bool truncated = false;          // an include was not followed: deeper or more than the limits
};
// `read` gives a file's text, "" when it is missing or unreadable. A file already loaded (the
// same path, normalised) is not read again, so an include cycle ends.
using ReadText = std::function<std::string(const std::string& path)>;
void load(const std::string& file, const ReadText& read, std::string_view home, Loaded& out);

// Whether git runs this variable's value as a command line or a program (core.fsmonitor,
// filter.*.clean, alias.*, credential.helper...): the list is in git_config.cpp.
bool runsCommand(const Entry& entry);
// Whether the value is a path git runs programs from or copies them out of (core.hooksPath,
// init.templateDir).
bool namesPath(const Entry& entry);

// The words of a command line that are paths (hold a '/'), with quotes and escapes resolved, and
// also the path-like parts of each word: a quoted word may be a command line run again
// (`sh -c './x y'`), a word an assignment or a list (`PATH=./bin:$PATH`, `--file=./x`). At most
// kMaxPathWords.
inline constexpr size_t kMaxPathWords = 64;
std::vector<std::string> pathWords(std::string_view command);

}  // namespace coco::gitconfig
