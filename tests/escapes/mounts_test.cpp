// Escapes through mount sources: a run with a writable mount replaces a path
// that a later run mounts with a symlink to a host directory the config never
// granted (~/.ssh), and the later run would mount the symlink's target.
//
// HOME is a temp dir with a fake ~/.ssh holding a canary key; the project is
// the harness's scratch working directory.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "harness.hpp"

namespace fs = std::filesystem;

namespace cocotest {
namespace {

constexpr const char* kCanary = "CANARY-ssh-private-key-5c2e";

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exitCode) + (r.timedOut ? " (timed out)" : "") + "\n--- stdout ---\n" +
         r.out + "--- stderr ---\n" + r.err;
}

// A tool that runs busybox sh with the given mounts.
std::string shellTool(const std::string& mounts) {
  return R"({"command": "sh", "network": "none", "mounts": [)" + mounts + "]}\n";
}

std::string mount(const std::string& src, const std::string& dst, const std::string& opts = "rw") {
  return R"({"src": )" + jsonString(src) + R"(, "dst": )" + jsonString(dst) + R"(, "opts": )" + jsonString(opts) +
         "}";
}

class Mounts : public ::testing::Test {
 protected:
  void SetUp() override {
    COCO_REQUIRE_SANDBOX();
    ssh_ = home_ / ".ssh";
    writeFile(ssh_ + "/id_rsa", std::string(kCanary) + "\n");
    private_ = home_ / "private";
    writeFile(private_ + "/notes.txt", std::string(kCanary) + "\n");
    project_ = env_.workdir();
  }

  RunResult coco(const std::vector<std::string>& args, const std::string& cwd = "") {
    RunOptions o;
    o.env = {{"HOME", home_.path()}};
    o.cwd = cwd;
    return env_.run(args, o);
  }

  // The second run must refuse, naming the path and why, and touch nothing.
  void expectRefused(const RunResult& r, const std::string& path, const std::string& why) {
    EXPECT_EQ(r.exitCode, 125) << describe(r);
    EXPECT_FALSE(contains(r.out, kCanary)) << "the planted target was mounted\n" << describe(r);
    EXPECT_TRUE(contains(r.err, path)) << "the error does not name " << path << "\n" << describe(r);
    EXPECT_TRUE(contains(r.err, why)) << "the error does not say '" << why << "'\n" << describe(r);
    EXPECT_FALSE(fs::exists(ssh_ + "/authorized_keys"));
    EXPECT_FALSE(fs::exists(private_ + "/pwned"));
    EXPECT_EQ(readFile(ssh_ + "/id_rsa"), std::string(kCanary) + "\n");
  }

  Env env_;
  TempDir home_{"coco-mnt-home"};
  std::string ssh_, private_, project_;
};

// The two-run attack from the issue: `.` and `./build-cache`, the first run
// turns build-cache into a symlink to ~/.ssh.
TEST_F(Mounts, PlantedSymlinkAtTheSourceIsRefused) {
  fs::create_directories(project_ + "/build-cache");
  env_.writeTool("t", shellTool(mount(".", "/workspace") + ", " + mount("./build-cache", "/cache")));
  RunResult plant = coco({"run", "t", "-c", "rm -rf /workspace/build-cache && ln -s '" + ssh_ +
                                               "' /workspace/build-cache"});
  ASSERT_EQ(plant.exitCode, 0) << describe(plant);
  ASSERT_TRUE(fs::is_symlink(project_ + "/build-cache"));
  RunResult r = coco({"run", "t", "-c", "cat /cache/id_rsa; echo pwned > /cache/authorized_keys"});
  expectRefused(r, project_ + "/build-cache", "symbolic link");
  RunResult dry = coco({"run", "--dry-run", "t"});
  EXPECT_EQ(dry.exitCode, 125) << describe(dry);
}

// The same with a target that is no credential directory: the symlink rule
// alone must hold.
TEST_F(Mounts, PlantedSymlinkToAnyHostDirectoryIsRefused) {
  fs::create_directories(project_ + "/build-cache");
  env_.writeTool("t", shellTool(mount(".", "/workspace") + ", " + mount("./build-cache", "/cache")));
  RunResult plant = coco({"run", "t", "-c", "rm -rf /workspace/build-cache && ln -s '" + private_ +
                                               "' /workspace/build-cache"});
  ASSERT_EQ(plant.exitCode, 0) << describe(plant);
  RunResult r = coco({"run", "t", "-c", "cat /cache/notes.txt; echo pwned > /cache/pwned"});
  expectRefused(r, project_ + "/build-cache", "symbolic link");
}

