// Checks of single config values (mount options, hosts, names), free of
// YAML so they can be tested on their own; the parser adds the file position.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "config/tool_config.hpp"
#include "util/result.hpp"

namespace coco::config {

// [A-Za-z_][A-Za-z0-9_]*
bool isValidEnvName(std::string_view name);

// "ro", "rw" or a comma list of them; returns whether the mount is read-only.
Result<bool> parseMountOptions(std::string_view opts);

// Absolute and already normalised: "/a/b", not "a", "/a/", "/a/../b", "/a//b".
Status checkAbsolutePath(std::string_view path);

// An allowed_hosts entry in its canonical spelling: the grammar the gateway
// reads it with (parseHostPattern), so what a config accepts, the gateway accepts.
Result<std::string> normalizeHost(std::string_view host);

// A word handed to a package manager or to mise: non-empty, no blanks or control
// characters, and not starting with '-' (it would be read as an option).
Status checkPackageWord(std::string_view word);

// The known key nearest to `key` by edit distance, or "" if none is close.
std::string_view closestKey(std::string_view key, std::span<const std::string_view> known);

}  // namespace coco::config
