// The gateway behind the native engine's network hooks.
#include "backend/native_network.hpp"

#include <cstdlib>

namespace coco::backend {

namespace {

int setupTrampoline(const void* plan, int channelFd) {
  return net::sandboxNetSetup(*static_cast<const net::SandboxNetPlan*>(plan), channelFd);
}

net::Mode modeOf(engine::Network network) {
  switch (network) {
    case engine::Network::Full: return net::Mode::Full;
    case engine::Network::Allowlist: return net::Mode::Allowlist;
    default: return net::Mode::None;
  }
}

net::GatewayConfig gatewayConfig(const engine::RunSpec& spec) {
  net::GatewayConfig config;
  config.mode = modeOf(spec.network);
  config.allowedHosts = spec.allowedHosts;
  config.toolName = spec.toolName;
  for (const auto& p : spec.ports) config.ports.push_back({p.hostAddr, p.hostPort, p.containerPort});
  return config;
}

}  // namespace

Result<std::unique_ptr<NativeNetwork>> NativeNetwork::create(const engine::RunSpec& spec) {
  auto network = std::unique_ptr<NativeNetwork>(new NativeNetwork());
  if (spec.network == engine::Network::Host) return network;
  if (spec.network == engine::Network::None && spec.ports.empty()) return network;
  COCO_ASSIGN(network->gateway_, net::Gateway::create(gatewayConfig(spec)));
  network->plan_.mode = modeOf(spec.network);
  engine::NetworkHooks& h = network->hooks_;
  h.setup = setupTrampoline;
  h.plan = &network->plan_;
  h.serve = net::sandboxServeSocketRequest;
  net::Gateway* gw = network->gateway_.get();
  h.start = [gw](UniqueFd channel) { return gw->start(std::move(channel)); };
  h.stop = [gw] { gw->stop(); };
  if (spec.network != engine::Network::None) h.resolvConf = net::kSandboxResolvConf;
  return network;
}

}  // namespace coco::backend
