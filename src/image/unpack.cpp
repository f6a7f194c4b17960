// Layer extraction over libarchive's secure disk writer, plus whiteout handling.
#include "image/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "image/archive_error.hpp"
#include "sys/beneath.hpp"
#include "sys/overlay.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace coco::image {

namespace {

using sys::kOpaqueMarker;
using sys::kWhiteoutPrefix;

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriterDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using Reader = std::unique_ptr<struct archive, ArchiveDeleter>;
using Writer = std::unique_ptr<struct archive, WriterDeleter>;

// An entry's path; libarchive returns null for one it could not read.
std::string entryName(struct archive_entry* e) {
  const char* name = archive_entry_pathname(e);
  return name ? name : "";
}

// An entry name made relative and checked: no absolute path, no `..` component.
// Returns nullopt when the name leaves the root; "" for the root itself.
std::optional<std::string> confinedName(std::string_view name) {
  if (!name.empty() && name.front() == '/') return std::nullopt;
  std::string out;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view part = name.substr(i, j - i);
    if (part == "..") return std::nullopt;
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    i = j + 1;
  }
  return out;
}

Status applyWhiteout(int root, const std::string& name) {
  auto slash = name.rfind('/');
  std::string parent = slash == std::string::npos ? "" : name.substr(0, slash);
  std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
  // The parent is made as needed, one component at a time, each opened beneath
  // the one before without following symlinks: mkdirat on a whole path would
  // follow a symlink the layer planted in any component but the last.
  COCO_ASSIGN(UniqueFd dir, sys::makeDirsBeneath(root, parent, 0755, O_RDONLY));
  if (base == kOpaqueMarker) {
    if (int rc = sys::makeOpaque(dir.get()); rc != 0)
      return Error::withErrno(-rc, fmt::format("set {} on {}", sys::kOpaqueXattr, parent.empty() ? "/" : parent));
    return {};
  }
  if (base.rfind(sys::kAufsMetaPrefix, 0) == 0) return {};  // other AUFS bookkeeping: meaningless here
  std::string target = base.substr(kWhiteoutPrefix.size());
  if (target.empty() || target == "." || target == "..") return Error::make("bad whiteout name");
  struct stat st;
  if (::fstatat(dir.get(), target.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode)) return Error::make("whiteout for {} which this layer also creates as a directory", target);
    ::unlinkat(dir.get(), target.c_str(), 0);
  }
  if (int rc = sys::makeWhiteout(dir.get(), target.c_str()); rc != 0)
    return Error::withErrno(-rc, fmt::format("mknod whiteout {}", target));
  return {};
}

Status copyData(struct archive* in, struct archive* out) {
  const void* buf;
  size_t size;
  la_int64_t offset;
  for (;;) {
    int r = archive_read_data_block(in, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) return {};
    if (r < ARCHIVE_WARN) return Error::make("read: {}", archiveError(in));
    if (archive_write_data_block(out, buf, size, offset) < ARCHIVE_WARN)
      return Error::make("write: {}", archiveError(out));
  }
}

// Checks and rewrites one entry's names and ids; false = skip the entry.
Result<bool> prepareEntry(struct archive_entry* e, const UnpackOptions& o) {
  auto name = confinedName(entryName(e));
  if (!name) return Error::make("path leaves the layer");
  if (name->empty()) return false;  // the root itself: the layer dir keeps its own mode
  if (const char* link = archive_entry_hardlink(e)) {
    auto target = confinedName(link);
    if (!target || target->empty()) return Error::make("hardlink to '{}' leaves the layer", link);
    archive_entry_set_hardlink(e, target->c_str());
  }
  auto type = archive_entry_filetype(e);
  if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFSOCK) {
    log::debug("unpack: skipping device node or socket {}", *name);
    return false;
  }
  archive_entry_set_pathname(e, name->c_str());
  bool keep = o.keepOwnership;
  if (!keep || archive_entry_uid(e) > o.maxId) archive_entry_set_uid(e, 0);
  if (!keep || archive_entry_gid(e) > o.maxId) archive_entry_set_gid(e, 0);
  archive_entry_set_uname(e, nullptr);  // numeric ids only: the host's names mean nothing here
  archive_entry_set_gname(e, nullptr);
  return true;
}

bool isWhiteout(std::string_view name) {
  auto slash = name.rfind('/');
  std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  return base.substr(0, kWhiteoutPrefix.size()) == kWhiteoutPrefix;
}

