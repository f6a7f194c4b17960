// The user-namespace holder: its record, its checks, starting and stopping it.
#include "engine/userns_holder.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <optional>

#include "sys/fd_passing.hpp"
#include "sys/lock_file.hpp"
#include "util/front.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace coco::engine {

namespace {

constexpr size_t kMaxProcFile = 64 * 1024;

std::optional<uint64_t> parseNumber(std::string_view text) {
  uint64_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Splits on blanks (spaces, tabs), dropping empty fields.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

Result<std::string> readAt(int dirFd, const char* name, size_t max = kMaxProcFile) {
  UniqueFd fd(::openat(dirFd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) return Error::fromErrno("open {}", name);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::fromErrno("read {}", name);
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max) return Error::make("{} is larger than {} bytes", name, max);
  }
  return text;
}

// A directory or file of this user that no one else may write.
Status checkOwnedPrivate(const struct stat& st, const char* what) {
  if (st.st_uid != ::getuid()) return Error::make("{} belongs to uid {}, not to this user", what, st.st_uid);
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return Error::make("{} is writable by others (mode {:o})", what, st.st_mode & 07777);
  return {};
}

Status checkOwnedPrivate(int fd, const char* what) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Error::fromErrno("stat {}", what);
  return checkOwnedPrivate(st, what);
}

Result<UniqueFd> openHolderDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return Error::fromErrno("open {}", dir);
  COCO_TRY(checkOwnedPrivate(fd.get(), "the holder's directory"));
  return fd;
}

Result<HolderRecord> readRecord(int dirFd, const char* name) {
  UniqueFd fd(::openat(dirFd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) return Error::fromErrno("open the record");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::fromErrno("stat the record");
  if (!S_ISREG(st.st_mode)) return Error::make("the record is not a regular file");
  COCO_TRY(checkOwnedPrivate(st, "the record"));
  char buf[128];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0) return Error::fromErrno("read the record");
  auto record = parseHolderRecord(std::string_view(buf, static_cast<size_t>(n)));
  if (!record) return Error::make("the record is not 'PID STARTTIME'");
  // Used now: the holder's idle clock starts again (startHolder).
  ::futimens(fd.get(), nullptr);
  return *record;
}

// The uid line of /proc/PID/status: real, effective, saved and file system uids all this user's.
Status checkUids(int procFd) {
  COCO_ASSIGN(std::string status, readAt(procFd, "status"));
  for (std::string_view rest = status; !rest.empty();) {
    std::string_view line = rest.substr(0, rest.find('\n'));
    rest.remove_prefix(std::min(rest.size(), line.size() + 1));
    if (!line.starts_with("Uid:")) continue;
    auto ids = fields(line.substr(4));
    if (ids.size() != 4) return Error::make("unreadable Uid line in its status");
    for (auto id : ids)
      if (parseNumber(id) != static_cast<uint64_t>(::getuid()))
        return Error::make("it runs as uid {}, not as this user", id);
    return {};
  }
  return Error::make("no Uid line in its status");
}

Status checkMap(int procFd, const char* name, const std::vector<IdExtent>& expected) {
  COCO_ASSIGN(std::string text, readAt(procFd, name));
  auto map = parseIdMapText(text);
  if (!map || *map != expected) return Error::make("its {} is not the expected one (stale or foreign)", name);
  return {};
}

// setgroups as the plan's sandboxes must have it, since theirs is the holder's: "allow" after
// newgidmap (init drops its groups), "deny" for the single mapping (as init's own maps set it).
Status checkSetgroups(int procFd, const IdMapPlan& plan) {
  COCO_ASSIGN(std::string text, readAt(procFd, "setgroups"));
  const char* want = plan.subordinate ? "allow\n" : "deny\n";
  if (text != want)
    return Error::make("its setgroups is not '{}'", std::string_view(want, std::strlen(want) - 1));
  return {};
}

struct NsId {
  dev_t dev;
  ino_t ino;
  bool operator==(const NsId&) const = default;
};

Result<NsId> nsId(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Error::fromErrno("stat a namespace");
  return NsId{st.st_dev, st.st_ino};
}

