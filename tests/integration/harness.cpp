// Process, pty and temp-dir plumbing behind the integration tests' harness.hpp.
#include "harness.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace cocotest {
namespace {

std::string readSmallFile(const char* path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

// Tries what coco must do first, in a throwaway child: a new user namespace
// with a single-uid map. Returns "" when it works.
std::string probeUserNamespace() {
  uid_t uid = getuid();
  return inChild([uid]() -> std::string {
    if (unshare(CLONE_NEWUSER) != 0) return std::string("unshare(CLONE_NEWUSER): ") + strerror(errno);
    int fd = open("/proc/self/setgroups", O_WRONLY);
    if (fd >= 0) {
      (void)!write(fd, "deny", 4);
      close(fd);
    }
    std::string map = "0 " + std::to_string(uid) + " 1";
    fd = open("/proc/self/uid_map", O_WRONLY);
    if (fd < 0 || write(fd, map.data(), map.size()) < 0)
      return std::string("writing uid_map: ") + strerror(errno) +
             " (AppArmor's kernel.apparmor_restrict_unprivileged_userns?)";
    return "";
  });
}

int shellStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::vector<std::string> envStrings(const EnvList& env) {
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

EnvList merged(EnvList base, const EnvList& extra) {
  for (const auto& [k, v] : extra) {
    bool replaced = false;
    for (auto& [bk, bv] : base) {
      if (bk == k) {
        bv = v;
        replaced = true;
      }
    }
    if (!replaced) base.emplace_back(k, v);
  }
  return base;
}

// Execs argv with exactly env; only called in a forked child.
// coco starts with every signal at its default and none blocked, whatever the test runner was
// started with (`nohup tests/run-all` ignores SIGHUP, which coco passes on to the tool ignored):
// a test that wants one ignored says so (a wrapper's `trap ''`).
[[noreturn]] void execWith(const std::vector<std::string>& argv, const EnvList& env) {
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<std::string> envs = envStrings(env);
  std::vector<char*> a, e;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  for (auto& s : envs) e.push_back(s.data());
  e.push_back(nullptr);
  execve(a[0], a.data(), e.data());
  dprintf(2, "harness: execve %s: %s\n", a[0], strerror(errno));
  _exit(127);
}

std::string homeDir() {
  if (struct passwd* pw = getpwuid(getuid())) return pw->pw_dir;
  const char* h = getenv("HOME");
  return h ? h : "/";
}

std::string userName() {
  if (struct passwd* pw = getpwuid(getuid())) return pw->pw_name;
  return std::to_string(getuid());
}

// The rootfs must belong to the invoking user, as an image unpacked by coco
// would (root-owned lower files cannot be copied up from inside the user
// namespace); a runner's shared copy is therefore copied once per process.
std::string ownRootfs() {
  static std::unique_ptr<TempDir> copy;
  static std::string path;
  if (!path.empty()) return path;
  const char* given = getenv("COCO_TEST_ROOTFS");
  if (!given || !*given) {
    ADD_FAILURE() << "COCO_TEST_ROOTFS is not set (the test rootfs needs busybox-static)";
    return path = "/nonexistent-coco-test-rootfs";
  }
  struct stat st {};
  if (stat(given, &st) != 0) {
    ADD_FAILURE() << "COCO_TEST_ROOTFS " << given << ": " << strerror(errno);
    return path = given;
  }
  if (st.st_uid == getuid()) return path = given;
  copy = std::make_unique<TempDir>("coco-rootfs");
  std::string dst = copy->path() + "/rootfs";
  std::string cmd = "cp -R -P --preserve=mode,timestamps,links '" + std::string(given) + "' '" +
                    dst + "' && chmod 700 '" + dst + "/root'";
  if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "copying the rootfs failed: " << cmd;
  return path = dst;
}

}  // namespace

bool inCi() {
  const char* ci = getenv("CI");
  return ci && (std::string(ci) == "true" || std::string(ci) == "1");
}

std::string inChild(const std::function<std::string()>& body) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return "pipe failed";
  pid_t child = fork();
  if (child == 0) {
    close(p[0]);
    std::string said = body();
    (void)!write(p[1], said.data(), said.size());
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  waitpid(child, nullptr, 0);
  return out;
}

std::string sandboxUnavailableReason() {
  static const std::string reason = [] {
    if (readSmallFile("/proc/sys/user/max_user_namespaces") == "0")
      return std::string("sysctl user.max_user_namespaces is 0");
    if (readSmallFile("/proc/sys/kernel/unprivileged_userns_clone") == "0")
      return std::string("sysctl kernel.unprivileged_userns_clone is 0");
    return probeUserNamespace();
  }();
  return reason;
}

TempDir::TempDir(const std::string& prefix, const std::string& parent) {
  const char* tmp = getenv("TMPDIR");
  std::string base = !parent.empty() ? parent : tmp && *tmp ? tmp : "/tmp";
  std::string tmpl = base + "/" + prefix + ".XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) {
    ADD_FAILURE() << "mkdtemp " << tmpl << ": " << strerror(errno);
    path_ = "/nonexistent";
    return;
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (path_ == "/nonexistent") return;
  // Make read-only test trees removable first.
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec))
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  }
  fs::remove_all(path_, ec);
}

