// The native sandbox seen from inside: what a tool must be denied, and what must still work.
#include <elf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "util/unique_fd.hpp"

namespace fs = std::filesystem;
using coco::UniqueFd;
using namespace std::chrono_literals;

namespace cocotest {
namespace {

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    COCO_REQUIRE_SANDBOX();
    env_.writeTool("probe", probeTool());
  }

  RunResult probe(const std::vector<std::string>& args, const RunOptions& opts = {}) {
    std::vector<std::string> full = {"run", "probe"};
    full.insert(full.end(), args.begin(), args.end());
    return env_.run(full, opts);
  }

  Env env_;
};

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exitCode) + (r.timedOut ? " (timed out)" : "") +
         "\n--- stdout ---\n" + r.out + "--- stderr ---\n" + r.err;
}

struct MapLine {
  unsigned long inside, outside, count;
};

std::vector<MapLine> parseMap(const std::vector<std::string>& all, const std::string& header) {
  std::vector<MapLine> out;
  bool in = false;
  for (const auto& line : all) {
    if (line == header) {
      in = true;
      continue;
    }
    if (!in) continue;
    std::istringstream ss(line);
    MapLine m{};
    if (!(ss >> m.inside >> m.outside >> m.count)) break;
    out.push_back(m);
  }
  return out;
}

// The user's first range in /etc/subuid (or subgid), by name or by uid (not by
// gid: newgidmap looks up the user), of at least 65536 ids.
bool subRange(const char* file, unsigned long& start, unsigned long& count) {
  std::ifstream in(file);
  std::string line;
  struct passwd* pw = getpwuid(getuid());
  std::string name = pw ? pw->pw_name : "";
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string who, s, c;
    if (!std::getline(ss, who, ':') || !std::getline(ss, s, ':') || !std::getline(ss, c)) continue;
    if ((who == name || who == std::to_string(getuid())) && std::stoul(c) >= 65536) {
      start = std::stoul(s);
      count = std::stoul(c);
      return true;
    }
  }
  return false;
}

// --- it runs, in the rootfs it was given ---------------------------------

TEST_F(EngineTest, RunsProbeFromTheTestRootfs) {
  RunResult r = probe({"cat", "/etc/coco-test-rootfs"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "coco-test-rootfs\n");
}

TEST_F(EngineTest, CwdIsWorkdir) {
  RunResult r = probe({"cwd"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "/workspace\n");

  env_.writeTool("probe-tmp", probeTool(R"("workdir": "/tmp")"));
  r = env_.run({"run", "probe-tmp", "cwd"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "/tmp\n");
}

// --- identity ---------------------------------------------------------------

// The maps in `all` (lines "uid_map:", map lines, "gid_map:", map lines) are the ones
// this user's mode gives: 0 -> the user, and 1.. -> the /etc/subuid range with one.
void expectUserMaps(const std::vector<std::string>& all, const std::string& text) {
  const char* modeEnv = getenv("COCO_TEST_IDMAP");
  std::string mode = modeEnv ? modeEnv : "";
  for (const char* which : {"uid", "gid"}) {
    bool isUid = std::string(which) == "uid";
    auto map = parseMap(all, std::string(which) + "_map:");
    unsigned long self = isUid ? getuid() : getgid();
    ASSERT_GE(map.size(), 1u) << text;
    EXPECT_EQ(map[0].inside, 0u) << text;
    EXPECT_EQ(map[0].outside, self) << text;
    EXPECT_EQ(map[0].count, 1u) << text;
    if (mode == "single") {
      EXPECT_EQ(map.size(), 1u) << "single mode maps only 0 -> the user\n" << text;
    } else if (mode == "subuid") {
      unsigned long start = 0, count = 0;
      ASSERT_TRUE(subRange(isUid ? "/etc/subuid" : "/etc/subgid", start, count))
          << "COCO_TEST_IDMAP=subuid but this user has no range";
      ASSERT_EQ(map.size(), 2u) << text;
      EXPECT_EQ(map[1].inside, 1u);
      EXPECT_EQ(map[1].outside, start);
      EXPECT_EQ(map[1].count, 65536u) << "the range holds " << count;
    } else {
      // Run outside tests/run-all: either mode is right, but say which ran.
      std::cout << "[ note ] COCO_TEST_IDMAP unset; " << which << " map has " << map.size()
                << " line(s)\n";
      EXPECT_LE(map.size(), 2u);
    }
  }
}

// Without the user-namespace holder the sandbox's parent namespace is the host's, so its
// maps read from inside are the host ids (with the holder they read relative to the
// holder's namespace: TheHostSeesTheSameMapsWithAndWithoutTheHolder).
TEST_F(EngineTest, RunsAsRootInsideMappedToTheUser) {
  RunOptions noHolder;
  noHolder.env = {{"COCO_USERNS_HOLDER", "0"}};
  RunResult r = probe({"id"}, noHolder);
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  auto all = lines(r.out);
  ASSERT_FALSE(all.empty());
  EXPECT_TRUE(all[0].starts_with("uid=0 gid=0 euid=0 egid=0")) << r.out;
  expectUserMaps(all, r.out);
  const char* modeEnv = getenv("COCO_TEST_IDMAP");
  std::string mode = modeEnv ? modeEnv : "";
  if (mode == "single") {
    EXPECT_TRUE(contains(r.out, "setgroups: deny")) << r.out;
  }
}

// The ids a sandbox really has, read from the host while it runs: the same with the holder
// (where the sandbox's namespace is a child of the holder's) as without it.
TEST_F(EngineTest, TheHostSeesTheSameMapsWithAndWithoutTheHolder) {
  std::string ownMap = readFile("/proc/self/uid_map");
  for (std::string holder : {"1", "0"}) {
    std::string tag = "coco-maps-" + holder + "-" + std::to_string(getpid());
    RunOptions opts;
    opts.env = {{"COCO_USERNS_HOLDER", holder}};
    Child c = env_.spawn({"run", "probe", "signal-wait", "60", tag}, opts);
    ASSERT_TRUE(waitForOutput(c, "ready\n", 60s)) << c.out << c.err;
    std::string maps;
    for (pid_t pid : processesWithTag(tag)) {
      std::string proc = "/proc/" + std::to_string(pid);
      std::string uidMap = readFile(proc + "/uid_map");
      if (uidMap.empty() || uidMap == ownMap) continue;  // coco itself
      maps = "uid_map:\n" + uidMap + "gid_map:\n" + readFile(proc + "/gid_map");
      break;
    }
    kill(c.pid, SIGKILL);  // the sandbox dies with coco
    finish(c, 30s);
    ASSERT_FALSE(maps.empty()) << "COCO_USERNS_HOLDER=" << holder << ": no sandbox process found";
    SCOPED_TRACE("COCO_USERNS_HOLDER=" + holder);
    expectUserMaps(lines(maps), maps);
  }
}

// Layers are unpacked under the mapping the sandbox runs with, COCO_USERNS
// included: a file the image gives to uid 100 is uid 100 inside with the
// subordinate mapping and 0 with the single one, never the overflow id (or 0
// under a subordinate mapping) of a layer unpacked under the other.
TEST_F(EngineTest, ImageLayersAndTheSandboxShareOneMapping) {
  TempDir image("coco-idmap-image");
  fs::create_directories(image / "extra");
  writeFile(image / "extra/owned-by-100", "x\n");
  std::string tar = image / "image.tar";
  std::string make = "tar -C '" + env_.rootfs() + "' --numeric-owner --owner=0 --group=0 -cf '" + tar +
                     "' . && tar -C '" + image.path() + "/extra' --numeric-owner --owner=100 --group=100 -rf '" +
                     tar + "' owned-by-100";
  ASSERT_EQ(std::system(make.c_str()), 0) << make;
  const char* modeEnv = getenv("COCO_TEST_IDMAP");
  for (std::string userns : {"", "single"}) {
    RunOptions opts;
    opts.env = {{"COCO_IMAGE", "rootfs:" + tar}, {"COCO_STORAGE", image / ("store-" + userns)}};
    if (!userns.empty()) opts.env.emplace_back("COCO_USERNS", userns);
    RunResult stat = probe({"stat", "/owned-by-100"}, opts);
    ASSERT_EQ(stat.exitCode, 0) << describe(stat);
    RunResult id = probe({"id"}, opts);
    ASSERT_EQ(id.exitCode, 0) << describe(id);
    bool subordinate = parseMap(lines(id.out), "uid_map:").size() == 2;
    EXPECT_EQ(parseMap(lines(id.out), "gid_map:").size(), subordinate ? 2u : 1u) << id.out;
    std::string runner = modeEnv ? modeEnv : "";
    if (userns == "single" || runner == "single") {
      EXPECT_FALSE(subordinate) << "COCO_USERNS=" << userns;
    } else if (runner == "subuid") {
      EXPECT_TRUE(subordinate);
    }
    EXPECT_TRUE(stat.out.starts_with(subordinate ? "uid=100 gid=100 " : "uid=0 gid=0 "))
        << "COCO_USERNS=" << userns << ", " << (subordinate ? "subordinate" : "single") << " sandbox: " << stat.out;
  }
}

// --- what the sandbox must hide ----------------------------------------------

TEST_F(EngineTest, HostHomeIsInvisible) {
  struct passwd* pw = getpwuid(getuid());
  ASSERT_NE(pw, nullptr);
  std::string home = pw->pw_dir;
  std::string canary = home + "/.coco-test-canary-" + std::to_string(getpid());
  std::ofstream(canary) << "host-home-canary\n";
  bool haveCanary = fs::exists(canary);

  RunResult cat = probe({"cat", canary});
  RunResult ls = probe({"ls", home});
  RunResult lsHome = probe({"ls", "/home"});
  if (haveCanary) fs::remove(canary);

  if (!haveCanary) std::cout << "[ note ] could not create a canary in " << home << "\n";
  EXPECT_NE(cat.exitCode, 0) << describe(cat);
  EXPECT_FALSE(contains(cat.out, "host-home-canary")) << describe(cat);
  EXPECT_NE(ls.exitCode, 0) << "host home listed inside:\n" << describe(ls);
  EXPECT_FALSE(contains(lsHome.out, pw->pw_name)) << describe(lsHome);
}

TEST_F(EngineTest, HostRootAndEtcAreInvisible) {
  RunResult root = probe({"ls", "/root"});
  EXPECT_EQ(root.exitCode, 0) << describe(root);
  EXPECT_EQ(root.out, "") << "the test rootfs has an empty /root\n" << describe(root);

  RunResult shadow = probe({"cat", "/etc/shadow"});
  EXPECT_NE(shadow.exitCode, 0) << describe(shadow);

  RunResult etc = probe({"ls", "/etc"});
  ASSERT_EQ(etc.exitCode, 0) << describe(etc);
  for (const char* hostOnly : {"shadow", "subuid", "sudoers", "ssh", "apt", "os-release"}) {
    EXPECT_FALSE(contains(etc.out, hostOnly)) << "host /etc visible: " << hostOnly;
  }
}

TEST_F(EngineTest, HostProcessesAreInvisible) {
  RunResult r = probe({"pids"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  auto all = lines(r.out);
  // coco's init and the probe; a helper or two at most.
  EXPECT_GE(all.size(), 1u);
  EXPECT_LE(all.size(), 3u) << "more processes visible than the sandbox's own:\n" << r.out;
  bool hasInit = std::any_of(all.begin(), all.end(), [](const auto& l) { return l.starts_with("1 "); });
  EXPECT_TRUE(hasInit) << "no pid 1 in the sandbox's pid namespace:\n" << r.out;
  EXPECT_FALSE(contains(r.out, "engine_test")) << r.out;
}

TEST_F(EngineTest, HostnameIsNotTheHosts) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  RunResult r = probe({"hostname"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_NE(r.out, std::string(host) + "\n");
}

// init clears its umask while it makes the scratch directories (their modes must not be
// trimmed) and gives it back: the tool starts with the user's.
TEST_F(EngineTest, ScratchDirectoriesKeepTheirModesAndTheToolTheUsersUmask) {
  env_.writeTool("shell", R"({"command": "sh", "network": "none"})");
  mode_t before = ::umask(027);
  RunResult r = env_.run({"run", "shell", "-c",
                          "umask; stat -c '%a %n' /tmp /dev/shm; touch /tmp/f /root/g; mkdir /tmp/d; "
                          "stat -c '%a %n' /tmp/f /root/g /tmp/d"});
  ::umask(before);
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "0027\n1777 /tmp\n1777 /dev/shm\n640 /tmp/f\n640 /root/g\n750 /tmp/d\n") << describe(r);
}

TEST_F(EngineTest, HostLoopbackIsUnreachableWithNetworkNone) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string port = std::to_string(ntohs(addr.sin_port));

  RunResult r = probe({"connect", "127.0.0.1", port});
  close(fd);
  EXPECT_EQ(r.exitCode, 1) << "a host loopback service was reachable:\n" << describe(r);
  EXPECT_TRUE(contains(r.out, "denied")) << describe(r);
}

// --- privileges -------------------------------------------------------------

TEST_F(EngineTest, HasNoCapabilities) {
  RunResult r = probe({"caps"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  auto all = lines(r.out);
  ASSERT_EQ(all.size(), 5u) << r.out;
  for (const auto& line : all) {
    EXPECT_TRUE(line.ends_with("0000000000000000")) << line;
  }
}

TEST_F(EngineTest, SeccompFilterAndNoNewPrivs) {
  RunResult r = probe({"status"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "NoNewPrivs:\t1\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "Seccomp:\t2\n")) << r.out;
}

TEST_F(EngineTest, HarmlessSyscallsStillWork) {
  // Controls: a denial below must come from the sandbox, not a broken probe.
  for (const char* name : {"getpid", "personality-default"}) {
    RunResult r = probe({"try-syscall", name});
    EXPECT_EQ(r.exitCode, 0) << name << "\n" << describe(r);
    EXPECT_EQ(r.out, "ok\n") << name;
  }
}

class DeniedSyscallTest : public EngineTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(DeniedSyscallTest, IsRefused) {
  RunResult r = probe({"try-syscall", GetParam()});
  EXPECT_EQ(r.exitCode, 1) << describe(r);
  EXPECT_TRUE(r.out.starts_with("denied ")) << describe(r);
}

INSTANTIATE_TEST_SUITE_P(
    Engine, DeniedSyscallTest,
    ::testing::Values("unshare-user", "clone-newuser", "clone3", "io_uring_setup", "keyctl",
                      "add_key", "request_key", "bpf", "userfaultfd", "perf_event_open", "mount",
                      "umount", "fsopen", "open_tree", "move_mount", "pivot_root", "kexec_load",
                      "init_module", "finit_module", "delete_module", "acct", "swapon", "reboot",
                      "settimeofday", "clock_settime", "personality-readimpliesexec", "setns",
                      "ptrace-attach-1"),
    [](const auto& info) {
      std::string name = info.param;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

TEST_F(EngineTest, Clone3IsEnosysSoRuntimesFallBack) {
  // glibc and others fall back to clone() only on ENOSYS; EPERM would break them.
  RunResult r = probe({"try-syscall", "clone3"});
  EXPECT_EQ(r.out, "denied ENOSYS\n") << describe(r);
}

// A config named on the command line (a CI policy kept in the repository):
// its mounts and network, not the configured tool's, and no tool configured at all.
TEST_F(EngineTest, RunsWithAConfigFileNamedOnTheCommandLine) {
  std::string dir = env_.workdir() + "/.coco";
  fs::create_directories(dir);
  fs::create_directories(env_.workdir() + "/data");
  std::ofstream(env_.workdir() + "/data/marker") << "from the workspace\n";
  std::ofstream(dir + "/ci.json") << R"({"mounts": [{"src": "./data", "dst": "/data", "opts": "ro"}], "network": "none"})";
  RunResult r = env_.run({"run", "--config", ".coco/ci.json", "probe", "cat", "/data/marker"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "from the workspace\n");
  RunResult ro = env_.run({"run", "--config", ".coco/ci.json", "probe", "write", "/data/marker", "x"});
  EXPECT_NE(ro.exitCode, 0) << "the file's ro mount: " << describe(ro);
}

// Where coco itself runs under a filter: Docker's default profile makes clone3
// ENOSYS, AppArmor's user-namespace restriction (Ubuntu 23.10+) lets the
// namespace be made and then refuses mount and sethostname with EPERM. The
// filter needs no_new_privs, under which newuidmap gains nothing: these runs
// use the single mapping (COCO_USERNS=single) for both test users.
RunOptions underFilter(std::vector<std::string> rules) {
  const char* helper = std::getenv("COCO_TEST_SECCOMP_ERRNO");
  RunOptions o;
  if (!helper || !*helper) {
    ADD_FAILURE() << "COCO_TEST_SECCOMP_ERRNO must name tests/helpers/seccomp_errno";
    return o;
  }
  o.wrapper = {helper};
  o.wrapper.insert(o.wrapper.end(), rules.begin(), rules.end());
  o.wrapper.push_back("--");
  o.env = {{"COCO_USERNS", "single"}};
  return o;
}

TEST_F(EngineTest, WithoutClone3TheSandboxStartsWithClone) {
  RunResult control = probe({"cat", "/etc/coco-test-rootfs"}, underFilter({"getpgid=EPERM"}));
  ASSERT_EQ(control.exitCode, 0) << "the filter helper itself must not break a start: " << describe(control);
  RunResult r = probe({"cat", "/etc/coco-test-rootfs"}, underFilter({"clone3=ENOSYS"}));
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "coco-test-rootfs\n") << describe(r);
  // Still its own namespaces: its own host name, no host home.
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  RunResult name = probe({"hostname"}, underFilter({"clone3=ENOSYS"}));
  ASSERT_EQ(name.exitCode, 0) << describe(name);
  EXPECT_NE(name.out, std::string(host) + "\n");
  RunResult home = probe({"ls", "/home"}, underFilter({"clone3=ENOSYS"}));
  EXPECT_EQ(home.out.find("coco-"), std::string::npos) << describe(home);
}

TEST_F(EngineTest, StepsRefusedInsideTheNamespaceSayWhy) {
  // Inside a container (a Docker-made one has /.dockerenv) the fix is the container's options.
  bool container = access("/.dockerenv", F_OK) == 0 || access("/run/.containerenv", F_OK) == 0;
  std::string fix = container ? "--security-opt seccomp=unconfined" : "security policy coco was started under";
  for (const char* rule : {"sethostname=EPERM", "mount=EPERM"}) {
    RunResult r = probe({"exit", "0"}, underFilter({rule}));
    EXPECT_EQ(r.exitCode, 125) << rule << ": " << describe(r);
    EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << rule << ": " << describe(r);
    EXPECT_NE(r.err.find(fix), std::string::npos) << rule << ": " << describe(r);
  }
}

TEST_F(EngineTest, TiocstiIsRefusedInPtyMode) {
  PtyResult r = env_.runInPty({"run", "probe", "tiocsti"});
  ASSERT_FALSE(r.timedOut) << r.output;
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "allowed: 0")) << r.output;
  EXPECT_FALSE(contains(r.output, ": ok")) << r.output;
}

TEST_F(EngineTest, TiocstiIsRefusedInPipeMode) {
  RunResult r = probe({"tiocsti"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "allowed: 0")) << describe(r);
}

// A run says on stderr what `coco show` warns about, once per change of the
// config, and never on stdout (the tool's). Attack first: a record planted as
// a symlink (to a file with any content) silences nothing and is not written through.
TEST_F(EngineTest, RunWarningsShowOncePerConfigChangeOnStderr) {
  TempDir state("coco-state");
  RunOptions o;
  o.env = {{"XDG_STATE_HOME", state.path()}};
  auto tool = [](const std::string& podmanArgs) {
    return probeTool(R"("workdir": "/tmp", "workspace_guard": false, "podman_args": )" + podmanArgs);
  };
  env_.writeTool("warned", tool(R"(["--init"])"));
  RunResult first = env_.run({"run", "warned", "cwd"}, o);
  ASSERT_EQ(first.exitCode, 0) << describe(first);
  EXPECT_EQ(first.out, "/tmp\n");
  EXPECT_TRUE(contains(first.err, "coco: warning: podman_args (--init) are ignored by the native runtime"))
      << describe(first);
  EXPECT_TRUE(contains(first.err, "coco: warning: workspace_guard: false")) << describe(first);
  RunResult second = env_.run({"run", "warned", "cwd"}, o);
  EXPECT_EQ(second.out, "/tmp\n");
  EXPECT_FALSE(contains(second.err, "warning")) << describe(second);
  // The record is a symlink now: absent, and replaced rather than followed.
  std::string record = state / "coco/warned/warned";
  std::string target = state / "elsewhere";
  writeFile(target, readFile(record));
  ASSERT_EQ(::unlink(record.c_str()), 0);
  ASSERT_EQ(::symlink(target.c_str(), record.c_str()), 0);
  RunResult planted = env_.run({"run", "warned", "cwd"}, o);
  EXPECT_TRUE(contains(planted.err, "podman_args (--init)")) << describe(planted);
  struct stat st;
  ASSERT_EQ(::lstat(record.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  // A changed config warns again.
  env_.writeTool("warned", tool(R"(["--init", "--rm"])"));
  RunResult changed = env_.run({"run", "warned", "cwd"}, o);
  EXPECT_TRUE(contains(changed.err, "podman_args (--init --rm)")) << describe(changed);
}

// The sandbox's host name is not the host's, so it gets the host's cookie for
// this display rewritten to family Wild (0xffff), read-only; a missing X socket is said.
TEST_F(EngineTest, X11GetsAWildCookieReadOnly) {
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  auto field = [](const std::string& v) {
    return std::string{static_cast<char>(v.size() >> 8), static_cast<char>(v.size() & 0xff)} + v;
  };
  // family 256 (Local), this host's name, display 7, an MIT cookie.
  std::string entry = std::string("\x01\x00", 2) + field(host) + field("7") + field("MIT-MAGIC-COOKIE-1") +
                      field("0123456789abcdef");
  TempDir x("coco-x11");
  writeFile(x / "xauth", entry);
  env_.writeTool("x", R"({"command": "sh", "network": "none", "x11": true})");
  RunOptions o;
  o.env = {{"DISPLAY", ":7"}, {"XAUTHORITY", x / "xauth"}};
  RunResult r = env_.run(
      {"run", "x", "-c",
       "echo \"$DISPLAY $XAUTHORITY\"; od -An -tx1 -N2 \"$XAUTHORITY\"; "
       "tail -c 16 \"$XAUTHORITY\"; echo; (echo x >> \"$XAUTHORITY\") 2>/dev/null && echo WRITABLE; true"},
      o);
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, ":7 /tmp/.coco-xauthority\n")) << describe(r);
  EXPECT_TRUE(contains(r.out, "ff ff")) << describe(r);
  EXPECT_TRUE(contains(r.out, "0123456789abcdef")) << describe(r);
  EXPECT_FALSE(contains(r.out, "WRITABLE")) << describe(r);
  if (::access("/tmp/.X11-unix/X7", F_OK) != 0) {
    EXPECT_TRUE(contains(r.err, "no X socket /tmp/.X11-unix/X7")) << describe(r);
  }
  EXPECT_EQ(readFile(x / "xauth"), entry) << "the host's file is unchanged";
  // No DISPLAY: the run goes on, and says why the tool has no display.
  RunResult none = env_.run({"run", "x", "-c", "echo \"[$DISPLAY]\""});
  EXPECT_EQ(none.out, "[]\n") << describe(none);
  EXPECT_TRUE(contains(none.err, "DISPLAY is not set")) << describe(none);
}

// An X authority file holding one entry: family Local, this host's name, display `number`, an MIT cookie.
std::string localCookie(unsigned number, const std::string& cookie) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  auto field = [](const std::string& v) {
    return std::string{static_cast<char>(v.size() >> 8), static_cast<char>(v.size() & 0xff)} + v;
  };
  return std::string("\x01\x00", 2) + field(host) + field(std::to_string(number)) +
         field("MIT-MAGIC-COOKIE-1") + field(cookie);
}

// A listening socket on 127.0.0.1:PORT; invalid when the port is taken.
UniqueFd listenLoopback(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd.get(), 8) != 0)
    return {};
  return fd;
}

// Display numbers N and N+1 whose TCP ports (6000+N) this test can listen on.
struct TwoDisplays {
  unsigned n = 0;
  UniqueFd display, neighbour;
};
TwoDisplays twoFreeDisplays(unsigned from) {
  TwoDisplays d;
  for (unsigned n = from; n < from + 200; ++n) {
    UniqueFd a = listenLoopback(static_cast<uint16_t>(6000 + n));
    UniqueFd b = a ? listenLoopback(static_cast<uint16_t>(6001 + n)) : UniqueFd();
    if (a && b) return {n, std::move(a), std::move(b)};
  }
  return d;
}

UniqueFd acceptWithin(int listener, int ms) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, ms) != 1) return {};
  return UniqueFd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
}

std::string readToEof(int fd, int ms) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, ms) != 1) return out;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// Where the x11 grant keeps its files for coco run with `env` (config::engineDirs): the runtime
// directory's coco/x11 when it is the user's own, else the cache's.
std::vector<std::string> x11FileDirs(const EnvList& env) {
  std::vector<std::string> out;
  for (const auto& [k, v] : env)
    if (k == "XDG_RUNTIME_DIR" || k == "XDG_CACHE_HOME") out.push_back(v + "/coco/x11");
  return out;
}