// A symlink as an intermediate component: `./a -> ~/.ssh`, source `./a/b`.
// Where b is missing coco used to create it, through the symlink.
TEST_F(Mounts, PlantedSymlinkAsAnIntermediateComponentIsRefused) {
  fs::create_directories(project_ + "/a/b");
  env_.writeTool("t", shellTool(mount(".", "/workspace") + ", " + mount("./a/b", "/cache")));
  RunResult plant = coco({"run", "t", "-c", "rm -rf /workspace/a && ln -s '" + ssh_ + "' /workspace/a"});
  ASSERT_EQ(plant.exitCode, 0) << describe(plant);
  RunResult r = coco({"run", "t", "-c", "ls /cache; echo pwned > /cache/authorized_keys"});
  expectRefused(r, project_ + "/a", "symbolic link");
  EXPECT_FALSE(fs::exists(ssh_ + "/b")) << "coco created the missing source through the planted symlink";
}

// Planted by an earlier run of another tool (one with `.` writable) at the
// source of a tool whose config mounts only `./sub`: a relative source is
// resolved without symlinks below the directory coco runs from.
TEST_F(Mounts, SymlinkPlantedByAnotherToolIsRefused) {
  fs::create_directories(project_ + "/sub");
  env_.writeTool("writer", shellTool(mount(".", "/workspace")));
  env_.writeTool("reader", shellTool(mount("./sub", "/sub")));
  RunResult plant = coco({"run", "writer", "-c", "rm -rf /workspace/sub && ln -s '" + private_ + "' /workspace/sub"});
  ASSERT_EQ(plant.exitCode, 0) << describe(plant);
  RunResult r = coco({"run", "reader", "-c", "cat /sub/notes.txt; echo pwned > /sub/pwned"});
  expectRefused(r, project_ + "/sub", "symbolic link");
}

// The planted link is the mount root's parent: the user runs a `.` tool from
// inside it (`cd sub` follows the link into ~/.ssh). `.` reaches a credential
// directory only through where coco runs, which is no explicit grant.
TEST_F(Mounts, CredentialDirectoryReachedThroughDotIsRefused) {
  env_.writeTool("t", shellTool(mount(".", "/workspace")));
  RunResult plant = coco({"run", "t", "-c", "ln -s '" + ssh_ + "' /workspace/sub"});
  ASSERT_EQ(plant.exitCode, 0) << describe(plant);
  RunResult r = coco({"run", "t", "-c", "cat /workspace/id_rsa; echo pwned > /workspace/authorized_keys"},
                     project_ + "/sub");
  expectRefused(r, ssh_, "credentials");
}

// A source the user wrote as a symlink of their own (no writable mount of the
// config lies above it) still reaches a credential directory: refused unless
// the config names the directory itself.
TEST_F(Mounts, CredentialDirectoryThroughAUserSymlinkNeedsTheExplicitPath) {
  fs::create_symlink(ssh_, home_ / "keys");
  env_.writeTool("t", shellTool(mount("~/keys", "/keys", "ro")));
  RunResult r = coco({"run", "t", "-c", "cat /keys/id_rsa"});
  expectRefused(r, ssh_, "credentials");
  env_.writeTool("t", shellTool(mount("~/.ssh", "/keys", "ro")));
  RunResult explicitGrant = coco({"run", "t", "-c", "cat /keys/id_rsa"});
  EXPECT_EQ(explicitGrant.exitCode, 0) << describe(explicitGrant);
  EXPECT_TRUE(contains(explicitGrant.out, kCanary)) << describe(explicitGrant);
}

