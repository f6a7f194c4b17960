// COCO_RUNTIME=podman (and docker) against the real runtime: exit codes and signals as native
// gives them, no container outliving coco, the environment off every command line, the workspace
// guard, refusals instead of silent drops, tools installed on first run (coco's native install,
// its layer bound read-only into the container).
//
// COCO_TEST_RUNTIME picks the runtime ("podman", the default, or "docker"). For podman the test
// makes its own configuration and storage (runc, cgroupfs, overlay, under TMPDIR) and passes them
// with CONTAINERS_CONF and CONTAINERS_STORAGE_CONF; for docker it uses DOCKER_HOST (tests/run-all
// starts a dockerd of its own, as root). Either way it imports the test rootfs (busybox and the
// probe) as the image the runs use.
//
// The install tests need coco's real base image (node, npm, mise) and the npm registry the host's
// npm is configured for: COCO_BASE_IMAGE names a published base (tests/run-all publishes coco-sub's
// for coco-nosub and docker's root); without it the base of the e2e tests' store is saved (and
// built first, as those tests do, when missing).
#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "harness.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace cocotest {
namespace {

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exitCode) + (r.timedOut ? " (timed out)" : "") + "\n--- stdout ---\n" +
         r.out + "--- stderr ---\n" + r.err;
}

std::string runtimeName() {
  const char* r = getenv("COCO_TEST_RUNTIME");
  return r && *r ? r : "podman";
}

constexpr const char* kImage = "localhost/coco-test-probe:latest";

// The runtime's configuration, storage and image, made once per test program.
class RuntimeWorld {
 public:
  static RuntimeWorld& get() {
    static RuntimeWorld world;
    return world;
  }
  const std::string& setupError() const { return error_; }
  const EnvList& env() const { return env_; }
  std::string cmd(const std::string& args) const { return runtime_ + " " + args; }

  // Names of the containers (running or not) whose name starts with `prefix`.
  std::string containers(const std::string& prefix) const {
    RunResult ps = hostShell(cmd("ps -a --format '{{.Names}}'"));
    std::string found;
    for (const auto& line : lines(ps.out))
      if (line.rfind(prefix, 0) == 0) found += line + "\n";
    if (ps.exitCode != 0) found += "(ps failed: " + ps.out + ")";
    return found;
  }

 private:
  // The runtime directory lies in /tmp, not under TMPDIR: with run-all's TMPDIR
  // (/var/tmp/coco-tests/run/USER/tmp) every podman run waited out conmon's 20 s
  // timeout (its paths under XDG_RUNTIME_DIR grow past what it handles), while a
  // user's /run/user/UID is short. Measured: one test, 4 runs, 83 s against 7 s.
  RuntimeWorld() : runtime_(runtimeName()), dir_("coco-runtime"), runDir_("coco-rt", "/tmp") {
    fs::create_directories(runDir_.path() + "/xdg");
    fs::permissions(runDir_.path() + "/xdg", fs::perms::owner_all, fs::perm_options::replace);
    setenv("XDG_RUNTIME_DIR", (runDir_.path() + "/xdg").c_str(), 1);  // the harness passes it to coco
    if (runtime_ == "podman") setUpPodman();
    if (!error_.empty()) return;
    const char* rootfs = getenv("COCO_TEST_ROOTFS");
    if (!rootfs || !*rootfs) {
      error_ = "COCO_TEST_ROOTFS is not set";
      return;
    }
    RunResult imported = hostShell(
        "tar -C '" + std::string(rootfs) + "' -c . | " + cmd(std::string("import - ") + kImage), 300);
    if (imported.exitCode != 0) error_ = runtime_ + " import of the test rootfs failed: " + imported.out;
    env_.emplace_back("COCO_RUNTIME", runtime_);
    env_.emplace_back("COCO_IMAGE", kImage);
    if (const char* host = getenv("DOCKER_HOST")) env_.emplace_back("DOCKER_HOST", host);
  }

  // Rootless podman as Debian 12 runs it: runc (crun is too old for its podman), cgroupfs
  // (no systemd session here), overlay storage of the test's own.
  void setUpPodman() {
    std::string d = dir_.path();
    writeFile(d + "/containers.conf",
              "[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n");
    // Rootless podman takes graphroot only from the user's own storage.conf; from this one it
    // takes rootless_storage_path.
    writeFile(d + "/storage.conf", "[storage]\ndriver = \"overlay\"\nrootless_storage_path = \"" + d +
                                       "/graph\"\nrunroot = \"" + runDir_.path() + "/run\"\n");
    setenv("CONTAINERS_CONF", (d + "/containers.conf").c_str(), 1);
    setenv("CONTAINERS_STORAGE_CONF", (d + "/storage.conf").c_str(), 1);
    env_ = {{"CONTAINERS_CONF", d + "/containers.conf"}, {"CONTAINERS_STORAGE_CONF", d + "/storage.conf"}};
    RunResult version = hostShell("podman --version");
    if (version.exitCode != 0) error_ = "podman is not installed (tests/run-all installs it): " + version.out;
  }

 public:
  ~RuntimeWorld() {
    // Storage written by other ids of the user namespace goes through podman's own namespace.
    if (runtime_ != "podman") return;
    hostShell("podman unshare rm -rf '" + dir_.path() + "/graph' '" + runDir_.path() + "/run'", 300);
    // podman's pause process for this runtime directory (it holds the user namespace) goes too.
    std::string pid = readFile(runDir_.path() + "/xdg/libpod/tmp/pause.pid");
    if (!pid.empty() && std::atoi(pid.c_str()) > 1) ::kill(std::atoi(pid.c_str()), SIGTERM);
  }

 private:
  std::string runtime_;
  TempDir dir_;
  TempDir runDir_;  // XDG_RUNTIME_DIR and podman's runroot (see the constructor)
  EnvList env_;
  std::string error_;
};

