// probe: a static helper run inside the sandbox that reports what it can see and do.
//
// Output is line-oriented so tests can match it. A refused operation prints
// "denied ERRNONAME" and exits 1; a usage error exits 2.
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/keyctl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <linux/rtnetlink.h>
#include <linux/sched.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acct.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

// Older kernel headers lack some numbers; these are the same on every arch
// that has the syscall table unified (>= 424).
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef BPF_MAP_CREATE
#define BPF_MAP_CREATE 0
#endif

static const char* errnoName(int err) {
  switch (err) {
#define E(x) \
  case x:    \
    return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF)
    E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV)
    E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(ETXTBSY)
    E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE) E(ERANGE) E(ENAMETOOLONG)
    E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(EOVERFLOW) E(EOPNOTSUPP) E(EAFNOSUPPORT)
    E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENETDOWN) E(ENETUNREACH) E(ECONNABORTED)
    E(ECONNRESET) E(ETIMEDOUT) E(ECONNREFUSED) E(EHOSTUNREACH) E(EALREADY)
    E(EINPROGRESS) E(EDQUOT) E(ENOTSOCK) E(EPROTONOSUPPORT) E(EUSERS)
#undef E
    default:
      return "EUNKNOWN";
  }
}

// Reports the outcome of one operation the way every subcommand does.
static int report(long ret, int err) {
  if (ret < 0) {
    printf("denied %s\n", errnoName(err));
    return 1;
  }
  printf("ok\n");
  return 0;
}

static int fail(const char* what, const char* path) {
  int err = errno;
  fprintf(stderr, "probe: %s %s: %s\n", what, path, strerror(err));
  printf("denied %s\n", errnoName(err));
  return 1;
}

static int catFile(const char* path) {
  int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail("open", path);
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("read", path);
    if (n == 0) break;
    fwrite(buf, 1, (size_t)n, stdout);
  }
  if (fd != 0) close(fd);
  return 0;
}

static int cmdId(void) {
  gid_t groups[256];
  int n = getgroups(256, groups);
  printf("uid=%u gid=%u euid=%u egid=%u groups=", getuid(), getgid(), geteuid(), getegid());
  for (int i = 0; i < n; i++) printf("%s%u", i ? "," : "", groups[i]);
  printf("\nuid_map:\n");
  fflush(stdout);
  catFile("/proc/self/uid_map");
  printf("gid_map:\n");
  fflush(stdout);
  catFile("/proc/self/gid_map");
  printf("setgroups: ");
  fflush(stdout);
  catFile("/proc/self/setgroups");
  return 0;
}

// Prints the lines of /proc/self/status whose key is in keys.
static int statusLines(const char* const* keys) {
  FILE* f = fopen("/proc/self/status", "re");
  if (!f) return fail("open", "/proc/self/status");
  char line[512];
  while (fgets(line, sizeof line, f)) {
    for (const char* const* k = keys; *k; k++) {
      size_t len = strlen(*k);
      if (strncmp(line, *k, len) == 0 && line[len] == ':') fputs(line, stdout);
    }
  }
  fclose(f);
  return 0;
}

static int cmdCaps(void) {
  static const char* const keys[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", NULL};
  return statusLines(keys);
}

static int cmdStatus(void) {
  static const char* const keys[] = {"NoNewPrivs", "Seccomp", "Seccomp_filters", NULL};
  return statusLines(keys);
}

static long rawClone3NewUser(void) {
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_NEWUSER;
  args.exit_signal = SIGCHLD;
  long ret = syscall(SYS_clone3, &args, sizeof args);
  if (ret == 0) syscall(SYS_exit, 0);  // child: shares our stack copy; leave at once
  if (ret > 0) waitpid((pid_t)ret, NULL, 0);
  return ret;
}

static long forkWithFlags(int flags) {
  // clone() with a namespace flag, like a runtime would try from inside.
  long ret = syscall(SYS_clone, (unsigned long)(flags | SIGCHLD), NULL, NULL, NULL, NULL);
  if (ret == 0) syscall(SYS_exit, 0);
  if (ret > 0) waitpid((pid_t)ret, NULL, 0);
  return ret;
}

static long tryBpf(void) {
  // BPF_MAP_CREATE of a one-entry array: the least a bpf user does.
  uint32_t attr[32];
  memset(attr, 0, sizeof attr);
  attr[0] = 2;  // BPF_MAP_TYPE_ARRAY
  attr[1] = 4;  // key size
  attr[2] = 4;  // value size
  attr[3] = 1;  // max entries
  return syscall(SYS_bpf, BPF_MAP_CREATE, attr, sizeof attr);
}

static long tryPerf(void) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.size = sizeof attr;
  attr.config = PERF_COUNT_SW_TASK_CLOCK;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  return syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

static long trySettime(int useClock) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (useClock) return clock_settime(CLOCK_REALTIME, &now);
  struct timeval tv = {.tv_sec = now.tv_sec, .tv_usec = now.tv_nsec / 1000};
  return settimeofday(&tv, NULL);
}

