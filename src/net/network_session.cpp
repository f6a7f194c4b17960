// Maps a RunSpec's network onto a gateway and the engine's hooks.
#include "net/network_session.hpp"

namespace coco::net {

namespace {

// Runs in the sandbox's pid 1 between clone and exec: no allocation.
int setupHook(const void* plan, int channelFd, const char** failedStep) {
  uint32_t step = kStepNone;
  int err = sandboxNetSetup(*static_cast<const SandboxNetPlan*>(plan), channelFd, &step);
  if (err != 0) *failedStep = setupStepName(step);
  return err;
}

}  // namespace

Result<std::unique_ptr<NetworkSession>> NetworkSession::create(const engine::RunSpec& spec,
                                                                bool allowLocalDestinations,
                                                                const std::string& upstream,
                                                                std::shared_ptr<TrafficLog> traffic) {
  std::unique_ptr<NetworkSession> s(new NetworkSession());
  if (spec.network == NetworkMode::Host) return s;
  NetworkMode mode = spec.network;
  if (mode == NetworkMode::None && spec.ports.empty()) return s;
  GatewayConfig config;
  config.mode = mode;
  config.allowedHosts = spec.allowedHosts;
  config.derivedHosts = spec.derivedHosts;
  config.toolName = spec.toolName;
  config.installPhase = spec.installPhase;
  config.upstream = upstream;
  config.allowLocalDestinations = allowLocalDestinations;
  config.ports = spec.ports;
  config.traffic = std::move(traffic);
  auto gw = Gateway::create(std::move(config));
  if (!gw) return std::move(gw).error().wrap("preparing the network gateway");
  s->gateway_ = std::move(*gw);
  s->plan_.mode = mode;
  s->hooks_.setup = setupHook;
  s->hooks_.plan = &s->plan_;
  s->hooks_.serve = sandboxServeSocketRequest;
  Gateway* g = s->gateway_.get();
  s->hooks_.prepare = [g] { return g->preparePolicy(); };
  // The event thread starts at the sandbox's first use of its network (engine.hpp).
  s->hooks_.start = [g](UniqueFd channel) { return g->start(std::move(channel), true); };
  s->hooks_.pendingFd = [g] { return g->pendingFd(); };
  s->hooks_.resume = [g] { return g->resume(); };
  s->hooks_.stop = [g] { g->stop(); };
  s->hooks_.capture = mode != NetworkMode::None;
  s->hooks_.offerSpare = [g](int netns, std::vector<UniqueFd> listeners) {
    return g->offerSpare(netns, std::move(listeners));
  };
  s->hooks_.useSpare = [g](bool used) { g->useSpare(used); };
  if (mode != NetworkMode::None) s->hooks_.resolvConf = kSandboxResolvConf;
  s->active_ = true;
  return s;
}

std::vector<uint16_t> NetworkSession::publishedPorts() const {
  return gateway_ ? gateway_->publishedPorts() : std::vector<uint16_t>{};
}

}  // namespace coco::net