Env::Env() : root_("coco-env"), work_("coco-work") {
  const char* bin = getenv("COCO_BIN");
  if (!bin || !*bin || access(bin, X_OK) != 0) {
    ADD_FAILURE() << "COCO_BIN must name the coco binary (got '" << (bin ? bin : "") << "')";
  }
  coco_ = bin ? bin : "";
  rootfs_ = ownRootfs();
  dataHome_ = root_.path() + "/data";
  fs::create_directories(dataHome_ + "/coco/tools");
  fs::create_directories(root_.path() + "/config");
  fs::create_directories(root_.path() + "/cache");
}

Env::~Env() {
  if (!coco_.empty()) run({"system", "stop"});
}

void Env::writeTool(const std::string& name, const std::string& json) const {
  writeFile(dataHome_ + "/coco/tools/" + name + ".json", json);
}

EnvList Env::baseEnv() const {
  EnvList env = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
      {"HOME", homeDir()},
      {"USER", userName()},
      {"LOGNAME", userName()},
      {"TERM", "xterm"},
      {"XDG_DATA_HOME", dataHome_},
      {"XDG_CONFIG_HOME", root_.path() + "/config"},
      {"XDG_CACHE_HOME", root_.path() + "/cache"},
      {"COCO_IMAGE", "rootfs:" + rootfs_},
      {kSecretName, kSecretValue},
  };
  for (const char* pass : {"COCO_DEBUG", "XDG_RUNTIME_DIR", "TMPDIR"}) {
    if (const char* v = getenv(pass)) env.emplace_back(pass, v);
  }
  return env;
}