// ssh -X's DISPLAY=localhost:N, attacked: the sandbox (network none) gets one socket, X<N>, in a
// directory it cannot write, and whatever it sends there reaches port 6000+N only: not the next
// display's port, not any port by address. The relay is coco's, outside, and ends with the run:
// a connection the sandbox left open is closed, the socket and its directory are gone.
TEST_F(EngineTest, X11OverTcpReachesThatDisplaysPortOnly) {
  TwoDisplays d = twoFreeDisplays(140);
  ASSERT_TRUE(d.display) << "no two free display ports from 6140";
  std::string n = std::to_string(d.n), next = std::to_string(d.n + 1);
  TempDir x("coco-x11");
  writeFile(x / "xauth", localCookie(d.n, "0123456789abcdef"));
  // The display: answers the first connection, holds the second until the relay closes it.
  std::string first;
  bool held = false, heldClosed = false;
  std::thread server([&] {
    // The run's warnings connect first and close at once (does the display's port answer?).
    UniqueFd c1;
    while (first.empty()) {
      c1 = acceptWithin(d.display.get(), 30000);
      if (!c1) return;
      first = readToEof(c1.get(), 10000);
    }
    std::string reply = "pong:" + first;
    (void)!::send(c1.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
    c1.reset();
    UniqueFd c2 = acceptWithin(d.display.get(), 30000);
    if (!c2) return;
    held = readToEof(c2.get(), 10000) == "hold";
    pollfd p{c2.get(), 0, 0};  // only POLLHUP/POLLERR: the relay's end of it closed
    heldClosed = ::poll(&p, 1, 60000) == 1;
  });
  env_.writeTool("x", R"({"command": "sh", "network": "none", "x11": true})");
  RunOptions o;
  o.env = {{"DISPLAY", "localhost:" + n + ".0"}, {"XAUTHORITY", x / "xauth"}};
  std::string dir = "/tmp/.X11-unix";
  std::string script = "echo \"DISPLAY=$DISPLAY\"; ls -a " + dir +
                       "; echo; "
                       "probe talk-unix " +
                       dir + "/X" + n +
                       " hello; "
                       "echo \"by address: $(probe connect 127.0.0.1 " +
                       std::to_string(6000 + d.n) +
                       ")\"; "
                       "echo \"next port: $(probe connect 127.0.0.1 " +
                       std::to_string(6001 + d.n) +
                       ")\"; "
                       "echo \"plant: $(probe mkdir " +
                       dir + "/X" + next +
                       ")\"; "
                       "echo \"remove: $(probe unlink " +
                       dir + "/X" + n +
                       ")\"; "
                       "echo \"next socket: $(probe connect-unix " +
                       dir + "/X" + next +
                       ")\"; "
                       "probe talk-unix " +
                       dir + "/X" + n + " hold >/dev/null & sleep 1; echo done";
  Child c = env_.spawn({"run", "x", "-c", script}, o);
  ASSERT_GT(c.pid, 0);
  pid_t cocoPid = c.pid;
  int code = finish(c, 60s);
  server.join();
  RunResult r{code, c.out, c.err, code == -1};
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "DISPLAY=:" + n + "\n")) << describe(r);
  EXPECT_TRUE(contains(r.out, "\nX" + n + "\n")) << describe(r);
  EXPECT_FALSE(contains(r.out, "X" + next)) << describe(r);
  EXPECT_TRUE(contains(r.out, "reply pong:hello\n")) << describe(r);
  EXPECT_EQ(first, "hello");
  EXPECT_TRUE(contains(r.out, "by address: denied")) << describe(r);
  EXPECT_TRUE(contains(r.out, "next port: denied")) << describe(r);
  EXPECT_TRUE(contains(r.out, "plant: denied")) << describe(r);
  EXPECT_TRUE(contains(r.out, "remove: denied")) << describe(r);
  EXPECT_TRUE(contains(r.out, "next socket: denied")) << describe(r);
  EXPECT_TRUE(held) << "the second connection did not arrive";
  EXPECT_TRUE(heldClosed) << "the relay kept the display's connection after the run";
  pollfd p{d.neighbour.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0) << "a connection reached the next display's port";
  for (const auto& files : x11FileDirs(env_.baseEnv())) {
    std::string relay = files + "/relay-" + std::to_string(cocoPid);
    EXPECT_NE(::access(relay.c_str(), F_OK), 0) << relay << " outlived the run";
  }
}

