// coco's descriptor limit: raised to the hard limit for coco itself, the one it was started with
// kept for the programs it runs.
#pragma once

#include <cstdint>

namespace coco {

// Raises the soft RLIMIT_NOFILE to the hard limit (as podman and systemd do for themselves) and
// remembers the soft limit coco was started with. Call once, early in main: the workspace guard
// and the network gateway hold descriptors for what a tool does, and a tool must not be able to
// make coco run out of them at the default soft limit of 1024.
void raiseFdLimit();

// The soft limit coco was started with (the current one when raiseFdLimit has not run): what a
// sandboxed tool gets, as it would outside coco.
uint64_t startingFdLimit();

}  // namespace coco
