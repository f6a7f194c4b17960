// Reads one value out of the text of a git config file (git's own syntax, without includes), so
// the workspace guard can find where git looks for hooks without running git on the workspace.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace coco::gitconfig {

// The last value of `section.key` in one config file's text, as git reads it: section and key
// case-insensitive, no subsection ("[core]", not "[core \"x\"]"), quotes and escapes resolved, a
// key without "=" meaning "true". nullopt when the key is not set, or when the text has a syntax
// error (git then refuses the whole file, so nothing in it takes effect). `include` and
// `includeIf` are not followed.
std::optional<std::string> lastValue(std::string_view text, std::string_view section, std::string_view key);

// git's boolean spelling: true/yes/on/1 (any case, or a key with no value) and false/no/off/0/"".
std::optional<bool> parseBool(std::string_view value);

}  // namespace coco::gitconfig
