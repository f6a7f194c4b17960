// Reading what mise prints: `mise ls --json` and `mise env --json`, written by an install sandbox.
#include "tool/mise_output.hpp"

#include <nlohmann/json.hpp>

namespace coco::tool {

namespace {

// The key `mise ls --json` files a spec under: the spec without "[options]" and "@version"
// (a scoped npm package's leading '@' is part of the name).
std::string miseKey(const std::string& spec) {
  size_t colon = spec.find(':');
  size_t nameStart = colon == std::string::npos ? 0 : colon + 1;
  if (nameStart < spec.size() && spec[nameStart] == '@') ++nameStart;
  size_t end = spec.find_first_of("@[", nameStart);  // "[options]" are not part of it either
  return end == std::string::npos ? spec : spec.substr(0, end);
}

}  // namespace

std::string installedVersion(const std::string& lsJson, const std::string& spec) {
  auto j = nlohmann::json::parse(lsJson, nullptr, false);
  auto it = j.is_object() ? j.find(miseKey(spec)) : j.end();
  if (it == j.end() || !it->is_array()) return {};
  for (const auto& entry : *it) {
    if (!entry.is_object()) continue;
    auto v = entry.find("version");
    auto active = entry.find("active");
    bool isActive = active == entry.end() || (active->is_boolean() && active->get<bool>());
    if (v != entry.end() && v->is_string() && isActive) return v->get<std::string>();
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> miseEnv(const std::string& envJson) {
  std::vector<std::pair<std::string, std::string>> env;
  auto j = nlohmann::json::parse(envJson, nullptr, false);
  if (!j.is_object()) return env;
  for (const auto& [k, v] : j.items())
    if (v.is_string()) env.emplace_back(k, v.get<std::string>());
  return env;
}

}  // namespace coco::tool
