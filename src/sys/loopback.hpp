// Bringing up a network namespace's loopback interface.
#pragma once

namespace coco::sys {

// Sets lo up in the calling thread's network namespace; returns its interface
// index, or -errno. Allocation-free: it runs in the sandbox between clone and execve.
int bringLoopbackUp();

}  // namespace coco::sys
