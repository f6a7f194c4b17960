// The orchestrator: plan, clone, map ids, release the child, relay and wait.
// Each step lives in its own file; this one only calls them in order.
#include "engine/engine.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "engine/child_plan.hpp"
#include "engine/child_report.hpp"
#include "engine/idmap.hpp"
#include "engine/init.hpp"
#include "engine/terminal.hpp"
#include "engine/workspace_guard.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace coco::engine {

namespace {

struct Channels {
  UniqueFd syncRead, syncWrite;      // parent -> child: id maps written
  UniqueFd reportRead, reportWrite;  // child -> parent: setup or exec failure
  UniqueFd ttyParent, ttyChild;      // child -> parent: the pty master
  UniqueFd netParent, netChild;      // the network layer's channel
};

Result<Channels> openChannels(bool tty, bool net) {
  Channels ch;
  int p[2];
  if (net) {
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) != 0) return Error::fromErrno("socketpair");
    ch.netParent.reset(p[0]);
    ch.netChild.reset(p[1]);
  }
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::fromErrno("pipe");
  ch.syncRead.reset(p[0]);
  ch.syncWrite.reset(p[1]);
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::fromErrno("pipe");
  ch.reportRead.reset(p[0]);
  ch.reportWrite.reset(p[1]);
  if (tty) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0) return Error::fromErrno("socketpair");
    ch.ttyParent.reset(p[0]);
    ch.ttyChild.reset(p[1]);
  }
  return ch;
}