class ContainerRuntime : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& world = RuntimeWorld::get();
    if (!world.setupError().empty()) FAIL() << world.setupError();
    env_.writeTool("probe", probeTool());
  }

  // The runtime's variables, then the test's own (which win).
  RunOptions options(RunOptions o = {}) {
    EnvList env = RuntimeWorld::get().env();
    env.insert(env.end(), o.env.begin(), o.env.end());
    o.env = std::move(env);
    if (o.timeoutSecs == 60) o.timeoutSecs = 120;
    return o;
  }
  RunResult coco(const std::vector<std::string>& args, RunOptions o = {}) {
    return env_.run(args, options(o));
  }
  Child spawn(const std::vector<std::string>& args, RunOptions o = {}) {
    return env_.spawn(args, options(o));
  }

  // Waits until a container whose name starts with `prefix` runs.
  bool waitForContainer(const std::string& prefix, std::chrono::seconds limit = 60s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      RunResult ps = hostShell(RuntimeWorld::get().cmd("ps --format '{{.Names}}'"));
      for (const auto& line : lines(ps.out))
        if (line.rfind(prefix, 0) == 0) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  // Waits until no container whose name starts with `prefix` is left; what is left otherwise.
  std::string waitForNoContainer(const std::string& prefix, std::chrono::seconds limit = 30s) {
    auto end = std::chrono::steady_clock::now() + limit;
    std::string left;
    do {
      left = RuntimeWorld::get().containers(prefix);
      if (left.empty()) return "";
      std::this_thread::sleep_for(200ms);
    } while (std::chrono::steady_clock::now() < end);
    return left;
  }

  Env env_;
};

// Attack first: a value of the config's env must reach the tool, but never any process's
// command line (readable by every user of the host in /proc/PID/cmdline).
TEST_F(ContainerRuntime, EnvValuesNeverOnACommandLine) {
  const std::string value = "podman-env-value-9c1e";
  env_.writeTool("probe-env",
                 R"({"command": "sh", "network": "none", "env": {"COCO_TEST_PASSED": ")" + value + R"("}})");
  Child child = spawn({"run", "probe-env", "-c", "probe env; sleep 30"});
  ASSERT_TRUE(waitForOutput(child, "COCO_TEST_PASSED=", 90s)) << child.out << child.err;
  EXPECT_TRUE(contains(child.out, "COCO_TEST_PASSED=" + value)) << child.out;
  std::vector<pid_t> leaks = processesWithTag(value);
  EXPECT_TRUE(leaks.empty()) << "the value is on the command line of " << leaks.size() << " process(es)";
  ::kill(child.pid, SIGTERM);
  finish(child, 60s);
  // The env file is gone with the run.
  const char* xdg = getenv("XDG_RUNTIME_DIR");
  ASSERT_NE(xdg, nullptr);
  EXPECT_EQ(hostShell("find '" + std::string(xdg) + "' -name 'container-env.*'").out, "")
      << "env files left behind";
}

TEST_F(ContainerRuntime, ExitCodesAsNativeGivesThem) {
  auto r = coco({"run", "probe", "exit", "3"});
  EXPECT_EQ(r.exitCode, 3) << describe(r);
  // The issue's case: without an init as pid 1 the kernel ignores the shell's own SIGTERM.
  env_.writeTool("shell", R"({"command": "sh", "network": "none"})");
  r = coco({"run", "shell", "-c", "kill -TERM $$"});
  EXPECT_EQ(r.exitCode, 128 + SIGTERM) << describe(r);
  r = coco({"run", "probe", "kill-self", "KILL"});
  EXPECT_EQ(r.exitCode, 128 + SIGKILL) << describe(r);
  env_.writeTool("missing", R"({"command": "coco-no-such-command", "network": "none"})");
  r = coco({"run", "missing"});
  EXPECT_EQ(r.exitCode, 127) << describe(r);
  EXPECT_EQ(RuntimeWorld::get().containers("coco-"), "");
}

// A command-only config (no tool to install) runs what the image has, with its arguments.
TEST_F(ContainerRuntime, CommandOnlyConfigRuns) {
  env_.writeTool("shell", R"({"command": "sh", "network": "none"})");
  auto r = coco({"run", "shell", "-c", "echo hello from $(probe hostname 2>/dev/null || hostname)"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "hello from")) << describe(r);
  r = coco({"run", "shell", "-c", "pwd"});
  EXPECT_EQ(r.out, "/workspace\n") << describe(r);
}

class ContainerSignals : public ContainerRuntime, public ::testing::WithParamInterface<int> {};

// coco asked to stop: the tool gets the signal, coco exits with 128+N, the container is gone.
TEST_P(ContainerSignals, SignalToCocoStopsAndRemovesTheContainer) {
  int sig = GetParam();
  std::string tool = std::string("probe-sig") + std::to_string(sig);
  env_.writeTool(tool, probeTool());
  Child child = spawn({"run", tool, "sleep", "120"});
  ASSERT_TRUE(waitForContainer("coco-" + tool + "-")) << "no container started";
  ASSERT_EQ(::kill(child.pid, sig), 0);
  int code = finish(child, 60s);
  EXPECT_EQ(code, 128 + sig) << child.out << child.err;
  EXPECT_EQ(waitForNoContainer("coco-" + tool + "-", 5s), "");
}

INSTANTIATE_TEST_SUITE_P(TermIntHup, ContainerSignals, ::testing::Values(SIGTERM, SIGINT, SIGHUP));