static long trySetns(void) {
  int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (fd < 0) fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long ret = setns(fd, CLONE_NEWNS);
  int err = errno;
  close(fd);
  errno = err;
  return ret;
}

static long tryPtrace(void) {
  long ret = ptrace(PTRACE_ATTACH, 1, NULL, NULL);
  if (ret == 0) {
    int err = errno;
    waitpid(1, NULL, __WALL);
    ptrace(PTRACE_DETACH, 1, NULL, NULL);
    errno = err;
  }
  return ret;
}

// Each entry makes the named syscall with arguments that would succeed (or at
// least pass the seccomp layer) if nothing refused it.
static long trySyscall(const char* name) {
  if (!strcmp(name, "unshare-user")) return unshare(CLONE_NEWUSER);
  if (!strcmp(name, "clone-newuser")) return forkWithFlags(CLONE_NEWUSER);
  if (!strcmp(name, "clone3")) return rawClone3NewUser();
  if (!strcmp(name, "io_uring_setup")) {
    char params[120];
    memset(params, 0, sizeof params);
    return syscall(SYS_io_uring_setup, 1, params);
  }
  if (!strcmp(name, "keyctl"))
    return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
  if (!strcmp(name, "add_key"))
    return syscall(SYS_add_key, "user", "coco-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
  if (!strcmp(name, "request_key"))
    return syscall(SYS_request_key, "user", "coco-probe", NULL, KEY_SPEC_PROCESS_KEYRING);
  if (!strcmp(name, "bpf")) return tryBpf();
  if (!strcmp(name, "userfaultfd")) return syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* USER_MODE_ONLY */);
  if (!strcmp(name, "perf_event_open")) return tryPerf();
  if (!strcmp(name, "mount")) return mount("none", "/tmp", "tmpfs", 0, NULL);
  if (!strcmp(name, "umount")) return umount2("/tmp", MNT_DETACH);
  if (!strcmp(name, "fsopen")) return syscall(SYS_fsopen, "tmpfs", 1 /* FSOPEN_CLOEXEC */);
  if (!strcmp(name, "open_tree"))
    return syscall(SYS_open_tree, AT_FDCWD, "/tmp", OPEN_TREE_CLONE | O_CLOEXEC);
  if (!strcmp(name, "move_mount"))
    return syscall(SYS_move_mount, AT_FDCWD, "/tmp", AT_FDCWD, "/workspace", 0);
  if (!strcmp(name, "pivot_root")) return syscall(SYS_pivot_root, "/", "/");
  if (!strcmp(name, "chroot")) return chroot("/");
  if (!strcmp(name, "kexec_load")) return syscall(SYS_kexec_load, 0, 0, NULL, 0);
  if (!strcmp(name, "init_module")) return syscall(SYS_init_module, NULL, 0, "");
  if (!strcmp(name, "finit_module")) return syscall(SYS_finit_module, 0, "", 0);
  if (!strcmp(name, "delete_module")) return syscall(SYS_delete_module, "coco_probe", O_NONBLOCK);
  if (!strcmp(name, "acct")) return acct(NULL);
  if (!strcmp(name, "swapon")) return swapon("/tmp/coco-probe-swap", 0);
  if (!strcmp(name, "reboot"))
    return syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL);
  if (!strcmp(name, "settimeofday")) return trySettime(0);
  if (!strcmp(name, "clock_settime")) return trySettime(1);
  if (!strcmp(name, "personality-readimpliesexec")) return personality(READ_IMPLIES_EXEC);
  if (!strcmp(name, "personality-default")) return personality(PER_LINUX);
  if (!strcmp(name, "setns")) return trySetns();
  if (!strcmp(name, "ptrace-attach-1")) return tryPtrace();
  if (!strcmp(name, "getpid")) return getpid();  // a control: must always be "ok"
  fprintf(stderr, "probe: unknown syscall name %s\n", name);
  exit(2);
}

// One TIOCSTI attempt; the request may carry high bits that the kernel drops,
// which a seccomp filter comparing all 64 bits would miss.
static int tiocstiOnce(const char* label, int fd, unsigned long request) {
  char c = ' ';
  long ret = syscall(SYS_ioctl, fd, request, &c);
  int err = errno;
  printf("%s: ", label);
  return report(ret, err) == 0;
}

static int cmdTiocsti(void) {
  const unsigned long high = 0xffffffff00000000UL;
  int allowed = 0;
  allowed += tiocstiOnce("fd0 TIOCSTI", 0, TIOCSTI);
  allowed += tiocstiOnce("fd0 TIOCSTI|high", 0, high | TIOCSTI);
  allowed += tiocstiOnce("fd0 TIOCLINUX", 0, TIOCLINUX);
  allowed += tiocstiOnce("fd0 TIOCLINUX|high", 0, high | TIOCLINUX);
  int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0) {
    printf("/dev/tty: unavailable %s\n", errnoName(errno));
  } else {
    allowed += tiocstiOnce("/dev/tty TIOCSTI", tty, TIOCSTI);
    allowed += tiocstiOnce("/dev/tty TIOCSTI|high", tty, high | TIOCSTI);
    close(tty);
  }
  printf("allowed: %d\n", allowed);
  return allowed ? 1 : 0;
}

