// Ending a run without paying for its frees.
//
// A sandbox's init is a copy-on-write fork of coco, so every heap page coco
// writes after the clone costs a page fault, and freeing what a run built
// (the plan, the network session, the spec) writes to many. Once the sandbox
// has exited and coco only has its exit code and messages left to give,
// skipping those frees took 0.1-0.5 ms off sandbox-exited -> exit here
// (bench/startup --trace). Destructors still run: files are closed and
// removed, threads joined; only the memory is left for the exit to drop.
#pragma once

namespace coco::exit_alloc {

// From here on, C++ deallocations return nothing to the allocator. There is
// no way back: call it only when the process exits after what is left.
void stopFreeing();

// False once stopFreeing ran (always true in sanitizer builds, where the
// sanitizer's own operator delete stays).
bool freeing();

}  // namespace coco::exit_alloc
