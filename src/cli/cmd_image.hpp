// The CLI side of tool layers and images: the default image, install on first run, `coco rebuild` and `coco prune`.
#pragma once

#include <string>

#include "config/paths.hpp"
#include "config/tool_config.hpp"
#include "engine/run_spec.hpp"
#include "image/image.hpp"
#include "tool/base_image.hpp"
#include "tool/tool_layer.hpp"
#include "util/result.hpp"

namespace coco::cli {

// Install sandboxes run on the native backend with the allowlist gateway;
// COCO_INSTALL_NETWORK=host gives them the host's network instead (an explicit
// opt-in for machines where the gateway cannot run).
tool::BaseImageOptions baseImageOptions();
tool::ToolLayerOptions toolLayerOptions();

// The native runtime's image when COCO_IMAGE is unset: coco-base, built on
// first use. With build false (--dry-run, list) a missing one is not built:
// the result names it and has no layers.
Result<image::Image> defaultNativeImage(bool build);

// "installed 9.39.1", "not installed", "outdated (installed 9.39.1)", "nothing to
// install" or "invalid config": the state `coco list` shows. Never builds or installs.
std::string toolStateText(const config::Paths& paths, const std::string& name);

// Installs the tool's layer when needed and puts it under the spec.
Status prepareToolLayer(engine::RunSpec& spec, const config::ToolConfig& config, const image::Image& image);

}  // namespace coco::cli
