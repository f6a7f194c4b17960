// User-namespace helper: fork, unshare(CLONE_NEWUSER), maps written by the parent.
#include "image/userns.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace coco::image {

namespace {

constexpr uint32_t kRangeSize = 65536;

// The start of the first range of /etc/sub[ug]id for `name` or `id` holding 65536 ids.
bool findRange(const char* file, const std::string& name, unsigned long id, uint32_t& start) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string owner, first, count;
    if (!std::getline(fields, owner, ':') || !std::getline(fields, first, ':') || !std::getline(fields, count)) continue;
    if (owner != name && owner != std::to_string(id)) continue;
    char* end = nullptr;
    unsigned long s = std::strtoul(first.c_str(), &end, 10);
    unsigned long c = std::strtoul(count.c_str(), nullptr, 10);
    if (*end == '\0' && c >= kRangeSize) {
      start = static_cast<uint32_t>(s);
      return true;
    }
  }
  return false;
}

bool hasTool(const char* name) {
  for (const char* dir : {"/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/", "/usr/local/bin/"})
    if (::access((std::string(dir) + name).c_str(), X_OK) == 0) return true;
  return false;
}

Status runTool(const std::vector<std::string>& argv) {
  pid_t pid = ::fork();
  if (pid < 0) return Error::fromErrno("fork for {}", argv[0]);
  if (pid == 0) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return Error::make("{} {} failed", argv[0], argv[1]);
  return {};
}

Status writeProc(pid_t pid, const char* file, const std::string& text) {
  std::string path = fmt::format("/proc/{}/{}", pid, file);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return Error::fromErrno("open {}", path);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return Error::fromErrno("write {} to {}", text, path);
  return {};
}

Status writeMaps(pid_t pid, const IdMap& map) {
  if (!map.full()) {
    COCO_TRY(writeProc(pid, "setgroups", "deny"));
    COCO_TRY(writeProc(pid, "uid_map", fmt::format("0 {} 1\n", map.uid)));
    return writeProc(pid, "gid_map", fmt::format("0 {} 1\n", map.gid));
  }
  auto p = std::to_string(pid);
  COCO_TRY(runTool({"newuidmap", p, "0", std::to_string(map.uid), "1", "1", std::to_string(map.subuidStart),
                    std::to_string(map.count)}));
  return runTool({"newgidmap", p, "0", std::to_string(map.gid), "1", "1", std::to_string(map.subgidStart),
                  std::to_string(map.count)});
}

// Child side: wait for the maps, become root, run fn, report, exit.
[[noreturn]] void childMain(int readyFd, int reportFd, const std::function<Status()>& fn) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  char go = 0;
  Status st;
  bool unshared = ::unshare(CLONE_NEWUSER) == 0;
  if (!unshared) st = Error::fromErrno("unshare(CLONE_NEWUSER)");
  char state = unshared ? 1 : 0;  // 1: the parent may write the maps
  (void)!::write(reportFd, &state, 1);
  if (unshared) {
    if (::read(readyFd, &go, 1) != 1 || go != 1) ::_exit(3);
    if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0) st = Error::fromErrno("setresuid(0) in user namespace");
    else st = fn();
  }
  std::string msg = st.ok() ? std::string() : st.error().describe();
  (void)!::write(reportFd, msg.data(), msg.size());
  ::_exit(st.ok() ? 0 : 1);
}

}  // namespace

IdMap hostIdMap() {
  IdMap map;
  map.uid = ::getuid();
  map.gid = ::getgid();
  const char* mode = std::getenv("COCO_USERNS");
  if (mode && std::string(mode) == "single") return map;
  if (!hasTool("newuidmap") || !hasTool("newgidmap")) return map;
  struct passwd* pw = ::getpwuid(map.uid);
  std::string name = pw ? pw->pw_name : "";
  uint32_t us = 0, gs = 0;
  if (findRange("/etc/subuid", name, map.uid, us) && findRange("/etc/subgid", name, map.gid, gs)) {
    map.subuidStart = us;
    map.subgidStart = gs;
    map.count = kRangeSize;
  }
  return map;
}

Status runInUserNamespace(const IdMap& map, const std::function<Status()>& fn) {
  int toChild[2], fromChild[2];
  if (::pipe2(toChild, O_CLOEXEC) != 0 || ::pipe2(fromChild, O_CLOEXEC) != 0) return Error::fromErrno("pipe");
  UniqueFd toRead(toChild[0]), toWrite(toChild[1]), fromRead(fromChild[0]), fromWrite(fromChild[1]);
  pid_t pid = ::fork();
  if (pid < 0) return Error::fromErrno("fork");
  if (pid == 0) {
    toWrite.reset();
    fromRead.reset();
    childMain(toRead.get(), fromWrite.get(), fn);
  }
  toRead.reset();
  fromWrite.reset();
  char unshared = 0;
  Status mapped;
  if (::read(fromRead.get(), &unshared, 1) == 1 && unshared == 1) {
    mapped = writeMaps(pid, map);
    char go = mapped.ok() ? 1 : 0;
    (void)!::write(toWrite.get(), &go, 1);
  }
  toWrite.reset();
  std::string msg;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fromRead.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) msg.append(buf, static_cast<size_t>(n));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (!mapped.ok()) return std::move(mapped).error().wrap("writing the user namespace id maps");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (!msg.empty()) return Error::make("{}", msg);
  if (WIFSIGNALED(status)) return Error::make("user-namespace helper killed by signal {}", WTERMSIG(status));
  return Error::make("user-namespace helper exited with status {}", WEXITSTATUS(status));
}

Status removeTreeAsOwner(const IdMap& map, const std::string& path) {
  if (!fs::exists(path)) return {};
  return runInUserNamespace(map, [&] { return fs::removeTree(path); });
}

}  // namespace coco::image