// Symlinks the user made above the configured path keep working: the project
// directory itself is a symlink, and so is a source outside any writable mount.
TEST_F(Mounts, UserSymlinksAboveTheSourceStillWork) {
  TempDir real("coco-mnt-real");
  writeFile(real / "data/file.txt", "data\n");
  fs::create_symlink(real.path(), home_ / "proj");
  env_.writeTool("t", shellTool(mount("~/proj", "/proj") + ", " + mount("~/proj/data", "/data", "ro")));
  RunResult r = coco({"run", "t", "-c", "cat /data/file.txt && echo ok > /proj/out.txt"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "data\n");
  EXPECT_EQ(readFile(real / "out.txt"), "ok\n");
  // Run from inside the symlinked project: `.` is where the user is.
  env_.writeTool("dot", shellTool(mount(".", "/workspace") + ", " + mount("./data", "/data", "ro")));
  RunResult dot = coco({"run", "dot", "-c", "cat /data/file.txt"}, home_ / "proj");
  EXPECT_EQ(dot.exitCode, 0) << describe(dot);
  EXPECT_EQ(dot.out, "data\n");
}

// A seccomp profile the tool can write: the first run would replace it with an allow-all
// profile and every later run would have no filter. Refused before the tool starts.
TEST_F(Mounts, SeccompProfileInTheWritableWorkspaceIsRefused) {
  const std::string profile = project_ + "/seccomp.json";
  const std::string strict = R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "write",
    "exit_group", "execve", "brk", "mmap", "munmap", "mprotect", "arch_prctl", "rt_sigaction", "rt_sigprocmask",
    "openat", "close", "fstat", "newfstatat", "getpid", "set_tid_address", "ioctl", "wait4", "clone", "fork",
    "vfork", "clone3", "getuid", "geteuid", "getppid", "getcwd", "prlimit64", "rseq", "set_robust_list",
    "getrandom", "futex", "exit", "fcntl", "lseek", "readlink", "access", "pipe2", "dup2", "dup3", "uname",
    "chdir", "stat", "lstat", "poll", "pselect6", "rt_sigreturn", "sigaltstack", "statx", "sysinfo"],
    "action": "SCMP_ACT_ALLOW"}]})";
  writeFile(profile, strict);
  env_.writeTool("t", R"({"command": "sh", "network": "none", "seccomp": )" + jsonString(profile) +
                          R"(, "mounts": [)" + mount(".", "/workspace") + "]}\n");
  RunResult r = coco({"run", "t", "-c", R"(echo '{"defaultAction": "SCMP_ACT_ALLOW"}' > /workspace/seccomp.json)"});
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "could rewrite its own policy")) << describe(r);
  EXPECT_EQ(readFile(profile), strict);
}

// A profile path that leads to a device or FIFO: refused at once, not read without end.
TEST_F(Mounts, SeccompProfileThatIsNoRegularFileIsRefused) {
  const std::string zero = home_ / "zero.json";
  ASSERT_EQ(::symlink("/dev/zero", zero.c_str()), 0);
  env_.writeTool("t", R"({"command": "sh", "network": "none", "seccomp": )" + jsonString(zero) + "}\n");
  RunOptions o;
  o.env = {{"HOME", home_.path()}};
  o.timeoutSecs = 60;
  RunResult r = env_.run({"run", "t", "-c", "true"}, o);
  EXPECT_FALSE(r.timedOut) << describe(r);
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "not a regular file")) << describe(r);
}

// `cd ~ && eslint .`: a writable `.` run from home hands the tool every file the
// user owns, keys and coco's own configs included. Refused before anything
// starts, naming what and both ways to allow it.
TEST_F(Mounts, WritableHomeThroughDotIsRefused) {
  env_.writeTool("t", shellTool(mount(".", "/workspace")));
  RunResult r = coco({"run", "t", "-c", "echo pwned > /workspace/private/pwned; cat /workspace/.ssh/id_rsa"},
                     home_.path());
  expectRefused(r, home_.path(), "exposes your home directory");
  EXPECT_TRUE(contains(r.err, "coco run --allow-home t")) << describe(r);
  EXPECT_TRUE(contains(r.err, "allow_home: true")) << describe(r);
  // Nor does a dry run plan it.
  EXPECT_EQ(coco({"run", "--dry-run", "t"}, home_.path()).exitCode, 125);
}

