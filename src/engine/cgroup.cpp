// Delegated cgroup v2 groups: detection from /proc/self, a group per sandbox, its events.
#include "engine/cgroup.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <thread>

#include <fmt/format.h>

#include "util/fs.hpp"
#include "util/log.hpp"

namespace coco::engine::cgroup {

namespace {

constexpr std::string_view kWanted[] = {"memory", "pids", "cpu"};
constexpr uint64_t kCpuPeriodUs = 100000;

std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = text.find_first_not_of(" \t\n", i);
    if (start == std::string_view::npos) break;
    size_t end = text.find_first_of(" \t\n", start);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    i = end;
  }
  return out;
}

// mountinfo escapes blanks and backslashes as \ooo.
std::string unescape(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      int value = 0;
      auto [end, ec] = std::from_chars(field.data() + i + 1, field.data() + i + 4, value, 8);
      if (ec == std::errc() && end == field.data() + i + 4) {
        out += static_cast<char>(value);
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

bool ownedBy(const std::string& path, uid_t uid) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && st.st_uid == uid;
}

std::string parentOf(const std::string& group) {
  size_t slash = group.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : group.substr(0, slash);
}

Status writeValue(int dirFd, const char* file, const std::string& value) {
  UniqueFd fd(::openat(dirFd, file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return Error::fromErrno("open {}", file);
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return Error::fromErrno("write {} to {}", value, file);
  return {};
}

std::string readValue(int dirFd, const char* file) {
  UniqueFd fd(::openat(dirFd, file, O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  char buf[4096];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

Status writeLimits(int dirFd, const Delegation& d, const Limits& limits, bool& memory) {
  memory = false;
  if (d.has("memory") && limits.memoryBytes) {
    COCO_TRY(writeValue(dirFd, "memory.max", std::to_string(limits.memoryBytes)));
    // Swapping a runaway sandbox out would stall the host as much as the memory it uses.
    if (auto st = writeValue(dirFd, "memory.swap.max", "0"); !st) log::debug("cgroup: {}", st.error().describe());
    COCO_TRY(writeValue(dirFd, "memory.oom.group", "1"));
    memory = true;
  }
  if (d.has("pids") && limits.pids) COCO_TRY(writeValue(dirFd, "pids.max", std::to_string(limits.pids)));
  if (d.has("cpu") && limits.cpuMillis)
    COCO_TRY(writeValue(dirFd, "cpu.max", fmt::format("{} {}", limits.cpuMillis * kCpuPeriodUs / 1000, kCpuPeriodUs)));
  return {};
}

}  // namespace

bool Delegation::has(std::string_view controller) const {
  return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

std::string unifiedMount(std::string_view mountinfo) {
  size_t pos = 0;
  while (pos < mountinfo.size()) {
    size_t end = mountinfo.find('\n', pos);
    if (end == std::string_view::npos) end = mountinfo.size();
    std::string_view line = mountinfo.substr(pos, end - pos);
    pos = end + 1;
    size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    auto left = words(line.substr(0, dash));
    auto right = words(line.substr(dash + 3));
    if (left.size() >= 5 && !right.empty() && right[0] == "cgroup2" && left[3] == "/") return unescape(left[4]);
  }
  return {};
}

std::string unifiedPath(std::string_view procCgroup) {
  size_t pos = 0;
  while (pos < procCgroup.size()) {
    size_t end = procCgroup.find('\n', pos);
    if (end == std::string_view::npos) end = procCgroup.size();
    std::string_view line = procCgroup.substr(pos, end - pos);
    if (line.starts_with("0::/")) return std::string(line.substr(3));
    pos = end + 1;
  }
  return {};
}

Result<Delegation> findDelegation(const std::string& mount, const std::string& group, uid_t uid) {
  if (mount.empty()) return Error::make("no cgroup v2 file system is mounted");
  if (group.empty()) return Error::make("coco is in no cgroup v2 group (a cgroup v1 system)");
  // Not coco's own group: it holds coco, and a group with processes cannot
  // give its children controllers (the root group excepted).
  std::string rel = group == "/" ? group : parentOf(group);
  for (;;) {
    std::string dir = rel == "/" ? mount : mount + rel;
    if (!ownedBy(dir, uid) || !ownedBy(dir + "/cgroup.procs", uid))
      return Error::make("no cgroup delegated to you: {} is not yours (a systemd user session delegates one)", dir);
    auto read = fs::readFile(dir + "/cgroup.subtree_control");
    std::string enabled = read ? *read : std::string();
    Delegation d{dir, {}};
    for (auto controller : words(enabled))
      if (std::find(std::begin(kWanted), std::end(kWanted), controller) != std::end(kWanted))
        d.controllers.emplace_back(controller);
    if (!d.controllers.empty()) return d;
    if (rel == "/") break;
    rel = parentOf(rel);
  }
  return Error::make("no cgroup of yours above {} gives its children the memory, pids or cpu controller", group);
}

Result<Delegation> detectFrom(const DetectSources& sources, uid_t uid) {
  std::string group = unifiedPath(sources.procCgroup);
  if (group.empty()) return Error::make("coco is in no cgroup v2 group (a cgroup v1 system)");
  auto usual = std::find_if(sources.usualMounts.begin(), sources.usualMounts.end(), sources.isCgroup2);
  if (usual == sources.usualMounts.end()) return findDelegation(unifiedMount(sources.mountinfo()), group, uid);
  auto found = findDelegation(*usual, group, uid);
  if (!found) return found;
  std::string root = unifiedMount(sources.mountinfo());
  if (root == *usual) return found;
  return findDelegation(root, group, uid);
}

Result<Delegation> detect() {
  auto own = fs::readFile("/proc/self/cgroup");
  if (!own) return Error::make("cannot read /proc/self/cgroup");
  DetectSources sources{std::move(*own),
                        {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"},
                        [](const std::string& path) {
                          struct statfs st;
                          return ::statfs(path.c_str(), &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
                        },
                        [] {
                          auto text = fs::readFile("/proc/self/mountinfo");
                          return text ? std::move(*text) : std::string();
                        }};
  return detectFrom(sources, ::geteuid());
}

void removeStale(const Delegation& delegation) {
  for (const auto& name : fs::listDir(delegation.dir)) {
    if (!name.starts_with("coco-")) continue;
    int pid = 0;
    auto [end, ec] = std::from_chars(name.data() + 5, name.data() + name.size(), pid);
    if (ec != std::errc() || *end != '-' || pid <= 0) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;
    if (::rmdir(fs::joinPath(delegation.dir, name).c_str()) == 0) log::debug("removed stale cgroup {}", name);
  }
}

uint64_t eventCount(std::string_view text, std::string_view key) {
  auto all = words(text);
  for (size_t i = 0; i + 1 < all.size(); i += 2) {
    uint64_t value = 0;
    if (all[i] == key && std::from_chars(all[i + 1].data(), all[i + 1].data() + all[i + 1].size(), value).ec ==
                             std::errc())
      return value;
  }
  return 0;
}

Result<Group> Group::create(const Delegation& delegation, const std::string& name, const Limits& limits) {
  Group g;
  std::string path = delegation.dir + "/" + name;
  if (::mkdir(path.c_str(), 0755) != 0) return Error::fromErrno("mkdir {}", path);
  g.path_ = path;
  g.dirFd_.reset(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!g.dirFd_) return Error::fromErrno("open {}", path);
  if (auto st = writeLimits(g.dirFd_.get(), delegation, limits, g.memory_); !st)
    return std::move(st).error().wrap(path);
  return g;
}

Events Group::events() const {
  if (!dirFd_) return {};
  return Events{eventCount(readValue(dirFd_.get(), "memory.events"), "oom_kill"),
                eventCount(readValue(dirFd_.get(), "pids.events"), "max")};
}

void Group::killAll() {
  if (dirFd_ && !writeValue(dirFd_.get(), "cgroup.kill", "1")) {
    // Before Linux 5.14: one by one.
    std::string procs = readValue(dirFd_.get(), "cgroup.procs");
    for (auto pid : words(procs)) {
      int n = 0;
      if (std::from_chars(pid.data(), pid.data() + pid.size(), n).ec == std::errc() && n > 0) ::kill(n, SIGKILL);
    }
  }
}

void Group::abandon() {
  if (path_.empty()) return;
  killAll();
  (void)::rmdir(path_.c_str());
  dirFd_.reset();
  path_.clear();
}

void Group::remove() {
  if (path_.empty()) return;
  killAll();
  // The last processes of a dead pid namespace take a moment to go.
  for (int tries = 0; ::rmdir(path_.c_str()) != 0 && errno == EBUSY && tries < 200; ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  dirFd_.reset();
  path_.clear();
}

}  // namespace coco::engine::cgroup