static int cmdLs(const char* path) {
  DIR* d = opendir(path);
  if (!d) return fail("opendir", path);
  struct dirent* e;
  while ((errno = 0, e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) printf("%s\n", e->d_name);
  }
  if (errno) return fail("readdir", path);
  closedir(d);
  return 0;
}

static int cmdWrite(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("open", path);
  size_t len = strlen(text);
  if (write(fd, text, len) != (ssize_t)len) return fail("write", path);
  if (close(fd) < 0) return fail("close", path);
  printf("ok\n");
  return 0;
}

static int cmdStat(const char* path) {
  struct stat st;
  if (lstat(path, &st) < 0) return fail("stat", path);
  printf("uid=%u gid=%u mode=%o\n", st.st_uid, st.st_gid, st.st_mode & 07777);
  return 0;
}

// An extended attribute of PATH itself (not followed if a symlink), as text.
static int cmdGetXattr(const char* path, const char* name) {
  char value[256];
  ssize_t n = lgetxattr(path, name, value, sizeof value - 1);
  if (n < 0) return fail("getxattr", path);
  value[n] = '\0';
  printf("%s\n", value);
  return 0;
}

static int cmdEnv(void) {
  for (char** e = environ; *e; e++) printf("%s\n", *e);
  return 0;
}

static const struct {
  const char* name;
  int sig;
} kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM},   {"WINCH", SIGWINCH},
    {"ABRT", SIGABRT}, {"SEGV", SIGSEGV}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
};

static int signalNumber(const char* s) {
  if (isdigit((unsigned char)s[0])) return atoi(s);
  if (!strncmp(s, "SIG", 3)) s += 3;
  for (size_t i = 0; i < sizeof kSignals / sizeof kSignals[0]; i++) {
    if (!strcmp(s, kSignals[i].name)) return kSignals[i].sig;
  }
  return -1;
}

static const char* signalName(int sig) {
  for (size_t i = 0; i < sizeof kSignals / sizeof kSignals[0]; i++) {
    if (kSignals[i].sig == sig) return kSignals[i].name;
  }
  return "?";
}

static int cmdKillSelf(const char* name) {
  int sig = signalNumber(name);
  if (sig <= 0) {
    fprintf(stderr, "probe: bad signal %s\n", name);
    return 2;
  }
  fflush(stdout);
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  kill(getpid(), sig);
  pause();
  return 3;
}

static int isNumeric(const char* s) {
  if (!*s) return 0;
  for (; *s; s++) {
    if (!isdigit((unsigned char)*s)) return 0;
  }
  return 1;
}

// Reads the state letter and comm of one process; returns 0 on success.
static int procStat(const char* pid, char* state, char* comm, size_t commLen) {
  char path[300], buf[512];
  snprintf(path, sizeof path, "/proc/%s/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char* lparen = strchr(buf, '(');
  char* rparen = strrchr(buf, ')');
  if (!lparen || !rparen || rparen[1] == 0) return -1;
  size_t len = (size_t)(rparen - lparen - 1);
  if (len >= commLen) len = commLen - 1;
  memcpy(comm, lparen + 1, len);
  comm[len] = 0;
  *state = rparen[2];
  return 0;
}

// Lists visible processes; returns how many are zombies.
static int listPids(int print) {
  DIR* d = opendir("/proc");
  if (!d) {
    fail("opendir", "/proc");
    return -1;
  }
  int zombies = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (!isNumeric(e->d_name)) continue;
    char state = '?', comm[64] = "?";
    if (procStat(e->d_name, &state, comm, sizeof comm) < 0) continue;
    if (state == 'Z') zombies++;
    if (print) printf("%s %c %s\n", e->d_name, state, comm);
  }
  closedir(d);
  return zombies;
}

// Orphans children that exit unwaited, so only pid 1 can reap them; then
// reports whether any zombie is still visible.
static int cmdZombie(int count) {
  pid_t mid = fork();
  if (mid < 0) return fail("fork", "");
  if (mid == 0) {
    for (int i = 0; i < count; i++) {
      if (fork() == 0) {
        usleep(100 * 1000);
        _exit(0);
      }
    }
    _exit(0);  // the grandchildren are now orphans
  }
  waitpid(mid, NULL, 0);
  int zombies = 0;
  for (int tries = 0; tries < 50; tries++) {  // up to 5 s: reaping is not timed
    usleep(100 * 1000);
    zombies = listPids(0);
    if (tries >= 3 && zombies == 0) break;
  }
  printf("zombies: %d\n", zombies);
  if (zombies) listPids(1);
  return zombies ? 1 : 0;
}

static int cmdSignalWait(int timeoutSecs) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&set, sigs[i]);
  sigprocmask(SIG_BLOCK, &set, NULL);
  printf("ready\n");
  fflush(stdout);
  struct timespec timeout = {.tv_sec = timeoutSecs, .tv_nsec = 0};
  for (;;) {
    int sig = sigtimedwait(&set, NULL, &timeout);
    if (sig < 0 && errno == EINTR) continue;
    if (sig < 0) {
      printf("timeout\n");
      return 3;
    }
    printf("got SIG%s\n", signalName(sig));
    fflush(stdout);
    if (sig == SIGTERM) return 0;
  }
}

