// Id maps for the sandbox's user namespace.
#include "engine/idmap.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string_view>
#include <vector>

#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

extern char** environ;

namespace coco::engine {

namespace {

constexpr unsigned long kRangeSize = 65536;

std::string findHelper(const char* name) {
  for (const char* dir : {"/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/", "/usr/local/bin/"}) {
    std::string path = std::string(dir) + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return {};
}

std::string userName(uid_t uid) {
  struct passwd pw, *out = nullptr;
  char buf[4096];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &out) == 0 && out) return pw.pw_name;
  return {};
}

Result<pid_t> spawnHelper(const std::string& helper, pid_t pid, unsigned long id, const SubIdRange& range) {
  std::vector<std::string> args = {helper,          std::to_string(pid),         "0", std::to_string(id), "1",
                                   "1",             std::to_string(range.start), std::to_string(range.count)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // Its complaints become one debug line; the fallback is silent by design.
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t child;
  int rc = posix_spawn(&child, helper.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Error::withErrno(rc, "spawn " + helper);
  return child;
}

Status waitHelper(const std::string& helper, Result<pid_t> spawned) {
  if (!spawned) return std::move(spawned).error();
  int status = 0;
  while (::waitpid(*spawned, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return Error::make("{} failed (status {})", helper, status);
  return {};
}

Status writeProcFile(pid_t pid, const char* name, const std::string& text) {
  std::string path = fmt::format("/proc/{}/{}", pid, name);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return Error::fromErrno("open {}", path);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return Error::fromErrno("write {} to {}", text, path);
  return {};
}

Status writeSingleMaps(pid_t pid, const IdMapPlan& plan) {
  COCO_TRY(writeProcFile(pid, "setgroups", "deny"));
  COCO_TRY(writeProcFile(pid, "uid_map", fmt::format("0 {} 1\n", plan.uid)));
  COCO_TRY(writeProcFile(pid, "gid_map", fmt::format("0 {} 1\n", plan.gid)));
  return {};
}

}  // namespace

std::optional<SubIdRange> findSubIdRange(const std::string& file, const std::string& user, unsigned long id) {
  std::ifstream in(file);
  std::string line;
  std::string idText = std::to_string(id);
  while (std::getline(in, line)) {
    auto a = line.find(':');
    auto b = line.find(':', a == std::string::npos ? a : a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string who = line.substr(0, a);
    if (who != idText && (user.empty() || who != user)) continue;
    char* end = nullptr;
    unsigned long start = std::strtoul(line.c_str() + a + 1, &end, 10);
    if (end != line.c_str() + b) continue;
    unsigned long count = std::strtoul(line.c_str() + b + 1, &end, 10);
    if (*end != '\0' || count == 0) continue;
    return SubIdRange{start, std::min(count, kRangeSize)};
  }
  return std::nullopt;
}

IdMapPlan planIdMaps() {
  IdMapPlan plan;
  plan.uid = ::getuid();
  plan.gid = ::getgid();
  // The same switch the image unpacker honours, so layer ownership and the
  // sandbox's mapping always agree.
  if (const char* mode = std::getenv("COCO_USERNS"); mode && std::string_view(mode) == "single") return plan;
  plan.newuidmap = findHelper("newuidmap");
  plan.newgidmap = findHelper("newgidmap");
  if (plan.newuidmap.empty() || plan.newgidmap.empty()) return plan;
  std::string name = userName(plan.uid);
  auto uids = findSubIdRange("/etc/subuid", name, plan.uid);
  auto gids = findSubIdRange("/etc/subgid", name, plan.uid);
  if (!uids || !gids) return plan;
  plan.uids = *uids;
  plan.gids = *gids;
  plan.useHelpers = true;
  return plan;
}

Result<bool> writeIdMaps(pid_t pid, const IdMapPlan& plan) {
  if (plan.useHelpers) {
    // Both helpers at once: each is a setuid exec, a large share of start-up.
    auto uidHelper = spawnHelper(plan.newuidmap, pid, plan.uid, plan.uids);
    auto gidHelper = spawnHelper(plan.newgidmap, pid, plan.gid, plan.gids);
    auto uid = waitHelper(plan.newuidmap, std::move(uidHelper));
    auto gid = waitHelper(plan.newgidmap, std::move(gidHelper));
    if (uid && gid) return true;
    log::debug("subordinate id mapping failed ({}); using the single mapping",
               (uid ? gid : uid).error().message());
    // Whichever map is still unwritten takes the single mapping.
    if (!uid) COCO_TRY(writeProcFile(pid, "uid_map", fmt::format("0 {} 1\n", plan.uid)));
    if (!gid) {
      COCO_TRY(writeProcFile(pid, "setgroups", "deny"));
      COCO_TRY(writeProcFile(pid, "gid_map", fmt::format("0 {} 1\n", plan.gid)));
    }
    return false;
  }
  COCO_TRY(writeSingleMaps(pid, plan));
  return false;
}

}  // namespace coco::engine
