// Start-up trace points: a monotonic timestamp per step, compiled in only with `meson -Dtrace=true`.
#pragma once

#include "coco_config.h"

namespace coco::trace {

#if COCO_TRACE
// Writes "coco-trace NAME MICROSECONDS\n" (CLOCK_MONOTONIC, the same clock in
// every process of a run) to a copy of the stderr coco started with, taken
// before anything redirects fd 2. Async-signal-safe and allocation-free, so
// it may run between clone and execve. `name` is a string literal.
void point(const char* name);
#else
// Without the option a trace point is nothing at all.
inline void point(const char*) {}
#endif

}  // namespace coco::trace