// `nohup coco run ...`: a SIGHUP coco's parent left ignored neither stops nor removes the
// container (blocked, it was queued anyway, passed on, and started the removal).
TEST_F(ContainerRuntime, ASignalIgnoredAtStartDoesNotStopTheContainer) {
  env_.writeTool("probe-nohup", probeTool());
  RunOptions o;
  o.wrapper = {"/bin/bash", "-c", "trap '' HUP; exec \"$@\"", "sh"};
  Child child = spawn({"run", "probe-nohup", "sleep", "6"}, o);
  ASSERT_TRUE(waitForContainer("coco-probe-nohup-")) << "no container started";
  ASSERT_EQ(::kill(child.pid, SIGHUP), 0);
  EXPECT_EQ(finish(child, 60s), 0) << child.out << child.err;
  EXPECT_EQ(waitForNoContainer("coco-probe-nohup-", 5s), "");
}

// The issue's case: `timeout 5 coco run ...` must not leave the container running.
TEST_F(ContainerRuntime, TimeoutLeavesNoContainer) {
  env_.writeTool("probe-timeout", probeTool());
  RunOptions o;
  o.wrapper = {"/usr/bin/timeout", "5"};
  auto r = coco({"run", "probe-timeout", "sleep", "120"}, o);
  EXPECT_EQ(r.exitCode, 124) << describe(r);
  EXPECT_EQ(RuntimeWorld::get().containers("coco-probe-timeout-"), "");
}

// coco killed outright cannot clean up: its watchdog removes the container.
TEST_F(ContainerRuntime, ContainerRemovedWhenCocoIsKilled) {
  env_.writeTool("probe-kill", probeTool());
  Child child = spawn({"run", "probe-kill", "sleep", "120"});
  ASSERT_TRUE(waitForContainer("coco-probe-kill-")) << "no container started";
  ASSERT_EQ(::kill(child.pid, SIGKILL), 0);
  finish(child, 30s);
  EXPECT_EQ(waitForNoContainer("coco-probe-kill-"), "");
}

// podman and docker drop -p with --network none without a word; coco refuses and says why.
TEST_F(ContainerRuntime, PortsWithNetworkNoneRefused) {
  env_.writeTool("probe-ports", probeTool(R"("ports": ["18080:80"])"));
  auto r = coco({"run", "probe-ports", "exit", "0"});
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "network: none")) << describe(r);
}

// The npm registry's host, named at test time by the host's npm configuration.
std::string registryHost() {
  RunResult npm = hostShell("npm config get registry");
  std::string url = lines(npm.out).empty() ? "" : lines(npm.out).back();
  size_t start = url.find("://");
  if (npm.exitCode != 0 || start == std::string::npos) return "";
  std::string host = url.substr(start + 3);
  return host.substr(0, host.find_first_of(":/"));
}

// What a container sees of the network and reaches: its interfaces, a name outside the list, a
// literal address, and the listed host over HTTP (any answer of its server will do).
std::string networkScript(const std::string& host) {
  return "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sed 's/^/iface=/'\n"
         "wget -q -O /dev/null http://elsewhere.example/ 2>/dev/null; echo name=$?\n"
         "wget -q -O /dev/null http://192.0.2.1/ 2>/dev/null; echo address=$?\n"
         "wget -S -O /dev/null http://" + host + "/ 2>&1 | grep -o 'HTTP/1[.][01] [0-9]*' | head -1\n";
}

// Attack first: allowed_hosts holds in the container as it does natively, through coco's gateway
// and DNS stub rather than DNS alone: the container has nothing but lo, in a namespace coco
// prepared; a name outside the list is not resolved and a literal address is refused, each
// with coco's message; the listed host answers. docker cannot join such a namespace: refused.
TEST_F(ContainerRuntime, AllowedHostsHoldThroughCocosGateway) {
  std::string host = registryHost();
  ASSERT_FALSE(host.empty()) << "npm config get registry gave no host";
  env_.writeTool("netsh", R"({"command": "sh", "allowed_hosts": [")" + host + R"("]})");
  auto r = coco({"run", "netsh", "-c", networkScript(host)});
  if (runtimeName() == "docker") {
    EXPECT_EQ(r.exitCode, 125) << describe(r);
    EXPECT_TRUE(contains(r.err, "docker has no --network ns:PATH")) << describe(r);
    return;
  }
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "iface=lo\n") && !contains(r.out.substr(r.out.find("iface=lo") + 9), "iface="))
      << "interfaces other than lo\n" << describe(r);
  EXPECT_TRUE(contains(r.out, "name=1\n")) << describe(r);
  EXPECT_TRUE(contains(r.err, "blocked lookup of elsewhere.example")) << describe(r);
  EXPECT_TRUE(contains(r.out, "address=1\n")) << describe(r);
  EXPECT_TRUE(contains(r.err, "blocked connection to 192.0.2.1:80")) << describe(r);
  EXPECT_TRUE(contains(r.out, "HTTP/1.")) << "the allowed host did not answer\n" << describe(r);
  EXPECT_EQ(RuntimeWorld::get().containers("coco-netsh-"), "");
}

// Full network under podman goes through the same gateway (public destinations only, as
// natively), so it needs neither slirp4netns nor pasta (/dev/net/tun is 0600 here).
// One HTTP answer from the host at `ip` (port picked here), on a thread; the port, or 0.
class OneAnswer {
 public:
  explicit OneAnswer(const std::string& ip) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    if (fd_ < 0 || ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd_, 4) != 0)
      return;
    socklen_t len = sizeof sa;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 120000) != 1) return;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      char buf[1024];
      (void)!::read(c, buf, sizeof buf);
      const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 21\r\n\r\nanswered-by-the-host\n";
      (void)!::write(c, reply, sizeof reply - 1);
      ::close(c);
    });
  }
  ~OneAnswer() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// The first IPv4 address of interface `name` on the host, or "".