Child Env::spawn(const std::vector<std::string>& args, const RunOptions& opts) const {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    ADD_FAILURE() << "pipe: " << strerror(errno);
    return {};
  }
  std::vector<std::string> argv = opts.wrapper;
  argv.push_back(coco_);
  argv.insert(argv.end(), args.begin(), args.end());
  EnvList env = merged(baseEnv(), opts.env);
  std::string cwd = opts.cwd.empty() ? work_.path() : opts.cwd;
  int outFile = -1;
  if (!opts.stdoutPath.empty()) {
    outFile = open(opts.stdoutPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (outFile < 0) ADD_FAILURE() << opts.stdoutPath << ": " << strerror(errno);
  }
  int inFile = -1;
  if (!opts.stdinPath.empty()) {
    inFile = open(opts.stdinPath.c_str(), O_RDONLY | O_CLOEXEC);
    if (inFile < 0) ADD_FAILURE() << opts.stdinPath << ": " << strerror(errno);
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(inFile >= 0 ? inFile : in[0], 0);
    dup2(outFile >= 0 ? outFile : out[1], 1);
    dup2(err[1], 2);
    if (chdir(cwd.c_str()) != 0) _exit(124);
    if (opts.fdSoftLimit) {
      struct rlimit limit;
      getrlimit(RLIMIT_NOFILE, &limit);
      limit.rlim_cur = opts.fdSoftLimit;
      if (opts.fdHardLimit) limit.rlim_max = opts.fdHardLimit;
      if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(123);
    }
    execWith(argv, env);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (outFile >= 0) close(outFile);
  if (inFile >= 0) close(inFile);
  Child c;
  c.pid = pid;
  c.inFd = in[1];
  c.outFd = out[0];
  c.errFd = err[0];
  return c;
}

namespace {

// Reads whatever is ready on the child's pipes within `ms`; false once both hit EOF.
bool pump(Child& c, int ms) {
  struct pollfd p[2] = {{c.outFd, POLLIN, 0}, {c.errFd, POLLIN, 0}};
  if (c.outFd < 0 && c.errFd < 0) return false;
  if (poll(p, 2, ms) <= 0) return true;
  char buf[4096];
  for (int i = 0; i < 2; i++) {
    if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t n = read(p[i].fd, buf, sizeof buf);
    int& fd = i == 0 ? c.outFd : c.errFd;
    if (n <= 0) {
      close(fd);
      fd = -1;
    } else {
      (i == 0 ? c.out : c.err).append(buf, static_cast<size_t>(n));
    }
  }
  return c.outFd >= 0 || c.errFd >= 0;
}

}  // namespace

// Pumps both streams until `text` (the child's stdout or stderr, as it grows) holds `needle`.
bool waitFor(Child& child, const std::string& text, const std::string& needle, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!contains(text, needle)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (!pump(child, 100) && !contains(text, needle)) return false;
  }
  return true;
}

bool waitForOutput(Child& child, const std::string& needle, std::chrono::seconds timeout) {
  return waitFor(child, child.out, needle, timeout);
}

bool waitForError(Child& child, const std::string& needle, std::chrono::seconds timeout) {
  return waitFor(child, child.err, needle, timeout);
}

int finish(Child& child, std::chrono::seconds timeout) {
  if (child.inFd >= 0) {
    close(child.inFd);
    child.inFd = -1;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  bool exited = false;
  while (true) {
    bool open = pump(child, 100);
    if (!exited && waitpid(child.pid, &status, WNOHANG) == child.pid) exited = true;
    if (exited && !open) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(child.pid, SIGKILL);
      if (!exited) waitpid(child.pid, &status, 0);
      if (child.outFd >= 0) close(child.outFd);
      if (child.errFd >= 0) close(child.errFd);
      child.outFd = child.errFd = -1;
      return -1;
    }
  }
  return shellStatus(status);
}

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

RunResult hostShell(const std::string& command, int timeoutSecs) {
  RunResult r;
  std::string line = "timeout -k 5 " + std::to_string(timeoutSecs) + " sh -c " + shellQuote(command) +
                     " </dev/null 2>&1";
  FILE* p = ::popen(line.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = ::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.timedOut = r.exitCode == 124 || r.exitCode == 128 + SIGKILL;
  if (r.timedOut) r.out += "\n(killed after " + std::to_string(timeoutSecs) + "s: " + command + ")\n";
  return r;
}

RunResult Env::run(const std::vector<std::string>& args, const RunOptions& opts) const {
  Child c = spawn(args, opts);
  RunResult r;
  if (c.pid < 0) return r;
  if (!opts.stdinData.empty()) {
    // Small inputs fit the pipe buffer; tests do not send more than that.
    (void)!write(c.inFd, opts.stdinData.data(), opts.stdinData.size());
  }
  r.exitCode = finish(c, std::chrono::seconds(opts.timeoutSecs));
  r.timedOut = r.exitCode == -1;
  r.out = c.out;
  r.err = c.err;
  return r;
}

pid_t Env::startOnPty(const std::vector<std::string>& args, const std::vector<std::string>& wrapper, int& master,
                      int& slave) const {
  struct winsize ws = {};
  ws.ws_row = 40;
  ws.ws_col = 100;
  if (openpty(&master, &slave, nullptr, nullptr, &ws) != 0) {
    ADD_FAILURE() << "openpty: " << strerror(errno);
    return -1;
  }
  fcntl(master, F_SETFD, FD_CLOEXEC);
  fcntl(slave, F_SETFD, FD_CLOEXEC);
  std::vector<std::string> argv = wrapper;
  argv.push_back(coco_);
  argv.insert(argv.end(), args.begin(), args.end());
  EnvList env = baseEnv();
  std::string cwd = work_.path();
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    if (chdir(cwd.c_str()) != 0) _exit(124);
    execWith(argv, env);
  }
  return pid;
}

