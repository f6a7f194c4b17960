// OCI / Docker v2 manifests, indexes and image configs: parsing and platform choice.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace coco::image {

inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

struct Descriptor {
  std::string mediaType;
  std::string digest;
  int64_t size = -1;  // -1: unknown
  std::string os, architecture, variant;  // index entries only
  std::string refName;                    // org.opencontainers.image.ref.name
};

struct Manifest {
  Descriptor config;
  std::vector<Descriptor> layers;  // bottom first
};

struct ImageConfig {
  std::vector<std::pair<std::string, std::string>> env;
  std::string workdir, user;
  std::vector<std::string> entrypoint, cmd;
  std::string os, architecture;
};

bool isIndex(const std::string& mediaType);
// The media type of a manifest body: its mediaType field, else guessed from its keys.
Result<std::string> manifestKind(const std::string& body);
Result<std::vector<Descriptor>> parseIndex(const std::string& body);
Result<Manifest> parseManifest(const std::string& body);
Result<ImageConfig> parseConfig(const std::string& body);

// GOARCH spelling of the machine coco runs on ("amd64", "arm64", ...).
std::string hostArchitecture();
// The linux/<host arch> entry of an index (arm variants: the first listed).
Result<Descriptor> pickPlatform(const std::vector<Descriptor>& entries);

}  // namespace coco::image
