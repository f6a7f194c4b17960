// How overlayfs marks deletions in a layer, and how OCI archives spell them.
#pragma once

#include <sys/stat.h>

#include <string_view>

namespace coco::sys {

// In an OCI/Docker layer archive: ".wh.NAME" deletes NAME of the layers below,
// ".wh..wh..opq" makes its directory opaque. Other ".wh..wh." names are AUFS
// bookkeeping without meaning here.
inline constexpr std::string_view kWhiteoutPrefix = ".wh.";
inline constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
inline constexpr std::string_view kAufsMetaPrefix = ".wh..wh.";

// The xattr coco's unprivileged overlays (mounted with userxattr) read.
inline constexpr const char* kOpaqueXattr = "user.overlay.opaque";

// On disk, an overlay whiteout is a 0/0 character device.
bool isWhiteout(const struct stat& st);

// Whether the directory is opaque to the layers below, as the kernel decides it:
// kOpaqueXattr holds exactly "y".
bool isOpaqueDir(int dirFd);

// Makes `name` in dirFd a whiteout (0/0 character device). 0 or -errno.
int makeWhiteout(int dirFd, const char* name);
// Marks dirFd opaque. 0 or -errno.
int makeOpaque(int dirFd);

}  // namespace coco::sys
