// The orchestrator: plan, clone, map ids, release the child, relay and wait.
// Each step lives in its own file; this one only calls them in order.
#include "engine/engine.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <utility>

#include <fmt/ranges.h>

#include "engine/cgroup.hpp"
#include "engine/child_plan.hpp"
#include "engine/child_report.hpp"
#include "engine/idmap.hpp"
#include "engine/init.hpp"
#include "engine/restrictions.hpp"
#include "engine/terminal.hpp"
#include "engine/userns_holder.hpp"
#include "engine/workspace_guard.hpp"
#include "sys/beneath.hpp"
#include "sys/fd_passing.hpp"
#include "sys/process.hpp"
#include "util/exit_alloc.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/size.hpp"
#include "util/trace.hpp"
#include "util/unique_fd.hpp"

namespace coco::engine {

namespace {

struct Channels {
  UniqueFd syncRead, syncWrite;      // parent -> child: id maps written
  UniqueFd reportRead, reportWrite;  // child -> parent: setup or exec failure
  UniqueFd ttyParent, ttyChild;      // child -> parent: the pty master
  UniqueFd netParent, netChild;      // the network layer's channel
  UniqueFd eventsRead, eventsWrite;  // init -> parent: kEvent* bytes
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
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::fromErrno("pipe");
  ch.eventsRead.reset(p[0]);
  ch.eventsWrite.reset(p[1]);
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
  // What coco's parent left ignored stays ignored, as an exec keeps it: the tool starts with it
  // ignored (ChildPlan::ignoredSignals), and coco does not act on it itself (no stop of the
  // setup, no default action in allowStops). It is still passed on, as the kernel would deliver it to
  // the tool run directly: one that handles it itself (a server reloading on SIGHUP under
  // nohup) gets it.
  SignalRouter() : ignored_(sys::ignoredSignalsAtStart()) {
    sigemptyset(&set_);
    for (int sig : kForwardedSignals) sigaddset(&set_, sig);
    ::sigprocmask(SIG_BLOCK, &set_, &old_);
    fd_.reset(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
    struct sigaction ign = {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &oldPipe_);
  }
  ~SignalRouter() {
    if (stopsAllowed_)
      for (size_t i = 0; i < std::size(kStops); ++i)
        if (!sys::isIgnored(ignored_, kStops[i])) ::sigaction(kStops[i], &oldStops_[i], nullptr);
    ::sigprocmask(SIG_SETMASK, &old_, nullptr);
    ::sigaction(SIGPIPE, &oldPipe_, nullptr);
  }
  int fd() const { return fd_.get(); }

  // The signals ignored when coco started, which the tool gets ignored (ChildPlan::ignoredSignals).
  uint64_t ignoredAtStart() const { return ignored_; }

  // After a stopped setup, for the workspace guard's check (which a hung workspace mount may
  // hold): stop signals in the next `graceMs` belong to the stop already handled (a closed
  // terminal's SIGHUP comes from the kernel and again from the shell) and are dropped; after
  // that they act by default again, so one ends coco even in a wait on a hung NFS or FUSE mount,
  // which only a fatal signal ends (a caught one would not). One ignored at start stays ignored;
  // SIGPIPE stays ignored, USR1/USR2 blocked.
  void allowStops(int graceMs) {
    struct timespec start, now;
    ::clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
      signalfd_siginfo info;
      while (::read(fd_.get(), &info, sizeof info) == sizeof info) {
      }
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      int64_t left = graceMs - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
      if (left <= 0) break;
      struct pollfd p = {fd_.get(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left));
    }
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    sigset_t stops;
    sigemptyset(&stops);
    for (size_t i = 0; i < std::size(kStops); ++i) {
      if (sys::isIgnored(ignored_, kStops[i])) continue;
      ::sigaction(kStops[i], &dfl, &oldStops_[i]);
      sigaddset(&stops, kStops[i]);
    }
    stopsAllowed_ = true;
    ::sigprocmask(SIG_UNBLOCK, &stops, nullptr);
  }

