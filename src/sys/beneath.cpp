// Opening paths a sandbox, an image or an archive could have written.
#include "sys/beneath.hpp"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fs.hpp"

namespace coco::sys {

using fs::joinPath;

int openat2Beneath(int dirFd, const char* rel, int flags) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    int fd = static_cast<int>(::syscall(SYS_openat2, dirFd, rel, &how, sizeof how));
    if (fd >= 0) return fd;
    // EAGAIN: a concurrent rename or mount raced the lookup; the kernel asks for a retry.
    if ((errno == EAGAIN || errno == EINTR) && attempt < 16) continue;
    return -errno;
  }
}

namespace {

bool hasDotDot(const char* path) {
  for (const char* p = path; *p;) {
    const char* end = std::strchr(p, '/');
    size_t len = end ? static_cast<size_t>(end - p) : std::strlen(p);
    if (len == 2 && p[0] == '.' && p[1] == '.') return true;
    p += len;
    while (*p == '/') ++p;
  }
  return false;
}

// Creates the missing `name` in dirFd: a directory, or an empty file. 0 or -errno.
int createIn(int dirFd, const char* name, bool dir, mode_t mode) {
  if (dir) return ::mkdirat(dirFd, name, mode) == 0 || errno == EEXIST ? 0 : -errno;
  // O_NOFOLLOW|O_EXCL: a symlink planted here is never followed to create its target.
  int fd = ::openat(dirFd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return errno == EEXIST ? 0 : -errno;
  ::close(fd);
  return 0;
}

struct Walk {
  unsigned options;
  mode_t mode;    // of the directories made
  int lastFlags;  // how the last component is opened (intermediate ones: O_PATH)
};

// One component below dirFd: opened with openat2 (no symlinks, or the last one
// itself with kSymlinkOk), created first when missing and allowed.
int openComponent(int dirFd, const char* name, bool last, const Walk& w) {
  bool dir = !last || (w.options & kWantDir);
  int flags = (last ? w.lastFlags : O_PATH) | (dir ? O_DIRECTORY : 0) |
              (last && (w.options & kSymlinkOk) ? O_NOFOLLOW : 0);
  int fd = openat2Beneath(dirFd, name, flags);
  if (fd == -ENOENT && (w.options & kCreate)) {
    // mkdirat never follows a symlink in the last component: one there gives EEXIST, then ELOOP.
    int rc = createIn(dirFd, name, dir, w.mode);
    fd = rc < 0 ? rc : openat2Beneath(dirFd, name, flags);
  }
  // A file or a symlink where a directory must be: refused as a symlink would be.
  return fd == -ENOTDIR ? -ELOOP : fd;
}

// Each component opened beneath the one before: what kCreate needs, since a
// missing component has to be made in a parent reached without symlinks.
// When the whole path is already there, one openat2 of it with the same
// flags opens the same (no symlink in any component, the intermediate ones
// directories); the walk is for what is missing, and for the error that
// names why.
int walkBeneath(int rootFd, const char* path, const Walk& w) {
  char buf[PATH_MAX];
  if (std::strlen(path) >= sizeof buf) return -ENAMETOOLONG;
  std::strcpy(buf, path);
  if (std::strchr(path, '/')) {
    int flags = w.lastFlags | ((w.options & kWantDir) ? O_DIRECTORY : 0) | ((w.options & kSymlinkOk) ? O_NOFOLLOW : 0);
    int fd = openat2Beneath(rootFd, path, flags);
    if (fd >= 0) return fd;  // any failure: the walk below says which component and why
  }
  int cur = rootFd;  // never closed here: the caller's
  bool atRoot = true;
  char* save = nullptr;
  for (char* part = ::strtok_r(buf, "/", &save); part && cur >= 0; part = ::strtok_r(nullptr, "/", &save)) {
    if (std::strcmp(part, ".") == 0) continue;
    int next = openComponent(cur, part, *save == '\0', w);
    if (!atRoot) ::close(cur);
    cur = next;
    atRoot = false;
  }
  if (!atRoot || cur < 0) return cur;
  int dup = ::fcntl(rootFd, F_DUPFD_CLOEXEC, 3);  // "" or ".": the root itself, as a descriptor of its own
  return dup < 0 ? -errno : dup;
}

}  // namespace

int openPathBeneath(int rootFd, const char* path, unsigned options) {
  while (*path == '/') ++path;
  if (hasDotDot(path)) return -EINVAL;
  if (options & kCreate) return walkBeneath(rootFd, path, Walk{options, 0755, O_PATH});
  // One lookup: with O_PATH|O_NOFOLLOW openat2 opens a final symlink itself and
  // still refuses one in any earlier component.
  int flags = O_PATH | ((options & kWantDir) ? O_DIRECTORY : 0) | ((options & kSymlinkOk) ? O_NOFOLLOW : 0);
  int fd = openat2Beneath(rootFd, *path ? path : ".", flags);
  // A file or a symlink where a directory must be (any earlier component, or
  // the last with kWantDir): refused as a symlink would be.
  return fd == -ENOTDIR ? -ELOOP : fd;
}

Result<UniqueFd> openBeneath(int dirFd, const std::string& rel, int flags) {
  int fd = openat2Beneath(dirFd, rel.c_str(), flags);
  if (fd >= 0) return UniqueFd(fd);
  if (fd == -ENOSYS) return Error::withErrno(ENOSYS, fmt::format("open {}: openat2 needs Linux 5.6 or newer", rel));
  return Error::withErrno(-fd, fmt::format("open {} (beneath its directory, symlinks not followed)", rel));
}

namespace {

const char* kindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a fifo";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

// The error of a failed openBeneath, naming the path the user knows.
Error refused(int err, const std::string& shown) {
  if (err == ELOOP)
    return Error::withErrno(err, fmt::format("refusing {}: it is a symbolic link or lies behind one", shown));
  if (err == EXDEV) return Error::withErrno(err, fmt::format("refusing {}: the name leads out of its directory", shown));
  return Error::withErrno(err, fmt::format("open {}", shown));
}

// A regular file beneath dirFd, opened for reading, and its size.
Result<UniqueFd> openRegular(int dirFd, const std::string& rel, const std::string& shown, struct stat& st) {
  // O_NONBLOCK: opening a fifo must not wait for a writer.
  auto fd = openBeneath(dirFd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (!fd) return refused(fd.error().code(), shown);
  if (::fstat(fd->get(), &st) != 0) return Error::fromErrno("stat {}", shown);
  if (!S_ISREG(st.st_mode))
    return Error::withErrno(EINVAL, fmt::format("refusing {}: it is {}, not a regular file", shown, kindOf(st.st_mode)));
  return fd;
}

Result<std::string> readBeneath(int dirFd, const std::string& rel, size_t maxBytes, const std::string& shown) {
  struct stat st;
  COCO_ASSIGN(UniqueFd fd, openRegular(dirFd, rel, shown, st));
  auto tooBig = [&] {
    return Error::withErrno(EFBIG, fmt::format("refusing {}: larger than the {} bytes allowed", shown, maxBytes));
  };
  if (static_cast<uint64_t>(st.st_size) > maxBytes) return tooBig();
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::fromErrno("read {}", shown);
    if (n == 0) return out;
    // The file may still be growing: the cap holds for what is read, not only for st_size.
    if (out.size() + static_cast<size_t>(n) > maxBytes) return tooBig();
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

Result<std::string> readUntrusted(int dirFd, const std::string& rel, size_t maxBytes) {
  return readBeneath(dirFd, rel, maxBytes, rel);
}

Result<std::string> readUntrusted(const std::string& dir, const std::string& rel, size_t maxBytes) {
  UniqueFd dirFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dirFd) return Error::fromErrno("open {}", dir);
  return readBeneath(dirFd.get(), rel, maxBytes, joinPath(dir, rel));
}

Status checkRegularBeneath(const std::string& dir, const std::string& rel) {
  UniqueFd dirFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dirFd) return Error::fromErrno("open {}", dir);
  struct stat st;
  COCO_ASSIGN(UniqueFd fd, openRegular(dirFd.get(), rel, joinPath(dir, rel), st));
  return {};
}

Result<UniqueFd> makeDirsBeneath(int dirFd, const std::string& rel, mode_t mode, int flags) {
  if (hasDotDot(rel.c_str())) return Error::withErrno(EINVAL, fmt::format("refusing {}: it contains ..", rel));
  int fd = walkBeneath(dirFd, rel.c_str(), Walk{kCreate | kWantDir, mode, flags});
  if (fd < 0) return refused(-fd, rel);
  return UniqueFd(fd);
}

std::string firstSymlinkBeneath(const std::string& dir, const std::string& rel) {
  UniqueFd cur(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::string sofar = dir;
  size_t i = 0;
  while (cur && i < rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    std::string part = rel.substr(i, j - i);
    i = j + 1;
    if (part.empty() || part == ".") continue;
    sofar = joinPath(sofar, part);
    struct stat st;
    if (::fstatat(cur.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
    if (S_ISLNK(st.st_mode)) return sofar;
    cur.reset(::openat(cur.get(), part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
  return {};
}

}  // namespace coco::sys