PtyResult Env::runInPty(const std::vector<std::string>& args, const std::string& input,
                        const std::string& waitFor, int timeoutSecs, int signal,
                        const std::vector<std::string>& wrapper) const {
  PtyResult r;
  int master = -1, slave = -1;
  pid_t pid = startOnPty(args, wrapper, master, slave);
  if (pid < 0) return r;
  tcgetattr(slave, &r.before);
  // The slave stays open here, so its settings can be read after coco exits.
  bool sent = input.empty() && signal == 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSecs);
  int status = 0;
  bool exited = false;
  auto drainUntil = std::chrono::steady_clock::time_point::max();
  char buf[4096];
  while (std::chrono::steady_clock::now() < drainUntil) {
    if (std::chrono::steady_clock::now() > deadline) {
      r.timedOut = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      exited = true;
      break;
    }
    struct pollfd p = {master, POLLIN, 0};
    if (poll(&p, 1, 50) > 0) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n > 0) r.output.append(buf, static_cast<size_t>(n));
    }
    if (!sent && (waitFor.empty() || contains(r.output, waitFor))) {
      if (!input.empty()) (void)!write(master, input.data(), input.size());
      if (signal != 0) kill(pid, signal);
      sent = true;
    }
    if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      drainUntil = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    }
  }
  tcgetattr(slave, &r.after);
  close(master);
  close(slave);
  r.exitCode = r.timedOut ? -1 : shellStatus(status);
  return r;
}

PtyResult Env::actOnPty(const std::vector<std::string>& args, const std::string& waitFor, int timeoutSecs,
                        const std::vector<std::string>& wrapper,
                        const std::function<void(pid_t, int&, std::string&)>& act) const {
  PtyResult r;
  int master = -1, slave = -1;
  pid_t pid = startOnPty(args, wrapper, master, slave);
  if (pid < 0) return r;
  close(slave);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSecs);
  char buf[4096];
  while (!contains(r.output, waitFor) && std::chrono::steady_clock::now() < deadline) {
    struct pollfd p = {master, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;
    r.output.append(buf, static_cast<size_t>(n));
  }
  act(pid, master, r.output);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      r.timedOut = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    usleep(20 * 1000);
  }
  if (master >= 0) close(master);
  r.exitCode = r.timedOut ? -1 : shellStatus(status);
  return r;
}

PtyResult Env::hangUpInPty(const std::vector<std::string>& args, const std::string& waitFor, int timeoutSecs,
                           const std::vector<std::string>& wrapper) const {
  return actOnPty(args, waitFor, timeoutSecs, wrapper, [](pid_t, int& master, std::string&) {
    close(master);  // the hangup: the session leader (coco) gets SIGHUP, its terminal I/O fails
    master = -1;
  });
}

namespace {

unsigned long inodeOf(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? static_cast<unsigned long>(st.st_ino) : 0;
}

// Reads what is ready on fds (-1 entries are skipped) into outs; closes at EOF.
void pumpAll(std::vector<int>& fds, std::vector<std::string*>& outs, int ms) {
  std::vector<struct pollfd> p;
  for (int fd : fds) p.push_back({fd, POLLIN, 0});
  if (poll(p.data(), p.size(), ms) <= 0) return;
  char buf[4096];
  for (size_t i = 0; i < p.size(); i++) {
    if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t n = read(fds[i], buf, sizeof buf);
    if (n > 0) {
      outs[i]->append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EAGAIN) {
      close(fds[i]);
      fds[i] = -1;
    }
  }
}

}  // namespace

