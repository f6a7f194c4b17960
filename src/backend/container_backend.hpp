// The podman and docker backends: the same RunSpec as `podman run` arguments.
#pragma once

#include "backend/backend.hpp"

namespace coco::backend {

struct ContainerArgsInput {
  std::string runtime;  // "podman" or "docker": the program to run
  std::string image;
  std::vector<std::string> extraArgs;
  bool tty = false;     // stdin and stdout are terminals
};

// The full argument vector, argv[0] included. Fails for what a container runtime
// cannot express faithfully (an allowlist network, a path with ':' for -v).
Result<std::vector<std::string>> buildContainerArgs(const engine::RunSpec& spec, const ContainerArgsInput& input);

class ContainerBackend : public Backend {
 public:
  ContainerBackend(std::string runtime, BackendOptions options);
  Result<int> run(const engine::RunSpec& spec) override;
  std::string_view name() const override { return runtime_; }

 private:
  std::string runtime_;
  BackendOptions options_;
};

// Spawns argv (searched in PATH), waits, and returns its status in shell convention.
Result<int> spawnAndWait(const std::vector<std::string>& argv);

}  // namespace coco::backend
