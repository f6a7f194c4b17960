// Exclusive lock files shared by concurrent coco processes.
#include "sys/lock_file.hpp"

#include <fcntl.h>
#include <sys/file.h>

namespace coco::sys {

Result<UniqueFd> lockExclusive(const std::string& path, const std::function<void()>& whenBusy) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return Error::fromErrno("open {}", path);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return fd;
  if (errno != EWOULDBLOCK) return Error::fromErrno("flock {}", path);
  if (whenBusy) whenBusy();
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return Error::fromErrno("flock {}", path);
  return fd;
}

std::string waitingFor(const std::string& what) { return "waiting for another coco " + what; }

}  // namespace coco::sys
