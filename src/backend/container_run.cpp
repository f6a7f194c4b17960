// One `podman run` / `docker run` from start to removal: its name, its private env file, the
// watchdog that removes the container when coco dies, and signals forwarded while it runs.
#include "backend/container_run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <utility>

#include "engine/workspace_guard.hpp"
#include "sys/process.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace coco::backend {

std::string containerName(const std::string& tool, const std::string& random) {
  std::string name = "coco-" + tool + "-" + random;
  for (char& c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-';
    if (!ok) c = '-';
  }
  return name;
}

Result<std::string> envFileContent(const std::vector<std::pair<std::string, std::string>>& env) {
  std::string out;
  for (const auto& [name, value] : env) {
    // podman and docker read NAME=VALUE a line; a bare NAME would take coco's own value, and
    // leading blanks or '#' make a line something else.
    bool badName = name.empty() || name.find_first_of("=\n\r\t #") != std::string::npos;
    if (badName)
      return Error::make("variable name '{}' cannot be passed to podman/docker in an env file", name);
    if (value.find('\n') != std::string::npos || value.find('\r') != std::string::npos)
      return Error::make(
          "the value of {} holds a line break, which podman's and docker's env files cannot carry; "
          "use the native runtime for it",
          name);
    out += name + "=" + value + "\n";
  }
  return out;
}

Result<PrivateFile> PrivateFile::create(const std::string& dir, const std::string& content) {
  if (dir.empty())
    return Error::make("neither XDG_RUNTIME_DIR nor HOME is set: no private place for the env file");
  COCO_TRY(fs::makeDirs(dir, 0700));
  std::string path = fs::joinPath(dir, "container-env.XXXXXX");
  UniqueFd fd(::mkostemp(path.data(), O_CLOEXEC));  // mode 0600
  if (!fd) return Error::fromErrno("creating a private file in {}", dir);
  PrivateFile file(path);
  for (size_t done = 0; done < content.size();) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::fromErrno("writing {}", path);
    done += static_cast<size_t>(n);
  }
  return file;
}

PrivateFile::~PrivateFile() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

namespace {

constexpr int kContainerSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// A process of its own session that outlives coco: when coco is gone without saying the run is
// over (the pipe closes with no 'D'), it kills the runtime's client, removes the container and
// the env file. Only async-signal-safe calls after fork: everything is prepared before it.
class Watchdog {
 public:
  static Result<Watchdog> start(const ContainerRun& run) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return Error::fromErrno("pipe");
    UniqueFd readEnd(fds[0]), writeEnd(fds[1]);
    std::vector<std::string> rm = {run.runtime, "rm", "-f", run.name};
    auto argv = pointers(rm);
    const char* envFile = run.envFile.c_str();
    pid_t pid = ::fork();
    if (pid < 0) return Error::fromErrno("fork");
    if (pid == 0) watch(readEnd.get(), argv.data(), envFile);
    Watchdog w;
    w.pid_ = pid;
    w.fd_ = std::move(writeEnd);
    return w;
  }
  Watchdog() = default;
  Watchdog(Watchdog&& other) noexcept : pid_(std::exchange(other.pid_, -1)), fd_(std::move(other.fd_)) {}
  Watchdog& operator=(Watchdog&&) = delete;
  ~Watchdog() {
    if (pid_ > 0) {
      fd_.reset();
      ::waitpid(pid_, nullptr, 0);  // a dismissed watchdog exits at once
    }
  }
  // Tells it the runtime client's pid, to kill when coco dies.
  void track(pid_t client) { (void)!::write(fd_.get(), &client, sizeof client); }
  void dismiss() { (void)!::write(fd_.get(), "D", 1); }

 private:
  [[noreturn]] static void watch(int in, char** rm, const char* envFile) {
    ::setsid();
    for (int sig : kContainerSignals) ::signal(sig, SIG_IGN);
    if (::dup2(in, 3) != 3) _exit(1);
    ::close_range(4, ~0U, 0);
    int null = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
    if (null > 2) ::close(null);
    pid_t client = -1;
    int pidfd = -1;
    if (::read(3, &client, sizeof client) == sizeof client)
      pidfd = static_cast<int>(::syscall(SYS_pidfd_open, client, 0));
    char c = 0;
    ssize_t n;
    while ((n = ::read(3, &c, 1)) < 0 && errno == EINTR) {
    }
    if (n == 1 && c == 'D') _exit(0);
    // coco is gone: the client first, so it cannot create the container after the removal.
    if (pidfd >= 0) ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    if (envFile[0]) ::unlink(envFile);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execvp(rm[0], rm);
      _exit(127);
    }
    int status;
    if (pid > 0) ::waitpid(pid, &status, 0);
    _exit(0);
  }

  pid_t pid_ = -1;
  UniqueFd fd_;
};