std::string ipv4Of(const std::string& name) {
  ifaddrs* all = nullptr;
  if (name.empty() || ::getifaddrs(&all) != 0) return "";
  std::string out;
  for (ifaddrs* a = all; a && out.empty(); a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || name != a->ifa_name) continue;
    char text[INET_ADDRSTRLEN];
    if (::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text))
      out = text;
  }
  ::freeifaddrs(all);
  return out;
}

TEST_F(ContainerRuntime, FullNetworkThroughCocosGateway) {
  if (runtimeName() == "docker") {
    // docker's full network is its own bridge, which coco does not touch. tests/run-all starts
    // dockerd with --iptables=false (as the issue asks), so nothing is masqueraded out to the
    // npm registry; the bridge's own host address needs no NAT: a server there must answer.
    // The bridge's gateway; docker 20.10 leaves it out of the IPAM config when its daemon
    // created the bridge interface itself (the first dockerd since boot): then the interface's
    // own address, which is the same one.
    RunResult gw = hostShell(RuntimeWorld::get().cmd(
        "network inspect bridge --format "
        "'{{(index .IPAM.Config 0).Gateway}}/{{index .Options \"com.docker.network.bridge.name\"}}'"));
    std::string line = gw.out.substr(0, gw.out.find('\n'));
    size_t slash = line.find('/');
    std::string ip = line.substr(0, slash);
    if (ip.empty() && slash != std::string::npos) ip = ipv4Of(line.substr(slash + 1));
    ASSERT_FALSE(ip.empty()) << "no address on docker's bridge: " << describe(gw);
    OneAnswer server(ip);
    ASSERT_NE(server.port(), 0) << "cannot listen on " << ip;
    env_.writeTool("fullsh", R"({"command": "sh"})");
    auto r = coco({"run", "fullsh", "-c",
                   "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sed 's/^/iface=/'\n"
                   "wget -q -O - http://" + ip + ":" + std::to_string(server.port()) + "/"});
    EXPECT_EQ(r.exitCode, 0) << describe(r);
    EXPECT_TRUE(contains(r.out, "iface=eth0\n")) << "no interface of docker's bridge\n" << describe(r);
    EXPECT_TRUE(contains(r.out, "answered-by-the-host\n")) << describe(r);
    return;
  }
  std::string host = registryHost();
  ASSERT_FALSE(host.empty()) << "npm config get registry gave no host";
  env_.writeTool("fullsh", R"({"command": "sh"})");
  auto r = coco({"run", "fullsh", "-c", networkScript(host)});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "iface=lo\n")) << describe(r);
  EXPECT_TRUE(contains(r.out, "HTTP/1.")) << "the host did not answer\n" << describe(r);
}

// Published ports with allowed_hosts: the gateway binds them on the host and connects into the
// container's namespace (the helper makes each socket there).
TEST_F(ContainerRuntime, PortsPublishedThroughTheGateway) {
  std::string host = registryHost();
  ASSERT_FALSE(host.empty());
  int port = 20000 + ::getpid() % 20000;
  env_.writeTool("serve", R"({"command": "sh", "allowed_hosts": [")" + host + R"("], "ports": ["127.0.0.1:)" +
                              std::to_string(port) + R"(:8080"]})");
  if (runtimeName() == "docker") {  // refused, never run with docker's own network instead
    auto r = coco({"run", "serve", "-c", "true"});
    EXPECT_EQ(r.exitCode, 125) << describe(r);
    EXPECT_TRUE(contains(r.err, "docker has no --network ns:PATH")) << describe(r);
    return;
  }
  Child child = spawn({"run", "serve", "-c", "echo listening; echo served-from-the-container | nc -l -p 8080"});
  ASSERT_TRUE(waitForOutput(child, "listening\n", 90s)) << child.out << child.err;
  std::string got;
  for (int i = 0; i < 50 && !contains(got, "served-from-the-container"); ++i) {
    got = hostShell("exec bash -c " + shellQuote("exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port) +
                                                 " && timeout 5 cat <&3"),
                    10).out;
    if (!contains(got, "served-from-the-container")) std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(contains(got, "served-from-the-container")) << got << child.out << child.err;
  ::kill(child.pid, SIGTERM);
  finish(child, 60s);
}

// Attack: under allowed_hosts the container shares the network namespace coco's gateway serves;
// were the tool able to change its routes or nftables there, it could route around the gateway.
// Raw netlink requests (the probe image has no ip or nft) are refused with EPERM. docker
// cannot run allowed_hosts at all: refused.
TEST_F(ContainerRuntime, GatewayNamespaceRoutesAndNftablesCannotBeChanged) {
  std::string host = registryHost();
  ASSERT_FALSE(host.empty()) << "npm config get registry gave no host";
  env_.writeTool("netadmin", R"({"command": "sh", "allowed_hosts": [")" + host + R"("]})");
  auto r = coco({"run", "netadmin", "-c", "echo route=$(probe route-add); echo nft=$(probe nft-add-table)"});
  if (runtimeName() == "docker") {
    EXPECT_EQ(r.exitCode, 125) << describe(r);
    EXPECT_TRUE(contains(r.err, "docker has no --network ns:PATH")) << describe(r);
    return;
  }
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "route=denied EPERM\n")) << describe(r);
  EXPECT_TRUE(contains(r.out, "nft=denied EPERM\n")) << describe(r);
}

