// Seccomp tests: the real default profile runs in a forked child and each denial is tried.
#include "engine/seccomp.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "coco_config.h"
#include "engine/seccomp_cache.hpp"
#include "engine/seccomp_eval.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

extern char** environ;

namespace coco::engine {
namespace {

using nlohmann::json;

const std::string kDefaultProfile = std::string(COCO_SOURCE_ROOT) + "/seccomp-profiles/default.json";

// An errno no kernel path returns, so a denial is known to come from the filter.
constexpr int kMarkErrno = 4000;

// A scratch directory with a helper to write files into it.
class TempDir : public coco::TempDir {
 public:
  TempDir() : coco::TempDir("coco-seccomp-test") {}
  std::string write(const std::string& name, const std::string& text) const {
    std::string file = sub(name);
    EXPECT_TRUE(fs::writeFileAtomic(file, text).ok());
    return file;
  }
};
struct ChildResult {
  int status = 0;
  std::string report;  // what the child wrote: empty when all went well
};

// Runs `body` in a child under `program`; the body returns "" or a description
// of what went wrong.
ChildResult runFiltered(const SeccompProgram& program, const std::function<std::string()>& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {-1, "pipe failed"};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    struct rlimit noCore {
      0, 0
    };
    ::setrlimit(RLIMIT_CORE, &noCore);  // a SIGSYS kill is expected in some tests
    std::string report;
    sock_fprog prog = program.fprog();
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      report = "PR_SET_NO_NEW_PRIVS failed";
    else if (int err = installProgramRaw(&prog); err != 0)
      report = std::string("install: ") + std::strerror(err);
    else
      report = body();
    (void)!::write(fds[1], report.data(), report.size());
    ::_exit(report.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  ChildResult result;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) result.report.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  ::waitpid(pid, &result.status, 0);
  return result;
}

SeccompProgram compileOrDie(const std::string& path) {
  auto program = compileProfile(path);
  EXPECT_TRUE(program.ok()) << (program.ok() ? "" : program.error().describe());
  return program.ok() ? std::move(program).value() : SeccompProgram{};
}

std::string compileError(const std::string& path) {
  auto program = compileProfile(path);
  EXPECT_FALSE(program.ok());
  return program.ok() ? "" : program.error().describe();
}

int devNull() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

// A syscall the default profile must refuse, and with which errno. `byDefault`:
// refused by the default action, whose errno the marked profile changes. The
// arguments are invalid where possible: the tests may run as root, and a
// broken filter must not mount or unmount anything on the host.
struct Denial {
  const char* name;
  long (*call)();
  int expected;
  bool byDefault;
};

const Denial kDenials[] = {
    {"ioctl TIOCSTI",
     [] {
       char c = 'x';
       return long{::ioctl(devNull(), TIOCSTI, &c)};
     },
     EPERM, false},
    {"ioctl TIOCSTI | 1<<32",
     [] {
       char c = 'x';
       return ::syscall(SYS_ioctl, devNull(), TIOCSTI | (1UL << 32), &c);
     },
     EPERM, false},
    {"ioctl TIOCLINUX",
     [] {
       char c = 0;
       return long{::ioctl(devNull(), TIOCLINUX, &c)};
     },
     EPERM, false},
    {"ioctl TIOCLINUX | 1<<32",
     [] {
       char c = 0;
       return ::syscall(SYS_ioctl, devNull(), TIOCLINUX | (1UL << 32), &c);
     },
     EPERM, false},
    {"unshare(CLONE_NEWUSER)", [] { return long{::unshare(CLONE_NEWUSER)}; }, EPERM, true},
    {"unshare(CLONE_NEWNS)", [] { return long{::unshare(CLONE_NEWNS)}; }, EPERM, true},
    {"clone(CLONE_NEWUSER)",
     [] {
       long r = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
       if (r == 0) ::_exit(0);  // the filter failed and we are the new child
       return r;
     },
     EPERM, true},
    {"clone3", [] { return ::syscall(SYS_clone3, nullptr, 0); }, ENOSYS, false},
    // fs.aio-max-nr is one count for the whole machine.
    {"io_setup",
     [] {
       unsigned long ctx = 0;
       return ::syscall(SYS_io_setup, 1, &ctx);
     },
     ENOSYS, false},
    {"setns", [] { return ::syscall(SYS_setns, -1, 0); }, EPERM, true},
    {"io_uring_setup", [] { return ::syscall(SYS_io_uring_setup, 1, nullptr); }, EPERM, true},
    {"io_uring_enter", [] { return ::syscall(SYS_io_uring_enter, -1, 0, 0, 0, nullptr, 0); }, EPERM, true},
    {"io_uring_register", [] { return ::syscall(SYS_io_uring_register, -1, 0, nullptr, 0); }, EPERM, true},
    {"keyctl", [] { return ::syscall(SYS_keyctl, 0 /*KEYCTL_GET_KEYRING_ID*/, -3, 0); }, EPERM, true},
    {"add_key", [] { return ::syscall(SYS_add_key, "user", "coco", "x", 1, 0); }, EPERM, true},
    {"request_key", [] { return ::syscall(SYS_request_key, "user", "coco", nullptr, 0); }, EPERM, true},
    {"bpf", [] { return ::syscall(SYS_bpf, 0, nullptr, 0); }, EPERM, true},
    {"userfaultfd", [] { return ::syscall(SYS_userfaultfd, 0); }, EPERM, true},
    {"perf_event_open", [] { return ::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0); }, EPERM, true},
    {"mount", [] { return ::syscall(SYS_mount, nullptr, nullptr, nullptr, 0, nullptr); }, EPERM, true},
    {"umount2", [] { return ::syscall(SYS_umount2, "/nonexistent/coco", 0); }, EPERM, true},
    {"pivot_root", [] { return ::syscall(SYS_pivot_root, "/", "/"); }, EPERM, true},
    {"fsopen", [] { return ::syscall(SYS_fsopen, "tmpfs", 0); }, EPERM, true},
    {"fsconfig", [] { return ::syscall(SYS_fsconfig, -1, 0, nullptr, nullptr, 0); }, EPERM, true},
    {"fsmount", [] { return ::syscall(SYS_fsmount, -1, 0, 0); }, EPERM, true},
    {"fspick", [] { return ::syscall(SYS_fspick, AT_FDCWD, "/", 0); }, EPERM, true},
    {"open_tree", [] { return ::syscall(SYS_open_tree, AT_FDCWD, "/", 0); }, EPERM, true},
    {"move_mount", [] { return ::syscall(SYS_move_mount, -1, "", -1, "", 0); }, EPERM, true},
    {"mount_setattr", [] { return ::syscall(SYS_mount_setattr, -1, "", 0, nullptr, 0); }, EPERM, true},
    {"kexec_load", [] { return ::syscall(SYS_kexec_load, 0, 0, nullptr, 0); }, EPERM, true},
    {"kexec_file_load", [] { return ::syscall(SYS_kexec_file_load, -1, -1, 0, "", 0); }, EPERM, true},
    {"init_module", [] { return ::syscall(SYS_init_module, nullptr, 0, ""); }, EPERM, true},
    {"finit_module", [] { return ::syscall(SYS_finit_module, -1, "", 0); }, EPERM, true},
    {"delete_module", [] { return ::syscall(SYS_delete_module, "coco_none", 0); }, EPERM, true},
    {"acct", [] { return ::syscall(SYS_acct, nullptr); }, EPERM, true},
    {"swapon", [] { return ::syscall(SYS_swapon, "/nonexistent", 0); }, EPERM, true},
    {"swapoff", [] { return ::syscall(SYS_swapoff, "/nonexistent"); }, EPERM, true},
    {"reboot", [] { return ::syscall(SYS_reboot, 0, 0, 0, nullptr); }, EPERM, true},
    {"settimeofday", [] { return ::syscall(SYS_settimeofday, nullptr, nullptr); }, EPERM, true},
    {"clock_settime", [] { return ::syscall(SYS_clock_settime, CLOCK_REALTIME, nullptr); }, EPERM, true},
    {"clock_adjtime", [] { return ::syscall(SYS_clock_adjtime, CLOCK_REALTIME, nullptr); }, EPERM, true},
    {"adjtimex", [] { return ::syscall(SYS_adjtimex, nullptr); }, EPERM, true},
    {"personality(READ_IMPLIES_EXEC)", [] { return ::syscall(SYS_personality, READ_IMPLIES_EXEC); }, EPERM,
     true},
    // setarch -R: turns address space randomisation off (Docker refuses it too).
    {"personality(ADDR_NO_RANDOMIZE)", [] { return ::syscall(SYS_personality, ADDR_NO_RANDOMIZE); }, EPERM,
     true},
    {"personality(ADDR_NO_RANDOMIZE | PER_LINUX32)",  // 0x40000 | 0x8
     [] { return ::syscall(SYS_personality, 0x40000UL | 0x8UL); }, EPERM, true},
    {"open_by_handle_at", [] { return ::syscall(SYS_open_by_handle_at, -1, nullptr, 0); }, EPERM, true},
    {"socket(AF_VSOCK)", [] { return ::syscall(SYS_socket, 40, SOCK_STREAM, 0); }, EPERM, true},
    {"socket(AF_VSOCK | 1<<32)", [] { return ::syscall(SYS_socket, 40 | (1UL << 32), SOCK_STREAM, 0); },
     EPERM, true},
    // Newer than anything the profile names: ENOSYS, so libc falls back.
    {"syscall 1000", [] { return ::syscall(1000); }, ENOSYS, false},
};

std::string checkDenials(bool marked) {
  std::string report;
  for (const auto& d : kDenials) {
    int expected = marked && d.byDefault ? kMarkErrno : d.expected;
    errno = 0;
    long r = d.call();
    int err = errno;
    if (r != -1 || err != expected) {
      report += std::string(d.name) + ": got " + std::to_string(r) + " errno " + std::to_string(err) +
                ", expected " + std::to_string(expected) + "\n";
    }
  }
  return report;
}

TEST(SeccompDefault, DeniesWhatItPromises) {
  auto program = compileOrDie(kDefaultProfile);
  ASSERT_FALSE(program.filter.empty());
  auto result = runFiltered(program, [] { return checkDenials(false); });
  EXPECT_EQ(result.report, "");
  EXPECT_TRUE(WIFEXITED(result.status) && WEXITSTATUS(result.status) == 0) << result.status;
}

// Denials with an unusual default errno: the filter refused, not the kernel.
TEST(SeccompDefault, DenialsComeFromTheFilter) {
  auto text = fs::readFile(kDefaultProfile);
  ASSERT_TRUE(text.ok());
  json profile = json::parse(*text);
  profile["defaultErrnoRet"] = kMarkErrno;
  TempDir dir;
  auto program = compileOrDie(dir.write("marked.json", profile.dump()));
  auto result = runFiltered(program, [] { return checkDenials(true); });
  EXPECT_EQ(result.report, "");
}

std::string expectOk(const char* what, long r) {
  if (r >= 0) return "";
  return std::string(what) + ": " + std::strerror(errno) + "\n";
}

std::string runChild(const char* path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(path, path, static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid)
    return "fork: " + std::string(std::strerror(errno)) + "\n";
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "" : "fork+exec /bin/true failed\n";
}

std::string spawnChild(const char* path) {
  pid_t pid = 0;
  char* argv[] = {const_cast<char*>(path), nullptr};
  int err = ::posix_spawn(&pid, path, nullptr, nullptr, argv, environ);
  if (err != 0) return "posix_spawn: " + std::string(std::strerror(err)) + "\n";
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "" : "posix_spawn /bin/true failed\n";
}

std::string startThread() {
  try {
    int value = 0;
    std::thread t([&] { value = 42; });
    t.join();
    return value == 42 ? "" : "thread did not run\n";
  } catch (const std::exception& e) {
    return std::string("std::thread: ") + e.what() + "\n";
  }
}

std::string checkFiles(const std::string& dir) {
  std::string report;
  auto status = fs::readFile("/proc/self/status");
  if (!status.ok() || status->find("Seccomp:\t2") == std::string::npos)
    report += "not in seccomp filter mode\n";
  std::string file = dir + "/f";
  int fd = ::open(file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  report += expectOk("open", fd);
  report += expectOk("write", ::write(fd, "abc", 3));
  char buf[3];
  report += expectOk("pread", ::pread(fd, buf, 3, 0));
  struct statx stx {};
  report += expectOk("statx", ::statx(AT_FDCWD, file.c_str(), 0, STATX_BASIC_STATS, &stx));
  long r = ::syscall(452 /*fchmodat2*/, AT_FDCWD, file.c_str(), 0600, 0);
  if (r != 0 && errno != ENOSYS) report += std::string("fchmodat2: ") + std::strerror(errno) + "\n";
  report += expectOk("faccessat2", ::syscall(SYS_faccessat2, AT_FDCWD, file.c_str(), R_OK, AT_EACCESS));
  report += expectOk("close_range", ::syscall(SYS_close_range, 1000, 2000, 0));
  return report;
}

std::string checkMisc() {
  std::string report;
  char rnd[16];
  report += expectOk("getrandom", ::getrandom(rnd, sizeof rnd, 0));
  report += expectOk("memfd_create", ::syscall(SYS_memfd_create, "x", 0));
  report += expectOk("pidfd_open", ::syscall(SYS_pidfd_open, ::getpid(), 0));
  int p[2];
  report += expectOk("pipe2", ::pipe2(p, O_CLOEXEC));
  int avail = 0;
  report += expectOk("ioctl FIONREAD", ::ioctl(p[0], FIONREAD, &avail));
  report += expectOk("socket(AF_UNIX)", ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  report += expectOk("socket(AF_INET)", ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  report += expectOk("personality query", ::syscall(SYS_personality, 0xffffffffUL));
  report += expectOk("unshare(CLONE_FILES)", ::unshare(CLONE_FILES));
  return report;
}

// The personas the profile's comment names (Docker's set), each set and read back.
std::string checkPersonas() {
  std::string report;
  for (unsigned long persona : {0x0UL, 0x8UL, 0x20000UL, 0x20008UL}) {
    long set = ::syscall(SYS_personality, persona);
    long now = ::syscall(SYS_personality, 0xffffffffUL);
    if (set < 0 || static_cast<unsigned long>(now) != persona)
      report += "personality(" + std::to_string(persona) + "): " + std::strerror(errno) + "\n";
    ::syscall(SYS_personality, PER_LINUX);
  }
  return report;
}

TEST(SeccompDefault, AllowsTheDocumentedPersonasOnly) {
  auto program = compileOrDie(kDefaultProfile);
  auto result = runFiltered(program, [] { return checkPersonas(); });
  EXPECT_EQ(result.report, "");
  // And not ADDR_NO_RANDOMIZE, which the comment once claimed was allowed.
  result = runFiltered(program, [] {
    errno = 0;
    long r = ::syscall(SYS_personality, ADDR_NO_RANDOMIZE);
    return r == -1 && errno == EPERM ? std::string() : "ADDR_NO_RANDOMIZE was allowed\n";
  });
  EXPECT_EQ(result.report, "");
}

// The personality rule's comment names what it allows, then (after "Not" or
// "no") what it does not; every persona it names as allowed must be a value
// the rules list, and every listed value must be named (0xffffffff: the query).
TEST(SeccompDefault, PersonalityCommentMatchesItsValues) {
  const std::pair<const char*, uint64_t> kPersonas[] = {
      {"PER_LINUX32", 0x8},          {"PER_LINUX", 0x0},      {"UNAME26", 0x20000},
      {"ADDR_NO_RANDOMIZE", 0x40000}, {"READ_IMPLIES_EXEC", 0x400000}, {"0xffffffff", 0xffffffff}};
  auto text = fs::readFile(kDefaultProfile);
  ASSERT_TRUE(text.ok());
  json profile = json::parse(*text);
  std::string comment;
  std::set<uint64_t> listed;
  for (const auto& rule : profile["syscalls"]) {
    if (rule["names"] != json::array({"personality"})) continue;
    if (rule.contains("comment")) comment = rule["comment"];
    for (const auto& arg : rule["args"]) listed.insert(arg.value("valueTwo", uint64_t{0}));
  }
  ASSERT_FALSE(comment.empty());
  size_t deny = std::min(comment.find("Not "), comment.find(" no "));
  std::string allowed = comment.substr(0, deny);
  std::set<uint64_t> named;
  for (const auto& [name, value] : kPersonas) {
    size_t at = allowed.find(name);
    // PER_LINUX is a prefix of PER_LINUX32: a name must end there.
    while (at != std::string::npos && (std::isalnum(static_cast<unsigned char>(allowed[at + strlen(name)])) ||
                                       allowed[at + strlen(name)] == '_'))
      at = allowed.find(name, at + 1);
    if (at == std::string::npos) continue;
    named.insert(value);
    EXPECT_TRUE(listed.count(value)) << name << " is named as allowed but its value is not listed: " << comment;
  }
  for (uint64_t value : listed) {
    if (value == 0x20008) continue;  // UNAME26|PER_LINUX32: both named
    EXPECT_TRUE(named.count(value)) << "value " << value << " is listed but not named: " << comment;
  }
}

TEST(SeccompDefault, EverydayProgramsStillWork) {
  auto program = compileOrDie(kDefaultProfile);
  TempDir dir;
  auto result = runFiltered(program, [&] {
    return checkFiles(dir.path()) + checkMisc() + startThread() + runChild("/bin/true") +
           spawnChild("/bin/true");
  });
  EXPECT_EQ(result.report, "");
}

// The kernel runs the filter for every syscall number when it is installed
// (to fill its action cache), and for every call the cache does not cover: a
// chain of one comparison per syscall made that ~370 instructions for the
// last one and ~0.3 ms of every start. A binary tree over the numbers keeps
// each path to a few dozen. (Most of the profile's allowed syscalls are now
// decided by a search over runs of numbers before libseccomp's tree: 144
// instructions in all, see SeccompAllowRuns.)
TEST(SeccompDefault, ProgramIsATreeNotAChain) {
  auto program = compileOrDie(kDefaultProfile);
  ASSERT_GT(program.filter.size(), 100U);
  EXPECT_LT(longestPath(program.filter), 100U) << program.filter.size() << " instructions";
}

TEST(SeccompLongestPath, CountsTheLongestBranchToAReturn) {
  std::vector<sock_filter> chain = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 2, 0),  // taken: straight to the last return
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  EXPECT_EQ(longestPath(chain), 4U);
  std::vector<sock_filter> jump = {
      BPF_JUMP(BPF_JMP | BPF_JA, 2, 0, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  EXPECT_EQ(longestPath(jump), 2U);
  EXPECT_EQ(longestPath({}), 0U);
}

bool killedBySigsys(const ChildResult& r) { return WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSYS; }

TEST(SeccompDefault, X32SyscallsKill) {
  auto program = compileOrDie(kDefaultProfile);
  auto result = runFiltered(program, [] {
    ::syscall(0x40000000 | SYS_getpid);
    return std::string("x32 getpid returned");
  });
  EXPECT_TRUE(killedBySigsys(result)) << result.status << " " << result.report;
}

#if defined(__x86_64__)
long i386Getpid() {
  long ret = 20;  // getpid in the i386 table
  asm volatile("int $0x80" : "+a"(ret) : : "memory");
  return ret;
}

// A kernel built or booted without i386 emulation (ia32_emulation=0) answers
// int 0x80 with SIGSEGV before any filter runs: that ABI is then unreachable.
bool kernelRunsI386Syscalls() {
  pid_t pid = ::fork();
  if (pid == 0) {
    struct rlimit noCore {
      0, 0
    };
    ::setrlimit(RLIMIT_CORE, &noCore);
    ::_exit(i386Getpid() == ::getpid() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(SeccompDefault, I386SyscallsKill) {
  if (!kernelRunsI386Syscalls()) GTEST_SKIP() << "this kernel has no i386 emulation: int 0x80 faults without a filter";
  auto program = compileOrDie(kDefaultProfile);
  auto result = runFiltered(program, [] {
    i386Getpid();
    return std::string("int 0x80 returned");
  });
  EXPECT_TRUE(killedBySigsys(result)) << result.status << " " << result.report;
}
#endif

// --- Profile semantics, with getpid/getppid (they ignore their arguments). ---

std::string errnoOf(long r) { return r == -1 ? std::to_string(errno) : "ok"; }

std::string profileWith(const json& syscalls, const char* defaultAction = "SCMP_ACT_ALLOW") {
  return json{{"defaultAction", defaultAction}, {"syscalls", syscalls}}.dump();
}

TEST(SeccompSemantics, ArgumentRulesOverrideAnUnconditionalRule) {
  TempDir dir;
  json rules = json::array({
      {{"names", {"getppid"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 77}},
      {{"names", {"getppid"}},
       {"action", "SCMP_ACT_ALLOW"},
       {"args", {{{"index", 0}, {"value", 5}, {"op", "SCMP_CMP_EQ"}}}}},
      {{"names", {"getpid"}}, {"action", "SCMP_ACT_ALLOW"}},
      {{"names", {"getpid"}},
       {"action", "SCMP_ACT_ERRNO"},
       {"errnoRet", 78},
       {"args", {{{"index", 0}, {"value", 0xffffffff}, {"valueTwo", 7}, {"op", "SCMP_CMP_MASKED_EQ"}}}}},
      // What the child needs to report and exit.
      {{"names", {"write", "exit", "exit_group", "brk", "mmap", "munmap", "mremap"}},
       {"action", "SCMP_ACT_ALLOW"}},
  });
  auto program = compileOrDie(dir.write("p.json", profileWith(rules, "SCMP_ACT_ERRNO")));
  auto result = runFiltered(program, [] {
    std::string out = errnoOf(::syscall(SYS_getppid, 5)) + " " + errnoOf(::syscall(SYS_getppid, 6)) + " " +
                      errnoOf(::syscall(SYS_getpid, 7)) + " " +
                      errnoOf(::syscall(SYS_getpid, 7 | (1UL << 40))) + " " +
                      errnoOf(::syscall(SYS_getpid, 8));
    return out == "ok 77 78 78 ok" ? "" : out;
  });
  EXPECT_EQ(result.report, "");
}

TEST(SeccompSemantics, RepeatedArgumentIndexMeansOr) {
  TempDir dir;
  json rules = json::array({{{"names", {"getpid"}},
                             {"action", "SCMP_ACT_ERRNO"},
                             {"errnoRet", 77},
                             {"args",
                              {{{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_EQ"}},
                               {{"index", 0}, {"value", 2}, {"op", "SCMP_CMP_EQ"}}}}}});
  auto program = compileOrDie(dir.write("p.json", profileWith(rules)));
  auto result = runFiltered(program, [] {
    std::string out = errnoOf(::syscall(SYS_getpid, 1)) + " " + errnoOf(::syscall(SYS_getpid, 2)) + " " +
                      errnoOf(::syscall(SYS_getpid, 3));
    return out == "77 77 ok" ? "" : out;
  });
  EXPECT_EQ(result.report, "");
}

json deniedIf(const char* syscall, int err, json condition, const char* kind = "includes") {
  return {
      {"names", {syscall}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", err}, {kind, std::move(condition)}};
}

TEST(SeccompSemantics, IncludesAndExcludes) {
  TempDir dir;
  json rules = json::array({
      deniedIf("getpid", 71, {{"caps", {"CAP_SYS_ADMIN"}}}),
      deniedIf("getppid", 72, {{"minKernel", "99.0"}}),
      deniedIf("gettid", 73, {{"arches", {"s390x"}}}),
      deniedIf("getuid", 74, {{"minKernel", "3.0"}}, "excludes"),
      deniedIf("getgid", 75, {{"arches", {"amd64", "arm64"}}}),
  });
  std::string path = dir.write("p.json", profileWith(rules));
  auto probe = [] {
    return errnoOf(::syscall(SYS_getpid)) + " " + errnoOf(::syscall(SYS_getppid)) + " " +
           errnoOf(::syscall(SYS_gettid)) + " " + errnoOf(::syscall(SYS_getuid)) + " " +
           errnoOf(::syscall(SYS_getgid));
  };
  auto noCaps = runFiltered(compileOrDie(path), probe);
  // A process holding CAP_SYS_ADMIN (coco's own tools hold none) gets the caps rule.
  auto parsed = parseProfile(profileWith(rules), path);
  ASSERT_TRUE(parsed.ok()) << parsed.error().describe();
  auto withAdmin = compileProfile(*parsed, currentHost({"CAP_SYS_ADMIN"}));
  ASSERT_TRUE(withAdmin.ok()) << withAdmin.error().describe();
  auto admin = runFiltered(std::move(withAdmin).value(), probe);
#if defined(__x86_64__) || defined(__aarch64__)
  EXPECT_EQ(noCaps.report, "ok ok ok ok 75");
  EXPECT_EQ(admin.report, "71 ok ok ok 75");
#endif
}

// mseal (462) is newer than libseccomp 2.5; the numbers of such calls are the
// same on every arch coco builds for, so a profile can still allow them.
TEST(SeccompSemantics, NewSyscallsAndTheEnosysBound) {
  TempDir dir;
  json rules = json::array({
      {{"names", {"mseal", "write", "exit", "exit_group", "brk", "mmap", "munmap"}},
       {"action", "SCMP_ACT_ALLOW"}},
  });
  json profile = {{"defaultAction", "SCMP_ACT_ERRNO"}, {"defaultErrnoRet", 77}, {"syscalls", rules}};
  auto program = compileOrDie(dir.write("p.json", profile.dump()));
  auto result = runFiltered(program, [] {
    long sealed = ::syscall(462, 0, 0, 0);
    std::string out = (sealed == -1 && errno == 77 ? "denied" : "allowed") + std::string(" ") +
                      errnoOf(::syscall(SYS_getpid)) + " " + errnoOf(::syscall(461)) + " " +
                      errnoOf(::syscall(500));
    return out == "allowed 77 77 38" ? "" : out;
  });
  EXPECT_EQ(result.report, "");
}

TEST(SeccompSemantics, UnknownSyscallNamesAreSkipped) {
  TempDir dir;
  json rules =
      json::array({{{"names", {"getpid", "no_such_syscall", "socketcall"}}, {"action", "SCMP_ACT_ERRNO"}}});
  auto program = compileOrDie(dir.write("p.json", profileWith(rules)));
  auto result =
      runFiltered(program, [] { return errnoOf(::syscall(SYS_getpid)) == "1" ? "" : "getpid allowed"; });
  EXPECT_EQ(result.report, "");
}

TEST(SeccompSemantics, AllowAllProfileCompiles) {
  TempDir dir;
  auto program = compileOrDie(dir.write("p.json", R"({"defaultAction": "SCMP_ACT_ALLOW"})"));
  EXPECT_FALSE(program.filter.empty());
  auto result = runFiltered(program, [] { return startThread() + runChild("/bin/true"); });
  EXPECT_EQ(result.report, "");
}

// --- The search over runs of plainly allowed syscalls decides nothing differently. ---

// Every decision of `fast` (with the search) against `reference` (libseccomp's
// code alone), through engine/seccomp_eval.hpp's interpreter.
void expectSameDecisions(const SeccompProfile& profile, const SeccompProgram& fast,
                         const SeccompProgram& reference) {
  size_t compared = 0;
  EXPECT_EQ(bpf::firstDifference(profile, fast.filter, reference.filter, 1024, true, &compared), "");
  EXPECT_GT(compared, 6000U);
}

SeccompProfile parsedOrDie(const std::string& text) {
  auto profile = parseProfile(text, "test.json");
  EXPECT_TRUE(profile.ok()) << profile.error().describe();
  return profile.ok() ? *profile : SeccompProfile{};
}

TEST(SeccompAllowRuns, TheDefaultProfileDecidesAsLibseccompAlone) {
  auto text = fs::readFile(kDefaultProfile);
  ASSERT_TRUE(text.ok());
  SeccompProfile profile = parsedOrDie(*text);
  SeccompHost host = currentHost({});
  auto fast = compileProfile(profile, host);
  auto reference = compileProfile(profile, host, false);
  ASSERT_TRUE(fast.ok() && reference.ok());
  EXPECT_LT(fast->filter.size() * 3, reference->filter.size() * 2)
      << fast->filter.size() << " against " << reference->filter.size() << " instructions";
  EXPECT_LT(longestPath(fast->filter), 100U);
  expectSameDecisions(profile, *fast, *reference);
}

// Every other syscall the arch names allowed, one with an argument rule, one
// denied outright and one allowed twice: hundreds of runs, so that the search
// is longer than a jump reaches and needs its JA trampolines.
TEST(SeccompAllowRuns, ManyRunsConditionsAndDenialsDecideAsLibseccompAlone) {
  std::vector<std::string> allowed;
  for (int nr = 0; nr < 500; nr += 2)
    if (char* name = seccomp_syscall_resolve_num_arch(seccomp_arch_native(), nr)) {
      allowed.emplace_back(name);
      std::free(name);
    }
  ASSERT_GT(allowed.size(), 150U);
  json rules = json::array({
      {{"names", allowed}, {"action", "SCMP_ACT_ALLOW"}},
      {{"names", {"getpid"}}, {"action", "SCMP_ACT_ALLOW"}},
      {{"names", {"getpid", "write"}}, {"action", "SCMP_ACT_ALLOW"}},
      {{"names", {"ioctl"}},
       {"action", "SCMP_ACT_ERRNO"},
       {"errnoRet", 1},
       {"args", {{{"index", 1}, {"value", 0x5412}, {"op", "SCMP_CMP_EQ"}}}}},
      {{"names", {"personality"}},
       {"action", "SCMP_ACT_ALLOW"},
       {"args", {{{"index", 0}, {"value", 8}, {"op", "SCMP_CMP_EQ"}}}}},
      {{"names", {"mount", "pivot_root"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 13}},
  });
  SeccompProfile profile = parsedOrDie(profileWith(rules, "SCMP_ACT_ERRNO"));
  SeccompHost host = currentHost({});
  auto fast = compileProfile(profile, host);
  auto reference = compileProfile(profile, host, false);
  ASSERT_TRUE(fast.ok()) << fast.error().describe();
  ASSERT_TRUE(reference.ok()) << reference.error().describe();
  auto jumps = [](const SeccompProgram& p) {
    return std::count_if(p.filter.begin(), p.filter.end(),
                         [](const sock_filter& i) { return i.code == (BPF_JMP | BPF_JA); });
  };
  EXPECT_GT(jumps(*fast), jumps(*reference));
  expectSameDecisions(profile, *fast, *reference);
}

// --- Bad input: each error names the file and the offending entry. ---

TEST(SeccompErrors, MissingFile) {
  auto program = compileProfile("/nonexistent/profile.json");
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().code(), ENOENT);
  EXPECT_NE(program.error().message().find("/nonexistent/profile.json"), std::string::npos);
}

// A planted symlink to /dev/zero or a huge file: refused, never read without end.
TEST(SeccompErrors, EndlessOrHugeFilesAreRefused) {
  TempDir dir;
  std::string zero = dir.path() + "/zero.json";
  ASSERT_EQ(::symlink("/dev/zero", zero.c_str()), 0);
  std::string huge = dir.write("huge.json", std::string(kMaxProfileBytes + 1, ' '));
  for (const std::string& path : {zero, huge}) {
    auto program = compileProfile(path);
    ASSERT_FALSE(program.ok()) << path;
    EXPECT_NE(program.error().message().find(path), std::string::npos) << program.error().message();
    auto cached = compileProfileCached(path, dir.path() + "/cache");
    ASSERT_FALSE(cached.ok()) << path;
  }
}

struct BadProfile {
  const char* text;
  const char* message;  // expected after "seccomp profile PATH: "
};

const BadProfile kBadProfiles[] = {
    {"{\n  \"defaultAction\": \n}", "invalid JSON at line 3"},
    {"[]", "the top level must be an object"},
    {"{}", "\"defaultAction\" is required"},
    {R"({"defaultAction": "SCMP_ACT_FOO"})", "unknown action \"SCMP_ACT_FOO\""},
    {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}})", "\"syscalls\" must be an array"},
    {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_FOO"}]})",
     "syscalls[0] (read): unknown action \"SCMP_ACT_FOO\""},
    {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
       "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_FOO"}]}]})",
     "syscalls[0] (read) args[0]: unknown op \"SCMP_CMP_FOO\""},
    {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
       "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]})",
     "syscalls[0] (read) args[0]: \"index\" must be an integer from 0 to 5"},
    {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
       "arg": []}]})",
     "syscalls[0]: unknown key \"arg\""},
    {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
       "includes": {"arches": ["vax"]}}]})",
     "syscalls[0] (read) includes: unknown architecture \"vax\""},
    {R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]})",
     "architectures: unknown architecture \"SCMP_ARCH_VAX\""},
    {R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 5000})",
     "\"defaultErrnoRet\" must be an integer from 0 to 4095"},
    {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]})",
     "syscalls[0]: \"names\" must list at least one syscall"},
    {R"({"defaultAction": "SCMP_ACT_NOTIFY"})", "SCMP_ACT_NOTIFY is not supported"},
    {R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
       "includes": {"minKernel": "new"}}]})",
     "syscalls[0] (read) includes: \"minKernel\" must be a string like \"4.8\""},
};

TEST(SeccompErrors, BadProfilesAreRefusedWithAClearMessage) {
  TempDir dir;
  for (const auto& bad : kBadProfiles) {
    std::string path = dir.write("bad.json", bad.text);
    std::string message = compileError(path);
    std::string expected = "seccomp profile " + path + ": " + bad.message;
    EXPECT_EQ(message.substr(0, expected.size()), expected) << bad.text;
  }
}

}  // namespace
}  // namespace coco::engine
