// Pulling from an OCI distribution registry over libcurl (token auth, manifest lists).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "image/progress.hpp"
#include "image/reference.hpp"
#include "image/storage.hpp"
#include "util/result.hpp"

namespace coco::image {

// Pulls `ref` (a Registry reference) into the store and records it under
// ref.canonical(). Hold store.lock().
Result<ImageRecord> pullImage(const Storage& store, const Reference& ref, const ProgressFn& progress);

// The parts of a WWW-Authenticate header coco uses.
struct AuthChallenge {
  std::string scheme;  // "bearer" or "basic", lowercased
  std::string realm, service, scope;
};
Result<AuthChallenge> parseChallenge(std::string_view header);

// The bearer token of a token endpoint's JSON reply ("token", else "access_token").
Result<std::string> parseTokenResponse(const std::string& body);

// ": CODE MESSAGE" of a registry's JSON error body, "" when it has none.
std::string registryErrorMessage(const std::string& body);

// The "auth" value (base64 user:password) for a registry from, in order:
// $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
// ~/.config/containers/auth.json, ~/.docker/config.json.
std::optional<std::string> findCredentials(const std::string& registry);

// Plain HTTP is allowed only for loopback registries and those listed (comma or
// space separated host[:port]) in COCO_INSECURE_REGISTRIES.
bool allowPlainHttp(const std::string& registry);

}  // namespace coco::image
