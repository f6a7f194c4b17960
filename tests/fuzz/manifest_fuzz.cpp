// JSON and headers from registries, archives and sandboxes: manifests, indexes,
// image configs, auth challenges, token and error bodies, docker-archive
// manifests, image records, tool layer records and mise's output. Every input
// goes through every parser; numbers are integers in range, names stay confined.
#include <climits>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "image/local.hpp"
#include "image/manifest.hpp"
#include "image/reference.hpp"
#include "image/registry.hpp"
#include "image/storage.hpp"
#include "tool/tool_layer.hpp"
#include "tool/mise_output.hpp"

namespace {

using namespace coco;
using namespace coco::image;

void checkDescriptor(const Descriptor& d) {
  FUZZ_CHECK(isSha256Digest(d.digest), d.digest);
  FUZZ_CHECK(d.size >= -1, d.digest);
}

bool confined(const std::string& p) {
  return !p.empty() && p.front() != '/' && ("/" + p + "/").find("/../") == std::string::npos;
}

void registryBodies(const std::string& body) {
  if (auto kind = manifestKind(body)) {
    auto version = nlohmann::json::parse(body).at("schemaVersion");
    FUZZ_CHECK(version.is_number_integer() && version.get<int64_t>() == 2, version.dump());
  }
  if (auto index = parseIndex(body)) {
    for (const auto& d : *index) checkDescriptor(d);
    if (auto chosen = pickPlatform(*index)) FUZZ_CHECK(chosen->os == "linux", chosen->os);
  }
  if (auto m = parseManifest(body)) {
    checkDescriptor(m->config);
    for (const auto& l : m->layers) checkDescriptor(l);
  }
  if (auto c = parseConfig(body))
    for (const auto& [k, v] : c->env) FUZZ_CHECK(k.find('=') == std::string::npos, k);
  (void)parseTokenResponse(body);
  std::string message = registryErrorMessage(body);
  FUZZ_CHECK(message.empty() || message.starts_with(": "), message);
  (void)parseChallenge(body);
}

void localRecords(const std::string& body) {
  if (auto m = parseDockerArchiveManifest(body)) {
    FUZZ_CHECK(confined(m->config), m->config);
    for (const auto& l : m->layers) FUZZ_CHECK(confined(l), l);
  }
  if (auto r = recordFromJson(body)) {
    for (const auto& l : r->layers) FUZZ_CHECK(isSha256Digest(l), l);
    FUZZ_CHECK(r->size <= static_cast<uint64_t>(INT64_MAX), body);
  }
  if (auto layer = tool::layerFromJson(body)) {
    FUZZ_CHECK(!layer->hash.empty() && !layer->base.empty(), body);
    auto again = tool::layerFromJson(tool::layerToJson(*layer));
    FUZZ_CHECK(again && again->env == layer->env && again->version == layer->version, body);
  }
  (void)tool::installedVersion(body, "npm:@scope/pkg@1");
  (void)tool::installedVersion(body, "npm:eslint");
  for (const auto& [k, v] : tool::miseEnv(body)) (void)k, (void)v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  registryBodies(body);
  localRecords(body);
  return 0;
}
