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

// A mount's `opts`: "ro", "rw", podman's SELinux relabel options "z" (shared)
// and "Z" (private), podman's "U" (chown the source to the container's user),
// or a comma list of them.
struct MountOptions {
  bool readOnly = false;
  std::string relabel;  // podman's own options, for podman and docker: "", "z", "Z", "U", "z,U" or "Z,U"
};
Result<MountOptions> parseMountOptions(std::string_view opts);

// Absolute and already normalised: "/a/b", not "a", "/a/", "/a/../b", "/a//b".
Status checkAbsolutePath(std::string_view path);

// An allowed_hosts entry in its canonical spelling: the grammar the gateway
// reads it with (parseHostPattern), so what a config accepts, the gateway accepts.
Result<std::string> normalizeHost(std::string_view host);

// A word handed to a package manager or to mise: non-empty, no blanks or control
// characters, and not starting with '-' (it would be read as an option).
Status checkPackageWord(std::string_view word);

// A size in `limits`: "1073741824" (bytes), "512M", "2G", "1.5G" (K, M, G, T:
// powers of 1024, an optional "i" or "iB"/"B" after them), "50%" (of the
// host's memory), or "unlimited" when allowUnlimited. At least `minimum` bytes.
Result<SizeLimit> parseSizeLimit(std::string_view text, bool allowUnlimited, uint64_t minimum);

// A task count in `limits`: a whole number from `minimum` on, or "unlimited" (0).
Result<uint64_t> parseCount(std::string_view text, uint64_t minimum);

// CPUs in `limits`: "2", "0.5" (up to three decimals), from 0.01 to 1024, or
// "unlimited" (0). Returns thousandths of a CPU.
Result<uint32_t> parseCpus(std::string_view text);

// The known key nearest to `key` by edit distance, or "" if none is close.
std::string_view closestKey(std::string_view key, std::span<const std::string_view> known);

}  // namespace coco::config
