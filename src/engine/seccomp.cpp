// Placeholder until the profile compiler lands.
#include "engine/seccomp.hpp"

namespace coco::engine {

Result<SeccompProgram> compileProfile(const std::string& path) {
  return Error::make("seccomp profile {}: compiler not implemented", path);
}

}  // namespace coco::engine