// The signals above, read from a signalfd while the container runs; the old mask comes back.
// One coco's parent left ignored (nohup's SIGHUP) stays ignored: blocked, it would be queued
// and passed on, and a SIGHUP would remove the container. (The runtime's client, in coco's
// process group, catches what is sent to the whole group itself: podman's sig-proxy does.)
class BlockedSignals {
 public:
  BlockedSignals() {
    uint64_t ignored = sys::ignoredSignalsAtStart();
    sigemptyset(&set_);
    for (int sig : kContainerSignals)
      if (!sys::isIgnored(ignored, sig)) sigaddset(&set_, sig);
    ::sigprocmask(SIG_BLOCK, &set_, &old_);
    fd_.reset(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
  }
  ~BlockedSignals() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  int fd() const { return fd_.get(); }

 private:
  sigset_t set_, old_;
  UniqueFd fd_;
};

using Clock = std::chrono::steady_clock;

struct Supervision {
  const ContainerRun& run;
  pid_t client;
  bool stopping = false;  // coco was asked to stop: removeAt is set
  Clock::time_point removeAt{};
  bool removed = false;
};

// A terminal's signal (SI_KERNEL) went to the whole foreground group, the runtime's client
// included, which passes it on; one sent to coco alone is passed on here.
void onSignals(Supervision& s, int sigfd) {
  signalfd_siginfo info;
  while (::read(sigfd, &info, sizeof info) == sizeof info) {
    int sig = static_cast<int>(info.ssi_signo);
    bool fromTerminal = info.ssi_code == SI_KERNEL;
    if (!fromTerminal) ::kill(s.client, sig);
    bool stop = sig == SIGTERM || sig == SIGHUP || (sig == SIGINT && !fromTerminal);
    if (stop && !s.stopping) {
      s.stopping = true;
      s.removeAt = Clock::now() + std::chrono::seconds(kStopGraceSeconds);
    }
  }
}

void removeContainer(const ContainerRun& run) {
  auto done = sys::run({.argv = {run.runtime, "rm", "-f", run.name},
                        .in = sys::Stdio::Null,
                        .out = sys::Stdio::Null,
                        .err = sys::Stdio::Null});
  (void)done;
}

// The grace is over: the container goes (and the client, should it still hang on, 5 s later).
void onDeadline(Supervision& s) {
  if (!s.removed) {
    log::debug("{} did not stop within {} s: removing it", s.run.name, kStopGraceSeconds);
    removeContainer(s.run);
    s.removed = true;
    s.removeAt = Clock::now() + std::chrono::seconds(5);
    return;
  }
  ::kill(s.client, SIGKILL);
  s.stopping = false;
}

int pollTimeout(const Supervision& s) {
  if (!s.stopping) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(s.removeAt - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

Result<int> supervise(const ContainerRun& run, pid_t client, int sigfd) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, client, 0)));
  if (!pidfd) return Error::fromErrno("pidfd_open {}", client);
  Supervision s{run, client};
  int watchFd = run.guard ? run.guard->watchFd() : -1;
  for (;;) {
    struct pollfd fds[3] = {{pidfd.get(), POLLIN, 0}, {sigfd, POLLIN, 0}, {watchFd, POLLIN, 0}};
    // The guard's own wake-up (a listing put off after lost events), as for a native run.
    int timeout = pollTimeout(s);
    int watchDue = run.guard ? run.guard->watchTimeoutMs() : -1;
    if (watchDue >= 0 && (timeout < 0 || watchDue < timeout)) timeout = watchDue;
    int n = ::poll(fds, 3, timeout);
    if (n < 0 && errno != EINTR) return Error::fromErrno("poll");
    if (n == 0 && s.stopping && Clock::now() >= s.removeAt) onDeadline(s);
    if (n == 0 && watchDue >= 0 && run.guard->watchTimeoutMs() == 0) run.guard->onWatchEvents();
    if (n <= 0) continue;
    if (fds[1].revents) onSignals(s, sigfd);
    if (fds[2].revents) run.guard->onWatchEvents();
    if (fds[0].revents) break;
  }
  int code = sys::waitExitCode(client);
  if (code < 0) return Error::withErrno(-code, "waiting for " + run.runtime);
  // A client stopped while it was still creating the container (before it passes signals on)
  // exits and leaves the container running: asked to stop, coco makes sure it is gone.
  if (s.stopping || s.removed) removeContainer(run);
  return code;
}

}  // namespace

Result<int> runContainer(const ContainerRun& run) {
  COCO_ASSIGN(Watchdog watchdog, Watchdog::start(run));
  if (run.guard) run.guard->startWatching();
  Result<int> status = Error::make("not run");
  {
    BlockedSignals signals;
    auto client = sys::spawn({.argv = run.args});
    if (!client) {
      watchdog.dismiss();
      return client.error();
    }
    watchdog.track(*client);
    status = supervise(run, *client, signals.fd());
    // Unread signals stay pending and take effect here, as they would have.
  }
  if (run.guard) run.guard->finish();
  // After an error the container may still be there: the watchdog removes it.
  if (status) watchdog.dismiss();
  return status;
}

}  // namespace coco::backend
