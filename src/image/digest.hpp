// SHA-256 digests (OCI "sha256:<hex>") over libcrypto, streamed or of a whole file.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace coco::image {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // "sha256:<64 hex>"; the hasher is spent afterwards.
  std::string finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256Digest(std::string_view data);
Result<std::string> sha256File(const std::string& path);

// "sha256:abc..." -> "abc..."; the caller has checked the digest's form.
inline std::string digestHex(std::string_view digest) {
  auto colon = digest.find(':');
  return std::string(colon == std::string_view::npos ? digest : digest.substr(colon + 1));
}

}  // namespace coco::image
