// Landlock beneath the mounts: what a tool cannot reach even where the mount
// table it can change, or the host network namespace it shares, would let it.
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>

#include "harness.hpp"

namespace fs = std::filesystem;

namespace cocotest {
namespace {

// The kernel's Landlock ABI version, 0 without Landlock.
int kernelLandlockAbi() {
  long v = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, 1U /* LANDLOCK_CREATE_RULESET_VERSION */);
  return v < 0 ? 0 : static_cast<int>(v);
}

// Skips (fails in CI) where the kernel has no Landlock of that ABI.
#define COCO_REQUIRE_LANDLOCK(abi)                                                                       \
  do {                                                                                                   \
    int have_ = kernelLandlockAbi();                                                                     \
    if (have_ < (abi)) {                                                                                 \
      if (::cocotest::inCi()) FAIL() << "Landlock ABI " << (abi) << " needed, the kernel has " << have_; \
      GTEST_SKIP() << "Landlock ABI " << (abi) << " needed, the kernel has " << have_;                   \
    }                                                                                                    \
  } while (0)

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exitCode) + (r.timedOut ? " (timed out)" : "") + "\n--- stdout ---\n" +
         r.out + "--- stderr ---\n" + r.err;
}

// A listening abstract unix socket of the host (outside any sandbox).
class HostAbstractSocket {
 public:
  explicit HostAbstractSocket(const std::string& name) : name_(name) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path + 1, name.data() + 1, name.size() - 1);  // name starts with '@'
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) == 0 && ::listen(fd_, 4) == 0;
  }
  ~HostAbstractSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool bound() const { return bound_; }
  // Whether a connection is waiting to be accepted.
  bool connected() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

class LandlockTest : public ::testing::Test {
 protected:
  void SetUp() override { COCO_REQUIRE_SANDBOX(); }
  Env env_;
};

// With `network: host` the tool shares the host's network namespace, and with
// it every abstract unix socket of the host: X11's @/tmp/.X11-unix/X0, D-Bus,
// systemd's and many desktop services'. Landlock's scoping (ABI 6) refuses a
// connection to one made outside the tool's own domain.
TEST_F(LandlockTest, HostAbstractSocketIsOutOfReachWithNetworkHost) {
  COCO_REQUIRE_LANDLOCK(6);
  // Shaped like an X server's socket, on a display number no real server uses.
  std::string name = "@/tmp/.X11-unix/X" + std::to_string(7000 + ::getpid() % 2000);
  HostAbstractSocket host(name);
  ASSERT_TRUE(host.bound()) << "cannot bind " << name << ": " << std::strerror(errno);
  env_.writeTool("hostnet", R"({"command": "probe", "network": "host"})");

  RunResult r = env_.run({"run", "hostnet", "connect-unix", name});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_TRUE(contains(r.out, "denied EPERM")) << describe(r);
  EXPECT_FALSE(host.connected()) << "the tool reached the host's abstract socket " << name;

  // The tool's own abstract sockets keep working.
  RunResult own = env_.run({"run", "hostnet", "abstract-self"});
  EXPECT_EQ(own.exitCode, 0) << describe(own);
  EXPECT_TRUE(contains(own.out, "ok")) << describe(own);
}

// Signals leave the tool's domain no more (ABI 6): pid 1 is coco's init, the
// one process of the sandbox outside the domain (with `network: host` there is
// still a pid namespace, so no host process is even visible).
TEST_F(LandlockTest, SignalsStayInsideTheToolsDomain) {
  COCO_REQUIRE_LANDLOCK(6);
  env_.writeTool("hostnet", R"({"command": "probe", "network": "host"})");
  RunResult init = env_.run({"run", "hostnet", "kill", "1", "0"});
  EXPECT_EQ(init.exitCode, 1) << describe(init);
  EXPECT_TRUE(contains(init.out, "denied EPERM")) << describe(init);

  RunResult self = env_.run({"run", "hostnet", "kill", "self", "0"});
  EXPECT_EQ(self.exitCode, 0) << describe(self);
}

// No subversion of a read-only mount's flag is reachable from inside: a
// tool without capabilities cannot map itself into a nested user namespace
// (mapping its uid 0 needs CAP_SETFCAP), and mounts copied into one keep their
// flags locked. So this checks that the rules are in force where the mount
// table alone would let the tool write: with a read-only mount at the top of
// /, the overlay root grants writing to its entries but not to / itself.
TEST_F(LandlockTest, NoWritingOutsideTheGrantedTrees) {
  COCO_REQUIRE_LANDLOCK(1);
  TempDir data("coco-landlock-ro");
  env_.writeTool("ro", probeTool(R"("mounts": [{"src": )" + jsonString(data.path()) +
                                 R"(, "dst": "/workspace", "opts": "ro"}])"));
  for (const char* op : {"write", "mkdir"}) {
    RunResult r = env_.run({"run", "ro", op, "/landlock-new"});
    EXPECT_EQ(r.exitCode, 1) << op << "\n" << describe(r);
    EXPECT_TRUE(contains(r.out, "denied EACCES")) << op << "\n" << describe(r);
  }
  // Below /, the scratch root stays writable.
  RunResult w = env_.run({"run", "ro", "write", "/root/landlock-file", "x"});
  EXPECT_EQ(w.exitCode, 0) << describe(w);
  EXPECT_TRUE(fs::is_empty(data.path()));
}

