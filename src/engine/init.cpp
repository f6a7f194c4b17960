// The sandbox's init process.
#include "engine/init.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <poll.h>
#include <sched.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/child_report.hpp"
#include "engine/process.hpp"
#include "engine/rootfs.hpp"
#include "sys/fd_passing.hpp"
#include "sys/loopback.hpp"
#include "sys/process.hpp"
#include "util/trace.hpp"

namespace coco::engine {

namespace {

// The pty comes from the sandbox's own devpts, so the tool sees it in /dev/pts.
int openPty(const ChildPlan& plan, int sock) {
  int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return fail("open /dev/ptmx"), -1;
  int unlock = 0;
  if (::ioctl(master, TIOCSPTLCK, &unlock) != 0) return fail("unlocking the pty"), -1;
  if (::ioctl(master, TIOCSWINSZ, &plan.windowSize) != 0) return fail("setting the pty window size"), -1;
  int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return fail("opening the pty"), -1;
  if (int rc = sys::sendFd(sock, master); rc != 0) return failWith(-rc, 125, "passing the pty to coco", nullptr), -1;
  ::close(master);
  return slave;
}

// Once per start: the net setup hook (when there is one) brings lo up itself
// and reports that step to the gateway; in a holder's spare it is up already.
bool bringUpLoopback(const ChildPlan& plan) {
  if (!plan.newNetns || plan.netPreMade || plan.netSetup) return true;
  int rc = sys::bringLoopbackUp();
  return rc >= 0 || failWith(-rc, 125, "bringing up the loopback interface", nullptr);
}

// Not in a holder's spare: it was set up before the run, and coco has its listeners.
bool setupNetwork(const ChildPlan& plan, int channel) {
  if (!plan.netSetup || plan.netPreMade) return true;
  const char* failedStep = "network setup";
  int err = plan.netSetup(plan.netPlan, channel, &failedStep);
  return err == 0 || failWith(err, 125, "setting up the sandbox network:", failedStep);
}

// rlimits count in the sandbox's user namespace: RLIMIT_NPROC limits the
// sandbox's tasks, not the user's others (the kernel's per-namespace ucounts).
// Hard and soft: without CAP_SYS_RESOURCE in the host's namespace nothing
// inside can raise them again.
bool applyLimits(const ChildPlan& plan) {
  struct { int resource; uint64_t value; const char* name; } limits[] = {
      {RLIMIT_NPROC, plan.rlimitNproc, "setrlimit(RLIMIT_NPROC)"},
      {RLIMIT_DATA, plan.rlimitData, "setrlimit(RLIMIT_DATA)"}};
  for (const auto& l : limits) {
    struct rlimit r;
    if (!l.value || ::getrlimit(l.resource, &r) != 0) continue;
    // Only lower: a user whose own hard limit is smaller keeps it.
    r.rlim_cur = r.rlim_max = l.value < r.rlim_max ? l.value : r.rlim_max;
    if (::setrlimit(l.resource, &r) != 0) return fail(l.name);
  }
  // When the host runs out of memory, the sandbox goes first.
  int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    (void)!::write(fd, "500", 3);
    ::close(fd);
  }
  return true;
}

// A sysctl of the namespaces init is in, through the host's /proc (its files answer for the
// caller's namespaces). Best effort: an older kernel lacks some of them.
void writeSysctl(const char* file, const char* text) {
  int fd = ::open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)!::write(fd, text, std::strlen(text));
  ::close(fd);
}

void writeSysctl(const char* file, unsigned long long value) {
  char text[24];
  std::snprintf(text, sizeof text, "%llu", value);
  writeSysctl(file, text);
}

unsigned long long readSysctl(const char* file) {
  char text[24] = {};
  int fd = ::open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  return n > 0 ? std::strtoull(text, nullptr, 10) : 0;
}

// inotify instances and watches are charged to the user on the host, across user namespaces: a
// sandbox could take all of them (128 instances by default) while it runs, and the user's editor
// and other runs' workspace guards would get none. The limits of the sandbox's own user
// namespace (Linux 4.9 and later; the host's still apply above them) keep it to a share: a
// quarter of the instances, half of the watches. Set by init, which holds CAP_SYS_RESOURCE in
// that namespace; the tool holds none (and /proc/sys is read-only to it).
void boundInotify() {
  if (unsigned long long instances = readSysctl("/proc/sys/fs/inotify/max_user_instances"))
    writeSysctl("/proc/sys/user/max_inotify_instances", std::max(instances / 4, 8ull));
  if (unsigned long long watches = readSysctl("/proc/sys/fs/inotify/max_user_watches"))
    writeSysctl("/proc/sys/user/max_inotify_watches", std::max(watches / 2, 8192ull));
}

