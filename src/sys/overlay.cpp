// How overlayfs marks deletions in a layer.
#include "sys/overlay.hpp"

#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <cerrno>

namespace coco::sys {

bool isWhiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == ::makedev(0, 0); }

bool isOpaqueDir(int dirFd) {
  char v[2] = {};
  return ::fgetxattr(dirFd, kOpaqueXattr, v, sizeof v) == 1 && v[0] == 'y';
}

int makeWhiteout(int dirFd, const char* name) {
  return ::mknodat(dirFd, name, S_IFCHR | 0, ::makedev(0, 0)) == 0 ? 0 : -errno;
}

int makeOpaque(int dirFd) { return ::fsetxattr(dirFd, kOpaqueXattr, "y", 1, 0) == 0 ? 0 : -errno; }

}  // namespace coco::sys
