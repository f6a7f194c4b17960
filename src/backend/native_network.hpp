// Connects the native engine to the network gateway: the engine's hooks built
// from a RunSpec, with the gateway living in this (coco's) process.
#pragma once

#include <memory>

#include "engine/engine.hpp"
#include "engine/run_spec.hpp"
#include "net/gateway.hpp"
#include "util/result.hpp"

namespace coco::backend {

// Owns the gateway and the plan the sandbox side reads; keep it alive for the
// whole engine::run.
class NativeNetwork {
 public:
  // Returns null hooks (loopback only) when the spec needs no gateway.
  static Result<std::unique_ptr<NativeNetwork>> create(const engine::RunSpec& spec);
  const engine::NetworkHooks* hooks() const { return gateway_ ? &hooks_ : nullptr; }

 private:
  net::SandboxNetPlan plan_;
  std::unique_ptr<net::Gateway> gateway_;
  engine::NetworkHooks hooks_;
};

}  // namespace coco::backend
