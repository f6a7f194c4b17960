// Exhausting the host: fork bombs, memory hogs and writers filling the in-memory file systems stay in their sandbox.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "harness.hpp"

namespace cocotest {
namespace {

using namespace std::chrono_literals;

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exitCode) + (r.timedOut ? " (timed out)" : "") + "\n--- stdout ---\n" + r.out +
         "--- stderr ---\n" + r.err;
}

// The number after `key ` on the first line that starts with it; -1 when none.
long long valueAfter(const std::string& text, const std::string& key) {
  for (const auto& line : lines(text))
    if (line.rfind(key + " ", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  return -1;
}

// Forks `count` children that exit at once; returns how many forks failed.
// Each is reaped by its pid: coco, a child of this process too, is not.
int forkOutside(int count) {
  int failed = 0;
  std::vector<pid_t> children;
  for (int i = 0; i < count; i++) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid < 0) failed++;
    else children.push_back(pid);
  }
  for (pid_t pid : children) waitpid(pid, nullptr, 0);
  return failed;
}

long long memTotal() {
  std::istringstream in(readFile("/proc/meminfo"));
  std::string key;
  long long kib = 0;
  while (in >> key >> kib)
    if (key == "MemTotal:") return kib * 1024;
  return 0;
}

class LimitsTest : public ::testing::Test {
 protected:
  void SetUp() override { COCO_REQUIRE_SANDBOX(); }

  void tool(const std::string& name, const std::string& limits, const std::string& command = "probe") {
    std::string json = R"({"command": ")" + command + R"(", "network": "none")";
    if (!limits.empty()) json += R"(, "limits": )" + limits;
    env_.writeTool(name, json + "}\n");
  }

  Env env_;
};

TEST_F(LimitsTest, ForkBombStopsAtTheLimitAndTheUserCanStillStartProcesses) {
  tool("bomb", R"({"pids": 64})");
  Child c = env_.spawn({"run", "bomb", "spawn", "1000", "4"});
  ASSERT_TRUE(waitForOutput(c, "spawned", 60s)) << c.out << c.err;
  // The sandbox holds its maximum now: the same user outside is not limited by it.
  int failedOutside = forkOutside(200);
  int code = finish(c, 60s);
  EXPECT_EQ(failedOutside, 0) << "the user could not start processes while the sandbox was at its limit";
  long long spawned = valueAfter(c.out, "spawned");
  EXPECT_GT(spawned, 10) << c.out << c.err;
  EXPECT_LT(spawned, 64) << c.out << c.err;
  EXPECT_TRUE(contains(c.out, "failed EAGAIN")) << c.out << c.err;
  EXPECT_NE(code, -1) << "timed out";
}

TEST_F(LimitsTest, ForkBombThatStaysIsStoppedWithAMessage) {
  tool("bomb", R"({"pids": 64})");
  auto start = std::chrono::steady_clock::now();
  RunOptions opts;
  opts.timeoutSecs = 60;
  RunResult r = env_.run({"run", "bomb", "spawn", "1000", "120"}, opts);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exitCode, 137) << describe(r);
  EXPECT_LT(took, 30s) << describe(r);
  EXPECT_TRUE(contains(r.err, "process limit (64 tasks, limits.pids)")) << describe(r);
}

TEST_F(LimitsTest, DefaultLimitBoundsAForkBomb) {
  tool("bomb", "");
  RunOptions opts;
  opts.timeoutSecs = 300;
  RunResult r = env_.run({"run", "bomb", "spawn", "6000", "2"}, opts);
  long long spawned = valueAfter(r.out, "spawned");
  EXPECT_GT(spawned, 1000) << describe(r);
  EXPECT_LT(spawned, 4096) << describe(r);
  EXPECT_TRUE(contains(r.out, "failed EAGAIN")) << describe(r);
}

// /tmp, /dev/shm and the root's changes share one bounded tmpfs.
TEST_F(LimitsTest, ScratchSpaceIsBoundedInTotal) {
  tool("fill", R"({"tmpfs": "64M"})", "sh");
  RunResult r = env_.run({"run", "fill", "-c",
                          "probe fill /tmp/a 40M; probe fill /dev/shm/b 64M; probe fill /root/c 64M; "
                          "probe statfs /tmp; probe statfs /dev/shm"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), 8u) << describe(r);
  EXPECT_EQ(out[0], "wrote 41943040") << describe(r);
  EXPECT_EQ(out[3], "failed ENOSPC") << describe(r);
  EXPECT_EQ(out[5], "failed ENOSPC") << describe(r);
  long long shm = std::atoll(out[2].c_str() + 6), root = std::atoll(out[4].c_str() + 6);
  EXPECT_LE(41943040 + shm + root, 64ll << 20) << describe(r);
  EXPECT_GT(shm, 16ll << 20) << describe(r);  // most of what /tmp left
  EXPECT_EQ(out[6], "size " + std::to_string(64ll << 20)) << describe(r);
  EXPECT_EQ(out[7], "size " + std::to_string(64ll << 20)) << describe(r);
}

