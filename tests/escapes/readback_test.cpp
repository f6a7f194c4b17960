// Escapes through what coco reads back from a sandbox or an image: an install's
// results and log, a published base image's version file, an archive's index.
//
// An install runs package code with coco's io directory (/.coco) writable, and
// coco's host side reads what is left there. These tests install a tool from a
// fake image offline: the busybox rootfs with a stand-in `mise` whose `use`
// step runs /etc/plant-install.sh (the package's install scripts) and whose
// tool runs /etc/plant-version.sh on `--version` (the smoke start coco runs in
// the install). What they plant: symlinks to a host secret (whose host path a
// real attacker reads from /proc/self/mountinfo) and to /dev/zero, fifos.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "harness.hpp"

namespace fs = std::filesystem;

namespace cocotest {
namespace {

constexpr const char* kCanary = "CANARY-7d41-refresh-token";

constexpr const char* kFakeMise = R"(#!/bin/sh
# Stand-in for mise: `use` is where package code runs.
case "$1" in
  use) if [ -f /etc/plant-install.sh ]; then . /etc/plant-install.sh; fi; exit 0 ;;
  env) echo '{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "MALFIX_FROM_MISE": "yes"}' ;;
  ls) echo '{"fake:malfix": [{"version": "1.0.0", "active": true}]}' ;;
  exec) shift; if [ "$1" = "--" ]; then shift; fi; exec "$@" ;;
  *) exit 2 ;;
esac
)";

constexpr const char* kMalfix = R"(#!/bin/sh
if [ "$1" = "--version" ]; then
  if [ -f /etc/plant-version.sh ]; then . /etc/plant-version.sh; fi
  echo 1.0.0
  exit 0
fi
env
)";

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exitCode) + (r.timedOut ? " (timed out)" : "") + "\n--- stdout ---\n" +
         r.out.substr(0, 4000) + "--- stderr ---\n" + r.err.substr(0, 4000);
}

void makeExecutable(const std::string& path, const std::string& text) {
  writeFile(path, text);
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
}

// Caps coco's heap while it lives, so a read without limit ends in a failed
// allocation instead of eating the test machine's memory.
class DataLimit {
 public:
  explicit DataLimit(rlim_t bytes) {
    getrlimit(RLIMIT_DATA, &saved_);
    struct rlimit lim = saved_;
    lim.rlim_cur = std::min(bytes, saved_.rlim_max);
    setrlimit(RLIMIT_DATA, &lim);
  }
  ~DataLimit() { setrlimit(RLIMIT_DATA, &saved_); }

 private:
  struct rlimit saved_ {};
};

class Readback : public ::testing::Test {
 protected:
  void SetUp() override {
    COCO_REQUIRE_SANDBOX();
    image_ = scratch_ / "image";
    std::string cmd = "cp -a '" + env_.rootfs() + "' '" + image_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    makeExecutable(image_ + "/usr/bin/mise", kFakeMise);
    makeExecutable(image_ + "/usr/bin/malfix", kMalfix);
    secret_ = home_ / ".config/gcloud/application_default_credentials.json";
    writeFile(secret_, std::string("{\"client_secret\": \"") + kCanary + "\", \"refresh_token\": \"" + kCanary +
                           "\"}\n");
    env_.writeTool("malfix", R"({"tool": "fake:malfix", "command": "malfix", "network": "none"})");
  }

  RunResult coco(const std::vector<std::string>& args, int timeout = 120) {
    RunOptions o;
    o.env = {{"HOME", home_.path()}, {"COCO_IMAGE", "rootfs:" + image_}};
    o.timeoutSecs = timeout;
    return env_.run(args, o);
  }

  void plantAtInstall(const std::string& script) { writeFile(image_ + "/etc/plant-install.sh", script); }
  void plantAtVersion(const std::string& script) { writeFile(image_ + "/etc/plant-version.sh", script); }

  // No trace of the secret in what coco printed, planned or kept.
  void expectNoSecret(const RunResult& r) {
    EXPECT_FALSE(contains(r.out, kCanary)) << describe(r);
    EXPECT_FALSE(contains(r.err, kCanary)) << describe(r);
    RunResult dry = coco({"run", "--dry-run", "malfix"});
    EXPECT_FALSE(contains(dry.out, "client_secret")) << describe(dry);
    EXPECT_FALSE(contains(dry.out, "refresh_token")) << describe(dry);
    for (const auto& e : fs::recursive_directory_iterator(env_.dataHome() + "/coco")) {
      if (!e.is_regular_file() || e.is_symlink()) continue;
      EXPECT_FALSE(contains(readFile(e.path()), kCanary)) << e.path();
    }
  }

  bool installed() {
    RunResult list = coco({"list"});
    return contains(list.out, "installed 1.0.0");
  }

  Env env_;
  TempDir home_{"coco-rb-home"};
  TempDir scratch_{"coco-rb"};
  std::string image_;
  std::string secret_;
};

// The smoke start (`TOOL --version`, package code) replaces the recorded
// environment with a symlink to a host credential file.
TEST_F(Readback, SmokeStartCannotRedirectTheRecordedEnvironment) {
  plantAtVersion("ln -sf '" + secret_ + "' /.coco/mise-env.json 2>/dev/null || true\n");
  RunResult r = coco({"run", "malfix"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "MALFIX_FROM_MISE=yes")) << "the environment mise recorded was not used\n"
                                                        << describe(r);
  expectNoSecret(r);
  RunResult again = coco({"run", "malfix"});
  EXPECT_TRUE(contains(again.out, "MALFIX_FROM_MISE=yes")) << describe(again);
  expectNoSecret(again);
}

