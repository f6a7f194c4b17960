// Prepares the ChildPlan from a RunSpec in the parent, where allocation is fine.
#include "engine/child_plan.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <utility>

#include <fmt/ranges.h>

#include "engine/seccomp_cache.hpp"
#include "engine/workspace_guard.hpp"
#include "sys/beneath.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace coco::engine {

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// A directory owned by the user where the child mounts its scratch tmpfs
// (HostSetup::stagingDir). Any number of concurrent sandboxes share it: each
// mounts in its own namespace.
Result<std::string> stagingDir(const std::string& dir) {
  if (dir.empty())
    return Error::make("neither XDG_RUNTIME_DIR nor HOME is set: no place for the sandbox's scratch mount");
  COCO_TRY(fs::makeDirs(dir, 0700));
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return Error::fromErrno("stat {}", dir);
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::getuid())
    return Error::make("{} is not a directory owned by you; remove it", dir);
  return dir;
}

Status checkLayerDir(const std::string& path) {
  if (!fs::isDirectory(path)) return Error::withErrno(ENOENT, fmt::format("layer {} is not a directory", path));
  return {};
}

// The overlay is mounted from inside the scratch tmpfs with relative names
// ("l/0", "upper"), the layers bound there first: /proc/self/mountinfo shows
// the overlay's options to the tool, and they must not name host paths.
Status planOverlay(const RunSpec& spec, ChildPlan& plan) {
  if (spec.layers.empty()) return Error::make("no root file system layers given");
  COCO_ASSIGN(plan.stagingDir, stagingDir(spec.hostSetup.stagingDir));
  plan.rootDir = plan.stagingDir + "/root";
  plan.scratchTmp = plan.stagingDir + "/tmp";
  plan.scratchShm = plan.stagingDir + "/shm";
  plan.scratchOptions = "mode=0700";
  // Its entries bounded too: each costs the kernel about 1 KiB that the size does not count (a
  // million empty directories took 1 GB of the host's memory under a 256 MiB size).
  if (spec.limits.tmpfsBytes)
    plan.scratchOptions +=
        fmt::format(",size={},nr_inodes={}", spec.limits.tmpfsBytes,
                    std::max<uint64_t>(spec.limits.tmpfsBytes / kScratchBytesPerEntry, 16384));
  std::string lower;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    COCO_TRY(checkLayerDir(spec.layers[i]));
    plan.stagingBinds.push_back({spec.layers[i], fmt::format("l/{}", i)});
    lower += fmt::format("{}l/{}", i ? ":" : "", i);
  }
  std::string upper = "upper", work = "work";
  if (!spec.upperDir.empty()) {
    plan.persistentUpper = true;
    COCO_TRY(checkLayerDir(spec.upperDir));
    std::string dir = fs::normalize(spec.upperDir);
    std::string name = dir.substr(dir.rfind('/') + 1);
    if (name.empty() || name.find_first_of(":,") != std::string::npos)
      return Error::make("writable layer {} has a name overlayfs cannot take", spec.upperDir);
    COCO_TRY(fs::makeDirs(dir + "-work", 0700));
    // Upper and work dir must be on one mount: their common parent is bound.
    plan.stagingBinds.push_back({dir.substr(0, dir.rfind('/')), "p"});
    upper = "p/" + name;
    work = "p/" + name + "-work";
  }
  plan.overlayOptions = fmt::format("lowerdir={},upperdir={},workdir={},userxattr", lower, upper, work);
  if (plan.overlayOptions.size() >= 4000) return Error::make("too many image layers for one overlay mount");
  return {};
}

