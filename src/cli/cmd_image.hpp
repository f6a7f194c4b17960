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

// How much of the image choosing may do.
enum class ImageUse {
  Run,     // a missing coco-base is built; COCO_IMAGE is resolved (pulled when needed)
  DryRun,  // coco-base is only looked up; COCO_IMAGE is resolved
  List,    // nothing is built or resolved: coco-base is looked up, COCO_IMAGE only named
};

// What runs a tool: COCO_RUNTIME's runtime and the image it runs on (COCO_IMAGE;
// unset: coco-base for native, backend::kDefaultContainerImage for podman and
// docker, coco's native base imported). `coco run` and `coco list` both ask this.
struct Runtime {
  std::string name;    // "native", "podman" or "docker"
  image::Image image;  // podman and docker: the reference only
  bool native() const { return name == "native"; }
};
Result<Runtime> chooseRuntime(ImageUse use);

// Podman's and docker's image is coco's native base imported by `coco rebuild`: a tool is
// installed on that native base as for the native runtime, and its layer bound over the image.
// The native base, checked against the image's label coco.base; an error saying what to do when
// there is none or the runtime's image came from another.
Result<image::Image> containerToolBase(const Runtime& runtime);

// A tool's install state for the runtime runs would use, for `coco list [--json]`.
struct ToolStateView {
  std::string
      state;  // "installed", "outdated", "not-installed", "not-needed", "invalid", "unknown"
  std::string version;  // what is installed, when known
  std::string text;     // the words `coco list` prints (toolStateText)
};
ToolStateView toolState(const config::Paths& paths, const std::string& name, const Runtime& runtime);

// "installed 9.39.1", "not installed", "outdated (installed 9.39.1)", "nothing to
// install" or "invalid config": the state `coco
// list` shows for the runtime runs would use. Never builds or installs.
std::string toolStateText(const config::Paths& paths, const std::string& name, const Runtime& runtime);

}  // namespace coco::cli
