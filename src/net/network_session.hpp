// NetworkSession: what one native run needs from net/, built from a RunSpec:
// the gateway (created before clone) and the engine::NetworkHooks that plug
// its two halves into the engine.
#pragma once

#include <memory>

#include "engine/engine.hpp"
#include "engine/run_spec.hpp"
#include "net/gateway.hpp"
#include "net/sandbox_side.hpp"
#include "util/result.hpp"

namespace coco::net {

class NetworkSession {
 public:
  // Binds the published ports and picks the upstream resolver now, so errors
  // come before clone. upstream: "" = $COCO_DNS_UPSTREAM, else /etc/resolv.conf.
  // traffic: where the gateway records lookups and connections (learn mode).
  static Result<std::unique_ptr<NetworkSession>> create(const engine::RunSpec& spec,
                                                         bool allowLocalDestinations = false,
                                                         const std::string& upstream = "",
                                                         std::shared_ptr<TrafficLog> traffic = nullptr);

  // What to pass to engine::run(); null when the engine needs no network
  // layer (host mode, or none without published ports).
  const engine::NetworkHooks* hooks() const { return active_ ? &hooks_ : nullptr; }

  // The bound host port of each spec.ports entry (a hostPort of 0 picks one).
  std::vector<uint16_t> publishedPorts() const;

 private:
  NetworkSession() = default;

  SandboxNetPlan plan_;
  std::unique_ptr<Gateway> gateway_;
  engine::NetworkHooks hooks_;
  bool active_ = false;
};

}  // namespace coco::net