// Attack first: what the host later runs or trusts (.git/hooks, .git/config, a new .envrc) stays
// out of the tool's reach in a writable workspace, as under the native runtime.
TEST_F(ContainerRuntime, WorkspaceGuardHoldsInTheContainer) {
  std::string ws = env_.workdir() + "/ws";
  fs::create_directories(ws);
  RunResult git = hostShell("git -C '" + ws + "' init -q");
  ASSERT_EQ(git.exitCode, 0) << git.out;
  writeFile(ws + "/file.txt", "old\n");
  std::string config = readFile(ws + "/.git/config");
  env_.writeTool("guarded", R"({"command": "sh", "network": "none",
                               "mounts": [{"src": ".", "dst": "/workspace", "opts": "rw"}]})");
  RunOptions o;
  o.cwd = ws;
  auto r = coco({"run", "guarded", "-c",
                 "echo new > file.txt; "
                 "mkdir -p .git/hooks; echo 'exit 0' > .git/hooks/pre-commit && echo HOOK-WRITTEN; "
                 "echo '[core]' >> .git/config && echo CONFIG-WRITTEN; "
                 "echo 'echo pwned' > .envrc; "
                 "mv .git .git-moved && echo GIT-MOVED; true"},
                o);
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(readFile(ws + "/file.txt"), "new\n") << "the workspace itself must stay writable";
  EXPECT_FALSE(contains(r.out, "HOOK-WRITTEN")) << describe(r);
  EXPECT_FALSE(contains(r.out, "CONFIG-WRITTEN")) << describe(r);
  EXPECT_FALSE(contains(r.out, "GIT-MOVED")) << describe(r);
  EXPECT_FALSE(fs::exists(ws + "/.git/hooks/pre-commit"));
  EXPECT_EQ(readFile(ws + "/.git/config"), config);
  EXPECT_FALSE(fs::exists(ws + "/.envrc")) << "a new .envrc must be removed";
  EXPECT_TRUE(contains(r.err, ".envrc")) << "the removal is reported\n" << describe(r);
}

// `coco rebuild` under podman/docker where no registry serves a base image (as here): coco's
// native base (COCO_BASE_IMAGE: a published one, here the test rootfs as a tar, without
// /workspace) is imported into the runtime, and a config without a `.` mount runs in /workspace.
TEST_F(ContainerRuntime, RebuildImportsTheNativeBase) {
  const char* rootfs = getenv("COCO_TEST_ROOTFS");
  ASSERT_NE(rootfs, nullptr);
  std::string base = env_.workdir() + "/base";
  RunResult made =
      hostShell("cp -R -P '" + std::string(rootfs) + "' '" + base + "' && rm -rf '" + base +
                    "/workspace' && mkdir -p '" + base + "/etc/coco' && echo probe=1 > '" + base +
                    "/etc/coco/runtime-versions' && tar -C '" + base + "' -cf '" + base + ".tar' .",
                300);
  ASSERT_EQ(made.exitCode, 0) << made.out;
  std::string target = "localhost/coco-test-rebuild:" + std::to_string(getpid());
  RunOptions o;
  o.env = {{"COCO_BASE_IMAGE", "rootfs:" + base + ".tar"},
           {"COCO_STORAGE", env_.workdir() + "/storage"},
           {"COCO_IMAGE", target}};
  auto r = coco({"rebuild"}, o);
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, target)) << describe(r);
  RunResult label = hostShell(
      RuntimeWorld::get().cmd("image inspect --format '{{index .Config.Labels \"coco.base\"}}' " + target));
  EXPECT_EQ(label.exitCode, 0) << label.out;
  EXPECT_EQ(label.out.size(), 65u) << "a sha256 hex digest and a newline: " << label.out;
  env_.writeTool("noworkspace", R"({"command": "sh", "network": "none"})");
  r = coco({"run", "noworkspace", "-c", "pwd; probe exit 0"}, o);
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "/workspace\n") << describe(r);
  hostShell(RuntimeWorld::get().cmd("rmi -f " + target));
}

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = getenv(name);
  return v && *v ? v : fallback;
}

constexpr const char* kBaseImage = "localhost/coco-test-base:latest";

RunOptions options(EnvList env, int timeoutSecs) {
  RunOptions o;
  o.env = std::move(env);
  o.timeoutSecs = timeoutSecs;
  return o;
}

// coco's native base, imported into the runtime (`coco rebuild`) as the image install tests run,
// and a storage and download cache of the test program's own: set up once, by the first test.
class InstallWorld {
 public:
  static InstallWorld& get(const Env& env) {
    static InstallWorld world(env);
    return world;
  }
  const std::string& error() const { return error_; }
  const std::string& skip() const { return skip_; }
  const EnvList& env() const { return env_; }
  std::string storage() const { return dir_.path() + "/storage"; }

 private:
  explicit InstallWorld(const Env& env) {
    std::string base = baseReference(env);
    if (base.empty()) return;
    env_ = {{"COCO_STORAGE", storage()},
            {"XDG_CACHE_HOME", dir_.path() + "/cache"},
            {"COCO_BASE_IMAGE", base},
            {"COCO_IMAGE", kBaseImage}};
    EnvList rebuild = RuntimeWorld::get().env();
    rebuild.insert(rebuild.end(), env_.begin(), env_.end());
    auto start = std::chrono::steady_clock::now();
    auto r = env.run({"rebuild"}, options(rebuild, 900));
    std::printf("[ timing ] coco rebuild (the native base imported into %s): %.1fs\n", runtimeName().c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (r.exitCode != 0) error_ = "coco rebuild under " + runtimeName() + ": " + describe(r);
  }

  // COCO_BASE_IMAGE, or the e2e tests' base saved as an OCI layout; "" with skip_ or error_ set.
  std::string baseReference(const Env& env) {
    if (const char* published = getenv("COCO_BASE_IMAGE"); published && *published) return published;
    std::string store =
        envOr("COCO_TEST_E2E_STORE", envOr("HOME", "/nonexistent") + "/.local/share/coco-e2e-test");
    EnvList native = {{"COCO_STORAGE", store}, {"COCO_IMAGE", ""}, {"COCO_RUNTIME", "native"}};
    if (!fs::exists(store + "/images/coco-base.json")) {
      auto built = env.run({"rebuild"}, options(native, 1800));
      // As in the e2e tests: without a registry the base is bootstrapped, which needs a subuid range.
      if (built.exitCode != 0 && contains(built.err, "not reachable") && contains(built.err, "/etc/subuid")) {
        skip_ =
            "no base image: no registry reachable, and bootstrapping Debian needs a subuid range this user "
            "lacks";
        return "";
      }
      if (built.exitCode != 0) {
        error_ = "building the base image: " + describe(built);
        return "";
      }
    }
    std::string layout = dir_.path() + "/base.oci";
    auto saved = env.run({"save", "-o", layout, "coco-base"}, options(native, 600));
    if (saved.exitCode != 0) {
      error_ = "coco save of the e2e tests' base image: " + describe(saved);
      return "";
    }
    return "oci:" + layout;
  }

 public:
  ~InstallWorld() { hostShell(RuntimeWorld::get().cmd(std::string("rmi -f ") + kBaseImage)); }

 private:
  TempDir dir_{"coco-install"};
  EnvList env_;
  std::string error_, skip_;
};

class ContainerInstall : public ContainerRuntime {
 protected:
  void SetUp() override {
    ContainerRuntime::SetUp();
    if (HasFatalFailure()) return;
    COCO_REQUIRE_SANDBOX();  // the install runs in coco's own sandbox
    const auto& world = InstallWorld::get(env_);
    if (!world.skip().empty()) {
      if (inCi()) FAIL() << world.skip();
      GTEST_SKIP() << world.skip();
    }
    if (!world.error().empty()) FAIL() << world.error();
    ws_ = env_.workdir() + "/project";
    fs::create_directories(ws_);
  }

