// User-namespace helper: fork, unshare(CLONE_NEWUSER), maps written by the parent.
#include "image/userns.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>

#include "util/fs.hpp"
#include "util/unique_fd.hpp"

namespace coco::image {

namespace {

// Child side: wait for the maps, become root, run fn, report, exit.
[[noreturn]] void childMain(int readyFd, int reportFd, const std::function<Status(bool)>& fn) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  char go = 0;
  Status st;
  bool unshared = ::unshare(CLONE_NEWUSER) == 0;
  if (!unshared) st = Error::fromErrno("unshare(CLONE_NEWUSER)");
  char state = unshared ? 1 : 0;  // 1: the parent may write the maps
  (void)!::write(reportFd, &state, 1);
  if (unshared) {
    // 1: the single mapping, 2: the subordinate one.
    if (::read(readyFd, &go, 1) != 1 || (go != 1 && go != 2)) ::_exit(3);
    if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0) st = Error::fromErrno("setresuid(0) in user namespace");
    else st = fn(go == 2);
  }
  std::string msg = st.ok() ? std::string() : st.error().describe();
  (void)!::write(reportFd, msg.data(), msg.size());
  ::_exit(st.ok() ? 0 : 1);
}

// The child's report, to EOF (its exit); ticks while none comes.
std::string readReport(int fd, const WaitTick& wait) {
  std::string msg;
  char buf[4096];
  for (;;) {
    if (wait.tick) {
      pollfd p{fd, POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(wait.interval.count()));
      if (ready == 0) {
        wait.tick();
        continue;
      }
      if (ready < 0 && errno == EINTR) continue;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return msg;
    msg.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

Status runInUserNamespace(const engine::IdMapPlan& map, const std::function<Status(bool subordinate)>& fn) {
  return runInUserNamespace(map, fn, WaitTick{});
}

Status runInUserNamespace(const engine::IdMapPlan& map, const std::function<Status(bool subordinate)>& fn,
                          const WaitTick& wait) {
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
  Result<bool> mapped = false;
  if (::read(fromRead.get(), &unshared, 1) == 1 && unshared == 1) {
    mapped = engine::writeIdMaps(pid, map);
    char go = !mapped ? 0 : *mapped ? 2 : 1;
    (void)!::write(toWrite.get(), &go, 1);
  }
  toWrite.reset();
  std::string msg = readReport(fromRead.get(), wait);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (!mapped.ok()) return std::move(mapped).error().wrap("writing the user namespace id maps");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (!msg.empty()) return Error::make("{}", msg);
  if (WIFSIGNALED(status)) return Error::make("user-namespace helper killed by signal {}", WTERMSIG(status));
  return Error::make("user-namespace helper exited with status {}", WEXITSTATUS(status));
}

Status runInUserNamespace(const engine::IdMapPlan& map, const std::function<Status()>& fn) {
  return runInUserNamespace(map, [&](bool) { return fn(); });
}

Status removeTreeAsOwner(const engine::IdMapPlan& map, const std::string& path) {
  if (!fs::exists(path)) return {};
  return runInUserNamespace(map, [&] { return fs::removeTree(path); });
}

engine::IdMapPlan hostIdMaps() {
  const char* mode = std::getenv("COCO_USERNS");
  return engine::planIdMaps(engine::singleIdMapRequested(mode ? mode : ""));
}

}  // namespace coco::image