// System V objects live in the sandbox's IPC namespace and die with it, but what they hold is the
// host's kernel memory, which no rlimit counts: the defaults let one sandbox make 32000 arrays of
// 32000 semaphores (64 bytes each: 64 GB), each process an undo record per array it uses with
// SEM_UNDO (2 bytes a semaphore), 32000 message queues (each up to 16 KiB of text in as many
// 64-byte messages), and shared memory segments up to the host's memory that RLIMIT_DATA does not
// count either. Bounded in that namespace: 4096 semaphores in at most 32 arrays of 1024 (about
// 512 KiB: each 64 KiB array takes a 128 KiB allocation; undo records at most about 20 KiB a
// process), 32 message queues (at most 32 MiB), and shared memory to `shmBytes` (limits.memory;
// 0: unlimited, the kernel's defaults stay). The kernel lets the namespace's root write these
// files without any capability: what keeps the tool from raising them is /proc/sys being
// read-only in the sandbox (rootfs.cpp).
void boundSystemVIpc(uint64_t shmBytes) {
  writeSysctl("/proc/sys/kernel/sem", "1024 4096 500 32");
  writeSysctl("/proc/sys/kernel/msgmni", 32);
  if (!shmBytes) return;
  writeSysctl("/proc/sys/kernel/shmmax", shmBytes);
  auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  writeSysctl("/proc/sys/kernel/shmall", shmBytes / page);
}

// Processes in the sandbox's pid namespace: the numeric names in its /proc.
uint64_t countProcesses(int procFd) {
  alignas(struct dirent64) char buf[16384];
  uint64_t count = 0;
  ::lseek(procFd, 0, SEEK_SET);
  ssize_t n;
  while ((n = ::getdents64(procFd, buf, sizeof buf)) > 0) {
    for (ssize_t off = 0; off < n;) {
      auto* entry = reinterpret_cast<struct dirent64*>(buf + off);
      if (entry->d_name[0] >= '1' && entry->d_name[0] <= '9') ++count;
      off += entry->d_reclen;
    }
  }
  return count;
}

// A fork bomb holds the sandbox at its process limit; a busy build passes it.
// Three seconds in a row at the limit: coco is told (and stops the sandbox).
struct PidsWatch {
  int timer = -1;
  int proc = -1;
  int ticksAtLimit = 0;
};

PidsWatch startPidsWatch(const ChildPlan& plan) {
  PidsWatch w;
  if (!plan.pidsNearLimit) return w;
  w.proc = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  w.timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  struct itimerspec every = {{1, 0}, {1, 0}};
  if (w.proc < 0 || w.timer < 0 || ::timerfd_settime(w.timer, 0, &every, nullptr) != 0) w.timer = -1;
  return w;
}

void checkPids(PidsWatch& w, const ChildPlan& plan, int events) {
  uint64_t expirations;
  if (::read(w.timer, &expirations, sizeof expirations) != sizeof expirations) return;
  w.ticksAtLimit = countProcesses(w.proc) >= plan.pidsNearLimit ? w.ticksAtLimit + 1 : 0;
  if (w.ticksAtLimit == 3) (void)!::write(events, &kEventPidsLimit, 1);
}

void noop(int) {}

void prepareSignals(sigset_t& set) {
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  struct sigaction sa = {};
  // At SIG_IGN (coco's parent's, inherited through the clone when no caller reset it) the kernel
  // would reap the tool itself, and init would never hear of its end.
  sa.sa_handler = SIG_DFL;
  ::sigaction(SIGCHLD, &sa, nullptr);
  sa.sa_handler = noop;
  // pid 1 drops signals it has no handler for, even blocked ones from outside.
  for (int sig : kForwardedSignals) {
    sigaddset(&set, sig);
    ::sigaction(sig, &sa, nullptr);
  }
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
}

