// What /proc tells a tool about the host: no user name, home, store layout or kernel command line.
#include <pwd.h>
#include <unistd.h>

#include <sstream>

#include "harness.hpp"

namespace cocotest {
namespace {

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exitCode) + "\n--- stdout ---\n" + r.out + "--- stderr ---\n" + r.err;
}

// The first directory below /tmp (or $TMPDIR) of a harness path: "/tmp/coco-env.Ab12Cd".
std::string tempRootOf(const std::string& path) {
  const char* tmp = getenv("TMPDIR");
  std::string base = std::string(tmp && *tmp ? tmp : "/tmp") + "/";
  if (path.rfind(base, 0) != 0) return path;
  size_t slash = path.find('/', base.size());
  return slash == std::string::npos ? path : path.substr(0, slash);
}

// mountinfo without the root field (the 4th) of the mount at `bindDst`: a bind
// mount's root is its source's path inside the source file system, which the
// kernel shows and coco cannot hide (README: what /proc shows).
std::string withoutBindRoot(const std::string& mountinfo, const std::string& bindDst) {
  std::string out;
  for (const auto& line : lines(mountinfo)) {
    std::istringstream in(line);
    std::string id, parent, dev, root, point;
    in >> id >> parent >> dev >> root >> point;
    std::string rest;
    std::getline(in, rest);
    out += id + " " + parent + " " + dev + " " + (point == bindDst ? "<root>" : root) + " " + point + rest + "\n";
  }
  return out;
}

class ProcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    COCO_REQUIRE_SANDBOX();
    env_.writeTool("probe", probeTool(R"("mounts": [{"src": ".", "dst": "/workspace"}])"));
  }

  // What must not show: the user's name and home, coco's store, staging and
  // cache directories, the image's layer directories.
  std::vector<std::string> hostSecrets() const {
    std::vector<std::string> out;
    if (struct passwd* pw = getpwuid(getuid())) {
      out.push_back(pw->pw_name);
      out.push_back(pw->pw_dir);
    }
    out.push_back(tempRootOf(env_.dataHome()));  // data, cache (staging) and config homes
    out.push_back(env_.rootfs());                // the image's only layer
    if (const char* rt = getenv("XDG_RUNTIME_DIR"); rt && *rt) out.push_back(rt);
    return out;
  }

  Env env_;
};

TEST_F(ProcTest, MountinfoShowsNoHostPaths) {
  RunResult r = env_.run({"run", "probe", "mounts"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  ASSERT_TRUE(contains(r.out, " / / ")) << r.out;  // the root is there: the file was read
  std::string visible = withoutBindRoot(r.out, "/workspace");
  for (const auto& secret : hostSecrets())
    EXPECT_FALSE(contains(visible, secret)) << "'" << secret << "' shows in /proc/self/mountinfo:\n" << r.out;
  EXPECT_FALSE(contains(visible, "staging")) << r.out;
}

TEST_F(ProcTest, KernelCommandLineIsMasked) {
  std::string host = readFile("/proc/cmdline");
  ASSERT_FALSE(host.empty());
  RunResult r = env_.run({"run", "probe", "cat", "/proc/cmdline"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_EQ(r.out, "") << describe(r);
}

TEST_F(ProcTest, CgroupPathsAreTheSandboxsOwn) {
  // The cgroup namespace starts at the sandbox's cgroup, in every hierarchy.
  RunResult r = env_.run({"run", "probe", "cat", "/proc/self/cgroup"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  for (const auto& line : lines(r.out)) EXPECT_TRUE(line.ends_with(":/")) << line;
}

}  // namespace
}  // namespace cocotest