// A directory as coco's stdin (`coco run tool <~/project`) reaches the tool
// as fd 0, and /proc/self/fd/0/... walks it on the host, past every mount.
// Landlock gives stdio a rule only for what is not a directory, so that tree
// stays shut.
TEST_F(LandlockTest, ADirectoryAsStdinDoesNotOpenItsTree) {
  COCO_REQUIRE_LANDLOCK(1);
  TempDir dir("coco-landlock-stdin");
  writeFile(dir / "secret.txt", "host secret\n");
  env_.writeTool("probe", probeTool());
  RunOptions opts;
  opts.stdinPath = dir.path();
  RunResult r = env_.run({"run", "probe", "cat", "/proc/self/fd/0/secret.txt"}, opts);
  EXPECT_FALSE(contains(r.out, "host secret")) << describe(r);
  EXPECT_TRUE(contains(r.out, "denied EACCES")) << describe(r);
}

// A host file given as the tool's stdin gets a rule to read it, not to execute it: a command
// reaching it by /proc/self/fd/0 is refused (126), also when its first line is one coco runs
// itself ("#!/usr/bin/env NAME", process.cpp), which must not skip Landlock's check.
TEST_F(LandlockTest, AStdinFileIsNotRunEvenAsAnEnvScript) {
  COCO_REQUIRE_LANDLOCK(1);
  TempDir dir("coco-landlock-exec");
  for (std::string line : {"#!/usr/bin/env probe", "#!/bin/sh"}) {
    SCOPED_TRACE(line);
    writeFile(dir / "script", line + "\necho ran-from-stdin\n");
    fs::permissions(dir / "script", fs::perms(0755));
    env_.writeTool("fd0", R"({"command": "/proc/self/fd/0", "network": "none"})");
    RunOptions opts;
    opts.stdinPath = dir / "script";
    RunResult r = env_.run({"run", "fd0", "id"}, opts);
    EXPECT_EQ(r.exitCode, 126) << describe(r);
    EXPECT_FALSE(contains(r.out, "uid=")) << describe(r);
    EXPECT_FALSE(contains(r.out, "ran-from-stdin")) << describe(r);
  }
}

// What tools legitimately do must keep working under the rules, with a
// read-only mount at the top of / (so / itself grants no writing) and a
// writable one: the scratch root, /tmp, /dev/shm, devices, renames across
// directories of the root, the writable mount.
TEST_F(LandlockTest, WhatToolsNeedStillWorks) {
  TempDir ro("coco-landlock-ro"), rw("coco-landlock-rw");
  env_.writeTool("sh", R"({"command": "sh", "network": "none", "mounts": [
      {"src": )" + jsonString(ro.path()) +
                           R"(, "dst": "/workspace", "opts": "ro"},
      {"src": )" + jsonString(rw.path()) +
                           R"(, "dst": "/out", "opts": "rw"}]})");
  const char* script =
      "set -e; echo a > /root/a; mkdir -p /root/.cache/tool; echo b > /root/.cache/tool/b;"
      "mv /root/a /etc/a; echo c > /tmp/c; echo d > /dev/shm/d; echo e > /dev/null;"
      "head -c 4 /dev/urandom > /tmp/r; echo f > /out/f; mkdir /out/g; mv /out/f /out/g/f;"
      "ln -s /etc/a /tmp/link; cat /tmp/link /root/.cache/tool/b; probe exit 0; echo all-ok";
  RunResult r = env_.run({"run", "sh", "-c", script});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "a\nb\nall-ok")) << describe(r);
  EXPECT_TRUE(fs::exists(rw / "g/f"));
}

// A host file as the tool's stdout lies outside every rule, yet scripts write
// to /dev/stdout and /dev/stderr by name: reopening it must still work.
TEST_F(LandlockTest, StdoutRedirectedToAHostFileCanBeReopenedByName) {
  TempDir out("coco-landlock-out");
  env_.writeTool("sh", R"({"command": "sh", "network": "none"})");
  RunOptions opts;
  opts.stdoutPath = out / "stdout.txt";
  RunResult r =
      env_.run({"run", "sh", "-c", "echo by-name > /dev/stdout; echo appended >> /dev/stdout"}, opts);
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(readFile(out / "stdout.txt"), "by-name\nappended\n") << describe(r);
}

TEST_F(LandlockTest, ShowAndDryRunSayWhetherItIsOn) {
  int abi = kernelLandlockAbi();
  env_.writeTool("probe", probeTool());
  RunResult show = env_.run({"show", "probe"});
  ASSERT_EQ(show.exitCode, 0) << describe(show);
  std::string expected =
      abi > 0 ? "landlock:         on (ABI " + std::to_string(abi) : "landlock:         off";
  EXPECT_TRUE(contains(show.out, expected)) << describe(show);

  RunResult dry = env_.run({"run", "--dry-run", "probe"});
  ASSERT_EQ(dry.exitCode, 0) << describe(dry);
  EXPECT_TRUE(contains(dry.out, "\"landlock\": {\n    \"abi\": " + std::to_string(abi))) << describe(dry);
}

}  // namespace
}  // namespace cocotest
