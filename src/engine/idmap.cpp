// Id maps for user namespaces: the plan (which mapping this user gets) and writing it.
#include "engine/idmap.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>

#include "sys/beneath.hpp"
#include "sys/process.hpp"
#include "sys/user.hpp"
#include "util/front.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"


namespace coco::engine {

namespace {

// Digits only (no sign, no blanks), below 2^32: the kernel's ids are 32-bit.
std::optional<unsigned long> parseId(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  unsigned long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned long>(c - '0');
  }
  if (value > UINT32_MAX) return std::nullopt;
  return value;
}

std::string findHelper(const std::vector<std::string>& dirs, const char* name) {
  for (const auto& dir : dirs) {
    std::string path = fs::joinPath(dir, name);
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return {};
}

// The static front reads /etc/passwd itself (NSS modules other than files need the dynamic
// loader); a user it does not list there is looked up by coco-full (util/front.hpp), which a run
// hands over to before it starts (idMapsNeedNameService).
std::string nameOfUser(uid_t uid) {
  if (!front::active()) {
    auto entry = sys::passwdEntry(uid);
    return entry ? entry->name : "";
  }
  auto entry = sys::passwdFileEntry("/etc/passwd", uid);
  if (!entry || entry->name.empty()) front::handOff("the user's name is not in /etc/passwd");
  return entry->name;
}

std::optional<SubIdRange> rangeInFile(const std::string& path, const IdMapHost& host) {
  auto text = fs::readFile(path);
  if (!text) return std::nullopt;
  return findSubIdRange(*text, host.userName, host.uid);
}

Result<pid_t> spawnHelper(const std::string& helper, pid_t pid, unsigned long id, const SubIdRange& range) {
  std::vector<std::string> args = {helper,          std::to_string(pid),         "0", std::to_string(id), "1",
                                   "1",             std::to_string(range.start), std::to_string(range.count)};
  // A fixed path (findHelper), never a PATH lookup. Its complaints become one
  // debug line; the fallback is silent by design.
  auto child = sys::spawn(sys::SpawnOptions{.argv = std::move(args), .searchPath = false, .err = sys::Stdio::Null});
  if (!child) return Error::withErrno(child.error().code(), "spawn " + helper);
  return child;
}

Status waitHelper(const std::string& helper, Result<pid_t> spawned) {
  if (!spawned) return std::move(spawned).error();
  int code = sys::waitExitCode(*spawned);
  if (code < 0) return Error::withErrno(-code, fmt::format("waiting for {}", helper));
  if (code != 0) return Error::make("{} failed (exit status {})", helper, code);
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

Status writeSingleUidMap(pid_t pid, const IdMapPlan& plan) {
  return writeProcFile(pid, "uid_map", singleUidMapText(plan));
}

Status writeSingleGidMap(pid_t pid, const IdMapPlan& plan) {
  COCO_TRY(writeProcFile(pid, "setgroups", "deny"));
  return writeProcFile(pid, "gid_map", singleGidMapText(plan));
}

}  // namespace

std::string singleUidMapText(const IdMapPlan& plan) { return fmt::format("0 {} 1\n", plan.uid); }
std::string singleGidMapText(const IdMapPlan& plan) { return fmt::format("0 {} 1\n", plan.gid); }

std::optional<SubIdRange> findSubIdRange(std::string_view text, const std::string& user, uid_t uid) {
  std::string uidText = std::to_string(uid);
  while (!text.empty()) {
    std::string_view line = text.substr(0, text.find('\n'));
    text.remove_prefix(std::min(text.size(), line.size() + 1));
    size_t a = line.find(':');
    size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    std::string_view owner = line.substr(0, a);
    if (owner != uidText && (user.empty() || owner != user)) continue;
    auto start = parseId(line.substr(a + 1, b - a - 1));
    auto count = parseId(line.substr(b + 1));
    // The last id mapped, start + 65535, must stay below (uid_t)-1.
    if (!start || !count || *count < kSubIdCount || *start > UINT32_MAX - kSubIdCount) continue;
    return SubIdRange{*start, kSubIdCount};
  }
  return std::nullopt;
}

IdMapHost IdMapHost::current(bool forceSingle) {
  IdMapHost host;
  host.uid = ::getuid();
  host.gid = ::getgid();
  host.userName = forceSingle ? "" : nameOfUser(host.uid);  // the single plan needs no name
  host.forceSingle = forceSingle;
  return host;
}

bool singleIdMapRequested(std::string_view cocoUserns) { return cocoUserns == "single"; }

IdMapPlan planIdMaps(const IdMapHost& host) {
  IdMapPlan plan;
  plan.uid = host.uid;
  plan.gid = host.gid;
  if (host.forceSingle) return plan;
  plan.newuidmap = findHelper(host.helperDirs, "newuidmap");
  plan.newgidmap = findHelper(host.helperDirs, "newgidmap");
  if (plan.newuidmap.empty() || plan.newgidmap.empty()) return plan;
  auto uids = rangeInFile(fs::joinPath(host.etcDir, "subuid"), host);
  auto gids = rangeInFile(fs::joinPath(host.etcDir, "subgid"), host);
  if (!uids || !gids) return plan;
  plan.uids = *uids;
  plan.gids = *gids;
  plan.subordinate = true;
  return plan;
}

IdMapPlan planIdMaps(bool forceSingle) { return planIdMaps(IdMapHost::current(forceSingle)); }

namespace {

// What the plan was read from: the files, each by its identity (an edit, a
// replacement, a new inode changes it), and which helpers exist (installing
// or removing them changes the plan as much). `line` is what the record keeps.
struct PlanInputs {
  std::string line;
  std::string newuidmap, newgidmap;
};

PlanInputs planInputs(const IdMapHost& host) {
  PlanInputs in{"coco-idmap-plan 2", findHelper(host.helperDirs, "newuidmap"),
                findHelper(host.helperDirs, "newgidmap")};
  for (const char* name : {"subuid", "subgid", "passwd"}) {
    struct stat st;
    if (::stat(fs::joinPath(host.etcDir, name).c_str(), &st) != 0) {
      in.line += " -";
      continue;
    }
    in.line += fmt::format(" {}:{}:{}:{}.{}:{}.{}", st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec,
                           st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
  }
  in.line += fmt::format(" helpers:{}:{}", in.newuidmap.empty() ? 0 : 1, in.newgidmap.empty() ? 0 : 1);
  return in;
}

std::string formatPlan(const std::string& inputs, const IdMapPlan& plan) {
  return fmt::format("{}\n{} {} {} {} {} {} {}\n", inputs, plan.uid, plan.gid, plan.subordinate ? 1 : 0,
                     plan.uids.start, plan.uids.count, plan.gids.start, plan.gids.count);
}

// The plan the record holds when it was made from `inputs` for this host's user; nullopt otherwise.
std::optional<IdMapPlan> parsePlan(std::string_view text, const PlanInputs& in, const IdMapHost& host) {
  const std::string& inputs = in.line;
  if (!text.starts_with(inputs) || text.size() <= inputs.size() || text[inputs.size()] != '\n') return std::nullopt;
  text.remove_prefix(inputs.size() + 1);
  unsigned long v[7];
  for (unsigned long& n : v) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end == text.data() + text.size() || (*end != ' ' && *end != '\n')) return std::nullopt;
    text.remove_prefix(static_cast<size_t>(end - text.data()) + 1);
  }
  if (!text.empty() || v[0] != host.uid || v[1] != host.gid || v[2] > 1) return std::nullopt;
  IdMapPlan plan;
  plan.uid = host.uid;
  plan.gid = host.gid;
  if (v[2] == 0) return plan;
  if (v[4] != kSubIdCount || v[6] != kSubIdCount || v[3] > UINT32_MAX - kSubIdCount ||
      v[5] > UINT32_MAX - kSubIdCount)
    return std::nullopt;
  // Never from the record: a path coco runs.
  plan.newuidmap = in.newuidmap;
  plan.newgidmap = in.newgidmap;
  if (plan.newuidmap.empty() || plan.newgidmap.empty()) return std::nullopt;
  plan.subordinate = true;
  plan.uids = {v[3], v[4]};
  plan.gids = {v[5], v[6]};
  return plan;
}

// `host` without its user's name when lookUpName: looked up only when planning has to run.
IdMapPlan planCached(const std::string& dir, IdMapHost host, bool lookUpName) {
  // Taken before planning reads anything: a file changed meanwhile leaves a
  // record that no longer matches, and the next run plans again.
  PlanInputs inputs = planInputs(host);
  if (auto text = sys::readUntrusted(dir, kIdMapPlanRecordName, 4096); text)
    if (auto plan = parsePlan(*text, inputs, host)) return *plan;
  if (lookUpName) host.userName = nameOfUser(host.uid);
  IdMapPlan plan = planIdMaps(host);
  auto saved = fs::makeDirs(dir, 0700);
  if (saved) saved = fs::writeFileAtomic(fs::joinPath(dir, kIdMapPlanRecordName), formatPlan(inputs.line, plan), 0600);
  if (!saved) log::debug("id-map plan not remembered: {}", saved.error().describe());
  return plan;
}

}  // namespace

IdMapPlan planIdMapsCached(const std::string& dir, const IdMapHost& host) {
  if (dir.empty() || host.forceSingle) return planIdMaps(host);
  return planCached(dir, host, false);
}

bool idMapsNeedNameService(const std::string& dir, bool forceSingle) {
  if (forceSingle) return false;
  IdMapHost host;
  host.uid = ::getuid();
  host.gid = ::getgid();
  auto listed = sys::passwdFileEntry("/etc/passwd", host.uid);
  if (listed && !listed->name.empty()) return false;
  if (dir.empty()) return true;
  PlanInputs inputs = planInputs(host);
  auto text = sys::readUntrusted(dir, kIdMapPlanRecordName, 4096);
  return !text || !parsePlan(*text, inputs, host);
}

IdMapPlan planIdMapsCached(const std::string& dir, bool forceSingle) {
  if (dir.empty() || forceSingle) return planIdMaps(forceSingle);
  IdMapHost host;
  host.uid = ::getuid();
  host.gid = ::getgid();
  return planCached(dir, host, true);
}

Result<bool> writeIdMaps(pid_t pid, const IdMapPlan& plan) {
  if (!plan.subordinate) {
    COCO_TRY(writeSingleUidMap(pid, plan));
    COCO_TRY(writeSingleGidMap(pid, plan));
    return false;
  }
  // Both helpers at once: each is a setuid exec, a large share of start-up.
  auto uidHelper = spawnHelper(plan.newuidmap, pid, plan.uid, plan.uids);
  auto gidHelper = spawnHelper(plan.newgidmap, pid, plan.gid, plan.gids);
  auto uid = waitHelper(plan.newuidmap, std::move(uidHelper));
  auto gid = waitHelper(plan.newgidmap, std::move(gidHelper));
  if (uid && gid) return true;
  log::debug("subordinate id mapping failed ({}); using the single mapping", (uid ? gid : uid).error().message());
  if (!uid) COCO_TRY(writeSingleUidMap(pid, plan));
  if (!gid) COCO_TRY(writeSingleGidMap(pid, plan));
  return false;
}

}  // namespace coco::engine
