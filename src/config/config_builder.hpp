// Builds a ToolConfig from a parsed YAML document. Internal to config/: throws
// ConfigError (with the node's position) on the first invalid value.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "config/tool_config.hpp"

namespace coco::config {

// Validates every key of `root`, applies the defaults and cross-checks the
// fields; `name` is the config's name (its file name without extension).
// With nameIsCommand a config may name neither `tool` nor `command`: the name
// is the command (`coco run --config FILE npm ci`).
ToolConfig buildConfig(const YAML::Node& root, const std::string& name, bool nameIsCommand = false);

}  // namespace coco::config