// Checks the source as the child will open it, so a refusal has a clear message.
Status planSource(const BindMount& m, PlannedBind& b) {
  struct stat st;
  if (m.anchor.empty()) {
    if (::stat(m.src.c_str(), &st) != 0) return Error::fromErrno("mount source {}", m.src);
    b.isDir = S_ISDIR(st.st_mode);
    return {};
  }
  bool below = m.src.size() > m.anchor.size() && m.src.compare(0, m.anchor.size(), m.anchor) == 0 &&
               (m.anchor == "/" || m.src[m.anchor.size()] == '/');
  if (m.src != m.anchor && !below)
    return Error::make("mount source {} does not lie below {}", m.src, m.anchor);
  b.anchor = m.anchor;
  b.rest = m.src == m.anchor ? "." : m.src.substr(m.anchor.size() + (m.anchor == "/" ? 0 : 1));
  UniqueFd anchor(::open(m.anchor.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!anchor) return Error::fromErrno("mount source {}: open {}", m.src, m.anchor);
  auto fd = sys::openBeneath(anchor.get(), b.rest, O_PATH);
  if (!fd)
    return Error::withErrno(fd.error().code(), fmt::format("mount source {} (no symbolic links are followed "
                                                           "below {})",
                                                           m.src, m.anchor));
  if (::fstat(fd->get(), &st) != 0) return Error::fromErrno("mount source {}", m.src);
  b.isDir = S_ISDIR(st.st_mode);
  return {};
}

Status planBinds(const RunSpec& spec, ChildPlan& plan, WorkspaceGuard* guard) {
  std::vector<PlannedBind> binds;
  for (const auto& m : spec.mounts) {
    if (m.src.empty() || m.src.front() != '/') return Error::make("mount source {} is not absolute", m.src);
    std::string dst = fs::normalize(m.dst);
    if (m.dst.empty() || m.dst.front() != '/' || dst == "/")
      return Error::make("mount destination '{}' must be an absolute path below /", m.dst);
    PlannedBind b{m.src, dst, m.readOnly, true, {}, {}};
    COCO_TRY(planSource(m, b));
    if (!m.scratch.empty()) {
      if (!b.isDir || m.readOnly) return Error::make("mount {}: a learn overlay needs a writable directory mount", m.src);
      b.scratchUpper = fs::joinPath(m.scratch, "upper");
      b.scratchWork = fs::joinPath(m.scratch, "work");
    }
    binds.push_back(std::move(b));
  }
  // Parents before children, so /workspace/sub lands inside /workspace.
  std::stable_sort(binds.begin(), binds.end(), [](const PlannedBind& a, const PlannedBind& b) {
    return std::count(a.dst.begin(), a.dst.end(), '/') < std::count(b.dst.begin(), b.dst.end(), '/');
  });
  for (const auto& b : binds) {
    plan.binds.push_back(b);
    if (guard && spec.guard.enabled) COCO_TRY(guard->addMount(b, spec.guard, plan.binds));
  }
  auto isPin = [](const PlannedBind& b) { return b.guard == GuardBind::Pin; };
  if (std::any_of(plan.binds.begin(), plan.binds.end(), isPin)) plan.pinFile = plan.stagingDir + "/guard-pin";
  return {};
}

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    if (!dir.empty() && dir.front() == '/') out.push_back(dir);  // relative entries are unsafe
    i = j + 1;
  }
  return out;
}

Result<std::string> hostFile(const char* path) {
  auto content = fs::readFile(path);
  if (!content) return std::move(content).error().wrap("network: host");
  return content;
}

Status planEtc(const RunSpec& spec, ChildPlan& plan) {
  plan.hostname = spec.hostname.empty() ? "coco" : spec.hostname;
  plan.hostnameFile = plan.hostname + "\n";
  if (spec.network == NetworkMode::Host) {
    COCO_ASSIGN(plan.hostsFile, hostFile("/etc/hosts"));
    COCO_ASSIGN(plan.resolvFile, hostFile("/etc/resolv.conf"));
    plan.newNetns = false;
    return {};
  }
  plan.hostsFile = fmt::format(
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{}\n", plan.hostname);
  // With no gateway nothing answers on loopback, so lookups fail at once.
  plan.resolvFile = "nameserver 127.0.0.1\noptions attempts:1 timeout:1\n";
  return {};
}

// Landlock's rules beneath the mounts, logged with COCO_DEBUG.
void planLandlockRules(const RunSpec& spec, ChildPlan& plan) {
  plan.landlock = planLandlock(spec, landlockAbi());
  if (!log::debugEnabled()) return;
  if (plan.landlock.abi == 0) {
    log::debug("landlock: not available on this kernel, not applied");
    return;
  }
  auto scopes = landlockScopes(plan.landlock);
  log::debug("landlock: ABI {}; scoped to the sandbox: {}", plan.landlock.abi,
             scopes.empty() ? "nothing (needs ABI 6)" : fmt::format("{}", fmt::join(scopes, ", ")));
  for (const auto& line : describeLandlock(plan.landlock)) log::debug("landlock: {}", line);
}

// Whether this process has a controlling terminal: /dev/tty opens. Anything
// but ENXIO (no controlling terminal) counts as yes.
bool hasControllingTerminal() {
  int fd = ::open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (fd >= 0) {
    ::close(fd);
    return true;
  }
  return errno != ENXIO;
}

}  // namespace