// A real X server over TCP only, as ssh -X's forwarding is: Xvfb with a cookie, DISPLAY=localhost:N;
// the host's xdpyinfo, run in the sandbox (network none) by the host's dynamic loader, opens the
// display through the relay with the sandbox's rewritten cookie. Without the cookie it is refused.
TEST_F(EngineTest, X11OverTcpRunsXdpyinfoAgainstXvfb) {
  for (const char* tool : {"/usr/bin/Xvfb", "/usr/bin/xdpyinfo", "/usr/bin/xauth"})
    ASSERT_EQ(::access(tool, X_OK), 0) << tool << " is missing: install xvfb, x11-utils and xauth";
  TwoDisplays d = twoFreeDisplays(160);
  ASSERT_TRUE(d.display) << "no two free display ports from 6160";
  d.display.reset();  // Xvfb takes this one
  d.neighbour.reset();
  std::string n = std::to_string(d.n);
  TempDir x("coco-x11");
  std::string cookie = "00112233445566778899aabbccddeeff";
  RunResult added =
      hostShell("xauth -f " + x / "xauth" + " add localhost:" + n + " MIT-MAGIC-COOKIE-1 " + cookie);
  ASSERT_EQ(added.exitCode, 0) << describe(added);
  pid_t xvfb = ::fork();
  ASSERT_GE(xvfb, 0);
  if (xvfb == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    std::string auth = x / "xauth";
    std::string disp = ":" + n;
    ::execl("/usr/bin/Xvfb", "Xvfb", disp.c_str(), "-listen", "tcp", "-nolisten", "unix", "-auth",
            auth.c_str(), "-screen", "0", "640x480x24", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  } reaper{xvfb};
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(static_cast<uint16_t>(6000 + d.n));
    up = ::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    if (!up) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(up) << "Xvfb did not listen on port " << 6000 + d.n;
  // The rootfs is busybox: the host's /usr, read-only, gives xdpyinfo and its libraries.
  RunResult ldd = hostShell("ldd /usr/bin/xdpyinfo");
  ASSERT_EQ(ldd.exitCode, 0) << describe(ldd);
  std::string loader, libraryPath;
  for (const auto& line : lines(ldd.out)) {
    std::istringstream ss(line);
    std::string a, arrow, b;
    ss >> a >> arrow >> b;
    std::string lib = arrow == "=>" ? b : a;
    if (lib.empty() || lib[0] != '/') continue;
    std::string real = fs::canonical(lib).string();
    if (real.rfind("/usr/", 0) != 0) continue;
    if (arrow != "=>") loader = "/host" + real;
    std::string dirPath = "/host" + fs::path(real).parent_path().string();
    if (!contains(":" + libraryPath + ":", ":" + dirPath + ":"))
      libraryPath += (libraryPath.empty() ? "" : ":") + dirPath;
  }
  ASSERT_FALSE(loader.empty()) << ldd.out;
  env_.writeTool("xd", R"({"command": "sh", "network": "none", "x11": true,
                           "mounts": [{"src": "/usr", "dst": "/host/usr", "opts": "ro"}]})");
  std::string xdpyinfo = loader + " --library-path " + libraryPath + " /host/usr/bin/xdpyinfo";
  RunOptions o;
  o.env = {{"DISPLAY", "localhost:" + n + ".0"}, {"XAUTHORITY", x / "xauth"}};
  RunResult r = env_.run({"run", "xd", "-c", xdpyinfo}, o);
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "name of display:    :" + n)) << describe(r);
  EXPECT_TRUE(contains(r.out, "640x480 pixels")) << describe(r);
  // The server does ask for the cookie: without it, the same run is refused.
  writeFile(x / "empty", "");
  o.env = {{"DISPLAY", "localhost:" + n + ".0"}, {"XAUTHORITY", x / "empty"}};
  RunResult refused = env_.run({"run", "xd", "-c", xdpyinfo}, o);
  EXPECT_NE(refused.exitCode, 0) << describe(refused);
  EXPECT_TRUE(contains(refused.err, "unable to open display")) << describe(refused);
  EXPECT_TRUE(contains(refused.err, "has no cookie for display " + n)) << describe(refused);
}

TEST_F(EngineTest, ProcAndSysAreNotWritable) {
  for (const char* path : {"/proc/sys/kernel/hostname", "/proc/sysrq-trigger", "/sys/kernel/coco"}) {
    RunResult r = probe({"write", path, "x"});
    EXPECT_NE(r.exitCode, 0) << path << "\n" << describe(r);
  }
}

// --- mounts -----------------------------------------------------------------

TEST_F(EngineTest, ReadOnlyMountIsUnwritableIncludingNestedDirs) {
  TempDir data("coco-ro");
  writeFile(data / "a.txt", "original\n");
  fs::create_directories(data / "sub/nested");
  writeFile(data / "sub/nested/b.txt", "nested\n");
  env_.writeTool("ro", probeTool(R"("mounts": [{"src": )" + jsonString(data.path()) +
                                 R"(, "dst": "/data", "opts": "ro"}])"));

  RunResult read = env_.run({"run", "ro", "cat", "/data/sub/nested/b.txt"});
  EXPECT_EQ(read.exitCode, 0) << describe(read);
  EXPECT_EQ(read.out, "nested\n");
  for (const char* path : {"/data/a.txt", "/data/new.txt", "/data/sub/nested/b.txt", "/data/sub/c"}) {
    RunResult r = env_.run({"run", "ro", "write", path, "changed\n"});
    EXPECT_EQ(r.exitCode, 1) << path << "\n" << describe(r);
    EXPECT_TRUE(contains(r.out, "denied")) << path << "\n" << describe(r);
  }
  RunResult rm = env_.run({"run", "ro", "unlink", "/data/a.txt"});
  EXPECT_EQ(rm.exitCode, 1) << describe(rm);
  EXPECT_EQ(readFile(data / "a.txt"), "original\n");
  EXPECT_EQ(readFile(data / "sub/nested/b.txt"), "nested\n");
  EXPECT_FALSE(fs::exists(data / "new.txt"));
}

TEST_F(EngineTest, ReadOnlyMountAppliesToHostSubmounts) {
  const char* tree = getenv("COCO_TEST_SUBMOUNT_TREE");
  if (!tree || !*tree) {
    // An unprivileged user cannot make a host mount point; tests/run-all makes
    // one (a tmpfs at TREE/sub) and sets COCO_TEST_SUBMOUNT_TREE.
    if (inCi()) FAIL() << "COCO_TEST_SUBMOUNT_TREE must be set in CI (tests/run-all sets it)";
    GTEST_SKIP() << "COCO_TEST_SUBMOUNT_TREE unset: no host submount to test (run tests/run-all)";
  }
  env_.writeTool("sub", probeTool(R"("mounts": [{"src": )" + jsonString(tree) +
                                  R"(, "dst": "/data", "opts": "ro"}])"));
  RunResult mounts = env_.run({"run", "sub", "mounts"});
  ASSERT_EQ(mounts.exitCode, 0) << describe(mounts);
  EXPECT_TRUE(contains(mounts.out, " /data/sub ")) << "the submount was not carried in:\n"
                                                   << mounts.out;
  RunResult w = env_.run({"run", "sub", "write", "/data/sub/x", "x"});
  EXPECT_EQ(w.exitCode, 1) << describe(w);
  EXPECT_FALSE(fs::exists(std::string(tree) + "/sub/x"));
}

