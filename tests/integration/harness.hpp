// Shared helpers for integration tests: run the real coco binary with tool configs in a temp XDG tree.
//
// Inputs come from the environment so the same binaries run from `meson test`
// and from tests/run-all as other users: COCO_BIN (the coco binary),
// COCO_TEST_ROOTFS (the busybox+probe rootfs), COCO_TEST_IDMAP ("subuid" or
// "single", when the runner knows which id-map mode this user gets),
// COCO_TEST_SUBMOUNT_TREE (a directory holding a real mount point "sub").
#pragma once

#include <sys/types.h>
#include <termios.h>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace cocotest {

using EnvList = std::vector<std::pair<std::string, std::string>>;

// Why the sandbox cannot work on this host (user namespaces off), or "".
std::string sandboxUnavailableReason();

// True when CI=true/1: then a missing kernel feature is a failure, not a skip.
bool inCi();

// Runs `body` in a forked child of the test (single-threaded there, so it may unshare or setns
// into a user namespace) and returns the text the body returned there.
std::string inChild(const std::function<std::string()>& body);

// Skips (or fails in CI) a test that needs user namespaces, always saying why.
#define COCO_REQUIRE_SANDBOX()                                                     \
  do {                                                                             \
    std::string why_ = ::cocotest::sandboxUnavailableReason();                     \
    if (!why_.empty()) {                                                           \
      if (::cocotest::inCi()) FAIL() << "sandbox unavailable in CI: " << why_;     \
      GTEST_SKIP() << "user namespaces unavailable: " << why_;                     \
    }                                                                              \
  } while (0)

// A directory removed (recursively) on destruction.
class TempDir {
 public:
  // In $TMPDIR (else /tmp), or in `parent` when given.
  explicit TempDir(const std::string& prefix = "coco-test", const std::string& parent = "");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

struct RunResult {
  int exitCode = -1;  // as a shell reports it: 128+N for signal N
  std::string out;
  std::string err;
  bool timedOut = false;
};

struct RunOptions {
  std::string stdinData;  // written to coco's stdin (a pipe), then closed
  EnvList env;            // added to (or replacing) the base environment
  std::string cwd;        // default: the Env's scratch working directory
  std::string stdoutPath; // when set, coco's stdout is this file instead of a pipe
  std::string stdinPath;  // when set, coco's stdin is this file or directory (read-only), not a pipe
  int timeoutSecs = 60;
  // When set, coco starts with this RLIMIT_NOFILE (soft, hard), as a user's session gives it.
  unsigned long fdSoftLimit = 0;
  unsigned long fdHardLimit = 0;
  // Started before coco, with coco's argv after it (e.g. the seccomp-errno helper).
  std::vector<std::string> wrapper;
};

// A started coco whose stdout/stderr are pipes the test reads.
struct Child {
  pid_t pid = -1;
  int outFd = -1;
  int errFd = -1;
  int inFd = -1;
  std::string out;  // what has been read from outFd so far
  std::string err;
};

struct PtyResult {
  int exitCode = -1;
  std::string output;  // everything read from the pty master
  bool timedOut = false;
  struct termios before {};
  struct termios after {};  // the terminal's settings once coco is gone
};

// coco run with some of its standard descriptors on a fresh pty (its
// controlling terminal) and the others on pipes.
struct TerminalRun {
  int exitCode = -1;
  bool timedOut = false;
  std::string terminal;  // everything read from the pty master
  std::string out, err;  // stdout and stderr when they were pipes
  unsigned long pipeInode[3] = {};  // the pipe given as fd N (0: the pty)
  struct termios before {};
  struct termios after {};  // the terminal's settings once coco is gone
};

// One test's world: a temp XDG_DATA_HOME with tool configs, a scratch cwd,
// the rootfs, and the coco binary.
class Env {
 public:
  Env();
  // Stops the user-namespace holder its runs started (coco system stop).
  ~Env();
  const std::string& coco() const { return coco_; }
  const std::string& rootfs() const { return rootfs_; }
  const std::string& workdir() const { return work_.path(); }
  const std::string& dataHome() const { return dataHome_; }

  // Writes $XDG_DATA_HOME/coco/tools/NAME.json.
  void writeTool(const std::string& name, const std::string& json) const;