Status extractEntry(struct archive* in, struct archive* out, struct archive_entry* e, int root,
                    const UnpackOptions& o) {
  if (o.whiteouts && isWhiteout(entryName(e))) {
    auto name = confinedName(entryName(e));
    if (!name) return Error::make("path leaves the layer");
    return applyWhiteout(root, *name);
  }
  COCO_ASSIGN(bool wanted, prepareEntry(e, o));
  if (!wanted) return {};
  int r = archive_write_header(out, e);
  if (r < ARCHIVE_WARN) return Error::make("{}", archiveError(out));
  if (r == ARCHIVE_WARN) log::debug("unpack: {}: {}", entryName(e), archiveError(out));
  if (archive_entry_size(e) > 0) COCO_TRY(copyData(in, out));
  if (archive_write_finish_entry(out) < ARCHIVE_WARN) return Error::make("{}", archiveError(out));
  return {};
}

// No ARCHIVE_EXTRACT_UNLINK: with it libarchive silently replaces a symlink met
// mid-path instead of refusing the entry.
Writer makeWriter(const UnpackOptions& o) {
  Writer w(archive_write_disk_new());
  int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
              ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
  if (o.keepOwnership) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(w.get(), flags);
  return w;
}

// libarchive's disk writer resolves names against the working directory.
class ChdirGuard {
 public:
  explicit ChdirGuard(int dir) : saved_(::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)), ok_(::fchdir(dir) == 0) {}
  ~ChdirGuard() {
    if (saved_) (void)!::fchdir(saved_.get());
  }
  bool ok() const { return ok_; }

 private:
  UniqueFd saved_;
  bool ok_;
};

Status extractAll(int fd, const std::string& archive, int root, const UnpackOptions& options);

}  // namespace

Status unpackArchive(const std::string& archive, const std::string& dest, const UnpackOptions& options) {
  UniqueFd fd(::open(archive.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::fromErrno("open {}", archive);
  return unpackArchiveFd(fd.get(), archive, dest, options);
}

Status unpackArchiveFd(int fd, const std::string& name, const std::string& dest,
                       const UnpackOptions& options) {
  UniqueFd root(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return Error::fromErrno("open {}", dest);
  ChdirGuard cwd(root.get());
  if (!cwd.ok()) return Error::fromErrno("chdir {}", dest);
  return extractAll(fd, name, root.get(), options);
}

namespace {

Status extractAll(int fd, const std::string& archive, int root, const UnpackOptions& options) {
  Reader in(archive_read_new());
  archive_read_support_filter_all(in.get());
  archive_read_support_format_tar(in.get());
  if (archive_read_open_fd(in.get(), fd, 1 << 16) != ARCHIVE_OK)
    return Error::make("open {}: {}", archive, archiveError(in.get()));
  Writer out = makeWriter(options);
  struct archive_entry* e;
  for (;;) {
    int r = archive_read_next_header(in.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Error::make("read {}: {}", archive, archiveError(in.get()));
    std::string name = entryName(e);
    if (auto st = extractEntry(in.get(), out.get(), e, root, options); !st)
      return std::move(st).error().wrap(fmt::format("{}: entry '{}' refused", archive, name));
  }
  // Directory modes and times are applied last (a 0555 directory still gets its files).
  if (archive_write_close(out.get()) < ARCHIVE_WARN)
    return Error::make("finish {}: {}", archive, archiveError(out.get()));
  return {};
}

}  // namespace

Status unpackLayer(const engine::IdMapPlan& map, const std::string& archive, const std::string& dest,
                   bool whiteouts, const UnpackProgress& progress, std::chrono::milliseconds interval) {
  UniqueFd fd(::open(archive.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::fromErrno("open {}", archive);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::fromErrno("stat {}", archive);
  uint64_t size = st.st_size > 0 ? static_cast<uint64_t>(st.st_size) : 0;
  WaitTick wait;
  if (progress) {
    wait.interval = interval;
    // The child's reads move the offset of the open file both hold; reading it moves nothing.
    wait.tick = [&] {
      off_t at = ::lseek(fd.get(), 0, SEEK_CUR);
      if (at >= 0) progress(std::min(static_cast<uint64_t>(at), size), size);
    };
  }
  COCO_TRY(runInUserNamespace(
      map,
      [&](bool subordinate) {
        UnpackOptions o;
        o.whiteouts = whiteouts;
        o.keepOwnership = subordinate;
        o.maxId = subordinate ? engine::kSubIdCount : 0;
        return unpackArchiveFd(fd.get(), archive, dest, o);
      },
      wait));
  if (progress) progress(size, size);
  return {};
}

}  // namespace coco::image
