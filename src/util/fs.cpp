// File-system helpers: atomic writes, mkdir -p, a careful rm -rf, and reading what a sandbox wrote.
#include "util/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "util/unique_fd.hpp"

namespace coco::fs {

Result<std::string> readFile(const std::string& path) { return readFileAtMost(path, SIZE_MAX); }

Result<std::string> readFileAtMost(const std::string& path, size_t maxBytes) {
  // O_NONBLOCK: a FIFO put where a file was expected must not hang the open.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) return Error::fromErrno("open {}", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::fromErrno("stat {}", path);
  // Not a device (/dev/zero never ends), FIFO, socket or directory.
  if (!S_ISREG(st.st_mode)) return Error::withErrno(EINVAL, fmt::format("{} is not a regular file", path));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::fromErrno("read {}", path);
    }
    if (n == 0) break;
    if (static_cast<size_t>(n) > maxBytes - out.size())
      return Error::withErrno(EFBIG, fmt::format("{} is larger than {} bytes", path, maxBytes));
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status writeFileAtomic(const std::string& path, std::string_view content, mode_t mode) {
  std::string tmp = path + ".tmp-XXXXXX";
  std::vector<char> name(tmp.begin(), tmp.end());
  name.push_back('\0');
  UniqueFd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd) return Error::fromErrno("create temporary file for {}", path);
  std::string tmpName(name.data());
  auto fail = [&](Error e) {
    ::unlink(tmpName.c_str());
    return e;
  };
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Error::fromErrno("write {}", tmpName));
    }
    off += static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), mode) != 0) return fail(Error::fromErrno("chmod {}", tmpName));
  if (::fsync(fd.get()) != 0) return fail(Error::fromErrno("fsync {}", tmpName));
  fd.reset();
  if (::rename(tmpName.c_str(), path.c_str()) != 0) return fail(Error::fromErrno("rename {} to {}", tmpName, path));
  return {};
}

Status makeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return {};
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return Error::fromErrno("mkdir {}", cur);
  }
  if (!isDirectory(path)) return Error::make("{} exists and is not a directory", path);
  return {};
}

namespace {
int removeEntry(const char* p, const struct stat*, int type, struct FTW*) {
  int rc = (type == FTW_DP) ? ::rmdir(p) : ::unlink(p);
  if (rc != 0 && errno == EACCES && type == FTW_DP) {
    ::chmod(p, 0700);
    rc = ::rmdir(p);
  }
  return rc != 0 && errno != ENOENT ? -1 : 0;
}
int gOpened = 0;  // directories makeWritable changed in this pass (nftw takes no context)

// FTW_DNR too: a directory without read permission (d-wx------) is one nftw
// cannot list until it is opened up.
int makeWritable(const char* p, const struct stat* st, int type, struct FTW*) {
  if ((type == FTW_D || type == FTW_DNR) && (st->st_mode & 0700) != 0700 && ::chmod(p, st->st_mode | 0700) == 0)
    ++gOpened;
  return 0;
}
}  // namespace

Status removeTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? Status{} : Error::fromErrno("stat {}", path);
  // Directories without write or search permission (read-only trees unpacked from
  // images) must be opened up before their entries can go.
  // Again while a pass opened something: an unreadable directory hides what is below it.
  for (int pass = 0; pass < 64; ++pass) {
    gOpened = 0;
    ::nftw(path.c_str(), makeWritable, 64, FTW_PHYS | FTW_MOUNT);
    if (gOpened == 0) break;
  }
  if (::nftw(path.c_str(), removeEntry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
    return Error::fromErrno("remove {}", path);
  return {};
}

std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  return names;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool isDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string normalize(std::string_view path) {
  bool absolute = !path.empty() && path.front() == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
      else if (!absolute) parts.push_back(part);
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out = absolute ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out += '/';
    out += parts[k];
  }
  if (out.empty()) return std::string(".");
  return out;
}

bool isAtOrBelow(std::string_view path, std::string_view dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

std::string joinPath(std::string_view a, std::string_view b) {
  if (b.empty()) return std::string(a);
  if (!b.empty() && b.front() == '/') return std::string(b);
  std::string out(a);
  if (out.empty() || out.back() != '/') out += '/';
  out += b;
  return out;
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

Result<UniqueFd> openBeneath(int dirFd, const std::string& rel, int flags) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    int fd = static_cast<int>(::syscall(SYS_openat2, dirFd, rel.c_str(), &how, sizeof how));
    if (fd >= 0) return UniqueFd(fd);
    // EAGAIN: a concurrent rename raced the lookup; the kernel asks for a retry.
    if ((errno == EAGAIN || errno == EINTR) && attempt < 16) continue;
    return Error::fromErrno("open {} (beneath its directory, symlinks not followed)", rel);
  }
}

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

Result<UniqueFd> makeDirsBeneath(int dirFd, const std::string& rel, mode_t mode) {
  UniqueFd cur(::fcntl(dirFd, F_DUPFD_CLOEXEC, 0));
  if (!cur) return Error::fromErrno("dup");
  size_t i = 0;
  while (i < rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    std::string part = rel.substr(i, j - i);
    i = j + 1;
    if (part.empty() || part == ".") continue;
    auto next = openBeneath(cur.get(), part, O_PATH | O_DIRECTORY);
    if (!next && next.error().code() == ENOENT) {
      // mkdirat never follows a symlink in the last component: one there gives EEXIST, then ELOOP below.
      if (::mkdirat(cur.get(), part.c_str(), mode) != 0 && errno != EEXIST) return Error::fromErrno("mkdir {}", part);
      next = openBeneath(cur.get(), part, O_PATH | O_DIRECTORY);
    }
    if (!next) return refused(next.error().code(), part);
    cur = std::move(*next);
  }
  return cur;
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

}  // namespace coco::fs
