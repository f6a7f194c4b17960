// Exit codes, like podman's: 125 is coco's own failure, 126/127 the command's.
#pragma once

#include "util/result.hpp"

namespace coco::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitCocoError = 125;  // bad config, no such tool, sandbox setup failed
// 126 (the command exists but cannot run) and 127 (the command is not in the
// sandbox) are set by the sandbox's init (engine/process.cpp), not here.

// A run's result as coco's exit code: an Error is coco's failure (125); a status
// is passed through (0-255, 128+N for signal N); anything out of range is coco's.
int exitCodeFor(const Result<int>& status);

}  // namespace coco::cli