// Entries cost the kernel memory a tmpfs's size does not count (a million empty directories held
// 1 GB under a 256 MiB size): the scratch takes one per 8 KiB of its size (16384 at least), /dev 256.
TEST_F(LimitsTest, ScratchAndDevEntriesAreBounded) {
  tool("fill", R"({"tmpfs": "64M"})", "sh");
  RunResult r = env_.run({"run", "fill", "-c", "probe entries /tmp 100000; probe entries /dev 100000"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), 4u) << describe(r);
  long long tmp = valueAfter(r.out, "made");
  EXPECT_GT(tmp, 16384 - 64) << describe(r);  // less what the scratch holds already
  EXPECT_LT(tmp, 16384) << describe(r);
  EXPECT_EQ(out[1], "failed ENOSPC") << describe(r);
  long long dev = std::atoll(out[2].c_str() + 5);
  EXPECT_LT(dev, 256) << describe(r);
  EXPECT_EQ(out[3], "failed ENOSPC") << describe(r);
}

// inotify instances are the user's on the host, across user namespaces: a sandbox gets a quarter
// of them, so the user's editor and other runs' guards keep the rest.
TEST_F(LimitsTest, InotifyInstancesAreBoundedToAShare) {
  long long host = std::atoll(readFile("/proc/sys/fs/inotify/max_user_instances").c_str());
  if (::access("/proc/sys/user/max_inotify_instances", F_OK) != 0)
    GTEST_SKIP() << "no per-namespace inotify limits";
  ASSERT_GT(host, 0);
  tool("probe", "");
  RunResult r = env_.run({"run", "probe", "inotify", "100000"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  long long made = valueAfter(r.out, "made");
  EXPECT_LE(made, std::max(host / 4, 8ll)) << describe(r);
  EXPECT_GT(made, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "failed EMFILE")) << describe(r);
}

// System V objects are the sandbox's own (its IPC namespace) but cost the host's kernel memory
// no limit counted: 100 semaphore arrays of 32000 took 200 MiB, 10000 full message queues as much,
// and shared memory segments outgrew limits.memory (RLIMIT_DATA does not count them). Init bounds
// them in that namespace: 4096 semaphores in all, 32 message queues, shared memory segments to
// limits.memory (made here, not touched: a cgroup would count touched ones).
TEST_F(LimitsTest, SystemVIpcIsBounded) {
  tool("ipc", R"({"memory": "256M"})", "sh");
  RunResult r =
      env_.run({"run", "ipc", "-c", "probe ipc sem 1000; probe ipc msg 1000; probe ipc shm 100 64M"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), 6u) << describe(r);
  EXPECT_EQ(out[0], "made 4") << describe(r);  // 4096 semaphores: four arrays of 1024
  EXPECT_EQ(out[1], "failed ENOSPC") << describe(r);
  EXPECT_EQ(out[2], "made 32") << describe(r);
  EXPECT_EQ(out[3], "failed ENOSPC") << describe(r);
  EXPECT_EQ(out[4], "made 4") << describe(r);  // 4 x 64 MiB = limits.memory
  EXPECT_EQ(out[5], "failed ENOSPC") << describe(r);
}

// Pseudo-terminals come from one pool for the whole machine (kernel.pty.max less the reserve,
// 3072 by default) that every devpts instance draws on: one sandbox took all of them, and other
// sandboxes, podman's containers and the user's own terminals got none. A sandbox's devpts holds
// 64, the terminal coco gives the tool among them.
TEST_F(LimitsTest, PseudoTerminalsAreBounded) {
  tool("probe", "");
  RunResult r = env_.run({"run", "probe", "ptys", "1000"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "made 64\nfailed ENOSPC\n") << describe(r);
}

TEST_F(LimitsTest, DefaultScratchSizeIsAQuarterOfMemory) {
  tool("probe", "");
  RunResult dry = env_.run({"run", "--dry-run", "probe"});
  ASSERT_EQ(dry.exitCode, 0) << describe(dry);
  ASSERT_TRUE(contains(dry.out, "\"tmpfs_bytes\"")) << dry.out;
  long long planned = std::atoll(dry.out.c_str() + dry.out.find("\"tmpfs_bytes\": ") + 15);
  long long quarter = memTotal() / 4;
  EXPECT_LE(planned, quarter) << dry.out;
  EXPECT_GT(planned, quarter - (1ll << 20) - 1) << dry.out;
  RunResult r = env_.run({"run", "probe", "statfs", "/tmp"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "size " + std::to_string(planned) + "\n") << describe(r);
}

TEST_F(LimitsTest, MemoryHogIsStopped) {
  tool("hog", R"({"memory": "256M"})");
  RunResult r = env_.run({"run", "hog", "hog", "2G"});
  long long allocated = valueAfter(r.out, "allocated");
  if (r.exitCode == 137) {  // a cgroup: the sandbox was stopped as a whole
    EXPECT_TRUE(contains(r.err, "ran out of memory (256 MiB, limits.memory)")) << describe(r);
  } else {  // rlimits: the process's own allocations fail
    EXPECT_EQ(r.exitCode, 0) << describe(r);
    EXPECT_TRUE(contains(r.out, "failed ENOMEM")) << describe(r);
    EXPECT_LE(allocated, 256ll << 20) << describe(r);
    // ... and the user is told why, not left with a tool's own ENOMEM message.
    EXPECT_TRUE(contains(r.err, "near its memory limit (256 MiB per process, limits.memory)")) << describe(r);
  }
}

TEST_F(LimitsTest, DryRunShowsTheConfiguredLimits) {
  tool("probe", R"({"memory": "1.5G", "pids": "512", "cpu": 0.5, "tmpfs": "100M"})");
  RunResult r = env_.run({"run", "--dry-run", "probe"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "\"memory_bytes\": 1610612736")) << r.out;
  EXPECT_TRUE(contains(r.out, "\"pids\": 512")) << r.out;
  EXPECT_TRUE(contains(r.out, "\"cpus\": 0.5")) << r.out;
  EXPECT_TRUE(contains(r.out, "\"tmpfs_bytes\": 104857600")) << r.out;
  RunResult show = env_.run({"show", "probe"});
  ASSERT_EQ(show.exitCode, 0) << describe(show);
  EXPECT_TRUE(contains(show.out, "1.5 GiB")) << show.out;
  EXPECT_TRUE(contains(show.out, "512")) << show.out;
  EXPECT_TRUE(contains(show.out, "0.5 CPUs")) << show.out;
  EXPECT_TRUE(contains(show.out, "100 MiB for /, /tmp and /dev/shm together")) << show.out;
  EXPECT_TRUE(contains(show.out, "limits enforced:")) << show.out;
}

TEST_F(LimitsTest, BadLimitsAreRefusedWithTheirPosition) {
  env_.writeTool("bad", "{\"command\": \"probe\",\n \"limits\": {\"memory\": \"lots\"}}\n");
  RunResult r = env_.run({"run", "bad"});
  EXPECT_EQ(r.exitCode, 125) << describe(r);
  EXPECT_TRUE(contains(r.err, "bad.json:2:23: 'memory': 'lots' is not a size")) << describe(r);
}

// With a delegated cgroup v2 group (a systemd user session) the sandbox's
// memory is limited as a whole and running out of it stops the sandbox.
TEST_F(LimitsTest, CgroupStopsTheWholeSandbox) {
  tool("hog", R"({"memory": "128M"})", "sh");
  RunResult show = env_.run({"show", "hog"});
  if (!contains(show.out, "limits enforced:  by a cgroup")) {
    std::string why = show.out.substr(show.out.find("limits enforced:"));
    GTEST_SKIP() << "no delegated cgroup v2 group for this user here, so only the rlimits are tested: " << why;
  }
  // Two processes of 100 MiB each: fine for rlimits per process, too much for the sandbox.
  RunResult r = env_.run({"run", "hog", "-c", "probe hog 100M 5 & probe hog 100M 5; wait; sleep 5"});
  EXPECT_EQ(r.exitCode, 137) << describe(r);
  EXPECT_TRUE(contains(r.err, "ran out of memory (128 MiB, limits.memory)")) << describe(r);
}

}  // namespace
}  // namespace cocotest