TEST_F(EngineTest, WritableMountFilesBelongToTheUser) {
  TempDir data("coco-rw");
  env_.writeTool("rw", probeTool(R"("mounts": [{"src": )" + jsonString(data.path()) +
                                 R"(, "dst": "/out", "opts": "rw"}])"));
  RunResult w = env_.run({"run", "rw", "write", "/out/file.txt", "hello\n"});
  ASSERT_EQ(w.exitCode, 0) << describe(w);
  RunResult d = env_.run({"run", "rw", "mkdir", "/out/dir"});
  ASSERT_EQ(d.exitCode, 0) << describe(d);

  struct stat st {};
  ASSERT_EQ(stat((data / "file.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, getuid());
  EXPECT_EQ(st.st_gid, getgid());
  EXPECT_EQ(readFile(data / "file.txt"), "hello\n");
  ASSERT_EQ(stat((data / "dir").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, getuid());
}

TEST_F(EngineTest, RootfsChangesAreDiscarded) {
  RunResult w = probe({"write", "/etc/coco-scratch", "scratch\n"});
  EXPECT_EQ(w.exitCode, 0) << "the overlay upper layer should take writes\n" << describe(w);
  RunResult r = probe({"cat", "/etc/coco-scratch"});
  EXPECT_NE(r.exitCode, 0) << "a previous run's write survived:\n" << describe(r);
  EXPECT_FALSE(fs::exists(env_.rootfs() + "/etc/coco-scratch")) << "the lower layer was written";
}

TEST_F(EngineTest, MountOverASymlinkIsRefused) {
  TempDir data("coco-sym");
  // /linuxrc is a symlink to /bin/busybox in the test rootfs.
  env_.writeTool("sym", probeTool(R"("mounts": [{"src": )" + jsonString(data.path()) +
                                  R"(, "dst": "/linuxrc", "opts": "rw"}])"));
  RunResult r = env_.run({"run", "sym", "exit", "0"});
  EXPECT_EQ(r.exitCode, 125) << describe(r);
}

// --- workspace guard ----------------------------------------------------------

class WorkspaceGuardTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    if (IsSkipped()) return;
    const std::string& w = env_.workdir();
    writeFile(w + "/src.txt", "source\n");
    writeFile(w + "/.git/HEAD", "ref: refs/heads/main\n");
    writeFile(w + "/.git/config", "[core]\n");
    writeFile(w + "/.git/hooks/pre-commit.sample", "#!/bin/sh\n");
    writeFile(w + "/.envrc", "export A=1\n");
    writeFile(w + "/.vscode/tasks.json", "{}\n");
    env_.writeTool("ws", probeTool(R"("mounts": [{"src": ".", "dst": "/workspace", "opts": "rw"}])"));
  }
};

TEST_F(WorkspaceGuardTest, GuardedPathsAreReadOnly) {
  for (const char* path : {"/workspace/.git/config", "/workspace/.git/hooks/pre-commit",
                           "/workspace/.envrc", "/workspace/.vscode/tasks.json",
                           "/workspace/.vscode/settings.json"}) {
    RunResult r = env_.run({"run", "ws", "write", path, "evil\n"});
    EXPECT_EQ(r.exitCode, 1) << path << "\n" << describe(r);
  }
  for (const char* path : {"/workspace/.envrc", "/workspace/.git/config"}) {
    RunResult r = env_.run({"run", "ws", "unlink", path});
    EXPECT_EQ(r.exitCode, 1) << path << "\n" << describe(r);
  }
  const std::string& w = env_.workdir();
  EXPECT_EQ(readFile(w + "/.git/config"), "[core]\n");
  EXPECT_EQ(readFile(w + "/.envrc"), "export A=1\n");
  EXPECT_EQ(readFile(w + "/.vscode/tasks.json"), "{}\n");
  EXPECT_FALSE(fs::exists(w + "/.git/hooks/pre-commit"));
  EXPECT_FALSE(fs::exists(w + "/.vscode/settings.json"));
}

TEST_F(WorkspaceGuardTest, OtherFilesStayWritable) {
  RunResult a = env_.run({"run", "ws", "write", "/workspace/src.txt", "changed\n"});
  RunResult b = env_.run({"run", "ws", "write", "/workspace/new.txt", "new\n"});
  EXPECT_EQ(a.exitCode, 0) << describe(a);
  EXPECT_EQ(b.exitCode, 0) << describe(b);
  EXPECT_EQ(readFile(env_.workdir() + "/src.txt"), "changed\n");
  EXPECT_EQ(readFile(env_.workdir() + "/new.txt"), "new\n");
}

TEST_F(WorkspaceGuardTest, CannotBeBypassedByRenamingTheParent) {
  // Moving .git aside and making a new one would give the host a hostile config.
  env_.writeTool("ws-sh", R"({"command": "sh", "network": "none",
    "mounts": [{"src": ".", "dst": "/workspace", "opts": "rw"}]})");
  RunResult r = env_.run({"run", "ws-sh", "-c",
                          "mv /workspace/.git /workspace/moved; mkdir -p /workspace/.git/hooks;"
                          "echo evil > /workspace/.git/config;"
                          "mv /workspace/.vscode /workspace/moved2; mkdir /workspace/.vscode;"
                          "echo evil > /workspace/.vscode/tasks.json; true"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  const std::string& w = env_.workdir();
  EXPECT_EQ(readFile(w + "/.git/config"), "[core]\n") << describe(r);
  EXPECT_EQ(readFile(w + "/.vscode/tasks.json"), "{}\n") << describe(r);
}

TEST_F(WorkspaceGuardTest, CanBeTurnedOff) {
  env_.writeTool("ws-open", probeTool(R"("workspace_guard": false,
    "mounts": [{"src": ".", "dst": "/workspace", "opts": "rw"}])"));
  RunResult r = env_.run({"run", "ws-open", "write", "/workspace/.envrc", "changed\n"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(readFile(env_.workdir() + "/.envrc"), "changed\n");
}

// --- environment ---------------------------------------------------------------

TEST_F(EngineTest, EnvironmentIsBuiltNotInherited) {
  env_.writeTool("envtool", probeTool(R"("env": {"GREETING": "hello"},
    "env_passthrough": ["COCO_TEST_PASS", "COCO_TEST_UNSET"])"));
  RunOptions opts;
  opts.env = {{"COCO_TEST_PASS", "passed-through"}, {"AWS_SECRET_ACCESS_KEY", "aws-leak-check"}};
  RunResult r = env_.run({"run", "envtool", "env"}, opts);
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  auto all = lines(r.out);
  auto has = [&](const std::string& kv) { return std::find(all.begin(), all.end(), kv) != all.end(); };
  EXPECT_TRUE(has("GREETING=hello")) << r.out;
  EXPECT_TRUE(has("COCO_TEST_PASS=passed-through")) << r.out;
  EXPECT_TRUE(has("HOME=/root")) << r.out;
  EXPECT_FALSE(contains(r.out, kSecretValue)) << "host secret leaked:\n" << r.out;
  EXPECT_FALSE(contains(r.out, kSecretName)) << r.out;
  EXPECT_FALSE(contains(r.out, "aws-leak-check")) << r.out;
  EXPECT_FALSE(contains(r.out, "COCO_TEST_UNSET")) << r.out;
  EXPECT_FALSE(contains(r.out, "XDG_DATA_HOME")) << r.out;
  EXPECT_FALSE(contains(r.out, env_.dataHome())) << r.out;
}

// --- exit codes and signals ------------------------------------------------------

struct ExitCase {
  std::vector<std::string> args;
  int expected;
};

class ExitCodeTest : public EngineTest, public ::testing::WithParamInterface<ExitCase> {};

TEST_P(ExitCodeTest, IsPropagated) {
  RunResult r = probe(GetParam().args);
  EXPECT_EQ(r.exitCode, GetParam().expected) << describe(r);
}

INSTANTIATE_TEST_SUITE_P(Engine, ExitCodeTest,
                         ::testing::Values(ExitCase{{"exit", "0"}, 0}, ExitCase{{"exit", "1"}, 1},
                                           ExitCase{{"exit", "42"}, 42},
                                           ExitCase{{"kill-self", "INT"}, 130},
                                           ExitCase{{"kill-self", "TERM"}, 143},
                                           ExitCase{{"kill-self", "KILL"}, 137}),
                         [](const auto& info) {
                           return info.param.args[0] == "exit"
                                      ? "exit_" + info.param.args[1]
                                      : "signal_" + info.param.args[1];
                         });

// Each also with the workspace mounted (writable, so the workspace guard watches it): init, which
// holds the guard's watch, waits for coco's end of the events pipe before it exits, and coco once
// waited for init with that end open when the tool could not start (both hung until killed).
// No limits, so no cgroup either where one is delegated: with one coco waits for init's exit and
// init never waits for coco.
constexpr const char* kWorkspace =
    R"("mounts": [{"src": ".", "dst": "/workspace"}], "limits": {"memory": "unlimited", "pids": "unlimited"})";
RunOptions within20s() {
  RunOptions o;
  o.timeoutSecs = 20;
  return o;
}

TEST_F(EngineTest, NotExecutableIs126) {
  for (std::string mounts : {"", kWorkspace}) {
    SCOPED_TRACE(mounts);
    env_.writeTool("noexec", R"({"command": "/usr/bin/not-executable", "network": "none")" +
                                 (mounts.empty() ? "" : ", " + mounts) + "}");
    RunResult r = env_.run({"run", "noexec"}, within20s());
    EXPECT_EQ(r.exitCode, 126) << describe(r);
    EXPECT_FALSE(contains(r.out, "should-not-run"));
  }
}

TEST_F(EngineTest, NotFoundIs127) {
  for (std::string mounts : {"", kWorkspace}) {
    SCOPED_TRACE(mounts);
    env_.writeTool("nothere", R"({"command": "no-such-command-coco", "network": "none")" +
                                  (mounts.empty() ? "" : ", " + mounts) + "}");
    RunResult r = env_.run({"run", "nothere"}, within20s());
    EXPECT_EQ(r.exitCode, 127) << describe(r);
    EXPECT_TRUE(contains(r.err, "command not found in the sandbox's PATH: no-such-command-coco")) << describe(r);
    EXPECT_FALSE(contains(r.err, "coco: hint:")) << "no mount hid it\n" << describe(r);
  }
}

// npm's tools start with "#!/usr/bin/env node": coco runs node from PATH itself, as env would,
// without env's own exec (~3 ms here). A stand-in env at /usr/bin (a config mount over the image's)
// says when it runs. It must not for a plain "#!/usr/bin/env NAME", and NAME gets env's argv (its
// name, the script's path, the arguments). Anything else is env's to do, errors included; and a
// script the kernel would not run is still refused: no exec permission, or a host file given as
// stdin (Landlock lets the tool read it, not execute it). Run as is (the kernel's AT_EXECVE_CHECK
// decides) and with execveat failing EINVAL, as on kernels before 6.14 (coco's own checks decide).
// `extra`: more of the tool's config (`, "key": value`).
void checkEnvScripts(const Env& env, const RunOptions& opts, const std::string& extra = "") {
  std::string bin = env.workdir() + "/fakebin";
  fs::create_directories(bin);
  auto script = [&](const std::string& name, const std::string& text, fs::perms mode = fs::perms(0755)) {
    writeFile(bin + "/" + name, text);
    fs::permissions(bin + "/" + name, mode);
  };
  script("env", "#!/bin/sh\necho \"env ran: $*\" >&2\nfirst=$1\nshift\nexec ${first#-S } \"$@\"\n");
  fs::copy_file(env.rootfs() + "/usr/bin/probe", bin + "/probe-argv", fs::copy_options::overwrite_existing);
  fs::permissions(bin + "/probe-argv", fs::perms(0755));
  script("npm-tool", "#!/usr/bin/env probe-argv\nconsole.log('not run: probe-argv reads no script')\n");
  script("blank-tool", "#!  /usr/bin/env\tprobe-argv \t\n");
  script("option-tool", "#!/usr/bin/env -S probe-argv\n");
  script("missing-tool", "#!/usr/bin/env no-such-interpreter-coco\n");
  script("private-tool", "#!/usr/bin/env probe-argv\n", fs::perms(0644));
  // npm's bin entries are links to the package's script: NAME gets the link's path, as the kernel
  // gives it to env.
  fs::remove(bin + "/link-tool");
  fs::create_symlink("npm-tool", bin + "/link-tool");
  auto run = [&](const std::vector<std::string>& args, const std::string& stdinPath = "") {
    env.writeTool("envs", R"({"command": )" + jsonString(args[0]) +
                              R"(, "network": "none", "mounts": [{"src": )" + jsonString(bin) +
                              R"(, "dst": "/usr/bin", "opts": "ro"}])" + extra + "}");
    std::vector<std::string> full = {"run", "envs"};
    full.insert(full.end(), args.begin() + 1, args.end());
    RunOptions o = opts;
    o.timeoutSecs = 20;
    o.stdinPath = stdinPath;
    return env.run(full, o);
  };
  for (std::string command : {"npm-tool", "/usr/bin/npm-tool", "blank-tool", "link-tool"}) {
    SCOPED_TRACE(command);
    RunResult r = run({command, "a", "b c", ""});
    std::string path = command.front() == '/' ? command : "/usr/bin/" + command;
    EXPECT_EQ(r.exitCode, 0) << describe(r);
    EXPECT_EQ(r.out, "argv[0]=probe-argv\nargv[1]=" + path + "\nargv[2]=a\nargv[3]=b c\nargv[4]=\n")
        << describe(r);
    EXPECT_FALSE(contains(r.err, "env ran")) << describe(r);
  }
  {
    RunResult r = run({"option-tool", "x"});
    EXPECT_EQ(r.exitCode, 0) << describe(r);
    EXPECT_TRUE(contains(r.err, "env ran: -S probe-argv /usr/bin/option-tool x\n")) << describe(r);
    EXPECT_EQ(r.out, "argv[0]=probe-argv\nargv[1]=/usr/bin/option-tool\nargv[2]=x\n") << describe(r);
  }
  {
    RunResult r = run({"missing-tool"});
    EXPECT_EQ(r.exitCode, 127) << describe(r);
    EXPECT_TRUE(contains(r.err, "env ran: no-such-interpreter-coco /usr/bin/missing-tool\n")) << describe(r);
  }
  {
    RunResult r = run({"/usr/bin/private-tool"});
    EXPECT_EQ(r.exitCode, 126) << describe(r);
    EXPECT_EQ(r.out, "") << describe(r);
    EXPECT_FALSE(contains(r.err, "env ran")) << describe(r);
  }
  if (::syscall(SYS_landlock_create_ruleset, nullptr, 0, 1U /* LANDLOCK_CREATE_RULESET_VERSION */) >= 1) {
    std::string host = env.workdir() + "/stdin-tool";
    writeFile(host, "#!/usr/bin/env probe-argv\n");
    fs::permissions(host, fs::perms(0755));
    RunResult r = run({"/proc/self/fd/0", "x"}, host);
    EXPECT_EQ(r.exitCode, 126) << describe(r);
    EXPECT_EQ(r.out, "") << describe(r);
  }
}

TEST_F(EngineTest, AnEnvScriptRunsItsCommandWithoutEnvAsEnvWould) {
  if (::syscall(SYS_landlock_create_ruleset, nullptr, 0, 1U) < 1) {
    if (inCi()) FAIL() << "no Landlock: the stdin case is not checked";
    std::cerr << "no Landlock here: the stdin case is left out\n";
  }
  checkEnvScripts(env_, {});
}

// Attack: a profile of the tool's own that kills execveat (as one written for what a tool calls
// does: execve listed, a default that kills) must not kill a tool whose script env would have
// started. coco's look before the exec makes the kernel's exec check only where the filter
// answers it (before, every env script died of SIGSYS, 159); the checks of kernels without it
// stand in, the stdin case included.
TEST_F(EngineTest, AnEnvScriptUnderAProfileThatKillsTheExecCheckStillStarts) {
  std::string dir = env_.workdir() + "/profiles";
  fs::create_directories(dir);
  std::string profile = dir + "/kill-execveat.json";
  writeFile(profile, R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["execveat"],
      "action": "SCMP_ACT_KILL_PROCESS"}]})");
  checkEnvScripts(env_, {}, R"(, "seccomp": )" + jsonString(profile));
}

TEST_F(EngineTest, AnEnvScriptWithoutTheKernelsExecCheckStillMeetsItsChecks) {
  RunOptions filtered = underFilter({"execveat=22"});  // EINVAL: a kernel without AT_EXECVE_CHECK
  RunResult control = probe({"exit", "0"}, filtered);
  ASSERT_EQ(control.exitCode, 0) << "the filter helper itself must not break a start: " << describe(control);
  checkEnvScripts(env_, filtered);
}

// A config mount over a directory of the PATH hides what the image has there (a mount at /opt
// hides the tools mise installed in /opt/mise): the command is not found, and the hint says which
// mount hid it.
TEST_F(EngineTest, ACommandAMountHidesIsNotFoundAndTheHintNamesTheMount) {
  std::string empty = env_.workdir() + "/empty";
  fs::create_directories(empty);
  env_.writeTool("hidden", probeTool(R"("mounts": [{"src": )" + jsonString(empty) + R"(, "dst": "/usr/bin"}])"));
  RunResult r = env_.run({"run", "hidden", "exit", "0"}, within20s());
  EXPECT_EQ(r.exitCode, 127) << describe(r);
  EXPECT_TRUE(contains(r.err, "command not found in the sandbox's PATH: probe")) << describe(r);
  EXPECT_TRUE(contains(r.err, "coco: hint: the mount at /usr/bin (")) << describe(r);
  EXPECT_TRUE(contains(r.err, "hidden.json, line 1) hides probe in /usr/bin, a directory of the sandbox's PATH: "
                              "mount it elsewhere\n"))
      << describe(r);
}

TEST_F(EngineTest, UnknownToolIs125) {
  RunResult r = env_.run({"run", "no-such-tool"});
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "coco: error:")) << describe(r);
}

TEST_F(EngineTest, SigtermIsForwarded) {
  Child c = env_.spawn({"run", "probe", "signal-wait"});
  ASSERT_TRUE(waitForOutput(c, "ready\n", 60s)) << c.out << c.err;
  kill(c.pid, SIGTERM);
  int code = finish(c, 30s);
  EXPECT_TRUE(contains(c.out, "got SIGTERM")) << c.out << c.err;
  EXPECT_EQ(code, 0) << c.out << c.err;
}

TEST_F(EngineTest, OtherSignalsAreForwarded) {
  Child c = env_.spawn({"run", "probe", "signal-wait"});
  ASSERT_TRUE(waitForOutput(c, "ready\n", 60s)) << c.out << c.err;
  for (auto [sig, name] : {std::pair{SIGINT, "INT"}, {SIGHUP, "HUP"}, {SIGUSR1, "USR1"},
                           {SIGUSR2, "USR2"}, {SIGQUIT, "QUIT"}}) {
    kill(c.pid, sig);
    EXPECT_TRUE(waitForOutput(c, std::string("got SIG") + name + "\n", 10s))
        << name << " not forwarded\n" << c.out << c.err;
  }
  kill(c.pid, SIGTERM);
  EXPECT_EQ(finish(c, 30s), 0) << c.out << c.err;
}

// With an allowlist the gateway's threads run in coco: a Ctrl-C sent to coco
// must still reach the tool. A thread with the signal unblocked takes it and
// coco dies instead (the install phase's progress thread did that).
TEST_F(EngineTest, SignalsAreForwardedWhileTheGatewayRuns) {
  env_.writeTool("probenet", R"({"command": "probe", "allowed_hosts": ["example.test"]})");
  Child c = env_.spawn({"run", "probenet", "signal-wait"});
  ASSERT_TRUE(waitForOutput(c, "ready\n", 60s)) << c.out << c.err;
  for (auto [sig, name] : {std::pair{SIGINT, "INT"}, {SIGHUP, "HUP"}, {SIGUSR1, "USR1"}}) {
    kill(c.pid, sig);
    EXPECT_TRUE(waitForOutput(c, std::string("got SIG") + name + "\n", 10s))
        << name << " not forwarded\n" << c.out << c.err;
  }
  kill(c.pid, SIGTERM);
  EXPECT_EQ(finish(c, 30s), 0) << c.out << c.err;
}

// The threads of a running coco (its /proc/PID/task).
size_t threadsOf(pid_t pid) {
  size_t n = 0;
  for (const auto& unused : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    (void)unused;
    ++n;
  }
  return n;
}

// The gateway's event thread starts at the sandbox's first use of its network, so a run that
// never connects or looks a name up pays for none (its traffic would wait in the listeners'
// queues meanwhile, not be lost: GatewayIntegration.ADeferredGatewayServesFromTheSandboxsFirstPacket).
TEST_F(EngineTest, TheGatewaysThreadStartsAtTheSandboxsFirstLookup) {
  env_.writeTool("probenet", R"({"command": "probe", "allowed_hosts": ["example.test"]})");
  env_.writeTool("shnet", R"({"command": "sh", "allowed_hosts": ["example.test"]})");
  Child quiet = env_.spawn({"run", "probenet", "signal-wait"});
  ASSERT_TRUE(waitForOutput(quiet, "ready\n", 60s)) << quiet.out << quiet.err;
  size_t quietThreads = threadsOf(quiet.pid);
  kill(quiet.pid, SIGTERM);
  EXPECT_EQ(finish(quiet, 30s), 0) << quiet.out << quiet.err;
  Child used = env_.spawn({"run", "shnet", "-c", "probe resolve denied.test; exec probe signal-wait"});
  ASSERT_TRUE(waitForOutput(used, "ready\n", 60s)) << used.out << used.err;
  size_t usedThreads = threadsOf(used.pid);
  kill(used.pid, SIGTERM);
  EXPECT_EQ(finish(used, 30s), 0) << used.out << used.err;
  EXPECT_EQ(quietThreads, 1u) << "coco started a thread for a sandbox that used no network";
  EXPECT_EQ(usedThreads, 2u) << "the sandbox's lookup did not start the gateway's thread";
  EXPECT_TRUE(contains(used.err, "coco: blocked lookup of denied.test")) << used.err;
}

// The gateway's thread is started late, at the first packet: a tool that connects and ends at
// once (the probe's connect returns at the handshake, which the kernel completes from the
// listener's queue) must still have its connection decided, and hear its notice, before coco
// returns (this failed in CI once the thread started only in a loop coco leaves at the tool's end).
TEST_F(EngineTest, AConnectionRightBeforeTheToolsEndIsStillDecided) {
  env_.writeTool("probenet", R"({"command": "probe", "allowed_hosts": ["example.test"]})");
  for (int i = 0; i < 8; ++i) {
    RunResult r = env_.run({"run", "probenet", "connect", "192.0.2.1", "443"});
    EXPECT_TRUE(contains(r.err, "coco: blocked connection to 192.0.2.1:443"))
        << "run " << i << ": " << describe(r);
  }
}

// A networked run gets the host's CA bundle at /run/coco (TLS behind an intercepting proxy),
// bound read-only: the tool can neither change it nor put its own in its place, and the image's
// /run is still there beside it.
TEST_F(EngineTest, TheHostsCaBundleIsBoundReadOnlyAtRunCoco) {
  const std::string bundle = "/etc/ssl/certs/ca-certificates.crt";
  if (!std::filesystem::exists(bundle)) GTEST_SKIP() << "no CA bundle at " << bundle << " on this host";
  env_.writeTool("probenet", R"({"command": "probe", "allowed_hosts": ["example.test"]})");
  env_.writeTool("shnet", R"({"command": "sh", "allowed_hosts": ["example.test"]})");
  const std::string target = "/run/coco/ca-certificates.crt";
  RunResult cat = env_.run({"run", "probenet", "cat", target});
  EXPECT_EQ(cat.exitCode, 0) << cat.err;
  const std::string hostBundle = readFile(bundle);
  EXPECT_TRUE(cat.out == hostBundle) << "the sandbox's bundle (" << cat.out.size()
                                     << " bytes) is not the host's (" << hostBundle.size() << " bytes)";
  RunResult vars = env_.run({"run", "probenet", "env"});
  EXPECT_TRUE(contains(vars.out, "SSL_CERT_FILE=" + target + "\n")) << vars.out;
  // Denied either way (the bind is read-only; the file is the host's root's): the host's file stays.
  RunResult write = env_.run({"run", "probenet", "write", target, "evil"});
  EXPECT_TRUE(contains(write.out, "denied EROFS") || contains(write.out, "denied EACCES"))
      << write.out << write.err;
  RunResult unlink = env_.run({"run", "probenet", "unlink", target});
  EXPECT_TRUE(contains(unlink.out, "denied EBUSY") || contains(unlink.out, "denied EACCES"))
      << unlink.out << unlink.err;
  EXPECT_TRUE(readFile(bundle) == hostBundle) << "the host's bundle changed";
  // The target is made in the overlay: the image's /run (its lock dir) stays beside it.
  RunResult ls = env_.run({"run", "shnet", "-c", "probe ls /run/coco && echo -- && probe ls /run | sort"});
  EXPECT_EQ(ls.exitCode, 0) << ls.out << ls.err;
  EXPECT_EQ(ls.out, "ca-certificates.crt\n--\ncoco\nlock\n") << ls.err;
  // A config's own mounts below /run/coco: a directory and a file beside it in a directory made
  // for them, and a file on the bundle's own target, which the bundle's bind (coco's, after the
  // config's) covers.
  std::filesystem::create_directories(env_.workdir() + "/extra");
  std::ofstream(env_.workdir() + "/extra/note") << "a note\n";
  std::ofstream(env_.workdir() + "/own.crt") << "the config's own bundle\n";
  env_.writeTool("probemore",
                 R"({"command": "probe", "allowed_hosts": ["example.test"], "mounts": [)"
                 R"({"src": "./extra", "dst": "/run/coco/extra/dir", "opts": "ro"},)"
                 R"({"src": "./extra/note", "dst": "/run/coco/extra/note2", "opts": "ro"},)"
                 R"({"src": "./own.crt", "dst": "/run/coco/ca-certificates.crt", "opts": "ro"}]})");
  RunResult note = env_.run({"run", "probemore", "cat", "/run/coco/extra/note2"});
  EXPECT_EQ(note.exitCode, 0) << describe(note);
  EXPECT_EQ(note.out, "a note\n");
  RunResult dir = env_.run({"run", "probemore", "cat", "/run/coco/extra/dir/note"});
  EXPECT_EQ(dir.out, "a note\n") << describe(dir);
  RunResult covered = env_.run({"run", "probemore", "cat", target});
  EXPECT_EQ(covered.exitCode, 0) << covered.err;
  EXPECT_TRUE(covered.out == hostBundle)
      << "not the host's bundle at " << target << ": " << covered.out.substr(0, 200);
  RunResult none = probe({"stat", "/run/coco"});
  EXPECT_TRUE(contains(none.out, "denied ENOENT")) << "a run without a network got /run/coco: " << none.out;
}

// coco makes nothing in a mount of the config's for its own bundle: with a mount at /run or
// /run/coco, the bundle's target would be made in the host directory (an empty
// coco/ca-certificates.crt left there after the run) or, in a read-only one, refused with the
// whole run. The bundle goes to /etc/coco then, and the variables name it there.
TEST_F(EngineTest, AConfigMountAboveRunCocoGetsNothingMadeInIt) {
  const std::string bundle = "/etc/ssl/certs/ca-certificates.crt";
  if (!std::filesystem::exists(bundle)) GTEST_SKIP() << "no CA bundle at " << bundle << " on this host";
  const std::string hostBundle = readFile(bundle);
  const std::string moved = "/etc/coco/ca-certificates.crt";
  struct Case {
    const char* tool;
    const char* dir;
    const char* dst;
    const char* opts;
  };
  for (const Case& c : {Case{"runrw", "hostrun", "/run", "rw"}, Case{"runro", "hostrunro", "/run", "ro"},
                        Case{"cocorw", "hostcoco", "/run/coco", "rw"}}) {
    SCOPED_TRACE(c.tool);
    const std::string dir = env_.workdir() + "/" + c.dir;
    std::filesystem::create_directories(dir);
    env_.writeTool(c.tool,
                   std::string(R"({"command": "probe", "allowed_hosts": ["example.test"], "mounts": [)") +
                       R"({"src": "./)" + c.dir + R"(", "dst": ")" + c.dst + R"(", "opts": ")" + c.opts +
                       R"("}]})");
    RunResult cat = env_.run({"run", c.tool, "cat", moved});
    EXPECT_EQ(cat.exitCode, 0) << describe(cat);
    EXPECT_TRUE(cat.out == hostBundle)
        << "not the host's bundle at " << moved << ": " << cat.out.substr(0, 200);
    RunResult vars = env_.run({"run", c.tool, "env"});
    EXPECT_EQ(vars.exitCode, 0) << describe(vars);
    EXPECT_TRUE(contains(vars.out, "SSL_CERT_FILE=" + moved + "\n")) << vars.out;
    EXPECT_TRUE(contains(vars.out, "NODE_EXTRA_CA_CERTS=" + moved + "\n")) << vars.out;
    std::vector<std::string> left;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
      left.push_back(e.path().string());
    EXPECT_TRUE(left.empty()) << "coco made " << left.size() << " entries in the config's mount, first "
                              << (left.empty() ? "" : left[0]);
  }
}

