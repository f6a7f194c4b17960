// Compiled seccomp programs cached in a directory the tool layer names ($XDG_CACHE_HOME/coco/seccomp).
#include "engine/seccomp_cache.hpp"

#include <seccomp.h>
#include <sys/utsname.h>

#include <cstring>

#include "util/fs.hpp"
#include "util/log.hpp"

namespace coco::engine {

namespace {

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

std::string entryHeader(const std::string& profile) {
  return environmentKey() + std::to_string(profile.size()) + "\n" + profile;
}

std::optional<SeccompProgram> load(const std::string& file, const std::string& header) {
  auto data = fs::readFile(file);
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
  // Read once: the bytes that make the key are the bytes compiled.
  auto read = fs::readFileAtMost(path, kMaxProfileBytes);
  if (!read) return std::move(read).error().wrap("reading seccomp profile");
  const std::string& profile = *read;
  std::string header = entryHeader(profile);
  std::string file = fmt::format("{}/{:016x}.bpf", dir, fnv1a(header));
  if (!dir.empty())
    if (auto cached = load(file, header)) return std::move(*cached);
  COCO_ASSIGN(SeccompProgram program, compileProfileText(profile, path));
  if (!dir.empty() && fs::makeDirs(dir, 0700)) {
    std::string entry = header;
    entry.append(reinterpret_cast<const char*>(program.filter.data()), program.filter.size() * sizeof(sock_filter));
    if (auto st = fs::writeFileAtomic(file, entry, 0600); !st) log::debug("seccomp cache: {}", st.error().describe());
  }
  return program;
}

}  // namespace coco::engine