// Closing the last copy of an inotify instance waits for an SRCU grace period
// (fsnotify_destroy_group: 4-20 ms, in about half of the runs here). init has
// held a copy of the workspace guard's since the clone; it keeps it, and only
// it, until coco has closed its end of the events pipe, after the guard's
// check (or at coco's exit), so the release happens in init's exit, which no
// one waits for, rather than in coco's close. The sandbox holds no other
// process by now, and init dies with coco (PR_SET_PDEATHSIG).
void outlastCoco(int watchFd, int events) {
  int low = std::min(watchFd, events), high = std::max(watchFd, events);
  if (low > 0) ::close_range(0, static_cast<unsigned>(low) - 1, 0);
  if (high > low + 1) ::close_range(static_cast<unsigned>(low) + 1, static_cast<unsigned>(high) - 1, 0);
  ::close_range(static_cast<unsigned>(high) + 1, ~0U, 0);
  struct pollfd closed = {events, 0, 0};  // a pipe's write end: POLLERR once no reader is left
  while (::poll(&closed, 1, -1) < 0 && errno == EINTR) {
  }
}

// The tool is gone: what it left dies now, and coco hears the status before
// the kernel tears the namespaces down (init's exit does that). Every process
// of the sandbox is init's descendant or was reparented to it, so once kill(-1)
// finds none and waitpid none, none is left; kill(-1) again catches one that a
// fork made while the first round ran.
[[noreturn]] void finishRun(int code, const ChildPlan& plan, int events) {
  // pid 1 of its own pid namespace only (always, as clone makes it): kill(-1)
  // anywhere else would reach every process of the user.
  if (::getpid() != 1) _exit(code);
  while (::kill(-1, SIGKILL) == 0) {
    while (::waitpid(-1, nullptr, __WALL) > 0 || errno == EINTR) {
    }
  }
  struct rusage ru {};
  ::getrusage(RUSAGE_CHILDREN, &ru);
  ToolExit done;
  done.code = code;
  done.maxRssKib = ru.ru_maxrss;
  (void)!::write(events, &done, sizeof done);
  if (plan.guardWatchFd >= 0) outlastCoco(plan.guardWatchFd, events);
  _exit(code);
}

void reapAll(pid_t tool, const ChildPlan& plan, int events) {
  int wstatus;
  pid_t pid;
  while ((pid = ::waitpid(-1, &wstatus, WNOHANG | __WALL)) > 0)
    if (pid == tool) {
      trace::point("init-tool-exited");
      finishRun(sys::exitCodeOf(wstatus), plan, events);
    }
}

// Waits for signals (forwarded to the tool, SIGCHLD reaps), watches the
// process count and, while the gateway needs it, serves its requests for
// sockets in the sandbox's netns.
[[noreturn]] void superviseTool(pid_t tool, const sigset_t& set, const ChildPlan& plan, int net, int events) {
  int sigfd = ::signalfd(-1, &set, SFD_CLOEXEC);
  PidsWatch watch = startPidsWatch(plan);
  for (;;) {
    struct pollfd fds[3] = {{sigfd, POLLIN, 0}, {watch.timer, POLLIN, 0}, {net, POLLIN, 0}};
    if (::poll(fds, net >= 0 ? 3 : 2, -1) < 0) continue;
    if (fds[1].revents) checkPids(watch, plan, events);
    if (net >= 0 && fds[2].revents) {
      if (!plan.netServe || plan.netServe(net) != 0) {
        ::close(net);
        net = -1;
      }
    }
    if (!(fds[0].revents & POLLIN)) continue;
    signalfd_siginfo info;
    while (::read(sigfd, &info, sizeof info) == sizeof info) {
      int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGCHLD) reapAll(tool, plan, events);
      else ::kill(tool, sig);
    }
  }
}

// The tool's stack while it shares init's memory (below): static, so nothing
// is allocated after clone. execTool needs a few KiB (a PATH_MAX buffer).
alignas(64) char g_toolStack[128 * 1024];

struct ToolStart {
  const ChildPlan* plan;
  int slave;
  int report;
};

int toolMain(void* arg) {
  const auto* start = static_cast<const ToolStart*>(arg);
  execTool(*start->plan, start->slave, start->report);  // never returns
}

