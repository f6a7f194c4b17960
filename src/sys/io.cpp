// Whole-buffer reads and writes on a descriptor.
#include "sys/io.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace coco::sys {

namespace {

template <typename Op>
int transferAll(char* p, size_t size, Op op, int atZero) {
  while (size > 0) {
    ssize_t n = op(p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) return -atZero;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

int writeAll(int fd, const void* data, size_t size) {
  return transferAll(const_cast<char*>(static_cast<const char*>(data)), size,
                     [fd](char* p, size_t n) { return ::write(fd, p, n); }, EIO);
}

int sendAll(int fd, const void* data, size_t size) {
  return transferAll(const_cast<char*>(static_cast<const char*>(data)), size,
                     [fd](char* p, size_t n) { return ::send(fd, p, n, MSG_NOSIGNAL); }, EIO);
}

int readExact(int fd, void* data, size_t size) {
  return transferAll(static_cast<char*>(data), size, [fd](char* p, size_t n) { return ::read(fd, p, n); }, ENODATA);
}

}  // namespace coco::sys