// A fifo where coco reads back: opening it would wait for a writer forever.
TEST_F(Readback, SmokeStartCannotPlantAFifo) {
  plantAtVersion("rm -f /.coco/mise-ls.json 2>/dev/null; mkfifo /.coco/mise-ls.json 2>/dev/null || true\n");
  RunResult r = coco({"run", "malfix"}, 90);
  ASSERT_FALSE(r.timedOut) << "coco hung on a fifo the install left\n" << describe(r);
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(installed());
}

// The install itself (package scripts under `mise use`) plants the symlink;
// mise's own output then goes through it into a look-alike path inside the
// sandbox, and coco's host side would follow it to the real file.
TEST_F(Readback, InstallCannotRedirectTheRecordedEnvironmentToAHostFile) {
  std::string dir = secret_.substr(0, secret_.rfind('/'));
  plantAtInstall("mkdir -p '" + dir + "'\nln -s '" + secret_ + "' /.coco/mise-env.json\n");
  RunResult r = coco({"run", "malfix"});
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "/mise-env.json")) << describe(r);
  EXPECT_TRUE(contains(r.err, "symbolic link")) << describe(r);
  expectNoSecret(r);
  EXPECT_FALSE(installed()) << "a layer was committed from a tampered install";
}

// /dev/zero behind a result file: coco must stop at its size cap, not read forever.
TEST_F(Readback, InstallCannotMakeCocoReadWithoutLimit) {
  for (const char* name : {"mise-env.json", "mise-ls.json"}) {
    SCOPED_TRACE(name);
    plantAtInstall(std::string("ln -s /dev/zero /.coco/") + name + "\n");
    RunResult r;
    {
      DataLimit limit(1ull << 30);
      r = coco({"run", "malfix"}, 90);
    }
    ASSERT_FALSE(r.timedOut) << describe(r);
    EXPECT_EQ(r.exitCode, 125) << describe(r);
    EXPECT_TRUE(contains(r.err, std::string("/") + name)) << describe(r);
    EXPECT_FALSE(installed());
  }
}

// The install's log is read back too: for the heartbeat while it runs and for
// the error after a failure.
TEST_F(Readback, InstallLogCannotBeAFifo) {
  plantAtInstall("rm -f /.coco/log; mkfifo /.coco/log\nexit 3\n");
  RunResult r = coco({"run", "malfix"}, 90);
  ASSERT_FALSE(r.timedOut) << "coco hung on the install log\n" << describe(r);
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "failed (exit status 3)")) << describe(r);
}

TEST_F(Readback, InstallLogCannotShowAHostFile) {
  plantAtInstall("rm -f /.coco/log; ln -s '" + secret_ + "' /.coco/log\nexit 3\n");
  RunResult r = coco({"run", "malfix"}, 90);
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "failed (exit status 3)")) << describe(r);
  expectNoSecret(r);
  std::string kept = env_.dataHome() + "/coco/tool-layers/malfix/install.log";
  EXPECT_FALSE(fs::is_symlink(kept)) << kept << " is a symlink the install planted";
}

// A published base image (COCO_BASE_IMAGE) whose version file is a symlink to
// a host file: `coco rebuild` printed and recorded its lines.
TEST_F(Readback, PublishedBaseImageVersionsAreNotFollowed) {
  std::string versions = home_ / ".netrc-like";
  writeFile(versions, std::string("TOKEN=") + kCanary + "\n");
  fs::create_directories(image_ + "/etc/coco");
  fs::create_symlink(versions, image_ + "/etc/coco/runtime-versions");
  std::string tar = scratch_ / "base.tar";
  std::string cmd = "tar -C '" + image_ + "' -cf '" + tar + "' .";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  RunOptions o;
  o.env = {{"HOME", home_.path()}, {"COCO_BASE_IMAGE", "rootfs:" + tar}};
  o.timeoutSecs = 120;
  RunResult r = env_.run({"rebuild"}, o);
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "runtime-versions")) << describe(r);
  EXPECT_FALSE(contains(r.out + r.err, kCanary)) << describe(r);
  std::string info = env_.dataHome() + "/coco/base/info.json";
  if (fs::exists(info)) {
    EXPECT_FALSE(contains(readFile(info), kCanary));
  }
}

// An image archive is unpacked and its index read: /dev/zero behind index.json.
TEST_F(Readback, ArchiveIndexCannotMakeCocoReadWithoutLimit) {
  TempDir layout("coco-rb-oci");
  writeFile(layout / "oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"}\n");
  fs::create_symlink("/dev/zero", layout / "index.json");
  std::string tar = scratch_ / "image.tar";
  std::string cmd = "tar -C '" + layout.path() + "' -cf '" + tar + "' .";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  env_.writeTool("probe", probeTool());
  RunOptions o;
  o.env = {{"HOME", home_.path()}, {"COCO_IMAGE", "oci-archive:" + tar}};
  o.timeoutSecs = 90;
  RunResult r;
  {
    DataLimit limit(1ull << 30);
    r = env_.run({"run", "probe", "exit", "0"}, o);
  }
  ASSERT_FALSE(r.timedOut) << describe(r);
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "index.json")) << describe(r);
}

}  // namespace
}  // namespace cocotest