// Blocks the forwarded signals for the parent's lifetime in run() and reads them
// from a signalfd; the old mask comes back on destruction. Threads started
// after it (the gateway's) inherit the mask; a thread started before run()
// must block them itself, or it takes a Ctrl-C and coco dies of it.
class SignalRouter {
 public:
  SignalRouter() {
    sigemptyset(&set_);
    for (int sig : kForwardedSignals) sigaddset(&set_, sig);
    ::sigprocmask(SIG_BLOCK, &set_, &old_);
    fd_.reset(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
    struct sigaction ign = {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &oldPipe_);
  }
  ~SignalRouter() {
    ::sigprocmask(SIG_SETMASK, &old_, nullptr);
    ::sigaction(SIGPIPE, &oldPipe_, nullptr);
  }
  int fd() const { return fd_.get(); }

 private:
  sigset_t set_, old_;
  struct sigaction oldPipe_ = {};
  UniqueFd fd_;
};

Error explainCloneFailure(int err) {
  std::string why = "cannot create the sandbox's namespaces";
  auto sysctl = [](const char* path) {
    auto v = fs::readFile(path);
    return v ? std::string(v->c_str(), v->find_first_of("\n") == std::string::npos ? v->size() : v->find('\n'))
             : std::string();
  };
  std::string hint;
  if (sysctl("/proc/sys/kernel/unprivileged_userns_clone") == "0")
    hint = "unprivileged user namespaces are disabled: sudo sysctl -w kernel.unprivileged_userns_clone=1";
  else if (sysctl("/proc/sys/user/max_user_namespaces") == "0")
    hint = "user namespaces are disabled: sudo sysctl -w user.max_user_namespaces=15000";
  else if (sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1")
    hint = "AppArmor restricts unprivileged user namespaces (Ubuntu): "
           "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or add an AppArmor profile for coco";
  else if (err == ENOSPC)
    hint = "the user namespace limit is reached (user.max_user_namespaces)";
  Error e = Error::withErrno(err, why);
  return hint.empty() ? e : Error::withErrno(err, fmt::format("{} ({})", why, hint));
}

struct Child {
  pid_t pid = -1;
  UniqueFd pidfd;
};

Result<Child> cloneChild(const ChildPlan& plan, Channels& ch) {
  int pidfd = -1;
  struct clone_args args = {};
  args.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP |
               CLONE_PIDFD | (plan.newNetns ? CLONE_NEWNET : 0);
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return explainCloneFailure(errno);
  if (pid == 0) {
    InitFds fds{ch.syncRead.get(), ch.reportWrite.get(), ch.ttyChild.valid() ? ch.ttyChild.get() : -1,
                ch.netChild.valid() ? ch.netChild.get() : -1};
    runInit(plan, fds);  // never returns
  }
  ch.syncRead.reset();
  ch.reportWrite.reset();
  ch.ttyChild.reset();
  ch.netChild.reset();
  return Child{static_cast<pid_t>(pid), UniqueFd(pidfd)};
}

int reap(pid_t pid) {
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return 125;
}

// What to do about the failures a user can meet, added in the parent where
// formatting is allowed.
std::string hintFor(const ChildReport& report, const std::string& msg) {
  if (report.err == EOVERFLOW)
    return " (a file is owned by a user or group that is not mapped into the sandbox: the root file system "
           "must belong to you, or to ids in your /etc/subuid range)";
  if (msg.find("overlay") != std::string::npos)
    return " (unprivileged overlayfs needs Linux 5.11 or newer, and layer directories on a file system with "
           "user extended attributes)";
  return {};
}

Error childFailure(const ChildReport& report) {
  std::string msg(report.message, strnlen(report.message, sizeof report.message));
  msg += hintFor(report, msg);
  Error e = Error::withErrno(report.err, msg);
  if (report.exitCode == 126 || report.exitCode == 127) return std::move(e).withExitCode(report.exitCode);
  return e.wrap("setting up the sandbox");
}

int receiveFd(int sock) {
  char byte;
  struct iovec iov = {&byte, 1};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1) return -1;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  std::memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
  return fd;
}

// Sends the go byte, collects the pty master, then waits for the exec (the
// report pipe closes) or a failure report.
Result<UniqueFd> releaseChild(const Child& child, Channels& ch, bool helpersUsed) {
  char go = helpersUsed ? '2' : '1';
  if (::write(ch.syncWrite.get(), &go, 1) != 1) return Error::fromErrno("starting the sandbox");
  ch.syncWrite.reset();
  UniqueFd master;
  if (ch.ttyParent.valid()) master.reset(receiveFd(ch.ttyParent.get()));
  ChildReport report;
  ssize_t n;
  while ((n = ::read(ch.reportRead.get(), &report, sizeof report)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof report)) {
    reap(child.pid);
    return childFailure(report);
  }
  return master;
}

void forwardSignals(int sigfd, pid_t pid, int master) {
  signalfd_siginfo info;
  while (::read(sigfd, &info, sizeof info) == sizeof info) {
    if (info.ssi_signo == SIGWINCH && master >= 0) copyWindowSize(STDIN_FILENO, master);
    else ::kill(pid, static_cast<int>(info.ssi_signo));
  }
}

// Runs until the child exits: forwards signals, in pty mode relays bytes, and lets the
// workspace guard remove what the tool plants while it runs.
int superviseChild(const Child& child, int sigfd, int master, WorkspaceGuard& guard) {
  bool stdinOpen = master >= 0;
  if (master >= 0) ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
  for (;;) {
    struct pollfd fds[5] = {{child.pidfd.get(), POLLIN, 0}, {sigfd, POLLIN, 0}, {master, POLLIN, 0},
                            {stdinOpen ? STDIN_FILENO : -1, POLLIN, 0}, {guard.watchFd(), POLLIN, 0}};
    if (::poll(fds, 5, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents) forwardSignals(sigfd, child.pid, master);
    if (fds[2].revents && !relayOnce(master, STDOUT_FILENO)) master = -1;
    if (fds[3].revents && !relayOnce(STDIN_FILENO, master)) stdinOpen = false;
    if (fds[4].revents) guard.onWatchEvents();
    if (fds[0].revents) break;
  }
  while (master >= 0 && relayOnce(master, STDOUT_FILENO)) {
  }
  return reap(child.pid);
}

Status checkNetwork(const RunSpec& spec, const NetworkHooks* net) {
  bool needsGateway = spec.network == Network::Full || spec.network == Network::Allowlist;
  if (needsGateway && (!net || !net->setup || !net->start))
    return Error::make("network mode needs the gateway, which this caller did not provide");
  if (!spec.ports.empty() && spec.network != Network::Host && (!net || !net->serve || !net->start))
    return Error::make("published ports need the gateway, which this caller did not provide");
  return {};
}

void attachNetwork(ChildPlan& plan, const NetworkHooks* net) {
  if (!net || !plan.newNetns) return;
  plan.netSetup = net->setup;
  plan.netPlan = net->plan;
  plan.netServe = net->serve;
  if (!net->resolvConf.empty()) plan.resolvFile = net->resolvConf;
}

void killAndReap(pid_t pid) {
  ::kill(pid, SIGKILL);
  reap(pid);
}

// Once the tool may have run, the workspace guard's check runs on every way out of run().
struct GuardCheck {
  WorkspaceGuard* guard = nullptr;
  ~GuardCheck() {
    if (guard) guard->finish();
  }
};

}  // namespace

Result<int> run(const RunSpec& spec, const NetworkHooks* net) {
  COCO_TRY(checkNetwork(spec, net));
  bool tty = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
  WorkspaceGuard guard;
  COCO_ASSIGN(ChildPlan plan, makeChildPlan(spec, tty, &guard));
  attachNetwork(plan, net);
  if (tty) ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &plan.windowSize);
  IdMapPlan ids = planIdMaps();
  COCO_ASSIGN(Channels ch, openChannels(tty, plan.netSetup != nullptr || plan.netServe != nullptr));
  SignalRouter signals;
  guard.startWatching();
  COCO_ASSIGN(Child child, cloneChild(plan, ch));
  auto mapped = writeIdMaps(child.pid, ids);
  if (!mapped) {
    killAndReap(child.pid);
    return std::move(mapped).error().wrap("writing the user namespace id maps");
  }
  log::debug("sandbox pid {}: {} id mapping", child.pid, *mapped ? "subordinate-range" : "single-id");
  GuardCheck check;  // declared before the terminal: it runs after raw mode is restored
  RawTerminal terminal;
  COCO_ASSIGN(UniqueFd master, releaseChild(child, ch, *mapped));
  check.guard = &guard;
  if (ch.netParent.valid()) {
    if (auto started = net->start(std::move(ch.netParent)); !started) {
      killAndReap(child.pid);
      return std::move(started).error().wrap("starting the network gateway");
    }
  }
  if (master.valid()) terminal.enter(STDIN_FILENO);
  int status = superviseChild(child, signals.fd(), master.valid() ? master.get() : -1, guard);
  if (net && net->stop) net->stop();
  return status;
}

}  // namespace coco::engine
