// File-system helpers: atomic writes, mkdir -p, a careful rm -rf, and reading what a sandbox wrote.
#include "util/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "util/remove_tree.hpp"
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
  return readOpenFile(fd.get(), st, maxBytes, path);
}

Result<std::string> readOpenFile(int fd, const struct stat& st, size_t maxBytes, const std::string& path) {
  // Read straight into the string, sized by fstat plus one byte (so the end
  // of file is seen without growing it): a bounce buffer on the stack and a
  // copy touch twice the fresh pages, at a page fault each 4 KiB. A file that
  // grew since fstat, or reports no size (/proc), grows the string; the size
  // is trusted up to 1 MiB only (a sparse file a sandbox made says 1 TiB).
  constexpr size_t kTrustedSize = 1 << 20;
  size_t size = st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0;
  std::string out(std::min({size, maxBytes, kTrustedSize}) + 1, '\0');
  size_t len = 0;
  for (;;) {
    if (len == out.size()) out.resize(std::max<size_t>(out.size() * 2, 4096));
    ssize_t n = ::read(fd, out.data() + len, out.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::fromErrno("read {}", path);
    }
    if (n == 0) break;
    if (static_cast<size_t>(n) > maxBytes - len)
      return Error::withErrno(EFBIG, fmt::format("{} is larger than {} bytes", path, maxBytes));
    len += static_cast<size_t>(n);
  }
  out.resize(len);
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
  if (isDirectory(path)) return {};  // the usual case: one stat instead of a mkdir per component
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

Status removeTree(const std::string& path) {
  // The caller's own path leads to the parent; below it, removeAt goes by descriptor only.
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  size_t slash = trimmed.rfind('/');
  std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : trimmed.substr(0, slash);
  std::string name = slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
  UniqueFd dir(::open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return errno == ENOENT ? Status{} : Error::fromErrno("remove {}: open {}", path, parent);
  std::string failed;
  int err = removeAt(dir.get(), name, nullptr, &failed);
  std::string where = slash == std::string::npos ? failed : joinPath(parent, failed);
  if (err == kRemoveLeftKept)
    return Error::withErrno(EBUSY, fmt::format("remove {}: {} is another mount", path, where));
  if (err) return Error::withErrno(err, fmt::format("remove {}", where));
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

}  // namespace coco::fs
