// Integers read from untrusted JSON (manifests, image records).
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

namespace coco::image {

// The value when it is a JSON integer in [min, max]. nlohmann's get<int>()
// casts a float (1e300, or a number too large for 64 bits) to the integer
// type, which is undefined behaviour, and turns 2.5 into 2.
inline std::optional<int64_t> jsonInteger(const nlohmann::json& v, int64_t min, int64_t max) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (max < 0 || u > static_cast<uint64_t>(max) || static_cast<int64_t>(u) < min) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i < min || i > max) return std::nullopt;
    return i;
  }
  return std::nullopt;
}

}  // namespace coco::image
