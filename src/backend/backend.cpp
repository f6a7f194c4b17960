// Choosing a backend by COCO_RUNTIME; the native one hands the spec to the engine.
#include "backend/backend.hpp"

#include "backend/container_backend.hpp"
#include "engine/engine.hpp"
#include "net/network_session.hpp"
#include "net/unix_forward.hpp"

namespace coco::backend {

namespace {

class NativeBackend : public Backend {
 public:
  explicit NativeBackend(std::shared_ptr<net::TrafficLog> traffic) : traffic_(std::move(traffic)) {}
  Result<int> run(const engine::RunSpec& spec) override {
    COCO_ASSIGN(auto network, net::NetworkSession::create(spec, false, "", traffic_));
    COCO_ASSIGN(auto x11Relay, net::startDisplayRelay(spec.x11Relay));
    return engine::run(spec, network->hooks());
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
