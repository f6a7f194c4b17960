// The podman and docker backends: the same RunSpec as `podman run` arguments.
#pragma once

#include "backend/backend.hpp"

namespace coco::engine {
class WorkspaceGuard;
}

namespace coco::backend {

struct ContainerArgsInput {
  std::string runtime;  // "podman" or "docker": the program to run
  std::string image;
  std::vector<std::string> extraArgs;
  bool tty = false;     // stdin and stdout are terminals
  std::string name;     // --name, so coco can stop and remove its own container ("": none)
  std::string envFile;  // --env-file: the environment, kept off the command line ("": the spec has none)
  // The workspace guard's read-only binds over guarded entries of writable mounts (guardBinds).
  std::vector<engine::BindMount> guardBinds;
  // --network ns:PATH: a namespace coco's gateway serves (ContainerNetwork); "": the mode's own.
  std::string networkNamespace;
};

// The full argument vector, argv[0] included. Fails for what a container runtime
// cannot express faithfully (an allowlist network, a path with ':' for -v, ports with
// network none, an environment without an env file).
Result<std::vector<std::string>> buildContainerArgs(const engine::RunSpec& spec,
                                                    const ContainerArgsInput& input);

class ContainerBackend : public Backend {
 public:
  ContainerBackend(std::string runtime, BackendOptions options);
  Result<int> run(const engine::RunSpec& spec) override;
  std::string_view name() const override { return runtime_; }

 private:
  std::string runtime_;
  BackendOptions options_;
};

// Walks the spec's writable mounts with the native runtime's workspace guard and returns what it
// pins as binds for -v: a guarded entry bound read-only over itself (its host path), a guarded
// symlink covered by `pinFile` (an empty file). The guard then watches and checks the mounts
// around the run, as for a native run.
Result<std::vector<engine::BindMount>> guardBinds(const engine::RunSpec& spec, engine::WorkspaceGuard& guard,
                                                  const std::string& pinFile);

// Spawns argv (searched in PATH), waits, and returns its status in shell convention.
Result<int> spawnAndWait(const std::vector<std::string>& argv);

}  // namespace coco::backend