// Naming home (or a directory above it, or /) in the config is no confirmation for a writable mount.
TEST_F(Mounts, WritableHomeNamedOrAboveIsRefused) {
  env_.writeTool("t", shellTool(mount("~", "/h")));
  expectRefused(coco({"run", "t", "-c", "echo pwned > /h/private/pwned"}), home_.path(), "allow_home");
  std::string parent = fs::path(home_.path()).parent_path();
  env_.writeTool("t", shellTool(mount(parent, "/up")));
  expectRefused(coco({"run", "t", "-c", "true"}), "a directory above your home", "allow_home");
  env_.writeTool("t", shellTool(mount("/", "/host")));
  expectRefused(coco({"run", "t", "-c", "echo pwned > /host" + private_ + "/pwned"}),
                "the whole host file system", "allow_home");
}

// A symlink that leads to home is resolved before the check: the user's own, or a project's.
TEST_F(Mounts, WritableHomeThroughASymlinkIsRefused) {
  TempDir other("coco-mnt-link");
  fs::create_symlink(home_.path(), other / "home-link");
  env_.writeTool("t", shellTool(mount(other / "home-link", "/h")));
  expectRefused(coco({"run", "t", "-c", "echo pwned > /h/private/pwned"}), home_.path(), "allow_home");
  env_.writeTool("t", shellTool(mount(".", "/workspace")));
  expectRefused(coco({"run", "t", "-c", "echo pwned > /workspace/private/pwned"}, other / "home-link"),
                home_.path(), "allow_home");
}

// Started through a `coco up` link the tool takes no coco options: the refusal names the config key.
TEST_F(Mounts, WritableHomeThroughTheToolsLinkNamesTheConfigKey) {
  TempDir bin("coco-mnt-bin");
  fs::create_symlink(env_.coco(), bin / "t");
  env_.writeTool("t", shellTool(mount(".", "/workspace")));
  RunOptions o;
  o.env = {{"HOME", home_.path()}};
  o.cwd = home_.path();
  o.wrapper = {"/bin/sh", "-c", "shift; exec \"$0\" \"$@\"", bin / "t"};
  RunResult r = env_.run({"-c", "echo pwned > /workspace/private/pwned"}, o);
  expectRefused(r, home_.path(), "set 'allow_home: true' in ");
  EXPECT_TRUE(contains(r.err, "started through its link")) << describe(r);
}

// Confirmed, it runs: once with --allow-home, always with `allow_home: true`.
TEST_F(Mounts, WritableHomeRunsWhenConfirmed) {
  env_.writeTool("t", shellTool(mount(".", "/workspace")));
  RunResult once = coco({"run", "--allow-home", "t", "-c", "echo ok > /workspace/once"}, home_.path());
  ASSERT_EQ(once.exitCode, 0) << describe(once);
  EXPECT_EQ(readFile(home_ / "once"), "ok\n");
  EXPECT_EQ(coco({"run", "t", "-c", "true"}, home_.path()).exitCode, 125) << "--allow-home is for one run";
  env_.writeTool("t", R"({"command": "sh", "network": "none", "allow_home": true, "mounts": [)" +
                          mount(".", "/workspace") + "]}\n");
  RunResult always = coco({"run", "t", "-c", "echo ok > /workspace/always"}, home_.path());
  ASSERT_EQ(always.exitCode, 0) << describe(always);
  EXPECT_EQ(readFile(home_ / "always"), "ok\n");
}

// Read-only, home named in the config is the user's choice: it runs (`coco show` warns about it).
TEST_F(Mounts, ReadOnlyHomeNamedInTheConfigRuns) {
  env_.writeTool("t", shellTool(mount("~", "/h", "ro")));
  RunResult r =
      coco({"run", "t", "-c", "cat /h/private/notes.txt; echo x > /h/private/pwned || echo refused"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, kCanary)) << describe(r);
  EXPECT_TRUE(contains(r.out, "refused")) << describe(r);
  EXPECT_FALSE(fs::exists(private_ + "/pwned"));
}

// A seed config written for podman: `z`/`Z` load, and the native runtime ignores them.
TEST_F(Mounts, PodmanRelabelOptionsAreAcceptedAndIgnored) {
  fs::create_directories(project_ + "/data");
  env_.writeTool("t", shellTool(mount(".", "/workspace", "z") + ", " + mount("./data", "/data", "ro,Z")));
  RunResult r = coco({"run", "t", "-c", "echo ok > /workspace/out && (echo x > /data/x || echo ro)"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "ro\n") << describe(r);
  EXPECT_EQ(readFile(project_ + "/out"), "ok\n");
}

}  // namespace
}  // namespace cocotest
