// COCO_RUNTIME=podman (and docker) against the real runtime: exit codes and signals as native
// gives them, no container outliving coco, the environment off every command line, the workspace
// guard, refusals instead of silent drops.
//
// COCO_TEST_RUNTIME picks the runtime ("podman", the default, or "docker"). For podman the test
// makes its own configuration and storage (runc, cgroupfs, overlay, under TMPDIR) and passes them
// with CONTAINERS_CONF and CONTAINERS_STORAGE_CONF; for docker it uses DOCKER_HOST (tests/run-all
// starts a dockerd of its own, as root). Either way it imports the test rootfs (busybox and the
// probe) as the image the runs use.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

// A shell command's stdout (stderr joins it), and its exit status.
std::pair<int, std::string> shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
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
    auto [rc, out] = shell(cmd("ps -a --format '{{.Names}}'"));
    std::string found;
    for (const auto& line : lines(out))
      if (line.rfind(prefix, 0) == 0) found += line + "\n";
    if (rc != 0) found += "(ps failed: " + out + ")";
    return found;
  }

 private:
  RuntimeWorld() : runtime_(runtimeName()), dir_("coco-runtime") {
    fs::create_directories(dir_.path() + "/xdg");
    fs::permissions(dir_.path() + "/xdg", fs::perms::owner_all, fs::perm_options::replace);
    setenv("XDG_RUNTIME_DIR", (dir_.path() + "/xdg").c_str(), 1);  // the harness passes it to coco
    if (runtime_ == "podman") setUpPodman();
    if (!error_.empty()) return;
    const char* rootfs = getenv("COCO_TEST_ROOTFS");
    if (!rootfs || !*rootfs) {
      error_ = "COCO_TEST_ROOTFS is not set";
      return;
    }
    auto [rc, out] =
        shell("tar -C '" + std::string(rootfs) + "' -c . | " + cmd(std::string("import - ") + kImage));
    if (rc != 0) error_ = runtime_ + " import of the test rootfs failed: " + out;
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
                                       "/graph\"\nrunroot = \"" + d + "/run\"\n");
    setenv("CONTAINERS_CONF", (d + "/containers.conf").c_str(), 1);
    setenv("CONTAINERS_STORAGE_CONF", (d + "/storage.conf").c_str(), 1);
    env_ = {{"CONTAINERS_CONF", d + "/containers.conf"}, {"CONTAINERS_STORAGE_CONF", d + "/storage.conf"}};
    auto [rc, out] = shell("podman --version");
    if (rc != 0) error_ = "podman is not installed (tests/run-all installs it): " + out;
  }

 public:
  ~RuntimeWorld() {
    // Storage written by other ids of the user namespace goes through podman's own namespace.
    if (runtime_ != "podman") return;
    shell("podman unshare rm -rf '" + dir_.path() + "/graph' '" + dir_.path() + "/run'");
    // podman's pause process for this runtime directory (it holds the user namespace) goes too.
    std::string pid = readFile(dir_.path() + "/xdg/libpod/tmp/pause.pid");
    if (!pid.empty() && std::atoi(pid.c_str()) > 1) ::kill(std::atoi(pid.c_str()), SIGTERM);
  }

 private:
  std::string runtime_;
  TempDir dir_;
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
      auto [rc, out] = shell(RuntimeWorld::get().cmd("ps --format '{{.Names}}'"));
      for (const auto& line : lines(out))
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
  auto [rc, out] = shell("find '" + std::string(xdg) + "' -name 'container-env.*'");
  EXPECT_EQ(out, "") << "env files left behind";
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
  auto [rc, out] = shell("npm config get registry");
  std::string url = lines(out).empty() ? "" : lines(out).back();
  size_t start = url.find("://");
  if (rc != 0 || start == std::string::npos) return "";
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
TEST_F(ContainerRuntime, FullNetworkThroughCocosGateway) {
  if (runtimeName() == "docker") GTEST_SKIP() << "docker's full network is its own bridge; coco adds nothing";
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
  if (runtimeName() == "docker") GTEST_SKIP() << "docker refuses allowed_hosts (AllowedHostsHoldThroughCocosGateway)";
  std::string host = registryHost();
  ASSERT_FALSE(host.empty());
  int port = 20000 + ::getpid() % 20000;
  env_.writeTool("serve", R"({"command": "sh", "allowed_hosts": [")" + host + R"("], "ports": ["127.0.0.1:)" +
                              std::to_string(port) + R"(:8080"]})");
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

// Attack first: what the host later runs or trusts (.git/hooks, .git/config, a new .envrc) stays
// out of the tool's reach in a writable workspace, as under the native runtime.
TEST_F(ContainerRuntime, WorkspaceGuardHoldsInTheContainer) {
  std::string ws = env_.workdir() + "/ws";
  fs::create_directories(ws);
  auto [rc, out] = shell("git -C '" + ws + "' init -q");
  ASSERT_EQ(rc, 0) << out;
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
  auto [rc, out] = shell("cp -R -P '" + std::string(rootfs) + "' '" + base + "' && rm -rf '" + base +
                         "/workspace' && mkdir -p '" + base + "/etc/coco' && echo probe=1 > '" + base +
                         "/etc/coco/runtime-versions' && tar -C '" + base + "' -cf '" + base + ".tar' .");
  ASSERT_EQ(rc, 0) << out;
  std::string target = "localhost/coco-test-rebuild:" + std::to_string(getpid());
  RunOptions o;
  o.env = {{"COCO_BASE_IMAGE", "rootfs:" + base + ".tar"},
           {"COCO_STORAGE", env_.workdir() + "/storage"},
           {"COCO_IMAGE", target}};
  auto r = coco({"rebuild"}, o);
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, target)) << describe(r);
  auto [irc, label] = shell(
      RuntimeWorld::get().cmd("image inspect --format '{{index .Config.Labels \"coco.base\"}}' " + target));
  EXPECT_EQ(irc, 0) << label;
  EXPECT_EQ(label.size(), 65u) << "a sha256 hex digest and a newline: " << label;
  env_.writeTool("noworkspace", R"({"command": "sh", "network": "none"})");
  r = coco({"run", "noworkspace", "-c", "pwd; probe exit 0"}, o);
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "/workspace\n") << describe(r);
  shell(RuntimeWorld::get().cmd("rmi -f " + target));
}

}  // namespace
}  // namespace cocotest
