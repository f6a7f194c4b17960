// Opening paths a sandbox, an image or an archive could have written: openat2
// beneath a trusted directory, never through a symlink, never out of it.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <string>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace coco::sys {

// `dir` (or dirFd) is the caller's own, trusted path (symlinks in it are
// followed); `rel` below it is not: it is resolved with openat2 and
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS, so no component may
// be a symlink (ELOOP) and nothing may lead out of `dir` (EXDEV: `..` above it,
// absolute paths, absolute symlinks). openat2 needs Linux 5.6: ENOSYS before.

// --- Allocation-free (usable between clone and execve); fd or -errno ---

// openat2 beneath dirFd with `flags` (O_CLOEXEC added), retried while the kernel
// asks (EAGAIN: a concurrent rename raced the lookup). With O_PATH|O_NOFOLLOW a
// symlink as the last component is opened itself; any other symlink is refused.
int openat2Beneath(int dirFd, const char* rel, int flags);

// Options of openPathBeneath, or'ed.
// The last component must be a directory (ELOOP otherwise, as for a symlink).
inline constexpr unsigned kWantDir = 1;
// Make what is missing: directories, and the last one as a directory (kWantDir) or an empty file.
inline constexpr unsigned kCreate = 2;
// The last component may be a symlink: it is opened itself, never followed.
inline constexpr unsigned kSymlinkOk = 4;

// Opens `path` below rootFd as an O_PATH fd. `path` may be absolute (it is taken
// relative to rootFd, which stands for "/"); a `..` component is refused
// (-EINVAL) wherever it leads. With kCreate the missing components are made one
// at a time with mkdirat/openat in their parent, each parent opened with openat2.
int openPathBeneath(int rootFd, const char* path, unsigned options);

// --- Above the fork: Result with a message that names the path ---

// openat2Beneath as a Result: ELOOP when a component is a symlink, EXDEV when rel leaves dirFd.
Result<UniqueFd> openBeneath(int dirFd, const std::string& rel, int flags);

// Reads a regular file beneath dir, refusing symlinks, fifos, devices and
// directories, and anything larger than maxBytes; each error names the file
// and says why. A missing file is an Error with errno ENOENT.
Result<std::string> readUntrusted(int dirFd, const std::string& rel, size_t maxBytes);
Result<std::string> readUntrusted(const std::string& dir, const std::string& rel, size_t maxBytes);

// Checks that rel is a regular file beneath dir, reached without symlinks, for
// files too big to read into memory (layer archives); same errors as readUntrusted.
Status checkRegularBeneath(const std::string& dir, const std::string& rel);

// mkdir -p of rel beneath dirFd, one component at a time, never through a
// symlink; returns the last directory, opened with `flags` (O_DIRECTORY added).
// rel "" returns a duplicate of dirFd.
Result<UniqueFd> makeDirsBeneath(int dirFd, const std::string& rel, mode_t mode = 0755, int flags = O_PATH);

// The first component of rel below dir that is a symlink ("" when none is, or
// when rel does not exist that far): for error messages that name it.
std::string firstSymlinkBeneath(const std::string& dir, const std::string& rel);

}  // namespace coco::sys
