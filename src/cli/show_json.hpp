// `coco show --json`: what a tool config grants, as JSON (the same facts as describeConfig).
#pragma once

#include <string>

#include "cli/show.hpp"
#include "config/tool_config.hpp"

namespace coco::cli {

// name, config file, tool spec, command, network, allowed hosts, mounts (source
// resolved against ctx), variables, ports, seccomp, workspace guard, the
// install hosts when ctx has them, and the warnings `coco show` prints.
std::string configToJson(const config::ToolConfig& config, const ShowContext& ctx);

}  // namespace coco::cli
