// Placeholder until the engine lands.
#include "engine/engine.hpp"

namespace coco::engine {

Result<int> run(const RunSpec&) { return Error::make("the native engine is not implemented yet"); }

}  // namespace coco::engine
