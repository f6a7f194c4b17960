// The config hash: what decides whether a tool must be installed again.
#pragma once

#include <string>

#include "config/tool_config.hpp"

namespace coco::config {

// Every field of the normalised config (not its path, hash or line numbers) in
// a fixed order, each value length-prefixed so no two configs serialise alike.
std::string canonicalForm(const ToolConfig& config);

// sha256 hex of canonicalForm(): formatting, key order and JSON-vs-YAML do not
// change it; any change of meaning does.
std::string configHash(const ToolConfig& config);

}  // namespace coco::config
