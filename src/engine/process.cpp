// Becoming the tool: the last steps before execve.
#include "engine/process.hpp"

#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/child_report.hpp"
#include "engine/init.hpp"
#include "engine/landlock.hpp"
#include "sys/process.hpp"
#include "util/trace.hpp"

namespace coco::engine {

namespace {

// What apt and dpkg need in the install phase (chown files, drop to _apt, ...).
constexpr int kInstallCaps[] = {CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL,
                                CAP_SETGID, CAP_SETUID,       CAP_SETFCAP, CAP_SYS_CHROOT};

bool kept(const ChildPlan& plan, int cap) {
  if (!plan.installPhase) return false;
  for (int c : kInstallCaps)
    if (c == cap) return true;
  return false;
}

// The tool's dispositions as an exec from coco's parent would leave them: what that parent
// ignored stays ignored, everything else at its default. Only init's handlers (the forwarded
// signals; init set SIGCHLD to its default) and what coco ignored since its start
// (plan.defaultSignals: SIGPIPE) differ from that: a few calls, where a loop over every signal
// made 64. The handlers go now, not at the execve, so none of init's runs in the tool before it
// (a group-wide signal before the tool's setsid acts as it would on the tool).
void resetSignals(const ChildPlan& plan) {
  struct sigaction dfl = {}, ign = {};
  dfl.sa_handler = SIG_DFL;
  ign.sa_handler = SIG_IGN;
  for (int sig : kForwardedSignals) ::sigaction(sig, sys::isIgnored(plan.ignoredSignals, sig) ? &ign : &dfl, nullptr);
  for (int sig = 1; sig <= 64 && sig < NSIG; ++sig)
    if (sys::isIgnored(plan.defaultSignals, sig)) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// A new session (or, where no terminal is near, a new process group: ChildPlan::newSession);
// fds 0-2 as the plan says: coco's own where they are no
// terminal, else the sandbox's pty, a pipe coco relays, or /dev/null.
bool attachStdio(const ChildPlan& plan, int slave) {
  if (plan.newSession ? ::setsid() < 0 : ::setpgid(0, 0) != 0) return fail(plan.newSession ? "setsid" : "setpgid");
  if (slave >= 0 && ::ioctl(slave, TIOCSCTTY, 0) != 0) return fail("making the pty the controlling terminal");
  for (int fd = 0; fd < 3; ++fd) {
    int from = plan.stdio[fd] == kStdioPty ? slave : plan.stdio[fd];
    if (from >= 0 && from != fd && ::dup2(from, fd) < 0) return fail("dup2 stdio");
  }
  if (slave > 2) ::close(slave);
  return true;
}

bool dropCapabilities(const ChildPlan& plan) {
  if (!plan.installPhase) {
    // uid 0 must not regain capabilities through execve.
    unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                         SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
                         SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    if (::prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0) return fail("prctl(PR_SET_SECUREBITS)");
  }
  // Up to the last capability this kernel knows: the first it refuses with
  // EINVAL is past it (what cap_last_cap says, without reading /proc).
  for (int cap = 0; cap < 64; ++cap) {
    if (kept(plan, cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0) continue;
    if (errno == EINVAL) break;
    return fail("prctl(PR_CAPBSET_DROP)");
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return fail("clearing ambient capabilities");
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int cap : kInstallCaps) {
    if (!kept(plan, cap)) continue;
    data[cap / 32].effective |= 1U << (cap % 32);
    data[cap / 32].permitted |= 1U << (cap % 32);
  }
  if (::syscall(SYS_capset, &header, data) != 0) return fail("capset");
  return true;
}

// coco raised its own descriptor limit (util/fd_limit.hpp); the tool gets the one coco was
// started with, as outside coco (as bubblewrap leaves it, and as systemd gives its services:
// a program using select() breaks on descriptors past 1024).
bool restoreFdLimit(const ChildPlan& plan) {
  struct rlimit limit;
  if (!plan.fdSoftLimit || ::getrlimit(RLIMIT_NOFILE, &limit) != 0 || plan.fdSoftLimit >= limit.rlim_cur)
    return true;
  limit.rlim_cur = plan.fdSoftLimit;
  return ::setrlimit(RLIMIT_NOFILE, &limit) == 0 || fail("setrlimit(RLIMIT_NOFILE)");
}

bool lockDown(const ChildPlan& plan) {
  if (!dropCapabilities(plan)) return false;
  trace::point("tool-caps-dropped");
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail("prctl(PR_SET_NO_NEW_PRIVS)");
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) return fail("close_range");
  if (!applyLandlock(plan.landlock)) return false;
  trace::point("tool-landlock");
  if (plan.seccomp.filter.empty()) return true;
  sock_fprog prog = plan.seccomp.fprog();
  if (int err = installProgramRaw(&prog); err != 0) return failWith(err, 125, "installing the seccomp filter", nullptr);
  trace::point("tool-seccomp");
  return true;
}

bool blank(char c) { return c == ' ' || c == '\t'; }

// Whether the kernel would exec the file `fd` (opened from `script`, a regular file).
bool kernelWouldExec(const ChildPlan& plan, int fd, const char* script) {
  // The kernel's own check (kAtExecveCheck), where the tool's filter answers it.
  if (plan.filterAnswersExecCheck) {
    if (::syscall(SYS_execveat, fd, "", plan.argv.data(), plan.envp.data(), AT_EMPTY_PATH | kAtExecveCheck) ==
        0)
      return true;
    if (errno != EINVAL) return false;
  }
  // An older kernel, or a filter that would end the check: the kernel's permission and noexec
  // checks (access), and Landlock's as coco's rules
  // make it (landlock.cpp): everything of the sandbox's tree may be executed, a host file given
  // as the tool's stdin or output (reached by /proc/self/fd/N) may not.
  struct stat file, stdio;
  if (::access(script, X_OK) != 0 || ::fstat(fd, &file) != 0) return false;
  for (int n = 0; n < 3; ++n)
    if (::fstat(n, &stdio) == 0 && stdio.st_dev == file.st_dev && stdio.st_ino == file.st_ino) return false;
  return true;
}

// Where the kernel would exec `script` and its first line is "#!/usr/bin/env NAME": execs NAME
// from PATH with argv NAME, the script's path, argv[1..], which is what env, exec'd by the
// kernel with that line, execs (glibc's execvp: the first entry whose exec does not fail with
// ENOENT, ENOTDIR or EACCES). That saves env's own exec, ~3 ms on this VM (npm's tools, eslint,
// prettier, tsc, start that way). Returns where that does not apply, or no NAME on PATH could be
// exec'd: the caller then execs the script itself, and env does what it does (its error
// message, its /bin/sh for NAME without a #! line).
void execEnvCommand(const ChildPlan& plan, const char* script) {
  if (!plan.envSearchSame || !plan.filterAnswersEnvChecks || plan.envArgv.size() < plan.argv.size() + 1)
    return;
  struct stat st;  // before the open: opening a FIFO would release a writer waiting on it
  if (::stat(script, &st) != 0 || !S_ISREG(st.st_mode)) return;
  int fd = ::open(script, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return;
  char head[256];  // the kernel's BINPRM_BUF_SIZE
  ssize_t n = ::read(fd, head, sizeof head);
  std::string_view name = n > 0 ? envShebangCommand({head, size_t(n)}) : std::string_view();
  // An ELF file got here in four calls; the rest of the kernel's checks only for an env line.
  bool runs = !name.empty() && kernelWouldExec(plan, fd, script) && ::access("/usr/bin/env", X_OK) == 0;
  ::close(fd);
  if (!runs) return;
  char program[NAME_MAX + 1];
  if (name.size() > NAME_MAX) return;
  std::memcpy(program, name.data(), name.size());
  program[name.size()] = '\0';
  char** argv = plan.envArgv.data();
  argv[0] = program;
  argv[1] = const_cast<char*>(script);
  size_t i = 1;
  for (; plan.argv[i]; ++i) argv[i + 1] = plan.argv[i];
  argv[i + 1] = nullptr;
  char path[PATH_MAX];
  for (const auto& dir : plan.searchPath) {
    if (dir.size() + 1 + name.size() >= sizeof path) return;
    FixedText(path, sizeof path) << dir.c_str() << "/" << program;
    ::execve(path, argv, plan.envp.data());
    if (errno != ENOENT && errno != ENOTDIR && errno != EACCES) return;
  }
}

[[noreturn]] void execSearch(const ChildPlan& plan, int reportFd) {
  trace::point("tool-execve");
  const char* cmd = plan.argv[0];
  if (std::strchr(cmd, '/')) {
    execEnvCommand(plan, cmd);
    ::execve(cmd, plan.argv.data(), plan.envp.data());
    int err = errno;
    failWith(err, err == ENOENT || err == ENOTDIR ? 127 : 126,
             err == ENOENT ? "command not found:" : "cannot run", cmd);
    reportAndExit(reportFd);
  }
  int denied = 0;
  char path[PATH_MAX];
  for (const auto& dir : plan.searchPath) {
    FixedText(path, sizeof path) << dir.c_str() << "/" << cmd;
    execEnvCommand(plan, path);
    ::execve(path, plan.argv.data(), plan.envp.data());
    if (errno != ENOENT && errno != ENOTDIR) denied = errno;
  }
  if (denied) failWith(denied, 126, "cannot run", cmd);
  else failWith(ENOENT, 127, "command not found in the sandbox's PATH:", cmd);
  reportAndExit(reportFd);
}

}  // namespace

std::string_view envShebangCommand(std::string_view head) {
  size_t end = head.find('\n');
  if (head.substr(0, 2) != "#!" || end == std::string_view::npos) return {};
  std::string_view line = head.substr(2, end - 2);
  while (!line.empty() && blank(line.back())) line.remove_suffix(1);
  while (!line.empty() && blank(line.front())) line.remove_prefix(1);
  constexpr std::string_view kEnv = "/usr/bin/env";
  if (line.substr(0, kEnv.size()) != kEnv || line.size() == kEnv.size() || !blank(line[kEnv.size()]))
    return {};
  std::string_view name = line.substr(kEnv.size());
  while (!name.empty() && blank(name.front())) name.remove_prefix(1);
  if (name.empty() || name.front() == '-') return {};
  for (char c : name)
    if (c <= ' ' || c == 0x7f || c == '/' || c == '=') return {};
  return name;
}

void execTool(const ChildPlan& plan, int ttySlave, int reportFd) {
  trace::point("tool-start");
  resetSignals(plan);
  trace::point("tool-signals");
  if (!attachStdio(plan, ttySlave)) reportAndExit(reportFd);
  trace::point("tool-stdio");
  if (::chdir(plan.workdir.c_str()) != 0) {
    fail("chdir to the working directory", plan.workdir.c_str());
    reportAndExit(reportFd);
  }
  trace::point("tool-chdir");
  if (!restoreFdLimit(plan) || !lockDown(plan)) reportAndExit(reportFd);
  execSearch(plan, reportFd);
}

}  // namespace coco::engine
