// The byte relay between a sandbox connection and its real destination.
#pragma once

#include <cstdint>

namespace coco::net {

struct RelayStats {
  uint64_t aToB = 0;
  uint64_t bToA = 0;
  bool failed = false;  // a read or write failed (reset, ...), not a clean close
};

// Copies a->b and b->a (splice through a pipe where the kernel can, read/write
// otherwise) until both directions have seen EOF. EOF on one side becomes
// shutdown(SHUT_WR) on the other, so half-closed protocols work. A failure in
// either direction shuts both sockets down so the other direction ends too.
// Blocks the caller; the b->a direction runs on a second thread. The caller
// keeps ownership of both fds; shutdown(fd, SHUT_RDWR) from another thread
// ends the relay early.
RelayStats relay(int a, int b);

}  // namespace coco::net