  RunResult installed(const std::vector<std::string>& args, EnvList extra = {}, int timeoutSecs = 120) {
    EnvList env = InstallWorld::get(env_).env();
    env.insert(env.end(), extra.begin(), extra.end());
    RunOptions o;
    o.env = std::move(env);
    o.cwd = ws_;
    o.timeoutSecs = timeoutSecs;
    return coco(args, o);
  }

  // The tool's committed layer directory in the storage ("" when there is none).
  std::string layerDir(const std::string& tool) {
    std::error_code ec;
    for (const auto& e :
         fs::directory_iterator(InstallWorld::get(env_).storage() + "/tool-layers/" + tool, ec))
      if (e.is_directory() && e.path().filename().string()[0] != '.') return e.path().string() + "/layer";
    return "";
  }

  std::string ws_;
};

// Attack first: the tool's own install is in the container, and read-only there. The tool (as
// the container's root, which podman maps to the user) tries to rewrite its executable and config,
// plant, remove and chmod entries and remount; all of it fails and the host's layer is unchanged.
TEST_F(ContainerInstall, TheToolCannotWriteItsOwnInstall) {
  // eslint's install, started as a shell (its own layer, apart from the next test's eslint).
  env_.writeTool("eslint-attack", R"({"tool": "npm:eslint", "command": "sh", "check": ["-c", "exit 0"],
                                       "network": "none"})");
  auto r = installed({"run", "eslint-attack", "-c", "exit 0"}, {}, 900);
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  ASSERT_TRUE(contains(r.err, "installed eslint-attack")) << describe(r);
  std::string layer = layerDir("eslint-attack");
  ASSERT_FALSE(layer.empty());
  std::string before = treeState(layer);
  r = installed({"run", "eslint-attack", "-c", R"(
d=/opt/mise/npm-eslint
test -f $d/latest/bin/eslint && echo SEES-ITS-INSTALL
echo pwned > $d/latest/bin/eslint && echo WROTE-BIN
echo pwned >> /root/.config/mise/config.toml && echo WROTE-CONFIG
mkdir $d/planted && echo MADE-DIR
rm -f $d/latest && echo REMOVED
touch /root/.local/state/planted && echo PLANTED
chmod 777 $d && echo CHMODDED
mount -o remount,rw $d && echo REMOUNTED
umount $d && echo UNMOUNTED
mount -o remount,rw /opt/mise && echo REMOUNTED-TOP
umount /opt/mise && echo UNMOUNTED-TOP
true)"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "SEES-ITS-INSTALL")) << "the attack must reach the install\n" << describe(r);
  for (const char* done :
       {"WROTE-BIN", "WROTE-CONFIG", "MADE-DIR", "REMOVED", "PLANTED", "CHMODDED", "REMOUNTED", "UNMOUNTED",
        "REMOUNTED-TOP", "UNMOUNTED-TOP"})
    EXPECT_FALSE(contains(r.out, done)) << done << "\n" << describe(r);
  EXPECT_TRUE(contains(r.err, "Read-only file system")) << describe(r);
  EXPECT_EQ(treeState(layer), before) << "the host's layer changed";
}

// The issue's acceptance: eslint from the store, installed on its first run (coco's native install)
// and linting in the container with the exit code and output the native runtime gives; the next
// run installs nothing and prints nothing of coco's own.
TEST_F(ContainerInstall, EslintFromTheStoreInstalledOnFirstRunAndLinting) {
  auto got = installed({"get", "eslint"});
  ASSERT_EQ(got.exitCode, 0) << describe(got);
  writeFile(ws_ + "/eslint.config.mjs",
            "export default [{\n"
            "  files: [\"**/*.js\"],\n"
            "  languageOptions: { sourceType: \"module\", globals: { console: \"readonly\" } },\n"
            "  rules: { \"no-unused-vars\": \"error\", \"no-undef\": \"error\", \"eqeqeq\": \"warn\" },\n"
            "}];\n");
  writeFile(
      ws_ + "/bad.js",
      "const unused = 1;\nexport function f(a) {\n  if (a == 2) return missing(a);\n  console.log(a);\n}\n");
  writeFile(ws_ + "/package.json", "{\"type\": \"module\"}\n");
  auto list = installed({"list"});
  EXPECT_TRUE(contains(list.out, "eslint  not installed\n")) << describe(list);

  auto first = installed({"run", "eslint", "."}, {}, 900);
  EXPECT_EQ(first.exitCode, 1) << describe(first);
  EXPECT_TRUE(contains(first.err, "installing eslint (npm:eslint)")) << describe(first);
  EXPECT_TRUE(contains(first.out, "/workspace/bad.js")) << describe(first);
  EXPECT_TRUE(contains(first.out, "'unused' is assigned a value but never used")) << describe(first);
  EXPECT_TRUE(contains(first.out, "'missing' is not defined")) << describe(first);

  auto warm = installed({"run", "eslint", "."});
  EXPECT_EQ(warm.exitCode, 1) << describe(warm);
  EXPECT_EQ(warm.out, first.out);
  std::string coco = warm.err;
  // Root (docker's run in tests/run-all) is told on every run that the sandbox's root is the real one.
  if (size_t at = coco.find("coco: warning: coco runs as root"); ::geteuid() == 0 && at != std::string::npos)
    coco.erase(at, coco.find('\n', at) - at + 1);
  EXPECT_EQ(coco, "") << "a warm run installs nothing and prints nothing of coco's own (but root's warning)";
  list = installed({"list"});
  EXPECT_TRUE(contains(list.out, "eslint  installed 1")) << describe(list);

  // The native runtime runs the same layer (no second install) with the same result.
  auto native = installed({"run", "eslint", "."}, {{"COCO_RUNTIME", "native"}, {"COCO_IMAGE", ""}});
  EXPECT_EQ(native.exitCode, warm.exitCode) << describe(native);
  EXPECT_EQ(native.out, warm.out);
  EXPECT_FALSE(contains(native.err, "installing")) << describe(native);
}

// A tool to install with no native base, or an image `coco rebuild` did not make from the current
// one: refused, saying what to do (never 127 from a container without the tool).
TEST_F(ContainerInstall, InstallWithoutTheImportedBaseIsRefusedWithAClearMessage) {
  env_.writeTool("eslint-nobase", R"({"tool": "npm:eslint", "network": "none"})");
  auto r =
      installed({"run", "eslint-nobase", "--version"}, {{"COCO_STORAGE", env_.workdir() + "/empty-storage"}});
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "there is no native base image to install on")) << describe(r);
  EXPECT_TRUE(contains(r.err, "coco rebuild")) << describe(r);
  r = installed({"run", "eslint-nobase", "--version"}, {{"COCO_IMAGE", kImage}});
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(
      contains(r.err, std::string("image ") + kImage + " was not imported from coco's native base image"))
      << describe(r);
  EXPECT_FALSE(fs::exists(InstallWorld::get(env_).storage() + "/tool-layers/eslint-nobase"))
      << "nothing installed";
}