// Attack on the bundle's second place: an image whose /etc/coco is a symlink out of it (to a host
// directory, absolute or by enough `..`), with the config's mount at /run sending the bundle there.
// The target is opened beneath the sandbox's root: refused, nothing made in the host directory.
TEST_F(EngineTest, TheCaBundlesSecondPlaceThroughAnImageSymlinkIsRefused) {
  const std::string bundle = "/etc/ssl/certs/ca-certificates.crt";
  if (!std::filesystem::exists(bundle)) GTEST_SKIP() << "no CA bundle at " << bundle << " on this host";
  TempDir image("coco-ca-image");
  const std::string host = image / "host";
  std::filesystem::create_directories(host);
  std::filesystem::create_directories(env_.workdir() + "/runmnt");
  env_.writeTool("runmnt", R"({"command": "probe", "allowed_hosts": ["example.test"], "mounts": [)"
                           R"({"src": "./runmnt", "dst": "/run"}]})");
  int n = 0;
  for (const std::string& link : {host, "../../../../../../../../../../.." + host}) {
    SCOPED_TRACE(link);
    const std::string extra = image / ("extra" + std::to_string(n)),
                      tar = image / ("image" + std::to_string(n) + ".tar");
    std::filesystem::create_directories(extra + "/etc");
    std::filesystem::create_directory_symlink(link, extra + "/etc/coco");
    std::string make = "tar -C '" + env_.rootfs() + "' --numeric-owner --owner=0 --group=0 -cf '" + tar +
                       "' . && tar -C '" + extra + "' --numeric-owner --owner=0 --group=0 -rf '" + tar +
                       "' etc/coco";
    ASSERT_EQ(std::system(make.c_str()), 0) << make;
    RunOptions opts;
    opts.env = {{"COCO_IMAGE", "rootfs:" + tar}, {"COCO_STORAGE", image / ("store" + std::to_string(n++))}};
    RunResult r = env_.run({"run", "runmnt", "cat", "/etc/coco/ca-certificates.crt"}, opts);
    EXPECT_NE(r.exitCode, 0) << "the run went ahead: " << describe(r);
    EXPECT_TRUE(contains(r.err, "/etc/coco")) << describe(r);
    EXPECT_TRUE(std::filesystem::is_empty(host)) << "something was made in the host directory";
    EXPECT_TRUE(std::filesystem::is_empty(env_.workdir() + "/runmnt"))
        << "something was made in the config's mount";
  }
}

// The same for /etc, where coco binds its own hostname, hosts and resolv.conf in every run: with a
// mount there, their mount points were made in the host directory, and a symlink of the user's
// in their place (resolv.conf -> systemd's stub) was unlinked. Refused instead, by the config's
// line, with the directory as it was.
TEST_F(EngineTest, AConfigMountAtEtcIsRefusedAndTheDirectoryKept) {
  for (const char* opts : {"rw", "ro"}) {
    SCOPED_TRACE(opts);
    const std::string dir = env_.workdir() + "/myetc-" + opts;
    std::filesystem::create_directories(dir);
    std::filesystem::create_symlink("/nonexistent/stub-resolv.conf", dir + "/resolv.conf");
    std::ofstream(dir + "/note") << "mine\n";
    env_.writeTool("etcmount", std::string(R"({"command": "probe", "network": "none", "mounts": [)") +
                                   R"({"src": "./myetc-)" + opts + R"(", "dst": "/etc", "opts": ")" + opts +
                                   R"("}]})");
    RunResult r = env_.run({"run", "etcmount", "exit", "0"});
    EXPECT_NE(r.exitCode, 0) << describe(r);
    EXPECT_TRUE(contains(r.err, "etcmount.json:1:") && contains(r.err, "'/etc'")) << r.err;
    std::vector<std::string> entries;
    for (const auto& e : std::filesystem::directory_iterator(dir))
      entries.push_back(e.path().filename().string());
    std::sort(entries.begin(), entries.end());
    EXPECT_EQ(entries, (std::vector<std::string>{"note", "resolv.conf"}));
    EXPECT_TRUE(std::filesystem::is_symlink(dir + "/resolv.conf")) << "the user's symlink was replaced";
  }
}

// A `rootfs:` image host root owns: root is never mapped into a user's sandbox, so the image's
// directories take nothing new, and a networked run, whose CA bundle needs a target made in
// /run, cannot start. Before, it failed with a bare "open /run/coco/ca-certificates.crt:
// Permission denied"; the failure now says whose directory it is and what to do. An offline
// run, which makes nothing there, still runs.
TEST_F(EngineTest, ARootOwnedRootfsSaysWhyANetworkedRunCannotStart) {
  const char* rootfs = getenv("COCO_TEST_ROOT_OWNED_ROOTFS");
  if (!rootfs || !*rootfs) {
    // An unprivileged user cannot make one; tests/run-all does.
    if (inCi()) FAIL() << "COCO_TEST_ROOT_OWNED_ROOTFS must be set in CI (tests/run-all sets it)";
    GTEST_SKIP() << "COCO_TEST_ROOT_OWNED_ROOTFS unset: no root-owned rootfs to test (run tests/run-all)";
  }
  if (getuid() == 0) GTEST_SKIP() << "as root the image's owner is mapped";
  struct stat st {};
  ASSERT_EQ(::stat((std::string(rootfs) + "/run").c_str(), &st), 0);
  ASSERT_EQ(st.st_uid, 0u);
  std::string bundle = env_.workdir() + "/corp-ca.pem";  // a networked run's CA bundle, whatever the host has
  std::ofstream(bundle) << "-----BEGIN CERTIFICATE-----\n";
  RunOptions opts;
  opts.env = {{"COCO_IMAGE", std::string("rootfs:") + rootfs}, {"SSL_CERT_FILE", bundle}};
  env_.writeTool("rootowned", R"({"command": "probe", "allowed_hosts": ["example.test"]})");
  RunResult r = env_.run({"run", "rootowned", "exit", "0"}, opts);
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(
      contains(r.err, "open /run/coco/ca-certificates.crt (the image's /run belongs to root on the host (" +
                          std::string(rootfs) + "/run)") &&
      contains(r.err, "rootfs: image must belong to you") && contains(r.err, "Permission denied"))
      << r.err;
  // A mount at a directory the image lacks, in one of root's. (The overlay's own root is its
  // upper's, the sandbox's: a mount right below / is made there.)
  env_.writeTool(
      "rootowned-mount",
      R"({"command": "probe", "network": "none", "mounts": [{"src": ".", "dst": "/usr/coco-new/x"}]})");
  RunResult mount = env_.run({"run", "rootowned-mount", "exit", "0"}, opts);
  EXPECT_EQ(mount.exitCode, 125) << describe(mount);
  EXPECT_TRUE(contains(mount.err, "open /usr/coco-new/x (the image's /usr belongs to root on the host (" +
                                      std::string(rootfs) + "/usr)"))
      << mount.err;
  // Below root's 0700 /root, where run caches and home mounts go: the host lookup cannot search
  // it either, and still names it.
  env_.writeTool(
      "rootowned-home",
      R"({"command": "probe", "network": "none", "mounts": [{"src": ".", "dst": "/root/.cache/x"}]})");
  RunResult home = env_.run({"run", "rootowned-home", "exit", "0"}, opts);
  EXPECT_EQ(home.exitCode, 125) << describe(home);
  EXPECT_TRUE(contains(home.err, "open /root/.cache/x (the image's /root belongs to root on the host (" +
                                     std::string(rootfs) + "/root)"))
      << home.err;
  env_.writeTool("rootowned-top",
                 R"({"command": "probe", "network": "none", "mounts": [{"src": ".", "dst": "/coco-new"}]})");
  RunResult top = env_.run({"run", "rootowned-top", "exit", "0"}, opts);
  EXPECT_EQ(top.exitCode, 0) << describe(top);
  // An EACCES that is not the image's: a mount inside a config mount of one of host root's
  // directories. The image has no /coco-ro, so nothing of it is blamed (the walk stops below /).
  // (The source is the fixture's own root-owned /usr: a host directory such as /usr/share may
  // hold coco's seccomp profile, which no writable mount may contain.)
  env_.writeTool("rootowned-notimage", R"({"command": "probe", "network": "none", "mounts": [{"src": ")" +
                                           std::string(rootfs) +
                                           R"(/usr", "dst": "/coco-ro", "opts": "rw"}, )"
                                           R"({"src": ".", "dst": "/coco-ro/coco-new"}]})");
  RunResult notImage = env_.run({"run", "rootowned-notimage", "exit", "0"}, opts);
  EXPECT_NE(notImage.exitCode, 0) << describe(notImage);
  EXPECT_TRUE(contains(notImage.err, "open /coco-ro/coco-new")) << notImage.err;
  EXPECT_FALSE(contains(notImage.err, "belongs to root")) << notImage.err;
  env_.writeTool("rootowned-offline", R"({"command": "probe", "network": "none"})");
  RunResult offline = env_.run({"run", "rootowned-offline", "exit", "0"}, opts);
  EXPECT_EQ(offline.exitCode, 0) << describe(offline);
}

// coco started with signals ignored (`nohup`, a non-interactive shell's `cmd &`, a CI runner's
// `trap '' INT`): a direct run of the tool inherits them ignored through its exec, so the
// sandboxed one must too (before, the tool had every signal reset to its default, and nohup's
// SIGHUP killed it). Such a signal sent to coco is still passed on, as the kernel would deliver
// it to the tool run directly: a tool that handles it itself (a server reloading on SIGHUP; the
// probe, which blocks and waits for them) gets it. A SIGCHLD ignored at start is not kept (coco
// and the sandbox's init wait for their children), and coco still gets the tool's exit status
// (it hung before).
std::vector<std::string> ignoring(const std::string& signals) {
  return {"/bin/bash", "-c", "trap '' " + signals + "; exec \"$@\"", "sh"};
}

RunOptions withIgnored(const std::string& signals) {
  RunOptions o;
  o.wrapper = ignoring(signals);
  return o;
}

// SigIgn of /proc/PID/status as printed by `probe cat /proc/self/status`: whether `sig` is set.
std::optional<bool> ignoredIn(const std::string& status, int sig) {
  size_t at = status.find("SigIgn:\t");
  if (at == std::string::npos) return std::nullopt;
  uint64_t mask = std::stoull(status.substr(at + 8, 16), nullptr, 16);
  return (mask >> (sig - 1)) & 1;
}

TEST_F(EngineTest, SignalsIgnoredAtStartStayIgnoredInTheToolAndArePassedOn) {
  for (const char* tool : {"probe", "probenet"}) {
    SCOPED_TRACE(tool);
    env_.writeTool("probenet", R"({"command": "probe", "allowed_hosts": ["example.test"]})");
    Child c = env_.spawn({"run", tool, "signal-wait"}, withIgnored("HUP INT"));
    ASSERT_TRUE(waitForOutput(c, "ready\n", 60s)) << c.out << c.err;
    kill(c.pid, SIGHUP);
    kill(c.pid, SIGINT);
    EXPECT_TRUE(waitForOutput(c, "got SIGHUP\n", 10s)) << c.out << c.err;
    EXPECT_TRUE(waitForOutput(c, "got SIGINT\n", 10s)) << c.out << c.err;
    kill(c.pid, SIGTERM);
    EXPECT_EQ(finish(c, 30s), 0) << c.out << c.err;
  }

  RunResult ignored = env_.run({"run", "probe", "cat", "/proc/self/status"}, withIgnored("HUP INT CHLD"));
  ASSERT_EQ(ignored.exitCode, 0) << describe(ignored);
  EXPECT_EQ(ignoredIn(ignored.out, SIGHUP), true) << ignored.out;
  EXPECT_EQ(ignoredIn(ignored.out, SIGINT), true) << ignored.out;
  EXPECT_EQ(ignoredIn(ignored.out, SIGCHLD), false) << ignored.out;
  EXPECT_EQ(ignoredIn(ignored.out, SIGTERM), false) << ignored.out;
  EXPECT_EQ(ignoredIn(ignored.out, SIGPIPE), false) << ignored.out;  // coco's own SIG_IGN is not passed on
  EXPECT_TRUE(contains(ignored.out, "SigIgn:\t0000000000000003\n")) << ignored.out;  // HUP and INT only
  RunResult plain = env_.run({"run", "probe", "cat", "/proc/self/status"});
  ASSERT_EQ(plain.exitCode, 0) << describe(plain);
  EXPECT_TRUE(contains(plain.out, "SigIgn:\t0000000000000000\n")) << plain.out;
  EXPECT_TRUE(contains(plain.out, "SigBlk:\t0000000000000000\n")) << plain.out;

  RunResult status = env_.run({"run", "probe", "exit", "3"}, withIgnored("CHLD"));
  EXPECT_EQ(status.exitCode, 3) << describe(status);
}

