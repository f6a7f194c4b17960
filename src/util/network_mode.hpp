// The network a sandbox gets: one type from the tool config through the RunSpec to the gateway.
#pragma once

#include <cstdint>

namespace coco {

enum class NetworkMode : uint8_t {
  None,       // loopback only
  Full,       // all outbound, through the gateway (a config without `network` and allowed_hosts)
  Allowlist,  // the config's allowed_hosts only, through the gateway
  Host,       // the host's network namespace: no sandbox side, no gateway
};

// "none", "full", "allowlist", "host": as config hashes, plans and logs name it.
constexpr const char* networkModeName(NetworkMode mode) {
  switch (mode) {
    case NetworkMode::None: return "none";
    case NetworkMode::Full: return "full";
    case NetworkMode::Allowlist: return "allowlist";
    case NetworkMode::Host: return "host";
  }
  return "full";
}

}  // namespace coco
