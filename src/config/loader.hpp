// Loading tool configs: parse and validate a file, find a tool by name, list tools.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/paths.hpp"
#include "config/tool_config.hpp"
#include "util/result.hpp"

namespace coco::config {

// Parses YAML or JSON `text`. Every failure is "PATH:LINE:COL: message" and
// nothing partial is returned. `name` is the config's name (the default command).
// nameIsCommand: see buildConfig.
Result<ToolConfig> parseConfig(std::string_view text, const std::string& path, const std::string& name,
                               bool nameIsCommand = false);

// name = the file's basename without its extension.
Result<ToolConfig> loadConfig(const std::string& path);

// A config file named on the command line (`coco run --config FILE NAME`): a
// regular file of at most kMaxConfigFileBytes, read without blocking on a fifo;
// `name` is the config's name and, when the file names neither tool nor
// command, the command.
inline constexpr long kMaxConfigFileBytes = 1 << 20;
Result<ToolConfig> loadConfigFileAs(const std::string& path, const std::string& name);

// Validates the name, then findToolFile + loadConfig.
Result<ToolConfig> loadTool(const Paths& paths, const std::string& name);

// Sorted names of the configs in paths.toolsDir() (each name once).
std::vector<std::string> listTools(const Paths& paths);

}  // namespace coco::config
