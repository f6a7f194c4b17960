// Backends: where a RunSpec runs (the native engine, podman or docker).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/run_spec.hpp"
#include "net/traffic_log.hpp"
#include "util/result.hpp"

namespace coco::backend {

class Backend {
 public:
  virtual ~Backend() = default;
  // Runs the spec and returns the command's exit status (shell convention:
  // 128+N for signal N, 126/127 cannot invoke / not found). Error = coco failed.
  virtual Result<int> run(const engine::RunSpec& spec) = 0;
  virtual std::string_view name() const = 0;
};

// What only the podman and docker backends use.
struct BackendOptions {
  std::string containerImage;            // COCO_IMAGE; empty = kDefaultContainerImage
  std::vector<std::string> podmanArgs;   // the config's podman_args
  // Native only: `coco run --learn` records the sandbox's lookups and connections here.
  std::shared_ptr<net::TrafficLog> traffic;
};

inline constexpr std::string_view kDefaultContainerImage = "localhost/coco:latest";
inline constexpr std::string_view kAllowedRuntimes = "native, podman, docker";

// COCO_RUNTIME's value as a runtime's name: "native" (also for empty), "podman" or "docker".
Result<std::string> runtimeName(std::string_view value);

// name is COCO_RUNTIME: "native" (also empty), "podman" or "docker".
Result<std::unique_ptr<Backend>> makeBackend(std::string_view name, const BackendOptions& options = {});

}  // namespace coco::backend