// The terminal closes under a tool that ignores SIGHUP (`trap '' HUP` in the shell, then a tool
// on the pty): the tool's writes must fail as on the gone terminal, not block forever on a full
// pty coco stopped reading (coco then waited for the tool forever).
TEST_F(EngineTest, ATerminalHangupEndsAToolThatIgnoresSighup) {
  env_.writeTool("yes", R"({"command": "yes", "network": "none"})");
  PtyResult r = env_.hangUpInPty({"run", "yes", "still-here"}, "still-here\r\nstill-here", 60, ignoring("HUP"));
  ASSERT_TRUE(contains(r.output, "still-here")) << r.output.substr(0, 200);
  EXPECT_FALSE(r.timedOut) << "coco did not end after the hangup";
  EXPECT_EQ(r.exitCode, 1);  // yes: a write failed

  // A tool that only waits for input (a REPL, a prompt): its read must end too.
  env_.writeTool("shell", R"({"command": "sh", "network": "none"})");
  PtyResult reader = env_.hangUpInPty({"run", "shell", "-c", "echo waiting; read -r line; exit 40"}, "waiting", 60,
                                      ignoring("HUP"));
  EXPECT_FALSE(reader.timedOut) << "coco did not end after the hangup: " << reader.output;
  EXPECT_EQ(reader.exitCode, 40) << reader.output;  // its read ended (EOF or EIO), the script went on
}

// A stalled terminal (a suspended ssh client, a frozen terminal emulator; here nobody reads the
// pty) must not make coco deaf to a stop (a `timeout` or CI runner's SIGTERM, a Ctrl-C from
// another terminal): coco wrote to it with a blocking write, in which the stop only queued up, so
// nothing happened until the terminal went on. Now coco waits for room in poll, passes the stop
// to the tool, and gives up on what a terminal already stuck at the stop has had no room for
// 5 s after the tool's end. `yes` floods the terminal through the sandbox's pty and, with stdin not a
// terminal, through the pipe coco copies to the terminal.
TEST_F(EngineTest, AStopEndsARunWhoseTerminalIsStalled) {
  env_.writeTool("yes", R"({"command": "yes", "network": "none"})");
  auto stallThen = [](int sig) {
    return [sig](pid_t pid, int&, std::string&) {
      std::this_thread::sleep_for(1s);  // nothing read: the buffers fill up
      kill(pid, sig);
    };
  };
  PtyResult r = env_.actOnPty({"run", "yes", "flood"}, "flood\r\nflood", 60, {}, stallThen(SIGINT));
  ASSERT_TRUE(contains(r.output, "flood")) << r.output.substr(0, 200);
  EXPECT_FALSE(r.timedOut) << "coco did not end after SIGINT on a stalled terminal";
  EXPECT_EQ(r.exitCode, 130);

  std::vector<std::string> noStdin = {"/bin/sh", "-c", "exec \"$0\" \"$@\" < /dev/null"};
  PtyResult piped = env_.actOnPty({"run", "yes", "flood"}, "flood\r\nflood", 60, noStdin, stallThen(SIGTERM));
  ASSERT_TRUE(contains(piped.output, "flood")) << piped.output.substr(0, 200);
  EXPECT_FALSE(piped.timedOut) << "coco did not end after SIGTERM on a stalled terminal";
  EXPECT_EQ(piped.exitCode, 143);
}

// coco's own words after it gave up on a stalled terminal (here the workspace guard's report of
// the .envrc the tool planted, printed once the sandbox is gone) must not hold it there either:
// they went to the shared, blocking description, so coco sat in that write for good.
TEST_F(EngineTest, CocosOwnReportAfterAStalledTerminalDoesNotHoldIt) {
  env_.writeTool("plantyes", R"({"command": "sh", "network": "none",
    "mounts": [{"src": ".", "dst": "/workspace", "opts": "rw"}]})");
  const char* script = "echo planted > /workspace/.envrc; exec yes flood";
  auto stallThen = [](int sig) {
    return [sig](pid_t pid, int&, std::string&) {
      std::this_thread::sleep_for(1s);  // nothing read: the buffers fill up
      kill(pid, sig);
    };
  };
  for (bool withPty : {true, false}) {
    SCOPED_TRACE(withPty ? "pty" : "pipes");
    std::vector<std::string> wrap;
    if (!withPty) wrap = {"/bin/sh", "-c", "exec \"$0\" \"$@\" < /dev/null"};
    PtyResult r = env_.actOnPty({"run", "plantyes", "-c", script}, "flood\r\nflood", 60, wrap,
                                stallThen(withPty ? SIGINT : SIGTERM));
    ASSERT_TRUE(contains(r.output, "flood")) << r.output.substr(0, 200);
    EXPECT_FALSE(r.timedOut) << "coco's report after the give-up held it on the stalled terminal";
    EXPECT_EQ(r.exitCode, withPty ? 130 : 143);
    // The report itself may be lost (the terminal was given up on); the guard's removal is not.
    EXPECT_FALSE(fs::exists(env_.workdir() + "/.envrc"));
  }
}

// The other side of the give-up above: a tool that handles the stop and then writes (a summary)
// to a terminal that reads it, if slowly (here: not for 9 s after the stop, longer than the 5 s
// above), loses none of it: the terminal was taking bytes when the stop came. The tail (~31 KB)
// is more than the terminal's pty holds and less than that plus the sandbox's pty and coco's
// buffer, so the tool ends with bytes waiting in coco while nothing is read (a build that gave
// those up lost them here). How much the ptys hold at that moment varies with the kernel's
// timing (its flip-buffer work), so the scenario is tried up to three times; where it never
// arises (the tool not done, or coco already gone, when reading starts), the test says it
// skipped, and which.
TEST_F(EngineTest, AStoppedToolsLastOutputReachesASlowTerminal) {
  env_.writeTool("tailshell", R"({"command": "sh", "network": "none",
    "mounts": [{"src": ".", "dst": "/workspace", "opts": "rw"}]})");
  const char* script =
      "trap 'i=0; while [ $i -lt 2000 ]; do echo tail-line-$i; i=$((i+1)); done; echo tail-done; "
      ": > /workspace/tail-finished; exit 0' INT; "
      "echo ready; while :; do sleep 1; done";
  std::string finished = env_.workdir() + "/tail-finished";
  bool exercised = false;  // the tool was done and coco still held bytes when reading started
  bool toolDone = false, cocoRunning = false;
  PtyResult r;
  for (int attempt = 0; attempt < 3 && !exercised; ++attempt) {
    std::error_code gone;
    fs::remove(finished, gone);
    r = env_.actOnPty(
        {"run", "tailshell", "-c", script}, "ready", 90, {}, [&](pid_t pid, int& master, std::string& out) {
          kill(pid, SIGINT);
          std::this_thread::sleep_for(9s);  // the tool writes its tail meanwhile, and ends
          siginfo_t info = {};  // coco still running: not reaped here (WNOWAIT), actOnPty reaps it
          toolDone = fs::exists(finished);
          cocoRunning = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                        info.si_pid == 0;
          exercised = toolDone && cocoRunning;
          auto deadline = std::chrono::steady_clock::now() + 60s;
          char buf[4096];
          while (std::chrono::steady_clock::now() < deadline) {
            struct pollfd p = {master, POLLIN, 0};
            if (poll(&p, 1, 100) <= 0) continue;
            ssize_t n = read(master, buf, sizeof buf);
            if (n <= 0) break;  // EIO: coco, the pty's last user, is gone
            out.append(buf, static_cast<size_t>(n));
          }
        });
    if (r.timedOut || r.exitCode != 0 || !contains(r.output, "tail-done")) break;  // failed: said below
  }
  EXPECT_FALSE(r.timedOut);
  EXPECT_EQ(r.exitCode, 0) << r.output.substr(r.output.size() > 300 ? r.output.size() - 300 : 0);
  if (!exercised && !r.timedOut && r.exitCode == 0 && contains(r.output, "tail-done"))
    GTEST_SKIP()
        << "in three tries this kernel's pty buffers did not leave the tool done with its tail waiting in "
           "coco (last try: the tool "
        << (toolDone ? "was" : "was not") << " done, coco " << (cocoRunning ? "was" : "was not")
        << " still running, when reading started)";
  EXPECT_TRUE(exercised) << "coco ended before the terminal was read, or the tool was not done";
  EXPECT_TRUE(contains(r.output, "tail-line-1999\r\ntail-done")) << r.output.substr(r.output.size() > 300 ? r.output.size() - 300 : 0);
}

// tests/helpers/stall_init, which holds the sandbox's init under ptrace: its path, or why the
// test skips (Yama's ptrace_scope 2 or 3 refuses ptrace: the helper exits 77) or fails.
struct StallInit {
  std::string path, skip, error;
};

StallInit stallInit() {
  const char* helper = std::getenv("COCO_TEST_STALL_INIT");
  if (!helper || !*helper) return {"", "", "COCO_TEST_STALL_INIT must name tests/helpers/stall_init"};
  RunResult traced = hostShell(shellQuote(helper) + " true");
  if (traced.exitCode == 77 && contains(traced.out, "stall-init: ptrace refused"))
    return {"", "ptrace is refused here, which the stalled setup is made with: " + traced.out, ""};
  if (traced.exitCode != 0) return {"", "", "stall-init true: " + describe(traced)};
  return {helper, "", ""};
}

// stallInit(), once the probenet tool is written and one untraced run made: a user-namespace
// holder that run starts is not a process stall-init traces. That run's failure is the error.
StallInit stallInitAfterAWarmRun(const Env& env) {
  StallInit stall = stallInit();
  if (!stall.skip.empty() || !stall.error.empty()) return stall;
  env.writeTool("probenet", R"({"command": "probe", "allowed_hosts": ["example.test"]})");
  RunResult warm = env.run({"run", "probe", "exit", "0"});
  if (warm.exitCode != 0) stall.error = "the untraced run: " + describe(warm);
  return stall;
}

// A setup that never ends (init's mount of a source on a hung NFS or FUSE server) must not make
// coco deaf to Ctrl-C: coco blocks the stop signals from the clone on and, before the tool ran,
// only waited for init. stall-init holds init stopped from its first instruction; SIGINT, SIGTERM
// or SIGHUP to coco then end the sandbox (init killed) with 128+N and say so. With an allowlist
// coco first waits for init's listeners; without the user-namespace holder it maps init itself.
TEST_F(EngineTest, AStopSignalEndsASetupThatNeverEnds) {
  StallInit stall = stallInitAfterAWarmRun(env_);
  if (!stall.skip.empty()) GTEST_SKIP() << stall.skip;
  ASSERT_TRUE(stall.error.empty()) << stall.error;
  const char* helper = stall.path.c_str();
  struct Case {
    std::string tool;
    int sig;
    EnvList env;
  };
  for (const Case& k : {Case{"probe", SIGINT, {}}, Case{"probenet", SIGTERM, {}},
                        Case{"probe", SIGHUP, {{"COCO_USERNS_HOLDER", "0"}}}}) {
    std::string what = k.tool + " " + sigabbrev_np(k.sig) + (k.env.empty() ? "" : " without the holder");
    RunOptions o;
    o.wrapper = {helper};
    o.env = k.env;
    Child c = env_.spawn({"run", k.tool, "write", "/dev/stdout", "the tool ran\n"}, o);
    ASSERT_TRUE(waitForOutput(c, "stall-init: holding init", 60s)) << what << "\n" << c.out << c.err;
    kill(c.pid, k.sig);
    int code = finish(c, 20s);
    EXPECT_EQ(code, 128 + k.sig) << what << " (-1: coco did not end)\n" << c.out << c.err;
    EXPECT_TRUE(contains(c.err, std::string("stopped by SIG") + sigabbrev_np(k.sig) +
                                    " while the sandbox was being set up"))
        << what << "\n" << c.err;
    EXPECT_TRUE(contains(c.err, "stall-init: init ended by signal 9")) << what << "\n" << c.err;
    EXPECT_FALSE(contains(c.out, "the tool ran")) << what;
  }
  // A stop signal coco's parent left ignored (a script's `cmd &`, whose Ctrl-C must not reach
  // it) does not stop the setup; another one still does. stall-init passes SIGINT on to coco.
  {
    RunOptions o;
    o.wrapper = ignoring("INT");
    o.wrapper.push_back(helper);
    Child c = env_.spawn({"run", "probe", "write", "/dev/stdout", "the tool ran\n"}, o);
    ASSERT_TRUE(waitForOutput(c, "stall-init: holding init", 60s)) << c.out << c.err;
    kill(c.pid, SIGINT);
    EXPECT_FALSE(waitForError(c, "stopped by", 2s)) << "an ignored SIGINT stopped the setup\n" << c.err;
    kill(c.pid, SIGTERM);
    EXPECT_EQ(finish(c, 20s), 128 + SIGTERM) << c.out << c.err;
    EXPECT_TRUE(contains(c.err, "stopped by SIGTERM while the sandbox was being set up")) << c.err;
    EXPECT_FALSE(contains(c.out, "the tool ran"));
  }
  // On a terminal coco waits for the pty's master first.
  PtyResult t = env_.runInPty({"run", "probe", "write", "/dev/stdout", "the tool ran\n"}, "",
                              "stall-init: holding init", 60, SIGINT, {helper});
  EXPECT_FALSE(t.timedOut) << t.output;
  EXPECT_EQ(t.exitCode, 130) << t.output;
  EXPECT_TRUE(contains(t.output, "stopped by SIGINT while the sandbox was being set up")) << t.output;
  EXPECT_TRUE(contains(t.output, "stall-init: init ended by signal 9")) << t.output;
  EXPECT_FALSE(contains(t.output, "the tool ran")) << t.output;
}