static int cmdIsatty(void) {
  for (int fd = 0; fd < 3; fd++) printf("%s%d:%s", fd ? " " : "", fd, isatty(fd) ? "yes" : "no");
  int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  printf(" ctty:%s\n", tty >= 0 ? "yes" : "no");
  if (tty >= 0) close(tty);
  return 0;
}

// What a tool could do to the terminals it was handed: raw mode without echo
// (`stty raw -echo`, which would outlive the tool) and a line discipline change.
static int cmdTtyAttack(void) {
  int done = 0;
  for (int fd = 0; fd < 3; fd++) {
    struct termios t;
    if (tcgetattr(fd, &t) < 0) {
      printf("fd%d: no terminal (%s)\n", fd, errnoName(errno));
      continue;
    }
    cfmakeraw(&t);
    t.c_lflag &= ~(tcflag_t)ECHO;
    int raw = tcsetattr(fd, TCSANOW, &t);
    printf("fd%d: raw -echo %s\n", fd, raw == 0 ? "ok" : errnoName(errno));
    int ldisc = N_TTY;
    int setd = ioctl(fd, TIOCSETD, &ldisc);
    printf("fd%d: TIOCSETD %s\n", fd, setd == 0 ? "ok" : errnoName(errno));
    done += raw == 0 || setd == 0;
  }
  printf("changed: %d\n", done);
  return 0;
}

// What each standard descriptor is: "pipe:[INODE]", "/dev/pts/N", "/dev/null".
/* Whether the tool leads its own session and process group, and whether it has a
   controlling terminal to open. */
static int cmdSession(void) {
  pid_t pid = getpid();
  printf("session-leader: %d\n", getsid(0) == pid);
  printf("group-leader: %d\n", getpgrp() == pid);
  int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty >= 0) {
    printf("ctty: yes\n");
    close(tty);
  } else {
    printf("ctty: none %s\n", errnoName(errno));
  }
  return 0;
}

static int cmdFds(void) {
  for (int fd = 0; fd < 3; fd++) {
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n < 0 ? 0 : n] = 0;
    printf("fd%d: %s\n", fd, n < 0 ? errnoName(errno) : target);
  }
  return 0;
}

// "16M" -> 16777216; plain numbers are bytes.
static unsigned long long parseSize(const char* s) {
  char* end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  switch (end && *end ? *end : 0) {
    case 'K': return v << 10;
    case 'M': return v << 20;
    case 'G': return v << 30;
    default: return v;
  }
}

// A fork bomb that stops at `count`: children that pause `secs`, then exit.
static int cmdSpawn(int count, int secs) {
  int spawned = 0, err = 0;
  for (; spawned < count; spawned++) {
    pid_t pid = fork();
    if (pid == 0) {
      sleep((unsigned)secs);
      _exit(0);
    }
    if (pid < 0) {
      err = errno;
      break;
    }
  }
  printf("spawned %d\n%s %s\n", spawned, err ? "failed" : "stopped", err ? errnoName(err) : "at the count");
  fflush(stdout);
  while (wait(NULL) > 0 || errno == EINTR) {
  }
  return 0;
}

// Writes zeros to `path` in 1 MiB steps until an error or `max` bytes.
static int cmdFill(const char* path, unsigned long long max) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("open", path);
  static char block[1 << 20];
  unsigned long long done = 0;
  int err = 0;
  while (done < max) {
    ssize_t n = write(fd, block, sizeof block);
    if (n <= 0) {
      err = n < 0 ? errno : ENOSPC;
      break;
    }
    done += (unsigned long long)n;
  }
  if (!err && fsync(fd) < 0) err = errno;
  close(fd);
  printf("wrote %llu\n%s %s\n", done, err ? "failed" : "stopped", err ? errnoName(err) : "at the maximum");
  return 0;
}

// Makes up to `max` empty directories in `dir` (e0, e1, ...): how many a file system takes
// (its entries cost the kernel memory its size does not count).
static int cmdEntries(const char* dir, unsigned long long max) {
  char path[PATH_MAX];
  unsigned long long made = 0;
  int err = 0;
  for (; made < max; made++) {
    snprintf(path, sizeof path, "%s/e%llu", dir, made);
    if (mkdir(path, 0700) < 0) {
      err = errno;
      break;
    }
  }
  printf("made %llu\n%s %s\n", made, err ? "failed" : "stopped", err ? errnoName(err) : "at the maximum");
  return 0;
}

// Opens inotify instances until refused (or `max`), holding them: how many the sandbox gets.
static int cmdInotify(unsigned long long max) {
  unsigned long long made = 0;
  int err = 0;
  for (; made < max; made++)
    if (inotify_init1(IN_CLOEXEC) < 0) {
      err = errno;
      break;
    }
  printf("made %llu\n%s %s\n", made, err ? "failed" : "stopped", err ? errnoName(err) : "at the maximum");
  return 0;
}

