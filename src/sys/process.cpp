// Running other programs: one spawner (posix_spawn), and what a wait status means.
#include "sys/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/front.hpp"
#include "util/signal_mask.hpp"
#include "util/unique_fd.hpp"

extern char** environ;

namespace coco::sys {

int exitCodeOf(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return 125;
}

int waitExitCode(pid_t pid) {
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0)
    if (errno != EINTR) return -errno;
  return exitCodeOf(wstatus);
}

namespace {

constexpr uint64_t kNeverIgnored =
    (uint64_t{1} << (SIGKILL - 1)) | (uint64_t{1} << (SIGSTOP - 1)) | (uint64_t{1} << (SIGCHLD - 1));

}  // namespace

uint64_t ignoredSignalsNow() { return ignoredSignalMask() & ~kNeverIgnored; }

uint64_t ignoredSignalsAtStart() {
  // The front read them first thing in main; coco-full reads them here, at cli's first call.
  static const uint64_t mask =
      (front::active() ? front::ignoredAtStart() : ignoredSignalMask()) & ~kNeverIgnored;
  return mask;
}

namespace {

std::vector<char*> pointers(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Owns the posix_spawn attribute objects for the duration of one spawn.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  int stdio(int target, Stdio how, int pipeWrite) {
    if (how == Stdio::Null)
      return posix_spawn_file_actions_addopen(&actions_, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0);
    if (how == Stdio::Capture) return posix_spawn_file_actions_adddup2(&actions_, pipeWrite, target);
    return 0;
  }
  int dup(int fd, int target) { return posix_spawn_file_actions_adddup2(&actions_, fd, target); }
  int cwd(const std::string& dir) { return dir.empty() ? 0 : posix_spawn_file_actions_addchdir_np(&actions_, dir.c_str()); }
  int onlyStdio() { return posix_spawn_file_actions_addclosefrom_np(&actions_, 3); }
  // Ignored signals stay ignored across exec and a blocked mask is inherited:
  // neither is the child's business.
  int signalDefaults() {
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    int rc = posix_spawnattr_setsigdefault(&attr_, &all);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr_, &none);
    if (rc == 0) rc = posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    return rc;
  }
  int start(pid_t* pid, const SpawnOptions& o, char* const* argv, char* const* envp) {
    return o.searchPath ? ::posix_spawnp(pid, argv[0], &actions_, &attr_, argv, envp)
                        : ::posix_spawn(pid, argv[0], &actions_, &attr_, argv, envp);
  }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

int prepare(SpawnSetup& s, const SpawnOptions& o, int pipeWrite) {
  int rc = s.signalDefaults();
  if (rc == 0 && o.inFd >= 0) rc = s.dup(o.inFd, STDIN_FILENO);
  else if (rc == 0) rc = s.stdio(STDIN_FILENO, o.in == Stdio::Capture ? Stdio::Inherit : o.in, -1);
  if (rc == 0) rc = s.stdio(STDOUT_FILENO, o.out, pipeWrite);
  if (rc == 0) rc = s.stdio(STDERR_FILENO, o.err, pipeWrite);
  if (rc == 0) rc = s.cwd(o.cwd);
  if (rc == 0 && o.onlyStdio) rc = s.onlyStdio();
  return rc;
}

// Reads the pipe to its end, at most `limit` bytes kept.
Status readCapped(int fd, size_t limit, std::string& out) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::fromErrno("reading a program's output");
    if (n == 0) return {};
    if (out.size() + static_cast<size_t>(n) > limit)
      return Error::withErrno(EFBIG, fmt::format("a program's output is larger than {} bytes", limit));
    out.append(buf, static_cast<size_t>(n));
  }
}

// Restores SIGINT/SIGQUIT when the wait is over.
class InterruptsIgnored {
 public:
  explicit InterruptsIgnored(bool active) : active_(active) {
    if (!active_) return;
    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGINT, &ignore, &oldInt_);
    ::sigaction(SIGQUIT, &ignore, &oldQuit_);
  }
  ~InterruptsIgnored() {
    if (!active_) return;
    ::sigaction(SIGINT, &oldInt_, nullptr);
    ::sigaction(SIGQUIT, &oldQuit_, nullptr);
  }
  InterruptsIgnored(const InterruptsIgnored&) = delete;
  InterruptsIgnored& operator=(const InterruptsIgnored&) = delete;

 private:
  bool active_;
  struct sigaction oldInt_ = {}, oldQuit_ = {};
};

}  // namespace

Result<pid_t> spawn(const SpawnOptions& o, int* output) {
  if (o.argv.empty()) return Error::withErrno(EINVAL, "nothing to run: empty command");
  bool capture = o.out == Stdio::Capture || o.err == Stdio::Capture;
  if (capture && !output) return Error::withErrno(EINVAL, "capturing output needs somewhere to put it");
  int fds[2] = {-1, -1};
  if (capture && ::pipe2(fds, O_CLOEXEC) != 0) return Error::fromErrno("pipe");
  UniqueFd readEnd(fds[0]), writeEnd(fds[1]);
  auto argv = pointers(o.argv);
  auto envp = o.env ? pointers(*o.env) : std::vector<char*>();
  SpawnSetup setup;
  int rc = prepare(setup, o, writeEnd.get());
  pid_t pid = -1;
  if (rc == 0) rc = setup.start(&pid, o, argv.data(), o.env ? envp.data() : environ);
  if (rc != 0) return Error::withErrno(rc, fmt::format("cannot run {}", o.argv[0]));
  if (capture) *output = readEnd.release();
  return pid;
}

Result<RunResult> run(const SpawnOptions& o) {
  InterruptsIgnored quiet(o.ignoreInterrupts);
  int out = -1;
  COCO_ASSIGN(pid_t pid, spawn(o, &out));
  UniqueFd outFd(out);
  RunResult result;
  Status read = outFd ? readCapped(outFd.get(), o.captureLimit, result.output) : Status();
  outFd.reset();  // a child still writing past the cap gets EPIPE instead of blocking the wait
  int code = waitExitCode(pid);
  if (code < 0) return Error::withErrno(-code, fmt::format("waiting for {}", o.argv[0]));
  if (!read) return std::move(read).error().wrap(o.argv[0]);
  result.exitCode = code;
  return result;
}

}  // namespace coco::sys
