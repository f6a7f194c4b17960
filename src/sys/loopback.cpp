// Bringing up a network namespace's loopback interface.
#include "sys/loopback.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace coco::sys {

int bringLoopbackUp() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, "lo", 3);
  int rc = ::ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    rc = ::ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  if (rc == 0) rc = ::ioctl(fd, SIOCGIFINDEX, &ifr);
  int err = errno;
  ::close(fd);
  return rc == 0 ? ifr.ifr_ifindex : -err;
}

}  // namespace coco::sys