// Owned by this user and a child of this process's user namespace.
Status checkUserns(int nsFd) {
  uid_t owner = 0;
  if (::ioctl(nsFd, NS_GET_OWNER_UID, &owner) != 0) return Error::fromErrno("NS_GET_OWNER_UID");
  if (owner != ::getuid()) return Error::make("its user namespace belongs to uid {}", owner);
  UniqueFd parent(::ioctl(nsFd, NS_GET_PARENT));
  if (!parent) return Error::fromErrno("NS_GET_PARENT (not a child of this user namespace)");
  struct stat self;
  if (::stat("/proc/self/ns/user", &self) != 0) return Error::fromErrno("stat /proc/self/ns/user");
  COCO_ASSIGN(NsId parentId, nsId(parent.get()));
  if (!(parentId == NsId{self.st_dev, self.st_ino}))
    return Error::make("its user namespace is not a child of this process's");
  return {};
}

Status within(Status status, const std::string& where) {
  if (!status) return std::move(status).error().wrap(where);
  return {};
}

int pidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

bool pidfdAlive(int pidfd) { return ::syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0; }

// The process the record names, if it is the one that was recorded and this
// user's: its pidfd and /proc directory, both of that very process.
struct Named {
  UniqueFd pidfd, proc;
};

Result<Named> openNamed(const HolderRecord& record) {
  Named n;
  n.pidfd.reset(pidfdOpen(record.pid));
  if (!n.pidfd) return Error::fromErrno("pid {} does not run", record.pid);
  n.proc.reset(::open(fmt::format("/proc/{}", record.pid).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!n.proc) return Error::fromErrno("open /proc/{}", record.pid);
  COCO_ASSIGN(std::string stat, readAt(n.proc.get(), "stat"));
  if (parseStartTime(stat) != record.startTime)
    return Error::make("pid {} is another process than the recorded one (start time differs)", record.pid);
  // An idle holder exits; until its reaper (the host's init) gets to it, it is a zombie that
  // answers signal 0 and still shows its maps.
  size_t paren = stat.rfind(')');
  char state = paren != std::string::npos && paren + 2 < stat.size() ? stat[paren + 2] : '?';
  if (state == 'Z' || state == 'X') return Error::make("pid {} has exited", record.pid);
  COCO_TRY(within(checkUids(n.proc.get()), fmt::format("pid {}", record.pid)));
  return n;
}

// The process under `procFd` is in this process's pid namespace, as the holder (a fork of a coco)
// is. A sandbox's processes never are: its user namespace may be mapped as a holder's (a run made
// without the holder), so a record naming one of them must not pass for a holder's.
Status checkPidNamespace(int procFd) {
  struct stat theirs, ours;
  if (::fstatat(procFd, "ns/pid", &theirs, 0) != 0) return Error::fromErrno("stat its ns/pid");
  if (::stat("/proc/self/ns/pid", &ours) != 0) return Error::fromErrno("stat /proc/self/ns/pid");
  if (theirs.st_dev != ours.st_dev || theirs.st_ino != ours.st_ino)
    return Error::make("it is in another pid namespace (a sandbox's process?)");
  return {};
}

// The process under `procFd` runs the same executable file as this one, or its partner of the
// same build (the static front and coco-full, util/front.hpp: either may have started it).
bool sameExecutable(int procFd) {
  struct stat theirs, ours;
  if (::fstatat(procFd, "exe", &theirs, 0) != 0) return false;
  auto same = [&](const struct stat& st) { return theirs.st_dev == st.st_dev && theirs.st_ino == st.st_ino; };
  if (::stat("/proc/self/exe", &ours) == 0 && same(ours)) return true;
  std::string partner = front::partnerPath();
  return !partner.empty() && ::stat(partner.c_str(), &ours) == 0 && same(ours);
}

Status writeRecord(const std::string& dir, const char* name, const HolderRecord& record) {
  return fs::writeFileAtomic(fs::joinPath(dir, name), formatHolderRecord(record), 0600);
}

// Where this process's argument and environment strings are (fields 48-51 of
// /proc/self/stat), so that the holder, a fork of coco, can blank them: its
// command line would otherwise be that coco's (a tool's arguments), and its
// environment that coco's.
struct Strings {
  uint64_t argStart = 0, argEnd = 0, envStart = 0, envEnd = 0;
};

Strings ownStrings() {
  Strings out;
  auto stat = fs::readFile("/proc/self/stat");
  if (!stat) return out;
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos) return out;
  auto f = fields(std::string_view(*stat).substr(paren + 1));
  if (f.size() < 49) return out;
  auto at = [&](size_t field) { return parseNumber(f[field - 3]).value_or(0); };
  out = {at(48), at(49), at(50), at(51)};
  if (out.argEnd < out.argStart || out.envEnd < out.envStart) return {};
  return out;
}

