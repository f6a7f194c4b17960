// Byte sizes as people write them: "512 MiB", "1.5 GiB".
#pragma once

#include <cstdint>
#include <string>

namespace coco {

// Binary units: "2 GiB" when exact, else one decimal ("1.5 GiB"); "512 B" below 1 KiB.
std::string formatSize(uint64_t bytes);

}  // namespace coco