// Attack on the stop above: once init's setup is done and it starts the tool, a stop must reach
// the tool, not kill it. coco reads the tool's exec from the report pipe's end, which comes only
// once init has also closed its copy; a stop in between (init preempted after the exec, on a
// loaded machine) killed a running tool and said it never started. stall-init holds the tool
// between its clone and its exec, longer than any preemption: a stop then goes to init, which
// passes it to the tool once that runs; a second stop while the tool still has not started ends
// the sandbox, and so does the first one 3 s on. Network none and allowlist (coco waits for
// init's listeners first), and without the user-namespace holder (coco maps init itself).
TEST_F(EngineTest, AStopWhileTheToolStartsGoesToTheTool) {
  StallInit stall = stallInitAfterAWarmRun(env_);
  if (!stall.skip.empty()) GTEST_SKIP() << stall.skip;
  ASSERT_TRUE(stall.error.empty()) << stall.error;
  RunOptions o;
  o.wrapper = {stall.path};
  o.env = {{"STALL_INIT_TOOL", "1"}};
  struct Case {
    std::string tool;
    bool holder;
  };
  for (const Case& k : {Case{"probe", true}, Case{"probenet", true}, Case{"probe", false}}) {
    std::string tool = k.tool + (k.holder ? "" : " without the holder");
    RunOptions with = o;
    if (!k.holder) with.env.push_back({"COCO_USERNS_HOLDER", "0"});
    Child c = env_.spawn({"run", k.tool, "signal-wait", "20"}, with);
    ASSERT_TRUE(waitForOutput(c, "stall-init: holding the tool", 60s)) << tool << "\n" << c.out << c.err;
    kill(c.pid, SIGTERM);
    EXPECT_FALSE(waitForError(c, "stopped by", 1s)) << tool << ": the stop killed the starting tool\n" << c.err;
    kill(c.pid, SIGUSR1);  // the tool goes on, and gets the SIGTERM: at once, or from sigtimedwait
    int code = finish(c, 20s);
    EXPECT_TRUE(code == 128 + SIGTERM || (code == 0 && contains(c.out, "got SIGTERM")))
        << tool << ": exit " << code << "\n" << c.out << c.err;
    EXPECT_FALSE(contains(c.err, "stopped by")) << tool << "\n" << c.err;
  }
  // Stopped again while the tool is still held: the sandbox ends, as a setup that never ends.
  Child c = env_.spawn({"run", "probe", "signal-wait", "20"}, o);
  ASSERT_TRUE(waitForOutput(c, "stall-init: holding the tool", 60s)) << c.out << c.err;
  kill(c.pid, SIGINT);
  // 1 s, past SetupWait::kGraceMs: the next stop is not part of this one.
  EXPECT_FALSE(waitForError(c, "stopped by", 1s)) << c.err;
  kill(c.pid, SIGINT);
  EXPECT_EQ(finish(c, 20s), 130) << c.out << c.err;
  EXPECT_TRUE(contains(c.err, "stopped by SIGINT while the sandbox was being set up")) << c.err;
  EXPECT_TRUE(contains(c.err, "stall-init: init ended by signal 9")) << c.err;
  EXPECT_TRUE(contains(c.err, "the tool's start had not ended when SIGINT came")) << c.err;
  EXPECT_FALSE(contains(c.out, "ready")) << c.out;
  // One stop, and the tool's start never ends (its chdir or exec on a hung workspace mount): a
  // `timeout 60 coco run` or a CI runner's single SIGTERM still ends the run, after
  // SetupWait::kStartAfterStopSeconds (3 s).
  Child d = env_.spawn({"run", "probe", "signal-wait", "20"}, o);
  ASSERT_TRUE(waitForOutput(d, "stall-init: holding the tool", 60s)) << d.out << d.err;
  kill(d.pid, SIGTERM);
  EXPECT_EQ(finish(d, 20s), 128 + SIGTERM) << d.out << d.err;
  EXPECT_TRUE(contains(d.err, "stopped by SIGTERM while the sandbox was being set up (the tool's start had not "
                              "ended 3 s later)"))
      << d.err;
  EXPECT_TRUE(contains(d.err, "stall-init: init ended by signal 9")) << d.err;
  EXPECT_FALSE(contains(d.out, "ready")) << d.out;
}

// Attack on the stop above: init waits for coco at no step after the go byte, so the tool may
// have written before a stop reached coco, even while coco still waited for the network or the
// pty. The workspace guard checks after every stopped setup: what appeared in the workspace
// while init was held (written here from the host, as the tool could have) is removed.
TEST_F(EngineTest, TheWorkspaceGuardChecksAfterAStoppedSetup) {
  StallInit stall = stallInitAfterAWarmRun(env_);
  if (!stall.skip.empty()) GTEST_SKIP() << stall.skip;
  ASSERT_TRUE(stall.error.empty()) << stall.error;
  const char* helper = stall.path.c_str();
  TempDir ws("stopped-ws");
  std::string mount = R"("mounts": [{"src": )" + jsonString(ws.path()) + R"(, "dst": "/ws"}])";
  env_.writeTool("probews", R"({"command": "probe", "network": "none", )" + mount + "}");
  env_.writeTool("probewsnet", R"({"command": "probe", "allowed_hosts": ["example.test"], )" + mount + "}");
  for (const char* tool : {"probews", "probewsnet"}) {
    RunOptions o;
    o.wrapper = {helper};
    Child c = env_.spawn({"run", tool, "write", "/dev/stdout", "the tool ran\n"}, o);
    ASSERT_TRUE(waitForOutput(c, "stall-init: holding init", 60s)) << tool << "\n" << c.out << c.err;
    writeFile(ws.path() + "/.envrc", "echo planted\n");
    kill(c.pid, SIGINT);
    EXPECT_EQ(finish(c, 30s), 130) << tool << " (-1: coco did not end)\n" << c.out << c.err;
    EXPECT_TRUE(contains(c.err, "stopped by SIGINT while the sandbox was being set up")) << tool << "\n" << c.err;
    EXPECT_FALSE(fs::exists(ws.path() + "/.envrc")) << tool << ": the guard did not check after the stop\n" << c.err;
    EXPECT_TRUE(contains(c.err, "workspace guard: removed")) << tool << "\n" << c.err;
    EXPECT_TRUE(contains(c.err, "checking the workspace after the stopped setup")) << tool << "\n" << c.err;
    std::error_code ec;
    fs::remove(ws.path() + "/.envrc", ec);
  }
}

// Attack on the stop above: init killed in a request that never ends (a FUSE server that read
// it and never answers keeps even a SIGKILL'd task: stall-init holds init at its exit). coco
// must not hang with it: it gives up after a few seconds, or at once at a second stop signal,
// and says init is left to the kernel.
TEST_F(EngineTest, AStopDoesNotWaitForeverForAnInitThatCannotDie) {
  StallInit stall = stallInitAfterAWarmRun(env_);
  if (!stall.skip.empty()) GTEST_SKIP() << stall.skip;
  ASSERT_TRUE(stall.error.empty()) << stall.error;
  const char* helper = stall.path.c_str();
  struct Case {
    std::string what;
    std::vector<int> first;  // sent together
    bool again;              // SIGINT again once init is held at its exit
    std::string said;
  };
  for (const Case& k :
       {Case{"SIGINT once", {SIGINT}, false, "its init had not ended 3 s after SIGKILL"},
        Case{"SIGINT twice", {SIGINT}, true, "its init had not ended when SIGINT came again"},
        // One hangup brings SIGHUP and SIGTERM together: one stop, not a second one.
        Case{"SIGHUP and SIGTERM at once", {SIGHUP, SIGTERM}, false, "its init had not ended 3 s after SIGKILL"}}) {
    RunOptions o;
    o.wrapper = {helper};
    o.env = {{"STALL_INIT_UNKILLABLE", "1"}};
    Child c = env_.spawn({"run", "probe", "write", "/dev/stdout", "the tool ran\n"}, o);
    ASSERT_TRUE(waitForOutput(c, "stall-init: holding init", 60s)) << k.what << "\n" << c.out << c.err;
    for (int sig : k.first) kill(c.pid, sig);
    if (k.again) {
      // Once init is held at its exit and the first 200 ms are over (a stop signal queued with
      // the first is part of it): a second signal at once, long before the 3 s limit.
      ASSERT_TRUE(waitForError(c, "stall-init: holding init's exit", 20s)) << c.out << c.err;
      std::this_thread::sleep_for(400ms);
      kill(c.pid, SIGINT);
    }
    // Without the limit coco and stall-init each wait for the other: -1. Of signals sent
    // together, whichever coco reads first is the stop (stall-init forwards them one by one).
    int code = finish(c, 30s);
    bool oneOfThem = std::any_of(k.first.begin(), k.first.end(), [code](int sig) { return code == 128 + sig; });
    EXPECT_TRUE(oneOfThem) << k.what << ": " << code << " (-1: coco did not end)\n" << c.out << c.err;
    EXPECT_TRUE(contains(c.err, "stall-init: holding init's exit")) << k.what << "\n" << c.err;
    if (code > 128) {
      EXPECT_TRUE(contains(c.err, std::string("stopped by SIG") + sigabbrev_np(code - 128) +
                                      " while the sandbox was being set up"))
          << k.what << "\n" << c.err;
    }
    EXPECT_TRUE(contains(c.err, k.said)) << k.what << "\n" << c.err;
    // Let go once coco ended, init dies of the SIGKILL it got.
    EXPECT_TRUE(contains(c.err, "stall-init: init ended by signal 9")) << k.what << "\n" << c.err;
    EXPECT_FALSE(contains(c.out, "the tool ran")) << k.what;
  }
}

// A plain run leaves its gateway to coco's exit instead of stopping it
// (backend.cpp): nothing of it may outlive coco. A published port of a
// networked run is bound while the tool runs and refused once coco is gone.
TEST_F(EngineTest, NothingOfTheGatewayOutlivesCoco) {
  UniqueFd probeFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(probeFd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(probeFd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  probeFd.reset();  // a free port, published by the run below
  std::string port = std::to_string(ntohs(addr.sin_port));
  auto reachable = [&addr] {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    return connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  };
  env_.writeTool("probeport", R"({"command": "probe", "allowed_hosts": ["example.test"], "ports": ["127.0.0.1:)" +
                                  port + R"(:80"]})");
  Child c = env_.spawn({"run", "probeport", "signal-wait"});
  ASSERT_TRUE(waitForOutput(c, "ready\n", 60s)) << c.out << c.err;
  EXPECT_TRUE(reachable()) << "the published port " << port << " was not bound while the tool ran";
  kill(c.pid, SIGTERM);
  EXPECT_EQ(finish(c, 30s), 0) << c.out << c.err;
  EXPECT_FALSE(reachable()) << "the published port " << port << " was still bound after coco exited";
}

TEST_F(EngineTest, ZombiesAreReaped) {
  RunResult r = probe({"zombie", "5"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "zombies: 0")) << describe(r);
}

