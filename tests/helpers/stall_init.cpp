// stall-init COMMAND...: runs COMMAND (coco) under ptrace and holds the sandbox's init stopped
// from its first instruction, as a setup stuck on a hung mount source (NFS, FUSE) would hold it,
// without any of those on the test machine.
//
// Every process COMMAND starts is attached at its creation (PTRACE_O_TRACEFORK, VFORK, CLONE).
// The first one that is pid 1 of a new pid namespace (NSpid in /proc/PID/status) is init: it is
// never resumed, and "stall-init: holding init" goes to stdout once it is held. Any other new
// process runs on, traced to its first execve and detached there, so a setuid newuidmap keeps
// its privilege (a traced exec would drop it); the holder's helper, which clones init, stays
// traced through its clone. One that never execs (a thread, a user-namespace holder coco starts)
// stays traced and is killed with stall-init (PTRACE_O_EXITKILL): start the holder untraced.
// SIGINT, SIGTERM and SIGHUP sent to stall-init go to COMMAND. When init dies: "stall-init: init
// ended by signal N" (or "exited N"). stall-init exits as COMMAND did (128+N for signal N).
//
// STALL_INIT_UNKILLABLE=1: init's death is held too, as a task in a FUSE request the server read
// and never answers is held: init stops at its exit (PTRACE_O_TRACEEXIT; a SIGKILL'd tracee stops
// there) with "stall-init: holding init's exit" on stderr, and goes only once COMMAND has ended.
//
// STALL_INIT_TOOL=1: init runs on, and the tool, its first child, is held instead, between its
// clone and its execve, as a tool whose exec is slow (a binary on a slow mount, a preempted
// start) would be held: once init has said it starts the tool. "stall-init: holding the tool" goes
// to stdout; SIGUSR1 to stall-init lets the tool go on (it is detached).
//
// STALL_INIT_KILL_COMMAND=1: init is held from its first instruction as above; a second later
// COMMAND gets SIGKILL, as a kill -9 of coco between init's clone and init's PR_SET_PDEATHSIG
// would, which no parent-death signal follows. coco sends init its go within milliseconds of the
// clone, so by then it has; on a machine so loaded that it has not, init ends at the go's EOF
// whether or not it checks for coco's death (the test then cannot fail, but does not fail
// falsely either). Once COMMAND is gone init goes on, and its end is reported as above.
//
// Where ptrace is refused (Yama's ptrace_scope 2 or 3, a seccomp policy) stall-init prints
// "stall-init: ptrace refused" and exits 77, so that a test can say it skipped.
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>

namespace {

constexpr int kPtraceRefused = 77;
pid_t g_command = -1;

void forward(int sig) {
  if (g_command > 0) ::kill(g_command, sig);
}

void killCommand(int) {
  if (g_command > 0) ::kill(g_command, SIGKILL);
}

// The held tool (STALL_INIT_TOOL), and whether SIGUSR1 asked for it to go on. The handler
// detaches it itself: a flag checked around waitpid could miss a signal between the two.
volatile sig_atomic_t g_tool = -1;
volatile sig_atomic_t g_releaseAsked = 0;
void letGo(pid_t tool) {
  if (::ptrace(PTRACE_DETACH, tool, 0, 0) == 0) {
    static const char said[] = "stall-init: the tool goes on\n";
    (void)!::write(STDERR_FILENO, said, sizeof said - 1);
  }
}
void release(int) {
  int saved = errno;  // the waitpid it interrupted checks for EINTR
  g_releaseAsked = 1;
  if (g_tool > 0) letGo(g_tool);
  errno = saved;
}
static_assert(sizeof(sig_atomic_t) >= sizeof(pid_t), "g_tool holds a pid");

pid_t parentOf(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("PPid:", 0) == 0) return static_cast<pid_t>(std::atol(line.c_str() + 5));
  return -1;
}

// Whether `pid` is pid 1 of a pid namespace below ours: its NSpid line has more than one
// number and the last is 1.
bool isSandboxInit(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    size_t fields = 0;
    std::string last;
    for (size_t i = 6; i < line.size();) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
      if (j > i) {
        ++fields;
        last = line.substr(i, j - i);
      }
      i = j;
    }
    return fields > 1 && last == "1";
  }
  return false;
}