 private:
  static constexpr int kStops[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

  uint64_t ignored_ = 0;
  sigset_t set_, old_;
  struct sigaction oldPipe_ = {};
  struct sigaction oldStops_[std::size(kStops)] = {};
  bool stopsAllowed_ = false;
  UniqueFd fd_;
};

// `usage` (optional) gets the child's resource use with its reaped descendants': for the
// sandbox's init, ru_maxrss is the largest any process in the sandbox grew.
int reap(pid_t pid, struct rusage* usage = nullptr) {
  int wstatus = 0;
  while (::wait4(pid, &wstatus, 0, usage) < 0 && errno == EINTR) {
  }
  return sys::exitCodeOf(wstatus);
}

// The holder's user namespace, validated, and the maps a sandbox gets inside it;
// no ns: today's path.
struct Holder {
  UniqueFd ns;
  std::string maps;
  UniqueFd pidfd;
  bool groupsMapped = false;  // the subordinate plan's: setgroups is allowed in the sandbox
};

struct Child {
  pid_t pid = -1;
  UniqueFd pidfd;
  bool inHolder = false;  // its user namespace is a child of the holder's, already mapped
  bool released = false;  // the go byte is sent (by the holder's helper, right after the maps)
  bool netPreMade = false;  // it is in a spare network namespace of the holder's
};

InitFds initFds(const Channels& ch) {
  return InitFds{ch.syncRead.get(), ch.reportWrite.get(), ch.ttyChild.valid() ? ch.ttyChild.get() : -1,
                 ch.netChild.valid() ? ch.netChild.get() : -1, ch.eventsWrite.get()};
}

// The child's ends are the child's alone once it runs.
void dropChildEnds(Channels& ch) {
  ch.syncRead.reset();
  ch.reportWrite.reset();
  ch.ttyChild.reset();
  ch.netChild.reset();
  ch.eventsWrite.reset();
}

struct clone_args cloneArgs(const ChildPlan& plan, int cgroupFd, int* pidfd) {
  struct clone_args args = {};
  args.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP |
               CLONE_PIDFD | (plan.newNetns && !plan.netPreMade ? CLONE_NEWNET : 0) |
               (cgroupFd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  args.exit_signal = SIGCHLD;
  args.cgroup = cgroupFd >= 0 ? static_cast<uint64_t>(cgroupFd) : 0;
  return args;
}

// Starts init in its namespaces, in `cgroupFd`'s group when it is >= 0
// (CLONE_INTO_CGROUP: the sandbox never runs outside it).
Result<Child> cloneChild(const ChildPlan& plan, Channels& ch, int cgroupFd) {
  int pidfd = -1;
  struct clone_args args = cloneArgs(plan, cgroupFd, &pidfd);
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0 && errno == ENOSYS && cgroupFd < 0) {
    // No clone3 (before Linux 5.3, or a container's seccomp profile, as
    // Docker's default makes it ENOSYS so runtimes fall back): clone(2) takes
    // the same namespaces and puts the pidfd where parent_tid points.
    log::debug("clone3: ENOSYS; starting the sandbox with clone(2)");
    pid = ::syscall(SYS_clone, static_cast<unsigned long>(args.flags) | SIGCHLD, nullptr, &pidfd, nullptr, 0);
  }
  if (pid < 0) return cloneFailure(errno, HostRestrictions::detect());
  if (pid == 0) runInit(plan, initFds(ch));  // never returns
  dropChildEnds(ch);
  return Child{static_cast<pid_t>(pid), UniqueFd(pidfd)};
}

// --- through the user-namespace holder (engine/userns_holder.hpp) ---
//
// A short-lived helper joins the holder's user namespace and clones init from
// there with CLONE_PARENT, so init is coco's child as on the other path, and
// its new user namespace is a child of the holder's; the helper, with every
// capability in the holder's namespace, writes init's maps itself (no setuid
// newuidmap/newgidmap). coco itself never changes user namespace, so this
// works whatever threads coco has: setns(CLONE_NEWUSER) needs a single-
// threaded caller that shares no fs_struct, which the helper is.
// The helper runs on coco's memory (CLONE_VM|CLONE_VFORK, coco waits) and on a
// static stack, so it allocates nothing and only makes system calls.

struct HolderClone {
  const ChildPlan* plan;
  InitFds fds;
  int holderFd;
  int netnsFd;  // a spare network namespace of the holder's for init, or -1
  struct clone_args args;
  sigset_t mask;    // coco's, for init
  const char* map;  // the nested maps, for uid_map and gid_map
  size_t mapLen;
  char go;        // init's go byte: '2' when the groups are mapped (releaseChild)
  int syncWrite;  // coco's end of init's go byte (the helper shares coco's descriptors)
  long pid = -1;  // init's, once cloned
  int err = 0;
  const char* failed = nullptr;
};

// Also init's stack: init is cloned from the helper, so it goes on in a copy of this
// stack where the other path's init has coco's main stack. Untouched pages cost nothing.
alignas(64) char g_holderHelperStack[1024 * 1024];
std::mutex g_holderHelperStackInUse;  // runs in threads of one process take turns

bool writeProcMap(long pid, const char* file, const char* text, size_t len) {
  char path[64] = "/proc/";
  char digits[24];
  int n = 0;
  for (unsigned long v = static_cast<unsigned long>(pid); n == 0 || v; v /= 10)
    digits[n++] = static_cast<char>('0' + v % 10);
  size_t at = std::strlen(path);
  while (n) path[at++] = digits[--n];
  path[at++] = '/';
  for (const char* c = file; *c;) path[at++] = *c++;
  path[at] = 0;
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text, len) == static_cast<ssize_t>(len);
  ::close(fd);
  return ok;
}

int holderHelper(void* arg) {
  auto* h = static_cast<HolderClone*>(arg);
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &h->mask, nullptr, _NSIG / 8);
  if (::setns(h->holderFd, CLONE_NEWUSER) != 0) {
    h->err = errno;
    h->failed = "setns";
    return 1;
  }
  trace::point("holder-joined");
  // Allowed now: the spare's owner is the holder's user namespace, where the helper has every capability.
  if (h->netnsFd >= 0 && ::setns(h->netnsFd, CLONE_NEWNET) != 0) {
    h->err = errno;
    h->failed = "setns (the spare network namespace)";
    return 1;
  }
  // With CLONE_PARENT the child's exit signal is the helper's (SIGCHLD); clone3 wants none given.
  h->args.flags |= CLONE_PARENT;
  h->args.exit_signal = 0;
  long pid = ::syscall(SYS_clone3, &h->args, sizeof h->args);
  if (pid == 0) runInit(*h->plan, h->fds);  // never returns
  if (pid < 0) {
    h->err = errno;
    h->failed = "clone3";
    return 1;
  }
  h->pid = pid;
  trace::point("holder-cloned");
  bool okU = writeProcMap(pid, "uid_map", h->map, h->mapLen);
  trace::point("helper-uidmap");
  bool okG = okU && writeProcMap(pid, "gid_map", h->map, h->mapLen);
  trace::point("helper-gidmap");
  if (!okU || !okG) {
    h->err = errno;
    h->failed = "writing the id maps";
    return 1;
  }
  // Init may go on now: the maps are all it waits for on this path, and
  // sending the byte here rather than from coco saves coco's wake-up after
  // the helper's exit from init's start.
  if (::write(h->syncWrite, &h->go, 1) != 1) {
    h->err = errno;
    h->failed = "starting the sandbox";
    return 1;
  }
  trace::point("helper-go-sent");
  return 0;
}

Result<Child> cloneInHolder(const ChildPlan& plan, Channels& ch, int cgroupFd, const Holder& holder,
                            int netnsFd) {
  int pidfd = -1;
  HolderClone h{&plan,
                initFds(ch),
                holder.ns.get(),
                netnsFd,
                cloneArgs(plan, cgroupFd, &pidfd),
                {},
                holder.maps.data(),
                holder.maps.size(),
                holder.groupsMapped ? '2' : '1',
                ch.syncWrite.get()};
  std::lock_guard<std::mutex> turn(g_holderHelperStackInUse);
  sigset_t all;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &h.mask);  // no handler of coco's runs on the helper's stack
  pid_t helper = ::clone(holderHelper, g_holderHelperStack + sizeof g_holderHelperStack,
                         CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &h);
  int cloneErr = errno;
  ::pthread_sigmask(SIG_SETMASK, &h.mask, nullptr);
  if (helper < 0) return Error::withErrno(cloneErr, "clone (the holder's helper)");
  trace::point("helper-vfork-back");
  int wstatus;
  while (::waitpid(helper, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (h.failed) {
    if (h.pid > 0) {
      ::kill(static_cast<pid_t>(h.pid), SIGKILL);
      reap(static_cast<pid_t>(h.pid));
    }
    if (pidfd >= 0) ::close(pidfd);
    return Error::withErrno(h.err, h.failed);
  }
  dropChildEnds(ch);
  return Child{static_cast<pid_t>(h.pid), UniqueFd(pidfd), true, true, netnsFd >= 0};
}

// The holder in `dir` for the run's mapping, checked (started when missing or
// stale); none ("" dir, any failure) means today's path, and COCO_DEBUG says why.
Holder findHolder(const HostSetup& host, const IdMapPlan& ids) {
  Holder holder;
  if (host.holderDir.empty()) return holder;
  auto ns = joinableHolder(host.holderDir, ids, host.holderIdleSeconds, host.holderSetup, host.holderSpares,
                           &holder.pidfd);
  if (!ns) {
    log::debug("not using the user-namespace holder: {}", ns.error().describe());
    return holder;
  }
  holder.ns = std::move(*ns);
  holder.maps = nestedIdMapText(ids);
  holder.groupsMapped = ids.subordinate;
  return holder;
}

// A spare network namespace from the holder for this run, its listeners offered to
// the gateway (NetworkHooks::offerSpare); none (today's path) when the run makes no
// network namespace, the holder keeps none, or anything about it is off.
UniqueFd takeSpare(const HostSetup& host, const Holder& holder, const ChildPlan& plan,
                   const NetworkHooks* net, bool& asked) {
  if (!holder.ns || !holder.pidfd || !host.holderSpares || !plan.newNetns) return {};
  if (net && (!net->offerSpare || !net->useSpare)) return {};
  bool capture = net && net->capture;
  asked = true;
  auto fds = takeSpareNetns(holder.pidfd.get(), holder.ns.get(), capture);
  if (!fds) {
    log::debug("no spare network namespace from the holder: {}", fds.error().describe());
    return {};
  }
  UniqueFd netns = std::move(fds->front());
  fds->erase(fds->begin());
  if (net) {
    auto offered = net->offerSpare(netns.get(), std::move(*fds));
    if (!offered) {
      log::debug("the holder's spare network namespace is refused: {}", offered.error().describe());
      net->useSpare(false);
      return {};
    }
  }
  return netns;
}

// Through the holder when there is one, into its spare network namespace when
// `spareNetns` is one; today's path when that fails.
Result<Child> cloneSandbox(ChildPlan& plan, Channels& ch, int cgroupFd, const Holder& holder,
                           int spareNetns) {
  if (holder.ns) {
    plan.netPreMade = spareNetns >= 0;
    // The helper maps init on this path: init writes no maps of its own.
    std::string ownUid = std::exchange(plan.ownUidMap, {}), ownGid = std::exchange(plan.ownGidMap, {});
    auto child = cloneInHolder(plan, ch, cgroupFd, holder, spareNetns);
    if (child) return child;
    plan.ownUidMap = std::move(ownUid);
    plan.ownGidMap = std::move(ownGid);
    log::debug("starting the sandbox through the user-namespace holder: {}; without it",
               child.error().describe());
  }
  plan.netPreMade = false;
  return cloneChild(plan, ch, cgroupFd);
}

// The sandbox's cgroup when the user has a delegated one and a limit needs it.
std::optional<cgroup::Group> makeGroup(const Limits& limits) {
  if (!limits.memoryBytes && !limits.pids && !limits.cpuMillis) return std::nullopt;
  auto delegation = cgroup::detect();
  if (!delegation) {
    log::debug("limits by rlimits only: {}", delegation.error().describe());
    return std::nullopt;
  }
  cgroup::removeStale(*delegation);
  static int serial = 0;
  auto group = cgroup::Group::create(*delegation, fmt::format("coco-{}-{}", ::getpid(), serial++), limits);
  if (!group) {
    log::debug("limits by rlimits only: {}", group.error().describe());
    return std::nullopt;
  }
  log::debug("sandbox cgroup {} ({})", group->path(), fmt::join(delegation->controllers, " "));
  return std::move(*group);
}

// clone3 into the group; without it when the kernel refuses (before 5.7, or
// the group cannot take the sandbox), and then the rlimits carry the memory limit.
Result<Child> startSandbox(ChildPlan& plan, Channels& ch, std::optional<cgroup::Group>& group,
                           const Limits& limits, const Holder& holder, int spareNetns) {
  if (group) {
    if (group->limitsMemory()) plan.rlimitData = 0;
    auto child = cloneSandbox(plan, ch, group->dirFd(), holder, spareNetns);
    if (child) return child;
    log::debug("clone3 into {}: {}; limits by rlimits only", group->path(), child.error().describe());
    group.reset();
    plan.rlimitData = limits.memoryBytes;
  }
  return cloneSandbox(plan, ch, -1, holder, spareNetns);
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
  return refusedInNamespaceHint(report.err, HostRestrictions::detect());
}

// Init could not open or make a mount's target (EACCES; ChildReport::target) below a directory
// of the image that host root owns (a `rootfs:` image root made): root is never mapped into an
// unprivileged user's sandbox, so its directories take nothing new. Said, or "Permission denied"
// leaves the user guessing. `layers`: the image's directories on the host, topmost first; the
// deepest entry of the target's path one of them has (reached with no symlink: the image is
// untrusted, and a symlink would lead this lookup onto the host) is the one the sandbox saw.
std::string unmappedOwnerHint(const ChildReport& report, const std::vector<std::string>& layers) {
  size_t length = strnlen(report.target, sizeof report.target);
  if (report.err != EACCES || ::getuid() == 0 || length == 0 || length == sizeof report.target - 1 ||
      report.target[0] != '/')
    return "";
  // Not up to /: the sandbox's / is the overlay's upper, its own; a walk that gets there found
  // none of the path in the image, so the EACCES came from elsewhere (a mount of the config's).
  for (std::string path = fs::normalize(std::string(report.target, length)); path.size() > 1;
       path = path.substr(0, std::max<size_t>(path.rfind('/'), 1))) {
    for (const auto& layer : layers) {
      UniqueFd root(::open(layer.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!root) continue;
      int fd = sys::openat2Beneath(root.get(), path.c_str() + 1, O_PATH | O_NOFOLLOW);
      // Not in this layer, or below a directory this user cannot search on the host (root's
      // 0700 /root): the parent answers.
      if (fd == -ENOENT || fd == -ENOTDIR || fd == -EACCES) continue;
      if (fd < 0) return "";  // a symlink on the way, or no answer: no claim
      UniqueFd entry(fd);
      struct stat st;
      if (::fstat(entry.get(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0) return "";
      return fmt::format(
          " (the image's {} belongs to root on the host ({}), which is never mapped into your sandbox, so "
          "nothing can be made in it: a rootfs: image must belong to you or to ids of your /etc/subuid "
          "range; `mmdebstrap --mode=unshare` builds one that does)",
          path, fs::joinPath(layer, path.substr(1)));
    }
  }
  return "";
}

Error childFailure(const ChildReport& report, const std::vector<std::string>& layers) {
  std::string msg(report.message, strnlen(report.message, sizeof report.message));
  std::string owner = unmappedOwnerHint(report, layers);
  msg += owner.empty() ? hintFor(report, msg) : owner;
  Error e = Error::withErrno(report.err, msg);
  if (report.exitCode == 126 || report.exitCode == 127) return std::move(e).withExitCode(report.exitCode);
  return e.wrap("setting up the sandbox");
}

// A stop signal coco acts on: one its parent did not leave ignored (`ignored`).
bool isActedOnStop(int sig, uint64_t ignored) {
  return (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT) && !sys::isIgnored(ignored, sig);
}

// Until the tool runs, coco waits for init: for its network listeners, its pty and its report.
// A stop signal then (Ctrl-C on a setup stuck on a hung mount source, a CI job's SIGTERM) ends
// the sandbox before the tool starts: init is killed (SIGKILL; its namespaces go with it) and
// the run fails with 128+N, as a shell reports a command the signal stopped. USR1/USR2 go to init
// as they do once the tool runs (init keeps them pending and forwards them to the tool); after a
// SIGWINCH the pty gets the window size again once its master is here (with no pty, init gets it,
// as forwardSignals gives it once the tool runs). Once init says it is starting the tool
// (kEventToolSpawning), a stop goes to init instead, which passes it to the tool once that runs;
// init is killed then only if the tool's start has not ended kStartAfterStopSeconds later or at
// a further stop (after kGraceMs).
//
// A task in a FUSE request the server already read does not die of SIGKILL until the server
// answers: coco waits kReapSeconds for init to go, or until a second stop signal, then leaves
// it to the kernel (it ends when the request does) rather than hang with it. Stop signals in
// the first kGraceMs after the SIGKILL (SIGHUP and SIGTERM of one hangup, queued together) are
// part of the first stop, not a second one (no such window when coco's own timeout sent it).
class SetupWait {
 public:
  static constexpr int kReapSeconds = 3;
  static constexpr int kGraceMs = 200;
  // How long the tool's start may go on after a stop was passed on to init before the sandbox
  // is ended anyway (the tool's chdir or exec stuck on a hung workspace mount).
  static constexpr int kStartAfterStopSeconds = 3;

  // `ignored`: the signals coco's parent left ignored; coco passes those on and does not stop.
  // `events`: init's events pipe, whose first byte (kEventToolSpawning) says the setup is done.
  SetupWait(const Child& child, int sigfd, uint64_t ignored, int events)
      : child_(child), sigfd_(sigfd), ignored_(ignored), events_(events) {}

  // Whether `fd` became readable (or hung up); false once a stop signal (or the tool's start
  // not ending kStartAfterStopSeconds after one) ended the sandbox.
  // `execs`: fd is the report pipe, which the tool's exec closes.
  bool until(int fd, bool execs = false) {
    for (;;) {
      struct pollfd fds[2] = {{fd, POLLIN, 0}, {sigfd_, POLLIN, 0}};
      int timeoutMs = -1;
      if (forwardedAt_ >= 0)
        timeoutMs = static_cast<int>(
            std::max<int64_t>(0, int64_t{kStartAfterStopSeconds} * 1000 - (monotonicMs() - forwardedAt_)));
      int n = ::poll(fds, sigfd_ >= 0 ? 2 : 1, timeoutMs);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || fds[0].revents) return true;  // the read that follows says what happened
      if (n == 0) return endSandbox(0);          // the stopped tool's start did not end
      signalfd_siginfo info;
      while (::read(sigfd_, &info, sizeof info) == sizeof info) {
        int sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGWINCH && !withPty_) {
          ::kill(child_.pid, sig);
        } else if (sig == SIGWINCH) {
          resized_ = true;
        } else if (!isStop(sig)) {
          ::kill(child_.pid, sig);
        } else if (execs && (forwardedAt_ >= 0 || spawning()) && passOn(sig)) {
          // init's setup is done and it is starting the tool: the stop goes to init, which holds
          // it until the tool runs and passes it on, as it would a moment later. Killing init
          // here killed a tool that had already exec'd whenever init was preempted before it
          // closed its copy of the report pipe (EngineTest.SigtermIsForwarded under CI load).
        } else {
          (forwardedAt_ >= 0 ? startGaveUpAt_ : stoppedBy_) = sig;
          return endSandbox(kGraceMs);
        }
      }
    }
  }

  void expectPty(bool pty) { withPty_ = pty; }

  // Whether the terminal was resized while coco waited (the pty got the size before that).
  bool resized() const { return resized_; }

  // The stop signal passed on to init while it started the tool, or 0.
  int stopSeen() const { return stoppedBy_; }

  // After a stop: whether init is gone (reaped) or left to the kernel.
  bool initReaped() const { return reaped_; }

  Error stopped() const {
    std::string left;
    if (!reaped_)
      left = fmt::format("; its init had not ended {} (most likely a hung mount source's server holds it) "
                         "and ends when that request does",
                         gaveUpAt_ ? fmt::format("when SIG{} came again", sigabbrev_np(gaveUpAt_))
                                   : fmt::format("{} s after SIGKILL", kReapSeconds));
    std::string why = "the tool never started";
    if (forwardedAt_ >= 0)
      why = fmt::format("the tool's start had not ended {}",
                        startGaveUpAt_ ? fmt::format("when SIG{} came", sigabbrev_np(startGaveUpAt_))
                                       : fmt::format("{} s later", kStartAfterStopSeconds));
    return Error::make("stopped by SIG{} while the sandbox was being set up ({}){}", sigabbrev_np(stoppedBy_), why,
                       left)
        .withExitCode(128 + stoppedBy_);
  }

 private:
  bool isStop(int sig) const { return isActedOnStop(sig, ignored_); }

  // Whether init has written kEventToolSpawning (the events pipe is readable: nothing else
  // comes before it). Left in the pipe: releaseChild reads it once the tool runs.
  bool spawning() const {
    struct pollfd p = {events_, POLLIN, 0};
    int n;
    while ((n = ::poll(&p, 1, 0)) < 0 && errno == EINTR) {
    }
    return n > 0 && (p.revents & POLLIN);  // not a bare POLLHUP: init died before it (its report says why)
  }

  // A stop once the tool's start began goes to init; so do the others of the same moment
  // (SIGHUP and SIGTERM of one hangup) within kGraceMs. A stop after that, with the tool still
  // not started (its exec stuck on a hung mount source), ends the sandbox: false. (Two stops
  // kGraceMs apart while init is preempted between the tool's exec and its close of the report
  // pipe still end a started tool: a second stop asks for that anyway.)
  bool passOn(int sig) {
    int64_t now = monotonicMs();
    if (forwardedAt_ < 0) {
      forwardedAt_ = now;
      stoppedBy_ = sig;
    } else if (now - forwardedAt_ >= kGraceMs) {
      return false;
    }
    ::kill(child_.pid, sig);
    return true;
  }

  // `graceMs`: stops in that long after the SIGKILL are part of the one that sent it.
  bool endSandbox(int graceMs) {
    ::kill(child_.pid, SIGKILL);
    awaitEnd(graceMs);
    return false;
  }

  static int64_t monotonicMs() {
    struct timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
  }

  // Reaps init once it is gone; gives up after kReapSeconds or at another stop signal.
  void awaitEnd(int graceMs) {
    int64_t start = monotonicMs();
    auto spentMs = [start] { return monotonicMs() - start; };
    bool ended = false;  // the pidfd says init ended, but a tracer (strace, gdb) reaps it first
    for (;;) {
      int status;
      if (::waitpid(child_.pid, &status, WNOHANG) == child_.pid) {
        reaped_ = true;
        return;
      }
      int64_t leftMs = int64_t{kReapSeconds} * 1000 - spentMs();
      if (leftMs <= 0) return;
      struct pollfd fds[2] = {{sigfd_, POLLIN, 0}, {child_.pidfd.get(), POLLIN, 0}};
      int n = ::poll(fds, ended ? 1 : 2, static_cast<int>(ended ? std::min<int64_t>(leftMs, 10) : leftMs));
      if (n < 0 && errno != EINTR) return;
      if (n > 0 && !ended && fds[1].revents) ended = true;
      if (n <= 0 || !fds[0].revents) continue;
      signalfd_siginfo info;
      while (::read(sigfd_, &info, sizeof info) == sizeof info) {
        int sig = static_cast<int>(info.ssi_signo);
        if (isStop(sig) && spentMs() >= graceMs) gaveUpAt_ = sig;
      }
      if (gaveUpAt_) return;
    }
  }

  const Child& child_;
  int sigfd_;
  uint64_t ignored_;
  int events_;
  int64_t forwardedAt_ = -1;  // when a stop first went to init (monotonic ms), or -1
  int startGaveUpAt_ = 0;     // the stop after that which ended the sandbox (0: the timeout did)
  int stoppedBy_ = 0;
  bool withPty_ = false;
  bool resized_ = false;
  bool reaped_ = false;
  int gaveUpAt_ = 0;  // the stop signal that ended the wait for init's end
};

// What a stop during the setup left (releaseChild's failure with 128+N).
struct SetupStop {
  bool initReaped = true;
};

// Sends the go byte; starts the gateway, if the run has one, while init sets
// up the sandbox (init sends its listeners before it mounts anything; started
// once the tool ran, the gateway's thread took a core from the tool's first
// milliseconds); collects the pty master; then waits for the exec (the report
// pipe closes) or a failure report, ending the sandbox on a stop signal (SetupWait).
Result<UniqueFd> releaseChild(const Child& child, Channels& ch, bool helpersUsed, const NetworkHooks* net,
                              int sigfd, uint64_t ignored, SetupStop& stop,
                              const std::vector<std::string>& layers) {
  char go = helpersUsed ? '2' : '1';
  // EPIPE: init failed before it read the byte (writing its own maps); its report says why.
  if (!child.released && ::write(ch.syncWrite.get(), &go, 1) != 1 && errno != EPIPE)
    return Error::fromErrno("starting the sandbox");
  ch.syncWrite.reset();
  SetupWait wait(child, sigfd, ignored, ch.eventsRead.get());
  wait.expectPty(ch.ttyParent.valid());
  ChildReport report;
  auto stopped = [&] {
    stop = {wait.initReaped()};
    return wait.stopped();
  };
  auto readReport = [&] {
    ssize_t n;
    while ((n = ::read(ch.reportRead.get(), &report, sizeof report)) < 0 && errno == EINTR) {
    }
    return n == static_cast<ssize_t>(sizeof report);
  };
  if (ch.netParent.valid()) {
    Status started = net->prepare ? net->prepare() : okStatus();
    trace::point("gateway-prepared");
    if (started) {
      // In a spare, init sends nothing: the gateway has the listeners already.
      if (!child.netPreMade && !wait.until(ch.netParent.get())) return stopped();
      started = net->start(std::move(ch.netParent));
      trace::point("gateway-started");
    }
    if (!started) {
      // When init failed first (its end of the channel closed with it), its report says why.
      ::kill(child.pid, SIGKILL);
      bool failed = readReport();
      reap(child.pid);
      if (failed) return childFailure(report, layers);
      return std::move(started).error().wrap("starting the network gateway");
    }
  }
  UniqueFd master;
  if (ch.ttyParent.valid()) {
    if (!wait.until(ch.ttyParent.get())) return stopped();
    master.reset(sys::recvFd(ch.ttyParent.get()));
  }
  if (!wait.until(ch.reportRead.get(), true)) return stopped();
  if (master.valid() && wait.resized()) copyWindowSize(STDIN_FILENO, master.get());
  bool failed = readReport();
  if (!failed) {
    // The report pipe ended: init closed its copy after the tool's clone, so its marker is
    // there (or init is gone, and with it the pipe's writer: EOF). Read here, not by onEvent,
    // which takes one event per wakeup and would miss a ToolExit behind it.
    // Not waited for: should init's write ever have failed, coco must not block here.
    struct pollfd marker = {ch.eventsRead.get(), POLLIN, 0};
    char spawning;
    if (::poll(&marker, 1, 0) == 1 && (marker.revents & POLLIN)) (void)!::read(ch.eventsRead.get(), &spawning, 1);
  }
  if (failed) {
    // The tool could not start (126, 127): init reaps it and, when it holds the workspace guard's
    // watch, waits for coco's end of the events pipe to close before it exits (init.cpp,
    // outlastCoco). Closed here, or coco and init each waited for the other.
    ch.eventsRead.reset();
    reap(child.pid);
    // A stop signal came as init reported: the run ends as stopped, with the failure said.
    if (int sig = wait.stopSeen()) return childFailure(report, layers).withExitCode(128 + sig);
    return childFailure(report, layers);
  }
  return master;
}

// Once the sandbox is gone: what it did that it was stopped for.
void reportLimits(const cgroup::Group& group, const RunSpec& spec, bool pidsReported) {
  cgroup::Events events = group.events();
  if (events.oomKills)
    log::notice("{}: the sandbox ran out of memory ({}, limits.memory) and was stopped", spec.toolName,
                formatSize(spec.limits.memoryBytes));
  if (events.pidsRefused && !pidsReported)
    log::notice("{}: the sandbox reached its process limit ({} tasks, limits.pids); {} forks failed", spec.toolName,
                spec.limits.pids, events.pidsRefused);
}

// Without a cgroup, limits.memory is RLIMIT_DATA per process: allocations past it fail (ENOMEM)
// and nothing stops the sandbox, so the tool may fail in its own words or not at all. When a
// process grew close to the limit, or the tool failed after growing past half of it, say so.
void reportRlimitMemory(const RunSpec& spec, const struct rusage& usage, int status) {
  uint64_t limit = spec.limits.memoryBytes;
  uint64_t peak = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
  if (!limit || (peak < limit / 10 * 8 && (status == 0 || peak < limit / 2))) return;
  log::notice("{}: a process in the sandbox grew to {}, near its memory limit ({} per process, limits.memory): "
              "without a delegated cgroup v2 group coco enforces it with RLIMIT_DATA, so allocations past it "
              "fail; raise limits.memory if the tool needs more",
              spec.toolName, formatSize(peak), formatSize(limit));
}

// Whether a stop signal coco acts on (not one its parent left ignored) was among those passed on.
bool forwardSignals(int sigfd, pid_t pid, int master, uint64_t ignored) {
  bool stop = false;
  signalfd_siginfo info;
  while (::read(sigfd, &info, sizeof info) == sizeof info) {
    int sig = static_cast<int>(info.ssi_signo);
    if (sig == SIGWINCH && master >= 0) copyWindowSize(STDIN_FILENO, master);
    else ::kill(pid, sig);
    stop = stop || isActedOnStop(sig, ignored);
  }
  return stop;
}

void setNonBlocking(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

struct Supervision {
  const Child& child;
  int sigfd;
  UniqueFd& master;                 // the pty master, or none
  uint64_t ignoredSignals;          // coco's parent left these ignored: coco does not act on them
  std::vector<Stdio::Relay>& relays;
  UniqueFd& events;                 // init's events; closed at their end
  const RunSpec& spec;
  WorkspaceGuard& guard;
  const NetworkHooks* net = nullptr;  // its pendingFd is polled, resume called once readable
  bool pidsReported = false;
  bool waitForTeardown = false;    // a cgroup is removed only once init is reaped
  std::optional<int> toolExit{};   // init's ToolExit: the sandbox holds no process but init
  struct rusage usage {};  // the sandbox's, once it is gone
};

void onEvent(Supervision& s) {
  char event;
  ssize_t n = ::read(s.events.get(), &event, 1);
  if (n <= 0) {
    s.events.reset();
    return;
  }
  if (event == kEventToolExited) {
    ToolExit done;
    // init wrote it whole in one write (under PIPE_BUF): the rest is there.
    if (::read(s.events.get(), reinterpret_cast<char*>(&done) + 1, sizeof done - 1) == sizeof done - 1) {
      s.toolExit = done.code;
      s.usage.ru_maxrss = done.maxRssKib;
    } else {
      s.events.reset();  // cannot happen (see above); init may wait for this end to close (outlastCoco)
    }
    return;
  }
  if (event == kEventPidsLimit && !s.pidsReported) {
    ::kill(s.child.pid, SIGKILL);  // first: the notice may wait on a stalled terminal
    log::notice("{}: the sandbox stayed at its process limit ({} tasks, limits.pids); coco stopped it",
                s.spec.toolName, s.spec.limits.pids);
    s.pidsReported = true;
  }
}

// Runs until the child exits: forwards signals, acts on init's events, relays
// bytes (the pty both ways, pipes to the user's terminal), and lets the
// workspace guard remove what the tool plants while it runs.
int superviseChild(Supervision& s) {
  bool pty = s.master.valid();
  if (pty) setNonBlocking(s.master.get(), true);
  for (auto& r : s.relays) setNonBlocking(r.from.get(), true);
  // The user's terminal: coco writes to it through a non-blocking description of its own, so a
  // stalled terminal (a suspended ssh client, a frozen terminal emulator) makes a pump wait in
  // poll, where signals still come, instead of in a write; the shell's description stays as it
  // was. Opened for the fds a pump writes to.
  UniqueFd own[3];
  auto terminal = [&own](int fd) {
    if (fd != STDOUT_FILENO && fd != STDERR_FILENO) return fd;
    if (!own[fd].valid()) own[fd] = ownNonBlocking(fd);
    return own[fd].valid() ? own[fd].get() : fd;
  };
  Pump output(s.master.get(), pty ? terminal(STDOUT_FILENO) : STDOUT_FILENO), input(STDIN_FILENO, s.master.get());
  if (!pty) {
    output.stop();
    input.stop();
  }
  std::vector<Pump> relays;
  relays.reserve(s.relays.size());
  for (auto& r : s.relays) relays.emplace_back(r.from.get(), terminal(r.to));
  // The terminal hung up (stdout reports it even unasked), the tool closed the pty, or the
  // terminal failed: the pty goes, so the tool's reads and writes fail as they would on the gone
  // terminal instead of waiting forever (one that ignores SIGHUP, as under `trap '' HUP`,
  // outlives the hangup).
  auto closePty = [&] {
    s.master.reset();
    output.stop();
    input.stop();
  };
  // The gateway's event thread, started at the sandbox's first use of its network.
  bool netPending = s.net && s.net->pendingFd && s.net->resume;
  constexpr size_t kFixed = 8;
  for (;;) {
    struct pollfd fds[kFixed + 2] = {{s.child.pidfd.get(), POLLIN, 0},
                                     {s.sigfd, POLLIN, 0},
                                     {s.events.get(), POLLIN, 0},
                                     output.pollEntry(),
                                     input.pollEntry(),
                                     {s.guard.watchFd(), POLLIN, 0},
                                     {s.master.valid() ? STDOUT_FILENO : -1, 0, 0},
                                     {netPending ? s.net->pendingFd() : -1, POLLIN, 0}};
    for (size_t i = 0; i < relays.size(); ++i) fds[kFixed + i] = relays[i].pollEntry();
    int watchDue = s.guard.watchTimeoutMs();
    if (::poll(fds, kFixed + relays.size(), watchDue) < 0 && errno != EINTR) break;
    if (fds[1].revents && forwardSignals(s.sigfd, s.child.pid, s.master.get(), s.ignoredSignals)) {
      output.noteStop();
      for (auto& r : relays) r.noteStop();
    }
    if (fds[2].revents) onEvent(s);
    if (fds[3].revents && output.step() != Pump::State::Open) closePty();
    // stdin's end: only a hangup in raw mode (then stdout reports it too, closing the pty above).
    // With stdin and stdout on two terminals and only stdin's hung up, a tool ignoring SIGHUP
    // that waits for input would still wait: not handled.
    if (fds[4].revents) input.step();
    if (fds[5].revents || (watchDue >= 0 && s.guard.watchTimeoutMs() == 0)) s.guard.onWatchEvents();
    if (fds[6].revents & (POLLHUP | POLLERR)) closePty();
    if (fds[7].revents) {
      netPending = false;
      if (Status started = s.net->resume(); !started) {
        ::kill(s.child.pid, SIGKILL);  // a sandbox whose network cannot be served does not run on
        log::emit("coco: error: ",
                  fmt::format("{}: starting the network gateway: {}; coco stopped the sandbox",
                              s.spec.toolName, started.error().describe()));
      }
    }
    // A pipe whose copy ended (the terminal behind it failed, EIO) is closed: the tool's next
    // write fails (SIGPIPE/EPIPE where on the terminal itself it would have been EIO) instead of
    // blocking on a full pipe.
    for (size_t i = 0; i < relays.size(); ++i)
      if (fds[kFixed + i].revents && relays[i].step() != Pump::State::Open) s.relays[i].from.reset();
    if (fds[0].revents || (s.toolExit && !s.waitForTeardown)) break;
  }
  // A stalled terminal makes these wait for room: a stop signal (one coco acts on) ends the wait
  // and stays pending for coco once the router restores the mask; any other is dropped, the tool
  // being gone. A terminal that was already taking nothing when a stop went to the tool is given
  // up on once it has had no room for kStalledAfterStopMs, as the tool's own unwritten output died
  // with it: a `timeout` or CI runner's single SIGTERM, or a Ctrl-C from another terminal, ends
  // coco. One that was taking bytes then, or takes some within that time each time (a serial
  // line, an ssh session retransmitting), gets everything.
  constexpr int kStalledAfterStopMs = 5000;
  auto drain = [&s](Pump& p) {
    while (!p.drain(s.sigfd, p.stuckAtStop() ? kStalledAfterStopMs : -1)) {
      signalfd_siginfo info;
      bool stop = false;
      while (::read(s.sigfd, &info, sizeof info) == sizeof info) {
        int sig = static_cast<int>(info.ssi_signo);
        if (isActedOnStop(sig, s.ignoredSignals)) {
          ::kill(::getpid(), sig);
          stop = true;
        }
      }
      if (stop) return false;
    }
    // Given up on (or failed): what coco itself writes to that terminal from here on (the
    // workspace guard's report, a final error) must not block there either.
    if (p.state() == Pump::State::WriteFailed) stopBlockingOn(p.destination());
    return true;
  };
  bool drained = drain(output);
  // Every writer dies with the sandbox's pid namespace: read to the end.
  for (size_t i = 0; i < relays.size() && drained; ++i) {
    if (!s.relays[i].from) continue;
    setNonBlocking(s.relays[i].from.get(), false);
    drained = drain(relays[i]);
  }
  // Left to the kernel: init's exit and the namespaces' teardown (the mounts,
  // ~1-3 ms); the zombie goes with coco or its next wait.
  if (s.toolExit && !s.waitForTeardown) return *s.toolExit;
  s.events.reset();  // init may wait for this end to close before it exits (outlastCoco)
  return reap(s.child.pid, &s.usage);
}

Status checkNetwork(const RunSpec& spec, const NetworkHooks* net) {
  bool needsGateway = spec.network == NetworkMode::Full || spec.network == NetworkMode::Allowlist;
  if (needsGateway && (!net || !net->setup || !net->start))
    return Error::make("network mode needs the gateway, which this caller did not provide");
  if (!spec.ports.empty() && spec.network != NetworkMode::Host && (!net || !net->serve || !net->start))
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

// coco returns at the tool's exit, before the kernel unmounts the sandbox's
// filesystems, unless the caller reads back or reuses an overlay's host-side
// upper dir (an install's layer, a learn run's overlays: one still mounted in
// the dying namespace would be in use by two mounts) or a cgroup must be
// removed (only once init is reaped).
bool mustAwaitTeardown(const RunSpec& spec, bool cgroup) {
  if (cgroup || !spec.upperDir.empty()) return true;
  return std::any_of(spec.mounts.begin(), spec.mounts.end(), [](const BindMount& m) { return !m.scratch.empty(); });
}

void killAndReap(pid_t pid) {
  ::kill(pid, SIGKILL);
  reap(pid);
}

// Once the tool may have run, the workspace guard's check runs on every way out of run().
// When coco exits after this run, the frees of everything the run built (the
// plan, the network session, the spec) are skipped from here on: they write to
// pages the sandbox's init shared copy-on-write, a fault each (bench/startup).
struct GuardCheck {
  WorkspaceGuard* guard = nullptr;
  bool exitsAfter = false;
  ~GuardCheck() {
    if (guard) guard->finish();
    if (exitsAfter) exit_alloc::stopFreeing();
  }
};

}  // namespace

Result<int> run(const RunSpec& spec, const NetworkHooks* net) {
  trace::point("engine-run");
  COCO_TRY(checkNetwork(spec, net));
  COCO_ASSIGN(Stdio stdio, planStdio());
  bool tty = stdio.pty;
  WorkspaceGuard guard;
  COCO_ASSIGN(ChildPlan plan, makeChildPlan(spec, tty, &guard));
  std::copy(std::begin(stdio.plan), std::end(stdio.plan), plan.stdio);
  attachNetwork(plan, net);
  trace::point("child-planned");
  if (tty) ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &plan.windowSize);
  IdMapPlan ids = planIdMapsCached(spec.hostSetup.holderDir, spec.hostSetup.singleIdMap);
  trace::point("idmaps-planned");
  Holder holder = findHolder(spec.hostSetup, ids);
  // Without a subordinate range init maps itself, unless it starts through the holder
  // (cloneSandbox), where the holder's helper maps it.
  bool ownMaps = !ids.subordinate;
  if (ownMaps) {
    plan.ownUidMap = singleUidMapText(ids);
    plan.ownGidMap = singleGidMapText(ids);
  }
  trace::point("holder-checked");
  COCO_ASSIGN(Channels ch, openChannels(tty, plan.netSetup != nullptr || plan.netServe != nullptr));
  std::optional<cgroup::Group> group = makeGroup(spec.limits);
  SignalRouter signals;
  plan.ignoredSignals = signals.ignoredAtStart();
  plan.defaultSignals = sys::ignoredSignalsNow() & ~plan.ignoredSignals;  // SIGPIPE, the router's
  guard.startWatching();
  bool awaitTeardown = mustAwaitTeardown(spec, group.has_value());
  // init outlasts coco's copy of the watch only when coco does not wait for init's exit.
  if (!awaitTeardown) plan.guardWatchFd = guard.watchFd();
  // The holder hears that a run asked for a spare at tool-running, or on the way out when the
  // run ends before.
  struct TellHolder {
    int pidfd = -1;
    bool capture = false, asked = false;
    void tell() {
      if (asked) spareTaken(pidfd, capture);
      asked = false;
    }
    ~TellHolder() { tell(); }
  } spareAsked{holder.pidfd.get(), net && net->capture};
  UniqueFd spareNetns = takeSpare(spec.hostSetup, holder, plan, net, spareAsked.asked);
  trace::point("spare-taken");
  UniqueFd self(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));  // close-on-exec
  plan.cocoPidfd = self.get();
  trace::point("clone");
  auto started = startSandbox(plan, ch, group, spec.limits, holder, spareNetns.get());
  if (spareNetns && net) net->useSpare(started && started->netPreMade);
  spareNetns.reset();
  if (!started) return std::move(started).error();
  Child child = std::move(*started);
  trace::point("cloned");
  for (auto& end : stdio.childEnds) end.reset();
  auto mapped = child.inHolder ? Result<bool>(holder.groupsMapped)
                : ownMaps      ? Result<bool>(false)
                               : writeIdMaps(child.pid, ids);
  trace::point("idmaps-written");
  if (!mapped) {
    killAndReap(child.pid);
    return std::move(mapped).error().wrap("writing the user namespace id maps");
  }
  log::debug("sandbox pid {}: {} id mapping{}{}", child.pid, *mapped ? "subordinate-range" : "single-id",
             child.inHolder ? " (inside the user-namespace holder's)" : "",
             child.netPreMade ? ", in a spare network namespace of the holder's" : "");
  GuardCheck check;  // declared before the terminal: it runs after raw mode is restored
  check.exitsAfter = spec.hostSetup.exitsAfter;
  // From the go byte on, the tool may run: init waits for coco at no step after it, so even a
  // stop while coco waited for the network or the pty may come after the tool's first write.
  // The guard checks on every way out, a failed or stopped setup too.
  check.guard = &guard;
  RawTerminal terminal;
  SetupStop stop;
  Result<UniqueFd> released =
      releaseChild(child, ch, *mapped, net, signals.fd(), signals.ignoredAtStart(), stop, spec.layers);
  if (!released && released.error().exitCode() > 128) {
    // The check walks the workspace, which may be the hung mount: a further stop ends coco.
    signals.allowStops(SetupWait::kGraceMs);
    if (guard.checks())
      log::notice("{}: checking the workspace after the stopped setup (a stop now ends coco before the check "
                  "ends: then check .git/config, .git/hooks and .envrc before running git or an editor there)",
                  spec.toolName);
    if (!stop.initReaped) {
      log::warn("{}: the sandbox's init had not ended when coco checked the workspace; a write still "
                "pending in it is not checked",
                spec.toolName);
      if (group) group->abandon();
    }
  }
  if (!released) return std::move(released).error();
  UniqueFd master = std::move(*released);
  trace::point("tool-running");
  spareAsked.tell();
  if (master.valid()) terminal.enter(STDIN_FILENO);
  Supervision supervision{child, signals.fd(), master, signals.ignoredAtStart(), stdio.relays,
                          ch.eventsRead, spec, guard};
  supervision.net = net;
  supervision.waitForTeardown = awaitTeardown;
  int status = superviseChild(supervision);
  trace::point("sandbox-exited");
  // The sandbox holds no process: coco's copy of the watch goes, then init,
  // which holds the last one, may exit and release it (init.cpp, outlastCoco).
  guard.releaseWatch();
  ch.eventsRead.reset();
  // A run coco exits after leaves the gateway to the exit (backend.cpp).
  if (net && net->stop && !spec.hostSetup.exitsAfter) {
    net->stop();
    trace::point("gateway-stopped");
  }
  if (group) reportLimits(*group, spec, supervision.pidsReported);
  if (plan.rlimitData) reportRlimitMemory(spec, supervision.usage, status);
  return status;
}

}  // namespace coco::engine