void blank(uint64_t start, uint64_t end) {
  if (start && end > start) std::memset(reinterpret_cast<void*>(start), 0, end - start);
}

// The holder's descriptors when it keeps spares (and nothing else is open): /dev/null
// as 0-2 (so that nothing written to stderr lands in a queue), its own network
// namespace to go back to, then per kind a SOCK_SEQPACKET pair. The holder
// queues each spare as one message (a byte and its descriptors) on the pair's first
// end, which a run takes over the holder's pidfd (pidfd_getfd) to receive one: the
// queue hands each message to exactly one reader, and no holder has to wake for it.
// The run then writes a byte back (spareTaken), which tells the holder to make
// another (also when it found none).
constexpr int kHomeNetFd = 3;
constexpr int kQueueFd[2] = {4, 6};   // [capture]: the end runs read
constexpr int kRefillFd[2] = {5, 7};  // the holder's end
// Where the holder keeps the go socket until it has settled: above the queues.
constexpr int kSettleFd = 64;
// How long the run that starts a holder waits for it to settle before it gives up on it.
constexpr int kSettleTimeoutMs = 5000;
// Spares queued per kind: two runs that start together both get one.
constexpr int kSparesPerKind = 2;
// A refill waits this long after a run took a spare, so as not to take the CPU from that run's start.
constexpr int kRefillDelayMs = 20;

// Messages waiting in `queueFd` (each spare's message is one byte).
int queued(int queueFd) {
  int bytes = 0;
  return ::ioctl(queueFd, SIOCINQ, &bytes) == 0 ? bytes : kSparesPerKind;
}

// Tops each kind's queue up to kSparesPerKind; a kind whose making fails is left
// until a run asks for one of it again.
void refill(HolderSpares make, bool (&broken)[2]) {
  for (int kind = 0; kind < 2; ++kind) {
    while (!broken[kind] && queued(kQueueFd[kind]) < kSparesPerKind) {
      int fds[kMaxSpareFds];
      int n = make(kind == 1, fds);
      // Back home whatever happened: the holder never stays in a namespace it hands out.
      if (::setns(kHomeNetFd, CLONE_NEWNET) != 0) _exit(1);
      const char spare = '+';
      if (n <= 0 || static_cast<size_t>(n) > kMaxSpareFds ||
          sys::sendFds(kRefillFd[kind], &spare, 1, fds, static_cast<size_t>(n)) != 0)
        broken[kind] = true;
      for (int i = 0; i < n && static_cast<size_t>(i) < kMaxSpareFds; ++i) ::close(fds[i]);
    }
  }
}

// Sets up 0-2, kHomeNetFd and the two pairs in a process with no descriptor open.
bool openQueues() {
  bool ok = true;
  for (int fd = 0; ok && fd < 3; ++fd) ok = ::open("/dev/null", O_RDWR) == fd;
  int pair[2][2];
  ok = ok && ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC) == kHomeNetFd;
  for (int kind = 0; ok && kind < 2; ++kind)
    ok = ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair[kind]) == 0 &&
         pair[kind][0] == kQueueFd[kind] && pair[kind][1] == kRefillFd[kind];
  if (!ok) ::syscall(SYS_close_range, 0U, static_cast<unsigned>(kRefillFd[1]), 0U);
  return ok;
}