void planProcess(const RunSpec& spec, ChildPlan& plan) {
  plan.argvStore = spec.argv;
  std::string path = kDefaultPath;
  int pathsSet = 0;
  for (const auto& [k, v] : spec.env) {
    plan.envStore.push_back(k + "=" + v);
    if (k == "PATH") path = v, ++pathsSet;
  }
  plan.searchPath = splitPath(path);
  // splitPath leaves out relative and empty entries, which env's search would try; and of two
  // PATHs (an image's Env may repeat one) coco takes the last, env's getenv the first.
  plan.envSearchSame = pathsSet == 1 && !path.empty() &&
                       plan.searchPath.size() == size_t(std::count(path.begin(), path.end(), ':')) + 1;
  for (auto& s : plan.argvStore) plan.argv.push_back(s.data());
  plan.argv.push_back(nullptr);
  plan.envArgv.assign(plan.argv.size() + 1, nullptr);
  for (auto& s : plan.envStore) plan.envp.push_back(s.data());
  plan.envp.push_back(nullptr);
  plan.workdir = spec.workdir.empty() ? "/" : fs::normalize(spec.workdir);
}

void planFilterAnswers(ChildPlan& plan) {
  // The arguments execEnvCommand passes where the filter could tell them apart; descriptors and
  // addresses are any.
  constexpr uint64_t kFdCwd = static_cast<uint64_t>(int64_t{AT_FDCWD});
  constexpr uint64_t kOpen = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  constexpr uint64_t kAt = 0x1000;  // the descriptor such a call returns
  const std::array<std::pair<int, std::array<uint64_t, 6>>, 6> checks = {{
      {SYS_newfstatat, {kFdCwd, 0, 0, 0}},           // stat
      {SYS_newfstatat, {kAt, 0, 0, AT_EMPTY_PATH}},  // fstat
      {SYS_openat, {kFdCwd, 0, kOpen, 0}},           // open
      {SYS_read, {kAt, 0, 256}},                     // the script's first line
      {SYS_close, {kAt}},                            //
      {SYS_access, {0, X_OK}},                       // the script, /usr/bin/env
  }};
  plan.filterAnswersEnvChecks = std::none_of(checks.begin(), checks.end(), [&](const auto& c) {
    return filterEnds(plan.seccomp, c.first, c.second);
  });
  plan.filterAnswersExecCheck =
      !filterEnds(plan.seccomp, SYS_execveat, {kAt, 0, 0, 0, AT_EMPTY_PATH | kAtExecveCheck});
}

Result<ChildPlan> makeChildPlan(const RunSpec& spec, bool tty, WorkspaceGuard* guard) {
  if (spec.argv.empty() || spec.argv.front().empty()) return Error::make("no command to run");
  ChildPlan plan;
  COCO_TRY(planOverlay(spec, plan));
  COCO_TRY(planBinds(spec, plan, guard));
  COCO_TRY(planEtc(spec, plan));
  planProcess(spec, plan);
  plan.mkdirs.push_back(plan.workdir);
  plan.tty = tty;
  plan.newSession = tty || hasControllingTerminal();
  plan.installPhase = spec.installPhase;
  plan.rlimitNproc = spec.limits.pids;
  plan.rlimitData = spec.limits.memoryBytes;
  plan.sysvShmBytes = spec.limits.memoryBytes;
  plan.fdSoftLimit = spec.hostSetup.fdSoftLimit;
  // A fork bomb hovers just below the limit; 1/32 below counts as there.
  plan.pidsNearLimit = spec.limits.pids ? spec.limits.pids - spec.limits.pids / 32 : 0;
  planLandlockRules(spec, plan);
  if (!spec.seccompProfile.empty()) {
    auto program = compileProfileCached(spec.seccompProfile, spec.hostSetup.seccompCacheDir);
    if (!program) return std::move(program).error().wrap("seccomp");
    plan.seccomp = std::move(*program);
  }
  planFilterAnswers(plan);
  return plan;
}

}  // namespace coco::engine