// Opens pseudo-terminals until refused (or `max`), holding them: the kernel's pool of them
// (kernel.pty.max) is shared by every devpts instance on the machine.
static int cmdPtys(unsigned long long max) {
  unsigned long long made = 0;
  int err = 0;
  for (; made < max; made++)
    if (open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC) < 0) {
      err = errno;
      break;
    }
  printf("made %llu\n%s %s\n", made, err ? "failed" : "stopped", err ? errnoName(err) : "at the maximum");
  return 0;
}

// Makes System V objects of one kind until refused (or `max`), holding them: semaphore arrays of
// 1024, message queues each filled to 16 KiB, or shared memory segments of `size` bytes (made,
// not touched). What they hold is the kernel's memory, or shared memory RLIMIT_DATA does not count.
static int cmdIpc(const char* kind, unsigned long long max, unsigned long long size) {
  static struct {
    long type;
    char text[8192];
  } msg = {1, {0}};
  unsigned long long made = 0;
  int err = 0;
  for (; made < max && !err; made++) {
    if (!strcmp(kind, "sem")) {
      if (semget(IPC_PRIVATE, 1024, 0600) < 0) err = errno;
    } else if (!strcmp(kind, "msg")) {
      int q = msgget(IPC_PRIVATE, 0600);
      if (q < 0 || msgsnd(q, &msg, sizeof msg.text, IPC_NOWAIT) < 0 ||
          msgsnd(q, &msg, sizeof msg.text, IPC_NOWAIT) < 0)
        err = errno;
    } else {
      if (shmget(IPC_PRIVATE, size, 0600) < 0) err = errno;
    }
    if (err) break;
  }
  printf("made %llu\n%s %s\n", made, err ? "failed" : "stopped", err ? errnoName(err) : "at the maximum");
  return 0;
}

// Allocates and touches memory in 16 MiB steps until it fails or reaches
// `max`, then holds it for `hold` seconds.
static int cmdHog(unsigned long long max, int hold) {
  unsigned long long done = 0;
  while (done < max) {
    char* p = malloc(16 << 20);
    if (!p) {
      printf("allocated %llu\nfailed %s\n", done, errnoName(errno));
      return 0;
    }
    memset(p, 1, 16 << 20);
    done += 16 << 20;
  }
  printf("allocated %llu\nstopped at the maximum\n", done);
  fflush(stdout);
  if (hold > 0) sleep((unsigned)hold);
  return 0;
}

static int cmdStatfs(const char* path) {
  struct statfs st;
  if (statfs(path, &st) < 0) return fail("statfs", path);
  printf("size %llu\n", (unsigned long long)st.f_blocks * (unsigned long long)st.f_bsize);
  return 0;
}

static int cmdWinsize(void) {
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) < 0) return fail("ioctl TIOCGWINSZ", "fd 0");
  printf("rows=%u cols=%u\n", ws.ws_row, ws.ws_col);
  return 0;
}

static int cmdConnect(const char* host, const char* port) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    printf("denied resolve %s\n", gai_strerror(rc));
    return 1;
  }
  int err = 0;
  for (struct addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      printf("connected\n");
      close(fd);
      freeaddrinfo(res);
      return 0;
    }
    err = errno;
    close(fd);
  }
  freeaddrinfo(res);
  printf("denied %s\n", errnoName(err));
  return 1;
}

// Fills a unix socket address; "@name" is an abstract name (no file).
static socklen_t unixAddress(const char* name, struct sockaddr_un* sa) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  size_t len = strlen(name);
  if (len >= sizeof sa->sun_path) len = sizeof sa->sun_path - 1;
  memcpy(sa->sun_path, name, len);
  if (name[0] == '@') sa->sun_path[0] = '\0';
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

static int cmdConnectUnix(const char* name) {
  struct sockaddr_un sa;
  socklen_t len = unixAddress(name, &sa);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("socket", name);
  int rc = connect(fd, (struct sockaddr*)&sa, len);
  int err = errno;
  close(fd);
  return report(rc, err);
}

// Connects to a unix socket, sends TEXT, ends its side and prints what comes back until EOF.
static int cmdTalkUnix(const char* name, const char* text) {
  struct sockaddr_un sa;
  socklen_t len = unixAddress(name, &sa);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr*)&sa, len) < 0) return fail("connect", name);
  size_t n = strlen(text);
  if (write(fd, text, n) != (ssize_t)n) return fail("write", name);
  shutdown(fd, SHUT_WR);
  printf("reply ");
  char buf[4096];
  ssize_t got;
  while ((got = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)got, stdout);
  printf("\n");
  close(fd);
  return got < 0 ? fail("read", name) : 0;
}

// An abstract socket of the sandbox's own, which its tools may still use.
static int cmdAbstractSelf(void) {
  char name[64];
  snprintf(name, sizeof name, "@coco-probe-%d", (int)getpid());
  struct sockaddr_un sa;
  socklen_t len = unixAddress(name, &sa);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr*)&sa, len) < 0 || listen(fd, 1) < 0) return fail("bind", name);
  return cmdConnectUnix(name);
}

