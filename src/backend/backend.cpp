// Choosing a backend by COCO_RUNTIME; the native one hands the spec to the engine.
#include "backend/backend.hpp"

#include "backend/container_backend.hpp"
#include "engine/engine.hpp"
#include "net/network_session.hpp"
#include "net/unix_forward.hpp"

namespace coco::backend {

namespace {

// A run coco exits after leaves its gateway running: the sandbox is gone (its
// pid 1 reaps every process before it exits), and the process's exit ends the
// gateway's thread and closes its sockets, as stopping it would. Waiting for
// the thread to wake and exit was 0.4 ms of every networked run (bench/startup
// --trace: sandbox-exited -> gateway-stopped). Kept reachable, never leaked: a
// build that runs exit handlers (the sanitizers') stops it there.
void keepUntilExit(std::unique_ptr<net::NetworkSession> session) {
  static std::unique_ptr<net::NetworkSession> kept;
  kept = std::move(session);
}

class NativeBackend : public Backend {
 public:
  explicit NativeBackend(std::shared_ptr<net::TrafficLog> traffic) : traffic_(std::move(traffic)) {}
  Result<int> run(const engine::RunSpec& spec) override {
    COCO_ASSIGN(auto network, net::NetworkSession::create(spec, false, "", traffic_));
    COCO_ASSIGN(auto x11Relay, net::startDisplayRelay(spec.x11Relay));
    auto status = engine::run(spec, network->hooks());
    if (spec.hostSetup.exitsAfter) keepUntilExit(std::move(network));
    return status;
  }
  std::string_view name() const override { return "native"; }

 private:
  std::shared_ptr<net::TrafficLog> traffic_;
};

}  // namespace

Result<std::string> runtimeName(std::string_view value) {
  if (value.empty() || value == "native") return std::string("native");
  if (value == "podman" || value == "docker") return std::string(value);
  return Error::make("unknown runtime '{}' in COCO_RUNTIME (allowed: {})", value, kAllowedRuntimes)
      .withKind(ErrorKind::EnvVar, "COCO_RUNTIME");
}

Result<std::unique_ptr<Backend>> makeBackend(std::string_view value, const BackendOptions& options) {
  COCO_ASSIGN(std::string name, runtimeName(value));
  if (name == "native") return std::unique_ptr<Backend>(std::make_unique<NativeBackend>(options.traffic));
  return std::unique_ptr<Backend>(std::make_unique<ContainerBackend>(name, options));
}

}  // namespace coco::backend