// `coco prune --all` under podman/docker removes the tool layers runs use, and `coco list` says so.
TEST_F(ContainerInstall, PruneRemovesTheInstalledLayers) {
  env_.writeTool("eslint-attack", R"({"tool": "npm:eslint", "command": "sh", "check": ["-c", "exit 0"],
                                       "network": "none"})");
  auto list = installed({"list"});
  ASSERT_TRUE(contains(list.out, "eslint-attack  installed")) << describe(list);
  auto pruned = installed({"prune", "--all"});
  EXPECT_EQ(pruned.exitCode, 0) << describe(pruned);
  list = installed({"list"});
  EXPECT_TRUE(contains(list.out, "eslint-attack  not installed\n")) << describe(list);
  EXPECT_EQ(layerDir("eslint-attack"), "");
}

// The tool's own images in the runtime's storage (by their label), one reference a line.
std::vector<std::string> toolImages(const std::string& tool) {
  RunResult r = hostShell(RuntimeWorld::get().cmd("images --filter label=coco.tool=" + tool +
                                                  " --format '{{.Repository}}:{{.Tag}}'"));
  EXPECT_EQ(r.exitCode, 0) << r.out;
  std::vector<std::string> out;
  for (const auto& line : lines(r.out))
    if (!line.empty()) out.push_back(line);
  std::sort(out.begin(), out.end());
  return out;
}

std::string imageId(const std::string& image) {
  return hostShell(RuntimeWorld::get().cmd("image inspect --format '{{.Id}}' " + image)).out;
}

