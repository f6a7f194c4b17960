// Compiled seccomp programs cached in a directory the tool layer names ($XDG_CACHE_HOME/coco/seccomp).
#include "engine/seccomp_cache.hpp"

#include <fcntl.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <cstring>

#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace coco::engine {

namespace {

// A program is at most BPF_MAXINSNS instructions.
constexpr size_t kMaxCachedProgramBytes = BPF_MAXINSNS * sizeof(sock_filter);

// Everything the compiled program depends on besides the profile text.
std::string environmentKey() {
  struct utsname u;
  ::uname(&u);
  const scmp_version* v = seccomp_version();
  return fmt::format("coco-seccomp-{} {} {} {}.{}.{}\n", kSeccompCompilerRevision, u.release, u.machine, v->major,
                     v->minor, v->micro);
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// What the entry is looked up and checked by: the profile file's identity,
// stamped before it is read (from the descriptor it is read from), never its
// bytes. Reading the 15 KB default profile, and the entry that held a copy of
// it to compare, cost ~0.4 ms of every start in fresh pages (bench/startup
// --trace). Any change to the file changes its ctime (which no one can set)
// and a replacement its inode, so a program is only ever found under the
// identity of the file it was compiled from. The profile is never writable by
// a sandbox (tool/plan.cpp), nor is this cache (coco's own directories are
// refused as mounts).
std::string entryHeader(const struct stat& st) {
  return fmt::format("{}profile {}:{} {} bytes, modified {}.{:09}, changed {}.{:09}\n", environmentKey(), st.st_dev,
                     st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec,
                     st.st_ctim.tv_nsec);
}

std::optional<SeccompProgram> load(const std::string& file, const std::string& header) {
  auto data = fs::readFileAtMost(file, header.size() + kMaxCachedProgramBytes);
  if (!data || data->size() < header.size() || data->compare(0, header.size(), header) != 0) return std::nullopt;
  size_t bytes = data->size() - header.size();
  if (bytes == 0 || bytes % sizeof(sock_filter) != 0) return std::nullopt;
  SeccompProgram program;
  program.filter.resize(bytes / sizeof(sock_filter));
  std::memcpy(program.filter.data(), data->data() + header.size(), bytes);
  return program;
}

}  // namespace

Result<SeccompProgram> compileProfileCached(const std::string& path, const std::string& dir) {
  // O_NONBLOCK: a FIFO put where the profile was expected must not hang the open.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) return Error::fromErrno("reading seccomp profile: open {}", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::fromErrno("reading seccomp profile: stat {}", path);
  if (!S_ISREG(st.st_mode))
    return Error::withErrno(EINVAL, fmt::format("reading seccomp profile: {} is not a regular file", path));
  std::string header = entryHeader(st);
  std::string file = fmt::format("{}/{:016x}.bpf", dir, fnv1a(header));
  if (!dir.empty())
    if (auto cached = load(file, header)) return std::move(*cached);
  auto read = fs::readOpenFile(fd.get(), st, kMaxProfileBytes, path);
  if (!read) return std::move(read).error().wrap("reading seccomp profile");
  COCO_ASSIGN(SeccompProgram program, compileProfileText(*read, path));
  if (!dir.empty() && fs::makeDirs(dir, 0700)) {
    std::string entry = header;
    entry.append(reinterpret_cast<const char*>(program.filter.data()), program.filter.size() * sizeof(sock_filter));
    if (auto st = fs::writeFileAtomic(file, entry, 0600); !st) log::debug("seccomp cache: {}", st.error().describe());
  }
  return program;
}

}  // namespace coco::engine