// A /proc file of a process that may exit while it is read: what could be read, without throwing.
std::string readProcFile(pid_t pid, const char* name) {
  UniqueFd fd(open(("/proc/" + std::to_string(pid) + "/" + name).c_str(), O_RDONLY | O_CLOEXEC));
  std::string text;
  char buf[4096];
  ssize_t n;
  while (fd && (n = read(fd.get(), buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  return text;
}

// pid 1 of a pid namespace other than ours: the last NSpid field of its status is 1.
bool isPidNamespaceInit(pid_t pid) {
  for (const std::string& line : lines(readProcFile(pid, "status"))) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    std::istringstream in(line.substr(6));
    std::vector<std::string> ids(std::istream_iterator<std::string>{in}, {});
    return ids.size() > 1 && ids.back() == "1";
  }
  return false;
}

// Attack on coco's early return (it answers as soon as init says the tool exited,
// before the kernel tears the namespaces down): what the tool leaves behind (a
// writer into the workspace that ignores SIGTERM/SIGHUP, a loop forking as fast
// as it can, a process whose death takes long) must be dead by the time coco
// returns, or it writes after the workspace guard's check. Checked at once,
// with no grace period.
TEST_F(EngineTest, NothingOfTheSandboxRunsOnceCocoHasReturned) {
  TempDir ws("leftover-ws");
  std::string tag = "coco-leftover-" + std::to_string(getpid());
  env_.writeTool("leftover", R"({"command": "sh", "network": "none", "mounts": [{"src": )" +
                                 jsonString(ws.path()) + R"(, "dst": "/ws"}]})");
  std::string fifo = ws.path() + "/held";
  for (int round = 0; round < 5; ++round) {
    // A process that holds 768 MiB takes the kernel ~40 ms to kill (freeing its
    // memory), and it holds the write end of a fifo until the very end of that:
    // a read end that sees EOF when coco returns proves that no sandbox process
    // is left, whatever the machine's load. A /proc scan cannot: a process that
    // is freeing its memory has no command line to find it by any more.
    writeFile(ws.path() + "/out", "");  // so that a script that ends early still leaves one to measure
    ASSERT_EQ(chmod((ws.path() + "/out").c_str(), 0666), 0) << strerror(errno);
    ASSERT_EQ(mkfifo(fifo.c_str(), 0666), 0) << fifo << ": " << strerror(errno);
    ASSERT_EQ(chmod(fifo.c_str(), 0666), 0) << fifo << ": " << strerror(errno);  // whatever the umask
    UniqueFd held(open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    ASSERT_TRUE(held) << fifo << ": " << strerror(errno);
    // Hundreds of processes take the kernel milliseconds to kill: a status sent
    // before they are gone would let coco return while some still run. None
    // holds coco's stdout or stderr, whose end coco would otherwise wait for.
    // The hog has its memory before anything else starts: once the fork loop
    // fills the sandbox's process limit, its own fork would fail. A hog that
    // ends without a word (it could not start) ends the script with 3.
    std::string script = "exec >/dev/null 2>&1 </dev/null; "
                         "(probe hog 768M 300 >/ws/hogged) 3>/ws/held & h=$!; "
                         "while [ ! -s /ws/hogged ]; do kill -0 $h || exit 3; done; "
                         "(trap '' TERM HUP; while :; do echo x >> /ws/out; done) & "
                         "i=0; while [ $i -lt 600 ]; do probe sleep 300 " + tag + " & i=$((i+1)); done; "
                         "(while :; do probe sleep 300 " + tag + " & done) >/dev/null 2>&1 & "
                         "while [ ! -s /ws/out ]; do :; done; exit 9";
    RunResult r = env_.run({"run", "leftover", "-c", script});
    char byte;
    ssize_t got = read(held.get(), &byte, 1);
    int readErrno = errno;
    // The sandbox's init (pid 1 of its pid namespace: coco's own code, whose
    // command line is coco's and holds the tag too) may still be on its way
    // out: it keeps the workspace guard's inotify descriptor until coco has
    // closed the events pipe (init.cpp, outlastCoco), and runs nothing of the
    // tool. Every other process must be gone, and init too 300 ms later.
    std::vector<pid_t> left;
    std::string described;
    for (pid_t p : processesWithTag(tag)) {
      if (isPidNamespaceInit(p)) continue;
      left.push_back(p);
      described += "\n  " + std::to_string(p) + ": " + readProcFile(p, "cmdline");
    }
    auto size = fs::file_size(ws.path() + "/out");
    EXPECT_EQ(r.exitCode, 9) << (r.exitCode == 3 ? "the hog ended before it said anything; " : "") << describe(r);
    // The hog had its memory when the tool exited: else its end proves nothing.
    EXPECT_TRUE(contains(readFile(ws.path() + "/hogged"), "stopped at the maximum"))
        << "the hog did not allocate its 768 MiB (round " << round << "): " << readFile(ws.path() + "/hogged");
    EXPECT_EQ(got, 0) << (got < 0 && readErrno == EAGAIN
                              ? "a sandbox process (the hog, dying) still held the fifo when coco returned"
                              : "the fifo's read: " + std::string(strerror(readErrno)))
                      << " (round " << round << ")";
    EXPECT_TRUE(left.empty()) << left.size() << " sandbox process(es) still ran when coco returned (round " << round
                              << "):" << described;
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(fs::file_size(ws.path() + "/out"), size) << "the workspace was written after coco returned";
    EXPECT_TRUE(processesWithTag(tag).empty()) << "the sandbox's init outlived coco by 300 ms (round " << round << ")";
    for (pid_t p : left) kill(p, SIGKILL);
    for (const char* name : {"/out", "/hogged", "/held"}) fs::remove(ws.path() + name);
  }
}

TEST_F(EngineTest, NothingSurvivesKill9OfCoco) {
  std::string tag = "coco-kill9-tag-" + std::to_string(getpid());
  Child c = env_.spawn({"run", "probe", "sleep", "300", tag});
  bool started = false;
  for (int i = 0; i < 300 && !started; i++) {  // the sandbox may take a while to start
    for (pid_t p : processesWithTag(tag)) started = started || p != c.pid;
    if (!started) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(started) << "the probe never appeared";
  kill(c.pid, SIGKILL);
  finish(c, 10s);
  std::vector<pid_t> left;
  for (int i = 0; i < 30; i++) {  // up to 3 s for the kernel to tear the sandbox down
    left = processesWithTag(tag);
    if (left.empty()) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(left.empty()) << left.size() << " sandbox process(es) outlived coco";
  for (pid_t p : left) kill(p, SIGKILL);
}

// Attack on the kill above, at its worst moment: coco killed after it has sent init its go but
// before init has set PR_SET_PDEATHSIG, so no parent-death signal ever comes. stall-init holds
// init from its first instruction, kills coco with SIGKILL a second later, then lets init go on:
// init must end at once (it checks a pidfd of coco after the prctl) and never start the tool.
// Network none and allowlist, and without the user-namespace holder (coco clones init itself).
TEST_F(EngineTest, AKill9OfCocoBeforeInitsDeathSignalRunsNothing) {
  StallInit stall = stallInitAfterAWarmRun(env_);
  if (!stall.skip.empty()) GTEST_SKIP() << stall.skip;
  ASSERT_TRUE(stall.error.empty()) << stall.error;
  for (const auto& [tool, env] : {std::pair<std::string, EnvList>{"probe", {}},
                                  {"probenet", {}},
                                  {"probe", {{"COCO_USERNS_HOLDER", "0"}}}}) {
    std::string what = tool + (env.empty() ? "" : " without the holder");
    RunOptions o;
    o.wrapper = {stall.path};
    o.env = env;
    o.env.push_back({"STALL_INIT_KILL_COMMAND", "1"});
    Child c = env_.spawn({"run", tool, "write", "/dev/stdout", "the tool ran\n"}, o);
    ASSERT_TRUE(waitForOutput(c, "stall-init: holding init", 60s)) << what << "\n" << c.out << c.err;
    int code = finish(c, 20s);
    EXPECT_EQ(code, 128 + SIGKILL) << what << " (-1: init did not end)\n" << c.out << c.err;
    EXPECT_TRUE(contains(c.err, "stall-init: init exited 125")) << what << "\n" << c.err;
    EXPECT_FALSE(contains(c.out, "the tool ran")) << what << ": the tool ran after coco was killed";
  }
}

// --- terminals and pipes --------------------------------------------------------

bool sameTerminalSettings(const termios& a, const termios& b) {
  return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_lflag == b.c_lflag &&
         a.c_cflag == b.c_cflag;
}

TEST_F(EngineTest, PtyModeGivesTheToolATerminal) {
  PtyResult r = env_.runInPty({"run", "probe", "isatty"});
  ASSERT_FALSE(r.timedOut) << r.output;
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "0:yes 1:yes 2:yes ctty:yes")) << r.output;
  EXPECT_TRUE(sameTerminalSettings(r.before, r.after)) << "terminal settings not restored";
}

TEST_F(EngineTest, PtyModeForwardsWindowSizeAndInput) {
  PtyResult ws = env_.runInPty({"run", "probe", "winsize"});
  EXPECT_TRUE(contains(ws.output, "rows=40 cols=100")) << ws.output;

  env_.writeTool("shell", R"({"command": "sh", "network": "none"})");
  PtyResult r = env_.runInPty({"run", "shell", "-c", "echo prompt; read x; echo got:$x; exit 42"},
                              "typed\n", "prompt");
  ASSERT_FALSE(r.timedOut) << r.output;
  EXPECT_EQ(r.exitCode, 42) << r.output;
  EXPECT_TRUE(contains(r.output, "got:typed")) << r.output;
  EXPECT_TRUE(sameTerminalSettings(r.before, r.after)) << "terminal settings not restored";
}

TEST_F(EngineTest, PtyModeRestoresTerminalWhenToolIsKilled) {
  PtyResult r = env_.runInPty({"run", "probe", "kill-self", "KILL"});
  ASSERT_FALSE(r.timedOut) << r.output;
  EXPECT_EQ(r.exitCode, 137) << r.output;
  EXPECT_TRUE(sameTerminalSettings(r.before, r.after)) << "terminal settings not restored";
}

TEST_F(EngineTest, PtyModeRestoresTerminalWhenCocoGetsSigterm) {
  PtyResult r = env_.runInPty({"run", "probe", "signal-wait"}, "", "ready", 60, SIGTERM);
  ASSERT_FALSE(r.timedOut) << r.output;
  EXPECT_TRUE(contains(r.output, "got SIGTERM")) << r.output;
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_TRUE(sameTerminalSettings(r.before, r.after)) << "terminal settings not restored";
}

TEST_F(EngineTest, PipeModeStreamsStdio) {
  env_.writeTool("cat", R"({"command": "cat", "network": "none"})");
  RunOptions opts;
  opts.stdinData = "hello\nworld\n";
  RunResult r = env_.run({"run", "cat"}, opts);
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "hello\nworld\n") << describe(r);

  RunResult tty = probe({"isatty"});
  EXPECT_EQ(tty.exitCode, 0) << describe(tty);
  EXPECT_EQ(tty.out, "0:no 1:no 2:no ctty:no\n") << describe(tty);
}

TEST_F(EngineTest, PipeModeWritesToAFile) {
  // `coco run tool > out`: stdout is a host file the tool writes directly.
  env_.writeTool("echo", R"({"command": "echo", "network": "none"})");
  RunOptions opts;
  opts.stdoutPath = env_.workdir() + "/out.txt";
  RunResult r = env_.run({"run", "echo", "to-a-file"}, opts);
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(readFile(opts.stdoutPath), "to-a-file\n") << describe(r);
}

// --- the static front and coco-full (util/front.hpp) ----------------------

// coco-full of the coco under test: next to it in a build tree, in /usr/libexec/coco installed
// (the paths the build compiles in); "" when there is none (a build with -Dstatic_front=false).
std::string cocoFull(const std::string& coco) {
  std::string full = coco == "/usr/bin/coco" ? "/usr/libexec/coco/coco-full"
                                             : fs::path(coco).parent_path().string() + "/coco-full";
  return fs::exists(full) ? full : "";
}

// Whether the ELF file at `path` asks for a program interpreter (the dynamic loader).
bool hasInterpreter(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr eh{};
  if (!in.read(reinterpret_cast<char*>(&eh), sizeof eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
    ADD_FAILURE() << path << " is no ELF file";
    return false;
  }
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(static_cast<std::streamoff>(eh.e_phoff + i * eh.e_phentsize));
    if (!in.read(reinterpret_cast<char*>(&ph), sizeof ph)) break;
    if (ph.p_type == PT_INTERP) return true;
  }
  return false;
}

// With a coco-full beside it, coco is the static front: no dynamic loader at its start. Without
// one it is the only, dynamically linked, coco.
TEST_F(EngineTest, TheFrontIsStaticWhenThereIsACocoFull) {
  std::string full = cocoFull(env_.coco());
  if (full.empty()) {
    EXPECT_TRUE(hasInterpreter(env_.coco())) << env_.coco() << " is static but has no coco-full beside it";
    return;
  }
  EXPECT_FALSE(hasInterpreter(env_.coco())) << env_.coco() << " asks for the dynamic loader";
  EXPECT_TRUE(hasInterpreter(full)) << full;
}

// Attack first: nothing in the environment or the working directory chooses what the front hands
// over to. A coco-full on PATH and in the working directory is never run.
TEST_F(EngineTest, TheHandOverRunsOnlyTheCompiledInCocoFull) {
  std::string full = cocoFull(env_.coco());
  if (full.empty()) return;  // one coco: nothing is handed over (TheFrontIsStaticWhenThereIsACocoFull)
  std::string bait = env_.workdir() + "/bin";
  fs::create_directories(bait);
  std::string marker = env_.workdir() + "/bait-ran";
  for (const auto& name : {"coco-full", "coco"}) {
    std::ofstream(bait + "/" + name) << "#!/bin/sh\ntouch " << marker << "\nexit 42\n";
    fs::permissions(bait + "/" + name, fs::perms::owner_all);
  }
  fs::copy(bait + "/coco-full", env_.workdir() + "/coco-full");
  RunOptions o;
  o.env = {{"PATH", bait + ":/usr/bin:/bin"}, {"COCO_DEBUG", "1"}, {"COCO_FULL_PATH", bait + "/coco-full"}};
  RunResult r = env_.run({"list"}, o);
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, "handing over to " + full)) << describe(r);
  EXPECT_FALSE(fs::exists(marker)) << "the front ran a coco-full the environment named";
}

// Commands other than a run go to coco-full at once; a run of a configured tool that needs no
// install stays in the front, and so does the next one, and so does a run of a config named on
// the command line (CI's policy file: before, its name's hash loaded libcrypto, in coco-full,
// and each such run paid coco-full's start).
TEST_F(EngineTest, TheFrontServesRunsAndHandsTheRestOver) {
  std::string full = cocoFull(env_.coco());
  if (full.empty()) return;  // TheFrontIsStaticWhenThereIsACocoFull
  RunOptions o;
  o.env = {{"COCO_DEBUG", "1"}};
  RunResult list = env_.run({"list"}, o);
  EXPECT_EQ(list.exitCode, 0) << describe(list);
  EXPECT_TRUE(contains(list.out, "probe")) << describe(list);
  EXPECT_TRUE(contains(list.err, "handing over to " + full + ": not a run")) << describe(list);
  for (int i = 0; i < 2; ++i) {
    RunResult r = probe({"exit", "0"}, o);
    EXPECT_EQ(r.exitCode, 0) << describe(r);
    EXPECT_FALSE(contains(r.err, "handing over")) << describe(r);
    EXPECT_FALSE(contains(r.err, "no spares")) << "the holder its first run started " << describe(r);
  }
  std::ofstream(env_.workdir() + "/ci.json") << R"({"command": "probe", "network": "none"})";
  RunResult ci = env_.run({"run", "--config", "ci.json", "probe", "exit", "0"}, o);
  EXPECT_EQ(ci.exitCode, 0) << describe(ci);
  EXPECT_FALSE(contains(ci.err, "handing over")) << describe(ci);
}

// HOME unset (cron, `env -i`, a service's unit without one): coco takes the home directory of the
// user's password database entry, as podman and npm do. Before, every command failed with "HOME is
// not set". The run stays in the static front, which reads /etc/passwd itself; `~` in a config is
// that home; other commands (coco-full, which asks the name service) see it too.
TEST_F(EngineTest, AnUnsetHomeIsTheHomeOfTheUsersPasswdEntry) {
  struct passwd* pw = ::getpwuid(::getuid());
  if (!pw || !pw->pw_dir || pw->pw_dir[0] != '/') {
    if (inCi()) FAIL() << "tests/run-all's users have passwd entries with a home";
    GTEST_SKIP() << "this user has no passwd entry with an absolute home";
  }
  std::string home = pw->pw_dir;
  env_.writeTool("unsethome", R"({"command": "probe", "network": "none", "mounts": )"
                              R"([{"src": "~/coco-unset-home-test", "dst": "/h", "opts": "ro"}]})");
  RunOptions o;
  o.wrapper = {"/usr/bin/env", "-u", "HOME"};
  o.env = {{"COCO_DEBUG", "1"}};
  RunResult dry = env_.run({"run", "--dry-run", "unsethome"}, o);
  EXPECT_EQ(dry.exitCode, 0) << describe(dry);
  EXPECT_TRUE(contains(dry.out, "\"src\": \"" + home + "/coco-unset-home-test\"")) << describe(dry);
  EXPECT_FALSE(contains(dry.err, "handing over")) << describe(dry);
  RunResult r = probe({"exit", "0"}, o);
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_FALSE(contains(r.err, "handing over")) << describe(r);
  // `coco show` is coco-full's: its home comes from the name service.
  RunResult show = env_.run({"show", "unsethome"}, o);
  EXPECT_EQ(show.exitCode, 0) << describe(show);
  EXPECT_TRUE(contains(show.out, home + "/coco-unset-home-test -> /h")) << describe(show);
  // An empty HOME is unset too; a relative one is the user's mistake, said as before.
  o.wrapper.clear();
  o.env = {{"HOME", ""}};
  RunResult empty = probe({"exit", "0"}, o);
  EXPECT_EQ(empty.exitCode, 0) << describe(empty);
  o.env = {{"HOME", "home/x"}};
  RunResult relative = probe({"exit", "0"}, o);
  EXPECT_NE(relative.exitCode, 0) << describe(relative);
  EXPECT_TRUE(contains(relative.err, "HOME is not")) << describe(relative);
}

// A run the front hands over (here: a learn run, which coco-full serves) starts in coco-full as
// it would have started in the front: the tool gets the
// descriptor limit coco was started with, not the one the front raised, and the signals coco's
// parent left ignored (the front hands them to coco-full by exec, as it recorded them at its
// start); and it runs only once.
TEST_F(EngineTest, AHandedOverRunGetsWhatCocoWasStartedWith) {
  std::string full = cocoFull(env_.coco());
  if (full.empty()) return;  // TheFrontIsStaticWhenThereIsACocoFull
  RunOptions o = withIgnored("HUP INT");
  o.env = {{"COCO_DEBUG", "1"}};
  o.fdSoftLimit = 512;
  o.fdHardLimit = 4096;
  RunResult r = env_.run({"run", "--learn", "probe", "cat", "/proc/self/limits"}, o);
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, "handing over to " + full)) << describe(r);
  std::istringstream lines(r.out);
  std::string line, soft, hard;
  while (std::getline(lines, line))
    if (line.rfind("Max open files", 0) == 0) std::istringstream(line.substr(14)) >> soft >> hard;
  EXPECT_EQ(soft, "512") << r.out;
  EXPECT_EQ(hard, "4096") << r.out;
  RunResult status = env_.run({"run", "--learn", "probe", "cat", "/proc/self/status"}, o);
  ASSERT_EQ(status.exitCode, 0) << describe(status);
  EXPECT_TRUE(contains(status.err, "handing over to " + full)) << describe(status);
  EXPECT_TRUE(contains(status.out, "SigIgn:\t0000000000000003\n")) << status.out;  // HUP and INT only
}

// A holder started by coco-full gives spares to the front's runs, and the other way round: both
// are the same build (userns_holder.cpp, sameExecutable).
TEST_F(EngineTest, EitherCocoOfAPairUsesTheOthersHolder) {
  std::string full = cocoFull(env_.coco());
  if (full.empty()) return;  // TheFrontIsStaticWhenThereIsACocoFull
  RunOptions viaFull;
  viaFull.env = {{"COCO_DEBUG", "1"}};
  // coco-full started as coco (argv[0] names the tool of a link otherwise).
  viaFull.wrapper = {"/bin/bash", "-c", "shift; exec -a coco \"$0\" \"$@\"", full};
  RunResult first = probe({"exit", "0"}, viaFull);
  ASSERT_EQ(first.exitCode, 0) << describe(first);
  RunOptions o;
  o.env = {{"COCO_DEBUG", "1"}};
  RunResult r = probe({"exit", "0"}, o);
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_FALSE(contains(r.err, "no spares")) << describe(r);
  RunResult back = probe({"exit", "0"}, viaFull);
  EXPECT_EQ(back.exitCode, 0) << describe(back);
  EXPECT_FALSE(contains(back.err, "no spares")) << describe(back);
}

}  // namespace
}  // namespace cocotest