// coco's own lines on stderr, but root's warning (docker's run in tests/run-all) that comes every run.
std::string cocoLines(std::string err) {
  if (size_t at = err.find("coco: warning: coco runs as root"); ::geteuid() == 0 && at != std::string::npos)
    err.erase(at, err.find('\n', at) - at + 1);
  return err;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Attack first: a tool with apt dependencies (files over /usr, /etc and /var, which binds cannot
// show) runs in an image of its own. What it does to its install there dies with its container, as
// it dies with the native runtime's scratch layer: the next run finds the install as it was, and
// neither the image nor the host's layer changed.
TEST_F(ContainerInstall, AptToolCannotChangeItsOwnImage) {
  env_.writeTool("jq-attack", R"({"command": "sh", "dependencies": {"apt": ["jq"]}, "network": "none"})");
  auto r = installed({"run", "jq-attack", "-c", "jq -n '[1, 2] | add' && sha256sum /usr/bin/jq"}, {}, 900);
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  ASSERT_TRUE(contains(r.out, "3\n")) << describe(r);
  ASSERT_TRUE(contains(r.err, "runs in " + runtimeName() + "'s image localhost/coco-tool-jq-attack:"))
      << describe(r);
  std::string sum = r.out.substr(r.out.find("3\n") + 2);
  auto images = toolImages("jq-attack");
  ASSERT_EQ(images.size(), 1u);
  std::string id = imageId(images[0]);
  std::string layer = layerDir("jq-attack");
  ASSERT_FALSE(layer.empty());
  std::string before = treeState(layer);
  r = installed({"run", "jq-attack", "-c", R"(
echo pwned > /usr/bin/jq
rm -rf /usr/share/doc/jq
echo pwned >> /etc/passwd
touch /usr/bin/planted
true)"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  r = installed({"run", "jq-attack", "-c",
                 "sha256sum /usr/bin/jq; test -e /usr/bin/planted && echo STILL-PLANTED; "
                 "test -d /usr/share/doc/jq && echo DOC-THERE; grep -c pwned /etc/passwd; jq -n 1"});
  EXPECT_EQ(r.out, sum + "DOC-THERE\n0\n1\n") << describe(r);
  EXPECT_EQ(cocoLines(r.err), "") << "a warm run makes no image";
  EXPECT_EQ(toolImages("jq-attack"), images);
  EXPECT_EQ(imageId(images[0]), id) << "the image changed";
  EXPECT_EQ(treeState(layer), before) << "the host's layer changed";
  EXPECT_EQ(RuntimeWorld::get().containers("coco-jq-attack-"), "");
  installed({"prune", "--all"});
}

// The issue's acceptance for apt tools: installed on the first run and run in the tool's image,
// reused without a word, `coco list` names it, the native runtime runs the same layer; a config
// change installs again into a new image, and `coco prune` removes the old one (--all every one).
TEST_F(ContainerInstall, AptToolRunsInItsImageAndPruneRemovesTheOldOne) {
  const std::string rt = runtimeName();
  env_.writeTool("jqtool", R"({"command": "jq", "dependencies": {"apt": ["jq"]}, "network": "none"})");
  auto start = std::chrono::steady_clock::now();
  auto first = installed({"run", "jqtool", "-n", "[1, 2] | add"}, {}, 900);
  double firstSecs = secondsSince(start);
  ASSERT_EQ(first.exitCode, 0) << describe(first);
  EXPECT_EQ(first.out, "3\n") << describe(first);
  EXPECT_TRUE(contains(first.err, "installing the dependencies of jqtool")) << describe(first);
  EXPECT_TRUE(contains(first.err, "jqtool runs in " + rt + "'s image localhost/coco-tool-jqtool:"))
      << describe(first);
  auto images = toolImages("jqtool");
  ASSERT_EQ(images.size(), 1u);
  const std::string old = images[0];

  start = std::chrono::steady_clock::now();
  auto warm = installed({"run", "jqtool", "-n", "\"warm\""});
  double warmSecs = secondsSince(start);
  EXPECT_EQ(warm.out, "\"warm\"\n") << describe(warm);
  EXPECT_EQ(cocoLines(warm.err), "") << describe(warm);
  auto list = installed({"list"});
  EXPECT_TRUE(contains(list.out, "jqtool  installed")) << describe(list);
  EXPECT_TRUE(contains(list.out, "(" + rt + " image " + old + ")")) << describe(list);
  auto native =
      installed({"run", "jqtool", "-n", "[1, 2] | add"}, {{"COCO_RUNTIME", "native"}, {"COCO_IMAGE", ""}});
  EXPECT_EQ(native.out, "3\n") << describe(native);
  EXPECT_FALSE(contains(native.err, "installing")) << describe(native);

  // The image gone (and only the image): made again from the installed layer, nothing installed.
  ASSERT_EQ(hostShell(RuntimeWorld::get().cmd("rmi " + old)).exitCode, 0);
  start = std::chrono::steady_clock::now();
  auto remade = installed({"run", "jqtool", "-n", "[1, 2] | add"});
  double remadeSecs = secondsSince(start);
  EXPECT_EQ(remade.out, "3\n") << describe(remade);
  EXPECT_FALSE(contains(remade.err, "installing")) << describe(remade);
  EXPECT_TRUE(contains(remade.err, "runs in " + rt + "'s image " + old)) << describe(remade);
  std::printf(
      "[ timing ] jq under %s: first run (apt install, image) %.1fs, warm run %.1fs, run that makes the "
      "image again (export and load) %.1fs\n",
      rt.c_str(), firstSecs, warmSecs, remadeSecs);
  // In the XML results too (tests/run-all shows only failing cases' output).
  RecordProperty("first_run_seconds", std::to_string(firstSecs));
  RecordProperty("warm_run_seconds", std::to_string(warmSecs));
  RecordProperty("image_made_again_seconds", std::to_string(remadeSecs));

  env_.writeTool("jqtool", R"({"command": "jq", "dependencies": {"apt": ["jq"]}, "network": "none",
                               "env": {"JQTOOL": "2"}})");
  auto changed = installed({"run", "jqtool", "-n", "env.JQTOOL"}, {}, 900);
  EXPECT_EQ(changed.out, "\"2\"\n") << describe(changed);
  images = toolImages("jqtool");
  ASSERT_EQ(images.size(), 2u) << "the old image stays until prune";
  std::string current = images[0] == old ? images[1] : images[0];
  EXPECT_NE(current, old);
  auto pruned = installed({"prune"});
  EXPECT_EQ(pruned.exitCode, 0) << describe(pruned);
  EXPECT_TRUE(contains(pruned.out, "removed " + rt + " tool images: 1\n")) << describe(pruned);
  EXPECT_EQ(toolImages("jqtool"), std::vector<std::string>{current});
  list = installed({"list"});
  EXPECT_TRUE(contains(list.out, "(" + rt + " image " + current + ")")) << describe(list);
  auto again = installed({"run", "jqtool", "-n", "env.JQTOOL"});
  EXPECT_EQ(again.out, "\"2\"\n") << describe(again);
  EXPECT_EQ(cocoLines(again.err), "") << describe(again);

  pruned = installed({"prune", "--all"});
  EXPECT_EQ(pruned.exitCode, 0) << describe(pruned);
  EXPECT_TRUE(toolImages("jqtool").empty());
}

}  // namespace
}  // namespace cocotest
