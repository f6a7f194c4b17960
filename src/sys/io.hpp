// Whole-buffer reads and writes on a descriptor, retried across EINTR and short transfers.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace coco::sys {

// These allocate nothing and keep errno-style results (0 or -errno), so the code
// between clone and execve and the net child can use them as well as the parent.

// Writes all `size` bytes with write(2). 0, or -errno (-EIO if write returned 0).
int writeAll(int fd, const void* data, size_t size);

// writeAll with send(MSG_NOSIGNAL): a socket whose peer went away gives -EPIPE
// instead of killing the process with SIGPIPE.
int sendAll(int fd, const void* data, size_t size);

// Reads exactly `size` bytes. 0, -errno, or -ENODATA at end of file before `size` bytes.
int readExact(int fd, void* data, size_t size);

}  // namespace coco::sys