// Binds an abstract name and listens for SECS seconds: another sandbox tries to reach it.
static int cmdListenUnix(const char* name, int secs) {
  struct sockaddr_un sa;
  socklen_t len = unixAddress(name, &sa);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr*)&sa, len) < 0 || listen(fd, 1) < 0) return fail("bind", name);
  printf("listening\n");
  sleep((unsigned)secs);
  return 0;
}

// Listens on 127.0.0.1:PORT for SECS seconds (the sandbox's own loopback), saying "accepted"
// for each connection it takes.
static int cmdListenTcp(const char* port, int secs) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons((uint16_t)atoi(port));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr*)&sa, sizeof sa) < 0 || listen(fd, 8) < 0)
    return fail("bind", port);
  printf("listening\n");
  fflush(stdout);
  time_t end = time(NULL) + secs;
  for (time_t now; (now = time(NULL)) < end;) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, (int)(end - now) * 1000) != 1) continue;
    int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) continue;
    printf("accepted\n");
    fflush(stdout);
    close(conn);
  }
  return 0;
}

// The network namespace this process is in, as /proc shows it: net:[INODE]; then, with SECS,
// stays in it that long.
static int cmdNetns(const char* secs) {
  char buf[64];
  ssize_t n = readlink("/proc/self/ns/net", buf, sizeof buf - 1);
  if (n < 0) return fail("readlink", "/proc/self/ns/net");
  buf[n] = 0;
  printf("%s\n", buf);
  fflush(stdout);
  if (secs) sleep((unsigned)atoi(secs));
  return 0;
}

static void reachLine(long pid, const char* what, long ret, int err) {
  if (ret < 0) printf("%ld %s: denied %s\n", pid, what, errnoName(err));
  else printf("%ld %s: ok\n", pid, what);
}

// Each call first, then its errno (an argument list has no order of evaluation).
#define REACH(pid, what, call)          \
  do {                                  \
    long rc_ = (call);                  \
    reachLine(pid, what, rc_, errno);   \
  } while (0)

// Every way to touch process PID: signals, ptrace, a pidfd, its namespaces (open and setns).
static void reachPid(long pid) {
  REACH(pid, "kill-0", kill((pid_t)pid, 0));
  REACH(pid, "kill-KILL", kill((pid_t)pid, SIGKILL));
  long rc = ptrace(PTRACE_ATTACH, (pid_t)pid, NULL, NULL);
  reachLine(pid, "ptrace-attach", rc, errno);
  if (rc == 0) ptrace(PTRACE_DETACH, (pid_t)pid, NULL, NULL);
  rc = syscall(SYS_pidfd_open, (pid_t)pid, 0);
  reachLine(pid, "pidfd_open", rc, errno);
  if (rc >= 0) close((int)rc);
  static const struct { const char* name; int type; } kNs[] = {
      {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS}, {"pid", CLONE_NEWPID}, {"net", CLONE_NEWNET},
      {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS}, {"cgroup", CLONE_NEWCGROUP}};
  for (size_t i = 0; i < sizeof kNs / sizeof kNs[0]; i++) {
    char path[64], what[32];
    snprintf(path, sizeof path, "/proc/%ld/ns/%s", pid, kNs[i].name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    snprintf(what, sizeof what, "open-ns-%s", kNs[i].name);
    reachLine(pid, what, fd, errno);
    if (fd < 0) continue;
    snprintf(what, sizeof what, "setns-%s", kNs[i].name);
    REACH(pid, what, setns(fd, kNs[i].type));
    close(fd);
  }
}

// The pids in FILE (blank-separated), each attacked with reachPid.
static int cmdReach(const char* file) {
  FILE* f = fopen(file, "r");
  if (!f) return fail("open", file);
  long pid;
  int n = 0;
  while (fscanf(f, "%ld", &pid) == 1) {
    reachPid(pid);
    n++;
  }
  fclose(f);
  printf("reached for %d pids\n", n);
  return 0;
}

static int cmdKill(const char* pid, const char* sig) {
  pid_t target = strcmp(pid, "self") == 0 ? getpid() : (pid_t)atoi(pid);
  int rc = kill(target, signalNumber(sig));
  return report(rc, errno);
}

static int cmdResolve(const char* name) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(name, NULL, &hints, &res);
  if (rc != 0) {
    printf("denied resolve %s\n", gai_strerror(rc));
    return 1;
  }
  for (struct addrinfo* ai = res; ai; ai = ai->ai_next) {
    char host[NI_MAXHOST];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0, NI_NUMERICHOST) == 0)
      printf("%s\n", host);
  }
  freeaddrinfo(res);
  return 0;
}

// Sends one netlink request (a batch for nftables) and returns the kernel's answer to it: 0 or
// -errno from the first error acknowledgement, as `ip route add` or `nft add table` would get.
static long netlinkRequest(int protocol, const void* msg, size_t len) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) return -errno;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, msg, len, 0, (struct sockaddr*)&kernel, sizeof kernel) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  long result = -ETIMEDOUT;
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[8192];
  for (int replies = 0; replies < 8 && result == -ETIMEDOUT; ++replies) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) break;
    for (struct nlmsghdr* h = (struct nlmsghdr*)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      const struct nlmsgerr* e = NLMSG_DATA(h);
      if (e->error != 0 || h->nlmsg_seq == 2) {  // an error, or the request's own ack
        result = e->error;
        break;
      }
    }
  }
  close(fd);
  return result;
}