bool atExecveEntry(pid_t pid) {
  struct __ptrace_syscall_info info = {};  // glibc's name for ptrace_syscall_info
  long n = ::ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info);
  return n > 0 && info.op == PTRACE_SYSCALL_INFO_ENTRY &&
         (info.entry.nr == SYS_execve || info.entry.nr == SYS_execveat);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: stall-init COMMAND [ARG...]\n");
    return 2;
  }
  int go[2];
  if (::pipe2(go, O_CLOEXEC) != 0) return 2;
  g_command = ::fork();
  if (g_command < 0) return 2;
  if (g_command == 0) {
    char byte;
    ::close(go[1]);
    if (::read(go[0], &byte, 1) != 1) _exit(2);  // attached
    ::execvp(argv[1], argv + 1);
    std::fprintf(stderr, "stall-init: exec %s: %s\n", argv[1], std::strerror(errno));
    _exit(127);
  }
  ::close(go[0]);
  long options = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACESYSGOOD |
                 PTRACE_O_EXITKILL;
  if (::ptrace(PTRACE_SEIZE, g_command, 0, options) != 0) {
    int err = errno;
    ::kill(g_command, SIGKILL);
    if (err == EPERM || err == EACCES || err == ENOSYS) {
      std::fprintf(stderr, "stall-init: ptrace refused: PTRACE_SEIZE: %s\n", std::strerror(err));
      return kPtraceRefused;
    }
    std::fprintf(stderr, "stall-init: PTRACE_SEIZE: %s\n", std::strerror(err));
    return 2;
  }
  const char* unkillable = std::getenv("STALL_INIT_UNKILLABLE");
  bool holdExit = unkillable && std::strcmp(unkillable, "1") == 0;
  struct sigaction sa = {};
  sa.sa_handler = forward;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  const char* toolMode = std::getenv("STALL_INIT_TOOL");
  bool holdTool = toolMode && std::strcmp(toolMode, "1") == 0;
  sa.sa_handler = release;
  ::sigaction(SIGUSR1, &sa, nullptr);
  const char* killMode = std::getenv("STALL_INIT_KILL_COMMAND");
  bool killCommandOnce = killMode && std::strcmp(killMode, "1") == 0;
  sa.sa_handler = killCommand;
  ::sigaction(SIGALRM, &sa, nullptr);
  if (::write(go[1], "g", 1) != 1) return 2;
  ::close(go[1]);

  pid_t init = -1;
  bool initAtExit = false;    // init is held at its exit (STALL_INIT_UNKILLABLE)
  int commandStatus = -1;     // COMMAND's exit status once it ended while init was still held
  std::set<pid_t> toExec;  // new processes traced to their first execve
  for (;;) {
    int ws;
    pid_t pid = ::waitpid(-1, &ws, __WALL);
    if (pid < 0) {
      if (errno == EINTR) continue;
      return 2;
    }
    if (WIFEXITED(ws) || WIFSIGNALED(ws)) {
      if (pid == init) {
        if (WIFSIGNALED(ws)) std::fprintf(stderr, "stall-init: init ended by signal %d\n", WTERMSIG(ws));
        else std::fprintf(stderr, "stall-init: init exited %d\n", WEXITSTATUS(ws));
      }
      if (pid == init && commandStatus >= 0) return commandStatus;
      if (pid == g_command) {
        int status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        if (killCommandOnce && init > 0 && !initAtExit) {
          // COMMAND died with init held before its first instruction: let init go on.
          commandStatus = status;
          ::ptrace(PTRACE_CONT, init, 0, 0);
          continue;
        }
        if (!initAtExit) return status;
        // COMMAND gave up on init: let it go, and report its end.
        commandStatus = status;
        ::ptrace(PTRACE_CONT, init, 0, 0);
        continue;
      }
      toExec.erase(pid);
      continue;
    }
    if (!WIFSTOPPED(ws)) continue;
    int sig = WSTOPSIG(ws);
    int event = ws >> 16;
    if (pid == init && event == PTRACE_EVENT_EXIT) {
      initAtExit = true;
      std::fprintf(stderr, "stall-init: holding init's exit\n");
      continue;
    }
    if (pid == init && holdTool) {
      // Runs on: events resume it, a signal is delivered.
      ::ptrace(PTRACE_CONT, pid, 0, event == 0 && sig != SIGTRAP ? sig : 0);
      continue;
    }
    if (pid == init && commandStatus >= 0) {
      // Let go once COMMAND is gone (STALL_INIT_KILL_COMMAND): runs on, a signal is delivered.
      ::ptrace(PTRACE_CONT, pid, 0, event == 0 && sig != SIGTRAP ? sig : 0);
      continue;
    }
    if (pid == init) continue;  // held
    if (event == PTRACE_EVENT_STOP && pid != g_command && !toExec.count(pid) && init < 0 && isSandboxInit(pid)) {
      init = pid;
      if (holdTool) {
        ::ptrace(PTRACE_CONT, pid, 0, 0);
        continue;
      }
      if (holdExit) ::ptrace(PTRACE_SETOPTIONS, pid, 0, options | PTRACE_O_TRACEEXIT);
      std::printf("stall-init: holding init %d\n", pid);
      std::fflush(stdout);
      if (killCommandOnce) ::alarm(1);
      continue;
    }
    if (pid == g_tool) continue;  // held until SIGUSR1
    if (event == PTRACE_EVENT_STOP && holdTool && init > 0 && g_tool < 0 && parentOf(pid) == init) {
      std::printf("stall-init: holding the tool %d\n", pid);
      std::fflush(stdout);
      g_tool = pid;
      if (g_releaseAsked) letGo(pid);  // asked before it was held (a second detach just fails)
      continue;
    }
    if (event == PTRACE_EVENT_STOP && pid != g_command && !toExec.count(pid)) {
      // A new process: traced up to its first execve.
      toExec.insert(pid);
      ::ptrace(PTRACE_SYSCALL, pid, 0, 0);
      continue;
    }
    if (toExec.count(pid)) {
      if (sig == (SIGTRAP | 0x80) && atExecveEntry(pid)) {
        toExec.erase(pid);
        ::ptrace(PTRACE_DETACH, pid, 0, 0);
        continue;
      }
      bool deliver = event == 0 && sig != (SIGTRAP | 0x80) && sig != SIGTRAP;
      ::ptrace(PTRACE_SYSCALL, pid, 0, deliver ? sig : 0);
      continue;
    }
    // COMMAND itself: fork/clone events and group stops resume; a signal is delivered.
    bool deliver = event == 0 && sig != SIGTRAP;
    ::ptrace(PTRACE_CONT, pid, 0, deliver ? sig : 0);
  }
}
