// Manifest parsing over nlohmann::json; its exceptions stop at these functions.
#include "image/manifest.hpp"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "image/json_number.hpp"
#include "image/reference.hpp"

namespace coco::image {

namespace {

using json = nlohmann::json;

Result<json> parseJson(const std::string& body, const char* what) {
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    return Error::make("bad {} JSON: {}", what, e.what());
  }
}

Result<Descriptor> descriptorFrom(const json& j) {
  Descriptor d;
  d.mediaType = j.value("mediaType", "");
  d.digest = j.at("digest").get<std::string>();
  if (auto size = j.find("size"); size != j.end()) {
    auto n = jsonInteger(*size, 0, INT64_MAX);
    if (!n) return Error::make("descriptor {}: 'size' is not a whole number of bytes", d.digest);
    d.size = *n;
  }
  if (j.contains("platform")) {
    const auto& p = j.at("platform");
    d.os = p.value("os", "");
    d.architecture = p.value("architecture", "");
    d.variant = p.value("variant", "");
  }
  if (j.contains("annotations")) d.refName = j.at("annotations").value("org.opencontainers.image.ref.name", "");
  if (!isSha256Digest(d.digest)) return Error::make("unsupported or malformed digest '{}'", d.digest);
  return d;
}

std::vector<std::string> stringList(const json& j, const char* key) {
  if (!j.contains(key) || !j.at(key).is_array()) return {};
  return j.at(key).get<std::vector<std::string>>();
}

}  // namespace

bool isIndex(const std::string& mediaType) { return mediaType == kOciIndex || mediaType == kDockerList; }

Result<std::string> manifestKind(const std::string& body) {
  COCO_ASSIGN(json j, parseJson(body, "manifest"));
  try {
    auto version = j.find("schemaVersion");
    if (version == j.end() || jsonInteger(*version, 2, 2) != 2)
      return Error::make("unsupported manifest schema (only schema 2 is)");
    std::string mt = j.value("mediaType", "");
    if (!mt.empty()) return mt;
    return std::string(j.contains("manifests") ? kOciIndex : kOciManifest);
  } catch (const json::exception& e) {
    return Error::make("bad manifest: {}", e.what());
  }
}

Result<std::vector<Descriptor>> parseIndex(const std::string& body) {
  COCO_ASSIGN(json j, parseJson(body, "index"));
  try {
    std::vector<Descriptor> out;
    for (const auto& m : j.at("manifests")) {
      COCO_ASSIGN(auto d, descriptorFrom(m));
      out.push_back(std::move(d));
    }
    return out;
  } catch (const json::exception& e) {
    return Error::make("bad index: {}", e.what());
  }
}

Result<Manifest> parseManifest(const std::string& body) {
  COCO_ASSIGN(json j, parseJson(body, "manifest"));
  try {
    Manifest m;
    COCO_ASSIGN(m.config, descriptorFrom(j.at("config")));
    for (const auto& l : j.at("layers")) {
      COCO_ASSIGN(auto d, descriptorFrom(l));
      m.layers.push_back(std::move(d));
    }
    return m;
  } catch (const json::exception& e) {
    return Error::make("bad manifest: {}", e.what());
  }
}

Result<ImageConfig> parseConfig(const std::string& body) {
  COCO_ASSIGN(json j, parseJson(body, "image config"));
  try {
    ImageConfig c;
    c.os = j.value("os", "");
    c.architecture = j.value("architecture", "");
    if (!j.contains("config") || j.at("config").is_null()) return c;
    const json& cfg = j.at("config");
    for (const auto& kv : stringList(cfg, "Env")) {
      auto eq = kv.find('=');
      if (eq != std::string::npos) c.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    c.workdir = cfg.value("WorkingDir", "");
    c.user = cfg.value("User", "");
    c.entrypoint = stringList(cfg, "Entrypoint");
    c.cmd = stringList(cfg, "Cmd");
    return c;
  } catch (const json::exception& e) {
    return Error::make("bad image config: {}", e.what());
  }
}

std::string hostArchitecture() {
  struct utsname u;
  std::string m = ::uname(&u) == 0 ? u.machine : "x86_64";
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m.rfind("armv", 0) == 0) return "arm";
  if (m == "i686" || m == "i386") return "386";
  return m;  // ppc64le, s390x, riscv64 match already
}

Result<Descriptor> pickPlatform(const std::vector<Descriptor>& entries) {
  std::string arch = hostArchitecture();
  std::string seen;
  for (const auto& d : entries) {
    if (d.os == "linux" && d.architecture == arch) return d;
    if (!d.os.empty()) seen += fmt::format("{}{}/{}", seen.empty() ? "" : ", ", d.os, d.architecture);
  }
  return Error::make("no image for linux/{} in the manifest list (it has: {})", arch, seen.empty() ? "none" : seen);
}

}  // namespace coco::image