// RTM_NEWROUTE: 192.0.2.0/24 through lo, in the main table.
static int cmdRouteAdd(void) {
  struct {
    struct nlmsghdr h;
    struct rtmsg r;
    struct rtattr dstAttr;
    uint32_t dst;
    struct rtattr oifAttr;
    uint32_t oif;
  } req = {0};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = RTM_NEWROUTE;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  req.h.nlmsg_seq = 2;
  req.r.rtm_family = AF_INET;
  req.r.rtm_dst_len = 24;
  req.r.rtm_table = RT_TABLE_MAIN;
  req.r.rtm_protocol = RTPROT_BOOT;
  req.r.rtm_scope = RT_SCOPE_LINK;
  req.r.rtm_type = RTN_UNICAST;
  req.dstAttr.rta_len = RTA_LENGTH(sizeof req.dst);
  req.dstAttr.rta_type = RTA_DST;
  req.dst = htonl(0xc0000200);
  req.oifAttr.rta_len = RTA_LENGTH(sizeof req.oif);
  req.oifAttr.rta_type = RTA_OIF;
  req.oif = 1;  // lo
  long rc = netlinkRequest(NETLINK_ROUTE, &req, sizeof req);
  return report(rc, (int)-rc);
}

// NFT_MSG_NEWTABLE "probe" (inet) in a batch, as nft sends it.
static int cmdNftAddTable(void) {
  char buf[256] = {0};
  size_t off = 0;
  struct nlmsghdr* h = (struct nlmsghdr*)buf;
  h->nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
  h->nlmsg_type = NFNL_MSG_BATCH_BEGIN;
  h->nlmsg_flags = NLM_F_REQUEST;
  h->nlmsg_seq = 1;
  ((struct nfgenmsg*)NLMSG_DATA(h))->res_id = htons(NFNL_SUBSYS_NFTABLES);
  off += NLMSG_ALIGN(h->nlmsg_len);
  h = (struct nlmsghdr*)(buf + off);
  struct nfgenmsg* g = NLMSG_DATA(h);
  g->nfgen_family = 1;  // NFPROTO_INET (linux/netfilter.h clashes with netinet/in.h)
  struct rtattr* name = (struct rtattr*)((char*)g + NLMSG_ALIGN(sizeof *g));
  name->rta_type = NFTA_TABLE_NAME;
  name->rta_len = RTA_LENGTH(sizeof "probe");
  memcpy(RTA_DATA(name), "probe", sizeof "probe");
  h->nlmsg_len = NLMSG_LENGTH(NLMSG_ALIGN(sizeof *g) + RTA_ALIGN(name->rta_len));
  h->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
  h->nlmsg_seq = 2;
  off += NLMSG_ALIGN(h->nlmsg_len);
  h = (struct nlmsghdr*)(buf + off);
  h->nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
  h->nlmsg_type = NFNL_MSG_BATCH_END;
  h->nlmsg_flags = NLM_F_REQUEST;
  h->nlmsg_seq = 3;
  ((struct nfgenmsg*)NLMSG_DATA(h))->res_id = htons(NFNL_SUBSYS_NFTABLES);
  off += NLMSG_ALIGN(h->nlmsg_len);
  long rc = netlinkRequest(NETLINK_NETFILTER, buf, off);
  return report(rc, (int)-rc);
}