// Like posix_spawn: CLONE_VM|CLONE_VFORK starts the tool without copying
// init's page tables (a fork of coco's address space cost ~0.4 ms), and init
// sleeps until the tool has exec'd or exited, so the two never run on the
// shared memory at once. The tool still gets its own descriptor table,
// working directory, signal handlers, rlimits and credentials (no CLONE_FILES,
// CLONE_FS, CLONE_SIGHAND, CLONE_THREAD), so what execTool changes before
// execve stays its own. glibc's clone wrapper takes no locks and runs no
// fork handlers, which glibc's fork would.
pid_t spawnTool(const ChildPlan& plan, int slave, int report) {
  ToolStart start{&plan, slave, report};
  return ::clone(toolMain, g_toolStack + sizeof g_toolStack, CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
}

// Allocation-free: init is a copy of a process that may have other threads.
bool writeProcSelf(const char* file, const char* text, size_t len) {
  int fd = ::open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail("open", file);
  bool ok = ::write(fd, text, len) == static_cast<ssize_t>(len);
  int err = errno;
  ::close(fd);
  errno = err;
  return ok || fail("write", file);
}

// The single mapping, by init in its new user namespace (it maps only the
// uid and gid of the user who made the namespace, which needs no privilege):
// setgroups must be denied before an unprivileged gid_map.
bool writeOwnMaps(const ChildPlan& plan) {
  return writeProcSelf("/proc/self/uid_map", plan.ownUidMap.data(), plan.ownUidMap.size()) &&
         writeProcSelf("/proc/self/setgroups", "deny", 4) &&
         writeProcSelf("/proc/self/gid_map", plan.ownGidMap.data(), plan.ownGidMap.size());
}

}  // namespace

void runInit(const ChildPlan& plan, InitFds fds) {
  trace::point("init-start");
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) _exit(125);
  // coco killed before that (between the clone and here) sends no signal: nothing of a sandbox
  // runs once coco is gone. A pidfd turns readable when its process has exited.
  struct pollfd coco = {plan.cocoPidfd, POLLIN, 0};
  if (plan.cocoPidfd >= 0 && ::poll(&coco, 1, 0) != 0) _exit(125);
  if (!plan.ownUidMap.empty() && !writeOwnMaps(plan)) reportAndExit(fds.report);
  trace::point("init-wait-go");
  char go = 0;
  // EOF here means coco died or gave up before the id maps were written.
  if (::read(fds.sync, &go, 1) != 1) _exit(125);
  ::close(fds.sync);
  trace::point("init-go");
  // '2': the subordinate-id helpers mapped the groups, so setgroups is allowed.
  // A raw syscall, not glibc's setgroups: that one synchronises with threads of
  // the parent process that this copy of it can never see released.
  if (go == '2' && ::syscall(SYS_setgroups, 0, nullptr) != 0) {
    fail("setgroups");
    reportAndExit(fds.report);
  }
  bool ok = ::sethostname(plan.hostname.c_str(), plan.hostname.size()) == 0 || fail("sethostname");
  boundInotify();  // through the host's /proc, before the sandbox's own replaces it
  boundSystemVIpc(plan.sysvShmBytes);
  ok = ok && bringUpLoopback(plan) && setupNetwork(plan, fds.net) && setupRootfs(plan);
  if (!ok) reportAndExit(fds.report);
  trace::point("init-mounts-done");
  int slave = -1;
  if (plan.tty && (slave = openPty(plan, fds.tty)) < 0) reportAndExit(fds.report);
  if (!applyLimits(plan)) reportAndExit(fds.report);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  sigset_t set;
  prepareSignals(set);
  // Before the clone: once the tool has exec'd, a stop must reach it, even while this process
  // has not yet closed its copy of the report pipe (coco reads the exec from that pipe's end).
  char spawning = kEventToolSpawning;
  (void)!::write(fds.events, &spawning, 1);
  trace::point("init-tool-clone");
  pid_t tool = spawnTool(plan, slave, fds.report);
  if (tool < 0) {
    fail("starting the tool (clone)");
    reportAndExit(fds.report);
  }
  ::close(fds.report);
  if (slave >= 0) ::close(slave);
  if (fds.tty >= 0) ::close(fds.tty);
  // The tool's pipes: coco sees their end when the last of the tool's copies closes.
  for (int fd : plan.stdio)
    if (fd >= 0) ::close(fd);
  superviseTool(tool, set, plan, fds.net, fds.events);
}

}  // namespace coco::engine
