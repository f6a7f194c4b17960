// Tool configs (what `coco get` takes from a remote store): parse, canonical
// form, plan, dry-run JSON. Every refusal says PATH:LINE:COL; what the config
// accepts, the gateway accepts (allowed_hosts, published ports).
#include <nlohmann/json.hpp>

#include <cctype>

#include "config/checks.hpp"
#include "config/config_hash.hpp"
#include "config/loader.hpp"
#include "fuzz_support.hpp"
#include "net/allowlist.hpp"
#include "net/resolver.hpp"
#include "tool/plan.hpp"

namespace {

using namespace coco;

// "fuzz.yaml:LINE:COL: message"
bool located(const std::string& message) {
  std::string_view m = message;
  if (!m.starts_with("fuzz.yaml:")) return false;
  m.remove_prefix(10);
  for (int field = 0; field < 2; ++field) {
    size_t digits = 0;
    while (digits < m.size() && std::isdigit(static_cast<unsigned char>(m[digits]))) ++digits;
    if (digits == 0 || digits >= m.size() || m[digits] != ':') return false;
    m.remove_prefix(digits + 1);
  }
  return m.starts_with(' ');
}

void checkGatewayAccepts(const config::ToolConfig& c) {
  auto list = net::Allowlist::parse(c.allowedHosts);
  FUZZ_CHECK(list.ok(), list ? "" : list.error().message());
  for (const auto& host : c.allowedHosts) {
    auto again = config::normalizeHost(host);
    FUZZ_CHECK(again && *again == host, host);
  }
  for (const auto& p : c.ports) {
    FUZZ_CHECK(net::socketEndpoint(p.hostAddr, p.hostPort).ok(), p.hostAddr);
    auto again = parsePublishedPort(formatPublishedPort(p));
    FUZZ_CHECK(again && *again == p, formatPublishedPort(p));
  }
}

constexpr std::string_view kSecret = "s3cr3t-QZX";

// The dry run names variables and never prints a value it was not given in the config.
void checkPlan(const config::ToolConfig& c, std::string_view text) {
  tool::RunContext ctx;
  ctx.cwd = "/work/project";
  ctx.home = "/home/user";
  ctx.hostEnv = {{"TERM", "xterm"}, {"HOME", "/home/user"}, {"API_KEY", std::string(kSecret)}, {"DISPLAY", ":0"}};
  ctx.createSources = false;
  image::Image image;
  image.reference = "docker.io/library/debian:stable-slim";
  auto spec = tool::prepareRun(c, {"--flag", "arg"}, ctx, image);
  if (!spec) return;
  std::string plan = tool::planToJson(*spec, image.reference);
  FUZZ_CHECK(nlohmann::json::parse(plan, nullptr, false).is_object(), plan);
  FUZZ_CHECK(plan.find(kSecret) == std::string::npos || text.find(kSecret) != std::string_view::npos, plan);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = config::parseConfig(text, "fuzz.yaml", "fuzz");
  if (!config) {
    FUZZ_CHECK(located(config.error().message()), config.error().message());
    return 0;
  }
  FUZZ_CHECK(config::configHash(*config) == config->hash, "");
  checkGatewayAccepts(*config);
  checkPlan(*config, text);
  return 0;
}