static int usage(void) {
  fputs(
      "usage: probe id | caps | status | mounts | try-syscall NAME | tiocsti | ls PATH |\n"
      "  cat PATH | write PATH [TEXT] | stat PATH | getxattr PATH NAME | unlink PATH | rename OLD NEW |\n"
      "  mkdir PATH | env | sleep SECS [TAG] | exit N | kill-self SIG | pids |\n"
      "  zombie [N] | signal-wait [TIMEOUT] | isatty | winsize | tty-attack | fds | session |\n"
      "  spawn N SECS | fill PATH MAX | entries DIR MAX | inotify MAX |\n"
      "  ipc sem|msg|shm MAX [SIZE] | ptys MAX | hog MAX [SECS] | statfs PATH | "
      "connect HOST PORT |\n"
      "  resolve NAME | hostname | cwd | connect-unix PATH|@NAME | talk-unix PATH TEXT | abstract-self |\n"
      "  kill PID|self SIG | listen-unix @NAME SECS | listen-tcp PORT SECS | netns [SECS] |\n"
      "  reach PIDFILE |\n"
      "  route-add | nft-add-table\n"
      "  (started as probe-argv: prints its argv, a line each)\n",
      stderr);
  return 2;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  // Started as probe-argv (a copy by that name, or an interpreter named so): prints its argv.
  const char* self = strrchr(argv[0], '/');
  if (!strcmp(self ? self + 1 : argv[0], "probe-argv")) {
    for (int i = 0; i < argc; ++i) printf("argv[%d]=%s\n", i, argv[i]);
    return 0;
  }
  if (argc < 2) return usage();
  const char* cmd = argv[1];
  const char* a1 = argc > 2 ? argv[2] : NULL;
  const char* a2 = argc > 3 ? argv[3] : NULL;
  if (!strcmp(cmd, "id")) return cmdId();
  if (!strcmp(cmd, "caps")) return cmdCaps();
  if (!strcmp(cmd, "status")) return cmdStatus();
  if (!strcmp(cmd, "mounts")) return catFile("/proc/self/mountinfo");
  if (!strcmp(cmd, "try-syscall") && a1) {
    errno = 0;
    long ret = trySyscall(a1);
    return report(ret, errno);
  }
  if (!strcmp(cmd, "tiocsti")) return cmdTiocsti();
  if (!strcmp(cmd, "ls") && a1) return cmdLs(a1);
  if (!strcmp(cmd, "cat") && a1) return catFile(a1);
  if (!strcmp(cmd, "write") && a1) return cmdWrite(a1, a2 ? a2 : "probe\n");
  if (!strcmp(cmd, "stat") && a1) return cmdStat(a1);
  if (!strcmp(cmd, "getxattr") && a2) return cmdGetXattr(a1, a2);
  if (!strcmp(cmd, "unlink") && a1) return unlink(a1) < 0 ? fail("unlink", a1) : report(0, 0);
  if (!strcmp(cmd, "rename") && a2) return rename(a1, a2) < 0 ? fail("rename", a1) : report(0, 0);
  if (!strcmp(cmd, "mkdir") && a1) return mkdir(a1, 0755) < 0 ? fail("mkdir", a1) : report(0, 0);
  if (!strcmp(cmd, "env")) return cmdEnv();
  if (!strcmp(cmd, "sleep") && a1) return sleep((unsigned)atoi(a1)) ? 1 : 0;
  if (!strcmp(cmd, "exit") && a1) return atoi(a1);
  if (!strcmp(cmd, "kill-self") && a1) return cmdKillSelf(a1);
  if (!strcmp(cmd, "pids")) return listPids(1) < 0 ? 1 : 0;
  if (!strcmp(cmd, "zombie")) return cmdZombie(a1 ? atoi(a1) : 5);
  if (!strcmp(cmd, "signal-wait")) return cmdSignalWait(a1 ? atoi(a1) : 60);
  if (!strcmp(cmd, "isatty")) return cmdIsatty();
  if (!strcmp(cmd, "winsize")) return cmdWinsize();
  if (!strcmp(cmd, "tty-attack")) return cmdTtyAttack();
  if (!strcmp(cmd, "fds")) return cmdFds();
  if (!strcmp(cmd, "session")) return cmdSession();
  if (!strcmp(cmd, "spawn") && a2) return cmdSpawn(atoi(a1), atoi(a2));
  if (!strcmp(cmd, "fill") && a2) return cmdFill(a1, parseSize(a2));
  if (!strcmp(cmd, "entries") && a2) return cmdEntries(a1, parseSize(a2));
  if (!strcmp(cmd, "inotify") && a1) return cmdInotify(parseSize(a1));
  if (!strcmp(cmd, "ptys") && a1) return cmdPtys(parseSize(a1));
  if (!strcmp(cmd, "ipc") && a2) return cmdIpc(a1, parseSize(a2), argc > 4 ? parseSize(argv[4]) : 0);
  if (!strcmp(cmd, "hog") && a1) return cmdHog(parseSize(a1), a2 ? atoi(a2) : 0);
  if (!strcmp(cmd, "statfs") && a1) return cmdStatfs(a1);
  if (!strcmp(cmd, "connect") && a2) return cmdConnect(a1, a2);
  if (!strcmp(cmd, "resolve") && a1) return cmdResolve(a1);
  if (!strcmp(cmd, "connect-unix") && a1) return cmdConnectUnix(a1);
  if (!strcmp(cmd, "talk-unix") && a2) return cmdTalkUnix(a1, a2);
  if (!strcmp(cmd, "abstract-self")) return cmdAbstractSelf();
  if (!strcmp(cmd, "kill") && a2) return cmdKill(a1, a2);
  if (!strcmp(cmd, "listen-unix") && a2) return cmdListenUnix(a1, atoi(a2));
  if (!strcmp(cmd, "listen-tcp") && a2) return cmdListenTcp(a1, atoi(a2));
  if (!strcmp(cmd, "netns")) return cmdNetns(a1);
  if (!strcmp(cmd, "reach") && a1) return cmdReach(a1);
  if (!strcmp(cmd, "route-add")) return cmdRouteAdd();
  if (!strcmp(cmd, "nft-add-table")) return cmdNftAddTable();
  if (!strcmp(cmd, "hostname")) {
    struct utsname u;
    uname(&u);
    printf("%s\n", u.nodename);
    return 0;
  }
  if (!strcmp(cmd, "cwd")) {
    char buf[4096];
    if (!getcwd(buf, sizeof buf)) return fail("getcwd", "");
    printf("%s\n", buf);
    return 0;
  }
  return usage();
}
