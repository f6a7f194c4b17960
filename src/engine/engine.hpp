// The native sandbox: one call that builds it, runs the command and tears it down.
#pragma once

#include "engine/run_spec.hpp"
#include "util/result.hpp"

namespace coco::engine {

// Runs spec.argv in a new sandbox and waits for it. Returns the command's exit
// status as a shell reports it (0-255; 128+N when it died of signal N;
// 126 not executable, 127 not found). An Error means coco itself failed.
Result<int> run(const RunSpec& spec);

}  // namespace coco::engine
