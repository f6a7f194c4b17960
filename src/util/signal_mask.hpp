// Which signals this process ignores, in one read of the kernel's own mask.
#pragma once

#include <cstdint>

namespace coco {

// The signals ignored now, bit N-1 for signal N, SIGCHLD included: /proc/self/status's SigIgn,
// one read (61 sigaction calls took 7 times as long, 60 against 8 us on a loaded 2-core
// machine; glibc answers for its own two real-time signals without a call); one sigaction call per
// signal where /proc cannot be read.
uint64_t ignoredSignalMask();

}  // namespace coco