TerminalRun Env::runOnTerminal(const std::vector<std::string>& args, const std::vector<int>& onTerminal,
                               const std::string& input, int timeoutSecs) const {
  TerminalRun r;
  int master = -1, slave = -1;
  struct winsize ws = {};
  ws.ws_row = 40;
  ws.ws_col = 100;
  if (openpty(&master, &slave, nullptr, nullptr, &ws) != 0) {
    ADD_FAILURE() << "openpty: " << strerror(errno);
    return r;
  }
  fcntl(master, F_SETFD, FD_CLOEXEC);
  fcntl(slave, F_SETFD, FD_CLOEXEC);
  tcgetattr(slave, &r.before);
  int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  auto onTty = [&](int fd) { return std::find(onTerminal.begin(), onTerminal.end(), fd) != onTerminal.end(); };
  for (int fd = 0; fd < 3; fd++) {
    if (onTty(fd)) continue;
    if (pipe2(pipes[fd], O_CLOEXEC) != 0) ADD_FAILURE() << "pipe: " << strerror(errno);
    r.pipeInode[fd] = inodeOf(pipes[fd][0]);
  }
  std::vector<std::string> argv = {coco_};
  argv.insert(argv.end(), args.begin(), args.end());
  EnvList env = baseEnv();
  std::string cwd = work_.path();
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    ioctl(slave, TIOCSCTTY, 0);
    for (int fd = 0; fd < 3; fd++) dup2(onTty(fd) ? slave : pipes[fd][fd == 0 ? 0 : 1], fd);
    if (chdir(cwd.c_str()) != 0) _exit(124);
    execWith(argv, env);
  }
  if (pipes[0][1] >= 0) {
    (void)!write(pipes[0][1], input.data(), input.size());  // small: fits the pipe
    close(pipes[0][1]);
  }
  for (int fd = 0; fd < 3; fd++) close(pipes[fd][fd == 0 ? 0 : 1]);
  std::vector<int> fds = {master, pipes[1][0], pipes[2][0]};
  std::vector<std::string*> outs = {&r.terminal, &r.out, &r.err};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSecs);
  int status = 0;
  bool exited = false;
  auto drainUntil = std::chrono::steady_clock::time_point::max();
  while (std::chrono::steady_clock::now() < drainUntil) {
    if (std::chrono::steady_clock::now() > deadline) {
      r.timedOut = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    pumpAll(fds, outs, 50);
    if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      drainUntil = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    }
  }
  tcgetattr(slave, &r.after);
  for (int fd : fds)
    if (fd >= 0) close(fd);
  close(slave);
  r.exitCode = r.timedOut ? -1 : shellStatus(status);
  return r;
}

std::vector<pid_t> processesWithTag(const std::string& tag) {
  std::vector<pid_t> found;
  DIR* d = opendir("/proc");
  if (!d) return found;
  while (struct dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == getpid()) continue;
    // Read with read(2): a process that exits meanwhile fails it with ESRCH,
    // which an ifstream turns into an exception.
    std::string cmdline;
    int fd = open((std::string("/proc/") + e->d_name + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
    char buf[4096];
    ssize_t n;
    while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0) cmdline.append(buf, static_cast<size_t>(n));
    if (fd >= 0) close(fd);
    for (char& ch : cmdline) {
      if (ch == '\0') ch = ' ';
    }
    if (contains(cmdline, tag)) found.push_back(static_cast<pid_t>(pid));
  }
  closedir(d);
  return found;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string treeState(const std::string& dir) {
  std::string out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) {
      out += it->path().string() + " unreadable\n";
      continue;
    }
    out += it->path().string().substr(dir.size()) + " " + std::to_string(st.st_mode) + " " +
           std::to_string(st.st_ino) + " " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) + " " +
           std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + " " + std::to_string(st.st_ctim.tv_sec) + "." +
           std::to_string(st.st_ctim.tv_nsec) + "\n";
  }
  if (ec) out += "walk failed: " + ec.message() + "\n";
  return out;
}

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string probeTool(const std::string& extraMembers) {
  std::string json = R"({"command": "probe", "network": "none")";
  if (!extraMembers.empty()) json += ", " + extraMembers;
  return json + "}\n";
}

}  // namespace cocotest
