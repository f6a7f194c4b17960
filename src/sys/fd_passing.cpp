// Passing descriptors over a unix socket (SCM_RIGHTS).
#include "sys/fd_passing.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace coco::sys {

namespace {

struct ControlBuffer {
  alignas(cmsghdr) char bytes[CMSG_SPACE(sizeof(int) * kMaxPassedFds)];
};

}  // namespace

int sendFds(int sock, const void* data, size_t size, const int* fds, size_t count) {
  if (count > kMaxPassedFds) return -EINVAL;
  iovec iov{const_cast<void*>(data), size};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  ControlBuffer cbuf;
  if (count > 0) {
    std::memset(cbuf.bytes, 0, sizeof cbuf.bytes);
    mh.msg_control = cbuf.bytes;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * count);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * count);
  }
  ssize_t n;
  do {
    n = ::sendmsg(sock, &mh, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  return static_cast<size_t>(n) == size ? 0 : -EMSGSIZE;
}

ssize_t recvFds(int sock, void* data, size_t size, int* fds, size_t maxFds, size_t* received, int flags) {
  *received = 0;
  if (maxFds > kMaxPassedFds) return -EINVAL;
  iovec iov{data, size};
  ControlBuffer cbuf;
  std::memset(cbuf.bytes, 0, sizeof cbuf.bytes);
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf.bytes;
  // The kernel closes descriptors that do not fit and sets MSG_CTRUNC.
  mh.msg_controllen = CMSG_SPACE(sizeof(int) * maxFds);
  ssize_t n;
  do {
    n = ::recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count && *received < maxFds; ++i)
      std::memcpy(&fds[(*received)++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  if (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) return -EMSGSIZE;
  return n;
}

int sendFd(int sock, int fd) {
  char byte = 'm';
  return sendFds(sock, &byte, 1, &fd, 1);
}

int recvFd(int sock) {
  char byte;
  int fd = -1;
  size_t got = 0;
  ssize_t n = recvFds(sock, &byte, 1, &fd, 1, &got);
  if (n < 0) {
    if (got) ::close(fd);
    return static_cast<int>(n);
  }
  if (got == 0) return n == 0 ? -ECONNRESET : -EBADMSG;
  return fd;
}

}  // namespace coco::sys