// The holder itself: once its maps are written and its record is in place
// (the byte on goFd) it lets go of every descriptor and the working directory
// (but, with spares, its queues and its own network namespace), and waits until
// it is killed or idle: it exits when its record is gone or replaced, or its
// mtime (set by every run that reads it) is `idleSeconds` old.
// Only async-signal-safe calls: it is a fork of a process that may have threads.
[[noreturn]] void holderMain(int goFd, const Strings& strings, const char* recordPath, unsigned idleSeconds,
                             HolderSetup setup, HolderSpares spares) {
  // Named first: from the moment its record exists, a stop (retire) knows it by its name.
  ::prctl(PR_SET_NAME, kHolderProcessName, 0, 0, 0);
  char go = 0;
  ssize_t n;
  while ((n = ::read(goFd, &go, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) _exit(0);
  struct stat own;
  if (::lstat(recordPath, &own) != 0) _exit(0);
  if (setup) setup();
  // The go socket stays open, above the descriptors openQueues makes, until the holder has let
  // go of everything of the run that started it (settled, below).
  int settle = ::dup2(goFd, kSettleFd);  // closed before the holder makes anything
  ::syscall(SYS_close_range, 0U, static_cast<unsigned>(kSettleFd - 1), 0U);
  ::syscall(SYS_close_range, static_cast<unsigned>(kSettleFd + 1), ~0U, 0U);
  if (settle != kSettleFd) ::syscall(SYS_close_range, 0U, ~0U, 0U);
  if (spares && !openQueues()) spares = nullptr;
  if (::chdir("/") != 0) _exit(1);
  blank(strings.envStart, strings.envEnd);
  blank(strings.argStart, strings.argEnd);
  if (strings.argEnd - strings.argStart > std::strlen(kHolderProcessName))
    std::memcpy(reinterpret_cast<void*>(strings.argStart), kHolderProcessName, std::strlen(kHolderProcessName));
  // Settled: the run that started the holder waits for this byte, so that once it has returned
  // the holder holds nothing of it (its environment, arguments, descriptors, working directory).
  // Under load the holder could take longer to be scheduled than that run took to end.
  const char settled = 1;
  if (settle == kSettleFd) {
    (void)::send(kSettleFd, &settled, 1, MSG_NOSIGNAL);
    ::close(kSettleFd);
  }
  struct sigaction sa = {};
  for (int sig = 1; sig < NSIG; ++sig) {
    sa.sa_handler = sig == SIGHUP || sig == SIGINT || sig == SIGQUIT || sig == SIGPIPE || sig == SIGTSTP ||
                            sig == SIGTTIN || sig == SIGTTOU || sig == SIGUSR1 || sig == SIGUSR2
                        ? SIG_IGN
                        : SIG_DFL;
    ::sigaction(sig, &sa, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  bool broken[2] = {false, false};
  if (spares) refill(spares, broken);
  for (;;) {
    struct stat st;
    if (::lstat(recordPath, &st) != 0 || st.st_dev != own.st_dev || st.st_ino != own.st_ino) _exit(0);
    struct timespec now;
    ::clock_gettime(CLOCK_REALTIME, &now);
    long long idle = static_cast<long long>(now.tv_sec) - static_cast<long long>(st.st_mtim.tv_sec);
    if (idle >= static_cast<long long>(idleSeconds)) _exit(0);
    // A clock set back makes `idle` negative: wait one full period, not longer.
    long long wait = idle < 0 ? idleSeconds : idleSeconds - idle;
    if (wait > 86400) wait = 86400;
    if (!spares) {
      struct timespec t = {static_cast<time_t>(wait), 0};
      ::nanosleep(&t, nullptr);
      continue;
    }
    struct pollfd p[2] = {{kRefillFd[0], POLLIN, 0}, {kRefillFd[1], POLLIN, 0}};
    if (::poll(p, 2, static_cast<int>(wait * 1000)) <= 0) continue;
    // Taken: drain the runs' bytes, wait until the starts settle, top up.
    char drain[64];
    for (int kind = 0; kind < 2; ++kind) {
      if (!p[kind].revents) continue;
      while (::recv(kRefillFd[kind], drain, sizeof drain, MSG_DONTWAIT) > 0) {
      }
      broken[kind] = false;
    }
    struct timespec delay = {0, kRefillDelayMs * 1000000L};
    ::nanosleep(&delay, nullptr);
    refill(spares, broken);
  }
}

// Forks twice so that the holder belongs to no coco and no terminal session:
// the middle process starts a new session, clones the holder into a new user
// namespace, reports its pid and exits.
// The middle process drops the go pipe's write end before it clones the
// holder, so the holder sees EOF if coco dies before the maps are written.
Result<pid_t> spawnHolder(int goRead, int goWrite, UniqueFd& reportRead, UniqueFd& reportWrite,
                          const std::string& recordPath, unsigned idleSeconds, HolderSetup setup,
                          HolderSpares spares) {
  Strings strings = ownStrings();
  pid_t mid = ::fork();
  if (mid < 0) return Error::fromErrno("fork");
  if (mid == 0) {
    ::close(goWrite);
    ::close(reportRead.get());
    ::setsid();
    long holder = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (holder == 0) holderMain(goRead, strings, recordPath.c_str(), idleSeconds, setup, spares);
    (void)!::write(reportWrite.get(), &holder, sizeof holder);
    _exit(0);
  }
  reportWrite.reset();
  int wstatus;
  while (::waitpid(mid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  long holder = -1;
  if (::read(reportRead.get(), &holder, sizeof holder) != sizeof holder || holder <= 0)
    return Error::make("the holder did not start");
  return static_cast<pid_t>(holder);
}

// Kills what the record names when it is this user's holder as recorded.
bool retire(int dirFd, const char* name) {
  auto record = readRecord(dirFd, name);
  if (!record) return false;
  auto named = openNamed(*record);
  if (!named) return false;
  auto comm = readAt(named->proc.get(), "comm");
  if (!comm || *comm != std::string(kHolderProcessName) + "\n") return false;
  return ::syscall(SYS_pidfd_send_signal, named->pidfd.get(), SIGKILL, nullptr, 0) == 0;
}

}  // namespace

std::optional<HolderRecord> parseHolderRecord(std::string_view text) {
  if (!text.ends_with('\n')) return std::nullopt;
  auto f = fields(text.substr(0, text.size() - 1));
  if (f.size() != 2 || f[0].find('\n') != std::string_view::npos) return std::nullopt;
  auto pid = parseNumber(f[0]);
  auto start = parseNumber(f[1]);
  if (!pid || !start || *pid < 1 || *pid > 0x3fffffff) return std::nullopt;
  return HolderRecord{static_cast<pid_t>(*pid), *start};
}

std::string formatHolderRecord(const HolderRecord& record) {
  return fmt::format("{} {}\n", record.pid, record.startTime);
}

std::optional<uint64_t> parseStartTime(std::string_view stat) {
  size_t paren = stat.rfind(')');
  if (paren == std::string_view::npos) return std::nullopt;
  auto f = fields(stat.substr(paren + 1));
  // After the comm: field 3 (state) is f[0], so field 22 is f[19].
  if (f.size() < 20) return std::nullopt;
  return parseNumber(f[19]);
}

std::optional<std::vector<IdExtent>> parseIdMapText(std::string_view text) {
  std::vector<IdExtent> out;
  while (!text.empty()) {
    std::string_view line = text.substr(0, text.find('\n'));
    text.remove_prefix(std::min(text.size(), line.size() + 1));
    auto f = fields(line);
    if (f.empty()) continue;
    if (f.size() != 3) return std::nullopt;
    auto a = parseNumber(f[0]), b = parseNumber(f[1]), c = parseNumber(f[2]);
    if (!a || !b || !c) return std::nullopt;
    out.push_back({*a, *b, *c});
  }
  return out;
}

const char* holderRecordName(const IdMapPlan& plan) {
  return plan.subordinate ? kHolderRecordName : kSingleHolderRecordName;
}

std::vector<IdExtent> expectedUidMap(const IdMapPlan& plan) {
  if (!plan.subordinate) return {{0, plan.uid, 1}};
  return {{0, plan.uid, 1}, {1, plan.uids.start, plan.uids.count}};
}

std::vector<IdExtent> expectedGidMap(const IdMapPlan& plan) {
  if (!plan.subordinate) return {{0, plan.gid, 1}};
  return {{0, plan.gid, 1}, {1, plan.gids.start, plan.gids.count}};
}

std::string nestedIdMapText(const IdMapPlan& plan) {
  if (!plan.subordinate) return "0 0 1\n";
  return fmt::format("0 0 1\n1 1 {}\n", plan.uids.count);
}

Result<UniqueFd> openHolder(const std::string& dir, const IdMapPlan& plan, UniqueFd* pidfd) {
  COCO_ASSIGN(UniqueFd dirFd, openHolderDir(dir));
  COCO_ASSIGN(HolderRecord record, readRecord(dirFd.get(), holderRecordName(plan)));
  COCO_ASSIGN(Named named, openNamed(record));
  auto where = fmt::format("pid {}", record.pid);
  COCO_TRY(within(checkPidNamespace(named.proc.get()), where));
  COCO_TRY(within(checkMap(named.proc.get(), "uid_map", expectedUidMap(plan)), where));
  COCO_TRY(within(checkMap(named.proc.get(), "gid_map", expectedGidMap(plan)), where));
  COCO_TRY(within(checkSetgroups(named.proc.get(), plan), where));
  UniqueFd ns(::openat(named.proc.get(), "ns/user", O_RDONLY | O_CLOEXEC));
  if (!ns) return Error::fromErrno("open /proc/{}/ns/user", record.pid);
  COCO_TRY(within(checkUserns(ns.get()), where));
  // Spares only from a holder of this very coco binary: another build's (an older coco's, left
  // running across an upgrade) may set its namespaces up otherwise.
  bool sameBinary = pidfd && sameExecutable(named.proc.get());
  // Still alive after all this: /proc/PID was that process's all along.
  if (!pidfdAlive(named.pidfd.get())) return Error::make("pid {} exited during the checks", record.pid);
  if (pidfd && sameBinary) *pidfd = std::move(named.pidfd);
  if (pidfd && !sameBinary)
    log::debug("the user-namespace holder runs another coco binary: no spares from it");
  return ns;
}

Status startHolder(const std::string& dir, const IdMapPlan& plan, unsigned idleSeconds, HolderSetup setup,
                   HolderSpares spares) {
  if (idleSeconds == 0) return Error::make("a holder's idle time must be at least one second");
  const char* recordName = holderRecordName(plan);
  std::string recordPath = fs::joinPath(dir, recordName);
  int p[2];
  // A socket, not a pipe: the go byte is sent with MSG_NOSIGNAL, as the holder may be gone by
  // then (killed), and a run's SIGPIPE is not ignored yet when it starts a holder.
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0) return Error::fromErrno("socketpair");
  UniqueFd goRead(p[0]), goWrite(p[1]);
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::fromErrno("pipe");
  UniqueFd reportRead(p[0]), reportWrite(p[1]);
  COCO_ASSIGN(pid_t holder, spawnHolder(goRead.get(), goWrite.get(), reportRead, reportWrite, recordPath,
                                        idleSeconds, setup, spares));
  goRead.reset();
  auto fail = [&](Error e) {
    ::kill(holder, SIGKILL);
    return std::move(e).wrap("starting the user-namespace holder");
  };
  // The single plan: coco writes the maps itself (setgroups denied); writeIdMaps says false.
  auto mapped = writeIdMaps(holder, plan);
  if (!mapped) return fail(std::move(mapped).error());
  if (*mapped != plan.subordinate) return fail(Error::make("newuidmap or newgidmap failed"));
  UniqueFd proc(::open(fmt::format("/proc/{}", holder).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto stat =
      proc ? readAt(proc.get(), "stat") : Result<std::string>(Error::fromErrno("open /proc/{}", holder));
  if (!stat) return fail(std::move(stat).error());
  auto start = parseStartTime(*stat);
  if (!start) return fail(Error::make("unreadable /proc/{}/stat", holder));
  if (auto written = writeRecord(dir, recordName, {holder, *start}); !written)
    return fail(std::move(written).error());
  // From here a holder that fails takes its record with it: no later run tries a dead pid first.
  auto failRecorded = [&](Error e) {
    ::unlink(recordPath.c_str());
    return fail(std::move(e));
  };
  char go = 1;
  if (::send(goWrite.get(), &go, 1, MSG_NOSIGNAL) != 1)
    return failRecorded(Error::fromErrno("releasing the holder"));
  // Its answer: it has let go of this run's environment, arguments and descriptors (holderMain).
  // A few system calls away; a holder stopped or stuck there does not hold the run up for long.
  struct pollfd answer = {goWrite.get(), POLLIN, 0};
  int ready;
  while ((ready = ::poll(&answer, 1, kSettleTimeoutMs)) < 0 && errno == EINTR) {
  }
  if (ready == 0) return failRecorded(Error::make("the holder did not settle in {} ms", kSettleTimeoutMs));
  char settled = 0;
  ssize_t got;
  while ((got = ::recv(goWrite.get(), &settled, 1, MSG_DONTWAIT)) < 0 && errno == EINTR) {
  }
  if (got != 1)
    return failRecorded(got < 0 ? Error::fromErrno("waiting for the holder")
                                : Error::make("the holder ended as it started"));
  log::debug("started the user-namespace holder, pid {}", holder);
  return {};
}

Result<UniqueFd> joinableHolder(const std::string& dir, const IdMapPlan& plan, unsigned idleSeconds,
                                HolderSetup setup, HolderSpares spares, UniqueFd* pidfd) {
  auto ns = openHolder(dir, plan, pidfd);
  if (ns) return ns;
  log::debug("user-namespace holder in {}: {}", dir, ns.error().describe());
  COCO_TRY(fs::makeDirs(dir, 0700));
  COCO_ASSIGN(UniqueFd dirFd, openHolderDir(dir));
  const char* recordName = holderRecordName(plan);
  COCO_ASSIGN(UniqueFd lock, sys::lockExclusive(fs::joinPath(dir, std::string(recordName) + ".lock")));
  // Another coco may have started one meanwhile.
  ns = openHolder(dir, plan, pidfd);
  if (ns) return ns;
  if (retire(dirFd.get(), recordName)) log::debug("stopped the stale user-namespace holder");
  if (::unlinkat(dirFd.get(), recordName, 0) != 0 && errno != ENOENT)
    return Error::fromErrno("removing the holder's record");
  COCO_TRY(startHolder(dir, plan, idleSeconds, setup, spares));
  // No pidfd, so no spare for this run: the new holder is still making its first ones.
  return openHolder(dir, plan);
}

Result<std::vector<UniqueFd>> takeSpareNetns(int holderPidfd, int holderUserns, bool capture) {
  UniqueFd queue(static_cast<int>(::syscall(SYS_pidfd_getfd, holderPidfd, kQueueFd[capture], 0)));
  if (!queue) return Error::fromErrno("pidfd_getfd (the holder's queue)");
  int domain = 0, type = 0;
  socklen_t len = sizeof domain;
  ::getsockopt(queue.get(), SOL_SOCKET, SO_DOMAIN, &domain, &len);
  len = sizeof type;
  ::getsockopt(queue.get(), SOL_SOCKET, SO_TYPE, &type, &len);
  if (domain != AF_UNIX || type != SOCK_SEQPACKET)
    return Error::make("the holder keeps no spares (one started by an older coco)");
  char spare = 0;
  int fds[kMaxSpareFds];
  size_t got = 0;
  ssize_t n = sys::recvFds(queue.get(), &spare, 1, fds, kMaxSpareFds, &got, MSG_DONTWAIT);
  std::vector<UniqueFd> out;
  for (size_t i = 0; i < got; ++i) out.emplace_back(fds[i]);
  if (n == -EAGAIN) return Error::make("the holder had no spare network namespace ready");
  if (n < 0) return Error::withErrno(static_cast<int>(-n), "reading the holder's queue");
  size_t want = capture ? kMaxSpareFds : 1;
  if (n != 1 || spare != '+' || out.size() != want)
    return Error::make("a spare with {} descriptors, not {}", out.size(), want);
  if (::ioctl(out[0].get(), NS_GET_NSTYPE) != CLONE_NEWNET)
    return Error::make("the spare is not a network namespace");
  UniqueFd owner(::ioctl(out[0].get(), NS_GET_USERNS));
  if (!owner) return Error::fromErrno("NS_GET_USERNS of the spare");
  COCO_ASSIGN(NsId ownerId, nsId(owner.get()));
  COCO_ASSIGN(NsId holderId, nsId(holderUserns));
  if (!(ownerId == holderId)) return Error::make("the spare network namespace is not the holder's");
  return out;
}

void spareTaken(int holderPidfd, bool capture) {
  UniqueFd queue(static_cast<int>(::syscall(SYS_pidfd_getfd, holderPidfd, kQueueFd[capture], 0)));
  const char taken = '-';
  if (queue) ::send(queue.get(), &taken, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

Result<unsigned> stopHolder(const std::string& dir) {
  UniqueFd dirFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dirFd) {
    if (errno == ENOENT) return 0U;
    return Error::fromErrno("open {}", dir);
  }
  COCO_TRY(checkOwnedPrivate(dirFd.get(), "the holder's directory"));
  unsigned stopped = 0;
  std::optional<Error> failed;
  for (const char* name : {kHolderRecordName, kSingleHolderRecordName}) {
    // A holder being started is released, or given up, before this one looks.
    auto lock = sys::lockExclusive(fs::joinPath(dir, std::string(name) + ".lock"));
    if (!lock) log::debug("stopping without the holder's lock: {}", lock.error().describe());
    if (retire(dirFd.get(), name)) ++stopped;
    if (::unlinkat(dirFd.get(), name, 0) != 0 && errno != ENOENT && !failed)
      failed = Error::fromErrno("removing the holder's record {}", name);
  }
  if (failed) return std::move(*failed);
  return stopped;
}

}  // namespace coco::engine