  // The environment coco is started with: minimal, plus a secret that must
  // never reach the tool.
  EnvList baseEnv() const;

  RunResult run(const std::vector<std::string>& args, const RunOptions& opts = {}) const;
  Child spawn(const std::vector<std::string>& args, const RunOptions& opts = {}) const;
  // Runs coco on a fresh pty (40x100) as its controlling terminal. Once
  // `waitFor` shows up in the output, sends `input` and then `signal` to coco
  // (to the wrapper, when one is given: started with coco's argv after it).
  PtyResult runInPty(const std::vector<std::string>& args, const std::string& input = "",
                     const std::string& waitFor = "", int timeoutSecs = 60,
                     int signal = 0, const std::vector<std::string>& wrapper = {}) const;
  // Runs coco on a fresh pty as runInPty does; once `waitFor` shows up, hangs the terminal up
  // (closes the pty, as a closed terminal window does) and waits for coco's exit. `output`:
  // what was read until then.
  PtyResult hangUpInPty(const std::vector<std::string>& args, const std::string& waitFor, int timeoutSecs,
                        const std::vector<std::string>& wrapper = {}) const;
  // Runs coco on a fresh pty as its controlling terminal (the slave closed here), reads it until
  // `waitFor` shows up, then `act(coco's pid, master, output)` (which may read on into `output`,
  // or close the master and set it to -1: a hangup), then waits for coco's exit (timeoutSecs in
  // all).
  PtyResult actOnPty(const std::vector<std::string>& args, const std::string& waitFor, int timeoutSecs,
                     const std::vector<std::string>& wrapper,
                     const std::function<void(pid_t, int&, std::string&)>& act) const;
  // Runs coco with the fds in `onTerminal` (of 0, 1, 2) on a fresh pty and the
  // others on pipes; stdin, when a pipe, carries `input` and then EOF.
  TerminalRun runOnTerminal(const std::vector<std::string>& args, const std::vector<int>& onTerminal,
                            const std::string& input = "", int timeoutSecs = 60) const;

 private:
  // coco (after `wrapper`) on a fresh 40x100 pty as its controlling terminal and fds 0-2; the
  // caller owns both ends. -1 when no pty could be made.
  pid_t startOnPty(const std::vector<std::string>& args, const std::vector<std::string>& wrapper, int& master,
                   int& slave) const;


  std::string coco_;
  std::string rootfs_;
  TempDir root_;
  TempDir work_;
  std::string dataHome_;
};

inline constexpr const char* kSecretName = "COCO_TEST_SECRET";
inline constexpr const char* kSecretValue = "s3cret-must-not-leak-7f3a";

// Reads more of a child's stdout until `needle` appears or the time is up.
bool waitForOutput(Child& child, const std::string& needle, std::chrono::seconds timeout);
// The same for the child's stderr.
bool waitForError(Child& child, const std::string& needle, std::chrono::seconds timeout);
// Reads the rest of a child's output and waits for it; returns a shell exit code.
int finish(Child& child, std::chrono::seconds timeout);

// `s` as one shell word.
std::string shellQuote(const std::string& s);

// Runs `command` with `sh -c` on the host (stdin /dev/null, stderr with stdout), killed after
// `timeoutSecs`: a host command a test runs after an attack (git status, ...) must not hang the
// suite when the attack worked. exitCode as a shell reports it; timedOut when it was killed.
RunResult hostShell(const std::string& command, int timeoutSecs = 60);

// Pids of host processes whose command line contains `tag`.
std::vector<pid_t> processesWithTag(const std::string& tag);

std::string readFile(const std::string& path);
void writeFile(const std::string& path, const std::string& text);
std::vector<std::string> lines(const std::string& text);
bool contains(const std::string& haystack, const std::string& needle);
// Every entry below `dir` with its type and mode, inode, owner, size, modification and change
// times, one a line (so a write that restores size and mtime still shows in the ctime; an entry
// lstat cannot read, or a walk that stopped, says so in its line): equal before and after an
// attack when nothing below `dir` changed.
std::string treeState(const std::string& dir);
// A probe tool config: `probe` from the image, network none, plus extra JSON members.
std::string probeTool(const std::string& extraMembers = "");
std::string jsonString(const std::string& s);

}  // namespace cocotest
