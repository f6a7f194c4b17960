// Canonical serialisation of a ToolConfig and its sha256.
#include "config/config_hash.hpp"

#include "util/sha256.hpp"

#include <fmt/format.h>

namespace coco::config {
namespace {

// Bump when the meaning of a field changes, so old tool layers are rebuilt.
constexpr std::string_view kVersion = "coco-config-1";

void put(std::string& out, std::string_view key, std::string_view value) {
  fmt::format_to(std::back_inserter(out), "{} {}:{}\n", key, value.size(), value);
}

void putList(std::string& out, std::string_view key, const std::vector<std::string>& items) {
  fmt::format_to(std::back_inserter(out), "{} #{}\n", key, items.size());
  for (const std::string& item : items) put(out, "-", item);
}

void putMountsAndPorts(std::string& out, const ToolConfig& c) {
  fmt::format_to(std::back_inserter(out), "mounts #{}\n", c.mounts.size());
  for (const MountConfig& m : c.mounts) {
    put(out, "src", m.src);
    put(out, "dst", m.dst);
    put(out, "ro", m.readOnly ? "1" : "0");
  }
  fmt::format_to(std::back_inserter(out), "ports #{}\n", c.ports.size());
  for (const PublishedPort& p : c.ports)
    put(out, "port", fmt::format("{}|{}|{}", p.hostAddr, p.hostPort, p.containerPort));
}

std::string sizeText(const std::optional<SizeLimit>& size) {
  if (!size) return "";
  if (size->unlimited) return "unlimited";
  return size->percent ? fmt::format("{}%", size->percent) : fmt::format("{}", size->bytes);
}

template <typename T>
std::string countText(const std::optional<T>& value) {
  return value ? fmt::format("{}", *value) : "";
}

// `limits` bound the install as well as the runs (an install that stopped at
// them is not the same install). Written only when the config has the key, so
// the hashes of configs without it, and their installed layers, stay as they were.
void putLimits(std::string& out, const LimitsConfig& l) {
  if (!l.memory && !l.pids && !l.cpuMillis && !l.tmpfs) return;
  out += "limits\n";
  put(out, "memory", sizeText(l.memory));
  put(out, "pids", countText(l.pids));
  put(out, "cpu_millis", countText(l.cpuMillis));
  put(out, "tmpfs", sizeText(l.tmpfs));
}

// Keys added after the first hashes (`install_hosts`, `check`, `caches`, `allow_home`, a mount's z/Z):
// written only when the config has them, so other configs keep their hashes and layers.
void putLaterKeys(std::string& out, const ToolConfig& c) {
  if (!c.installHosts.empty()) putList(out, "install_hosts", c.installHosts);
  if (c.check) putList(out, "check", *c.check);
  if (!c.caches.empty()) putList(out, "caches", c.caches);
  if (c.allowHome) put(out, "allow_home", "1");
  std::vector<std::string> relabels;
  for (const MountConfig& m : c.mounts)
    if (!m.relabel.empty()) relabels.push_back(m.dst + "=" + m.relabel);
  if (!relabels.empty()) putList(out, "mount_relabel", relabels);
}

}  // namespace

std::string canonicalForm(const ToolConfig& c) {
  std::string out;
  put(out, "version", kVersion);
  put(out, "name", c.name);
  put(out, "tool", c.tool ? "+" + *c.tool : "-");
  put(out, "command", c.command);
  putMountsAndPorts(out, c);
  fmt::format_to(std::back_inserter(out), "env #{}\n", c.env.size());
  for (const auto& [k, v] : c.env) put(out, k, v);
  putList(out, "env_passthrough", c.envPassthrough);
  putList(out, "apt", c.aptDependencies);
  putList(out, "mise", c.miseDependencies);
  put(out, "workdir", c.workdir);
  put(out, "network", networkModeName(c.network));
  putList(out, "allowed_hosts", c.allowedHosts);
  put(out, "isolated", c.isolated ? "1" : "0");
  put(out, "x11", c.x11 ? "1" : "0");
  putList(out, "podman_args", c.podmanArgs);
  put(out, "seccomp", c.seccomp);
  // "1"/"0" as before git access was configurable, so existing hashes stay the same.
  put(out, "workspace_guard", !c.workspaceGuard ? "0" : c.guardGitWrite ? "git-write" : "1");
  putLimits(out, c.limits);
  putLaterKeys(out, c);
  return out;
}

std::string configHash(const ToolConfig& config) { return sha256Hex(canonicalForm(config)); }

}  // namespace coco::config
