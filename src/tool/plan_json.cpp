// The --dry-run plan as JSON: what a run would see, with variable names but no values.
#include <nlohmann/json.hpp>

#include "engine/landlock.hpp"
#include "tool/plan.hpp"

namespace coco::tool {

namespace {

nlohmann::ordered_json mountsJson(const std::vector<engine::BindMount>& mounts) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& m : mounts) out.push_back({{"src", m.src}, {"dst", m.dst}, {"mode", m.readOnly ? "ro" : "rw"}});
  return out;
}

// Bytes and counts as numbers, 0 meaning no limit, so scripts can compare them.
nlohmann::ordered_json limitsJson(const engine::Limits& l) {
  return {{"memory_bytes", l.memoryBytes},
          {"pids", l.pids},
          {"cpus", static_cast<double>(l.cpuMillis) / 1000},
          {"tmpfs_bytes", l.tmpfsBytes}};
}

nlohmann::ordered_json portsJson(const std::vector<PublishedPort>& ports) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& p : ports)
    out.push_back({{"host_addr", p.hostAddr}, {"host_port", p.hostPort}, {"container_port", p.containerPort}});
  return out;
}

// What Landlock would enforce beneath the mounts; abi 0: nothing.
nlohmann::ordered_json landlockJson(const engine::RunSpec& spec, int abi) {
  engine::LandlockPlan plan = engine::planLandlock(spec, abi);
  return {{"abi", plan.abi}, {"scoped", engine::landlockScopes(plan)}, {"rules", engine::describeLandlock(plan)}};
}

}  // namespace

std::string planToJson(const engine::RunSpec& spec, const std::string& imageReference, int landlockAbi) {
  // Keys in a fixed, readable order (ordered_json). Values may be secrets (API keys passed through); the names are enough to audit.
  auto envNames = nlohmann::ordered_json::array();
  for (const auto& kv : spec.env) envNames.push_back(kv.first);
  nlohmann::ordered_json plan = {
      {"tool", spec.toolName},
      {"image", imageReference},
      {"layers", spec.layers},
      {"mounts", mountsJson(spec.mounts)},
      {"env", envNames},
      {"network", networkModeName(spec.network)},
      {"allowed_hosts", spec.allowedHosts},
      {"ports", portsJson(spec.ports)},
      {"workdir", spec.workdir},
      {"argv", spec.argv},
      {"seccomp", spec.seccompProfile.empty() ? std::string("unconfined") : spec.seccompProfile},
      {"workspace_guard", spec.guard.enabled},
      {"workspace_guard_git", spec.guard.gitWrite ? "write" : "read"},
      {"landlock", landlockJson(spec, landlockAbi)},
      {"limits", limitsJson(spec.limits)},
  };
  // Arguments are bytes, not necessarily UTF-8; replace rather than throw.
  return plan.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace coco::tool
