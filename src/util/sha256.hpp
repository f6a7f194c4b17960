// SHA-256 for small inputs (the config hash) without loading libcrypto, whose
// start-up (providers, configuration) costs every run about a millisecond.
// Image blobs are hashed with libcrypto (image/digest.hpp), which is faster on
// large data and loaded only when an image is pulled.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace coco {

// FIPS 180-4 SHA-256 of `data`, as 64 lowercase hex digits.
std::string sha256Hex(std::string_view data);

}  // namespace coco
