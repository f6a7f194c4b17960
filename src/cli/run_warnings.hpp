// Warnings `coco run` prints on stderr: the config's (once per config change) and the host's (every run).
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "cli/show.hpp"
#include "config/tool_config.hpp"
#include "tool/plan.hpp"
#include "util/result.hpp"

namespace coco::cli {

// What a run warns about once for this config: `coco show`'s WARNING lines and,
// with the native runtime, the `podman_args` it ignores.
std::vector<std::string> configWarnings(const config::ToolConfig& config, const ShowContext& ctx,
                                        bool native);

// The part of `coco show`'s context the warnings read, from a run's context
// (no cgroup or install-host lookups on the way to every run).
ShowContext warningContext(const tool::RunContext& run);

// Where coco keeps what it remembers between runs: $XDG_STATE_HOME/coco
// ($XDG_STATE_HOME when absolute, else $HOME/.local/state); "" without an absolute home.
std::string stateDir(const std::map<std::string, std::string>& env);

// The record of which warnings a tool's user has seen: DIR/warned/NAME holds one
// digest of the config's hash and the warning lines. A record that is a symlink,
// no regular file or unreadable counts as absent (it is never followed).
std::string warnedDigest(const config::ToolConfig& config, const std::vector<std::string>& warnings);
bool alreadyWarned(const std::string& stateDir, const std::string& tool, const std::string& digest);
// Written atomically (a temporary file renamed over it); an error is the caller's to ignore.
Status rememberWarned(const std::string& stateDir, const std::string& tool, const std::string& digest);

// Prints `warnings` as "coco: warning: ..." lines on `err` unless this config's
// were printed before; then remembers them. Nothing is printed for no warnings.
void warnOncePerConfig(std::ostream& err, const std::string& stateDir, const config::ToolConfig& config,
                       const std::vector<std::string>& warnings);

}  // namespace coco::cli
