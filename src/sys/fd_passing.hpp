// Passing descriptors over a unix socket (SCM_RIGHTS).
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace coco::sys {

// At most this many descriptors ride on one message.
inline constexpr size_t kMaxPassedFds = 8;

// Nothing here allocates: the sandbox's init and the net child use it between
// clone and execve. Results are errno-style (-errno on failure).

// Sends `size` bytes (at least one: a message without data carries no fds on a
// stream socket) and `count` descriptors (0..kMaxPassedFds). 0 or -errno.
int sendFds(int sock, const void* data, size_t size, const int* fds, size_t count);

// Receives one message of at most `size` bytes and up to `maxFds` descriptors
// (O_CLOEXEC), stored in fds[0..*received). Returns the bytes received (0: the
// peer closed) or -errno; -EMSGSIZE when the data or the descriptors did not
// fit. *received is set in every case, so the caller owns whatever arrived.
ssize_t recvFds(int sock, void* data, size_t size, int* fds, size_t maxFds, size_t* received, int flags = 0);

// One descriptor on a one-byte message. 0 or -errno.
int sendFd(int sock, int fd);
// The descriptor sent by sendFd, or -errno (-EBADMSG when the message had none).
int recvFd(int sock);

}  // namespace coco::sys
