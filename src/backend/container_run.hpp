// One `podman run` / `docker run` from start to removal: its name, its private env file, the
// watchdog that removes the container when coco dies, and signals forwarded while it runs.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace coco::engine {
class WorkspaceGuard;
}

namespace coco::backend {

// "coco-TOOL-RANDOM": a name the runtime accepts ([a-zA-Z0-9][a-zA-Z0-9_.-]*), so coco can stop
// and remove exactly its own container. Characters the runtime refuses become '-'.
std::string containerName(const std::string& tool, const std::string& random);

// The env file's text, one NAME=value a line. A value with a newline (or a name a line cannot
// hold) cannot be written there and is refused: passing it on the command line would show it in
// /proc/PID/cmdline to every user of the host.
Result<std::string> envFileContent(const std::vector<std::pair<std::string, std::string>>& env);

// A file of mode 0600 in `dir` (made 0700 when missing), removed on destruction.
class PrivateFile {
 public:
  static Result<PrivateFile> create(const std::string& dir, const std::string& content);
  PrivateFile(PrivateFile&& other) noexcept : path_(std::exchange(other.path_, "")) {}
  PrivateFile& operator=(PrivateFile&&) = delete;
  ~PrivateFile();
  const std::string& path() const { return path_; }

 private:
  explicit PrivateFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

struct ContainerRun {
  std::vector<std::string> args;            // the full `RUNTIME run ...` vector
  std::string runtime;                      // "podman" or "docker"
  std::string name;                         // the container's --name
  std::string envFile;                      // removed by the watchdog too when coco dies
  engine::WorkspaceGuard* guard = nullptr;  // watched during the run, checked after it
};

// Runs the container and returns its exit status (shell convention). While it runs, SIGTERM,
// SIGHUP and a SIGINT sent to coco (not the terminal's, which reaches the runtime directly) are
// forwarded to the runtime, which passes them to the container's init; a container still there
// kStopGraceSeconds later is removed (`RUNTIME rm -f`). A watchdog process removes it when coco
// dies without cleaning up (SIGKILL, a crash).
Result<int> runContainer(const ContainerRun& run);

inline constexpr int kStopGraceSeconds = 10;

}  // namespace coco::backend
