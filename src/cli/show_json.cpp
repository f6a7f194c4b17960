// A tool config's grants as JSON, for scripts that check what a tool may touch.
#include "cli/show_json.hpp"

#include <nlohmann/json.hpp>

#include "config/paths.hpp"
#include "util/host_port.hpp"
#include "util/network_mode.hpp"

namespace coco::cli {

std::string configToJson(const config::ToolConfig& c, const ShowContext& ctx) {
  using json = nlohmann::ordered_json;
  json mounts = json::array();
  for (const auto& m : c.mounts)
    mounts.push_back({{"src", config::expandSource(m.src, ctx.cwd, ctx.home)},
                      {"written", m.src},
                      {"dst", m.dst},
                      {"read_only", m.readOnly}});
  json ports = json::array();
  for (const auto& p : c.ports)
    ports.push_back(
        {{"host_addr", p.hostAddr}, {"host_port", p.hostPort}, {"container_port", p.containerPort}});
  json env = json::array();  // names only: values may be meant for the tool's eyes
  for (const auto& kv : c.env) env.push_back(kv.first);
  json out = {
      {"name", c.name},
      {"config", c.path},
      {"tool", c.tool ? json(*c.tool) : json(nullptr)},
      {"command", c.command},
      {"workdir", c.workdir},
      {"network", networkModeName(c.network)},
      {"allowed_hosts", c.allowedHosts},
      {"mounts", std::move(mounts)},
      {"env_passthrough", c.envPassthrough},
      {"sets_env", std::move(env)},
      {"ports", std::move(ports)},
      {"x11", c.x11},
      {"seccomp", c.seccomp},
      {"workspace_guard", c.workspaceGuard ? json(c.guardGitWrite ? "git-write" : "git-read") : json(false)},
      {"caches", c.caches},
      {"isolated", c.isolated}};
  if (ctx.install) {
    out["install_hosts"] = {{"configured", c.installHosts},
                            {"derived", ctx.install->derived},
                            {"unknown_managers", ctx.install->unknown},
                            {"error", ctx.install->error}};
  }
  // Where a run with a network gets the host's CA bundle (`network: none`: only a widened one).
  CaBundleView ca = caBundleView(c, ctx);
  out["ca_bundle"] = ca.host.empty() ? json(nullptr)
                                     : json{{"host", ca.host},
                                            {"at", ca.at.empty() ? json(nullptr) : json(ca.at)},
                                            {"refused", ca.error.empty() ? json(nullptr) : json(ca.error)},
                                            {"only_widened", c.network == NetworkMode::None}};
  out["warnings"] = sandboxWarnings(c, ctx);
  return out.dump(2) + "\n";
}

}  // namespace coco::cli
