// Tests for backend selection and the podman/docker argument vectors.
#include <gtest/gtest.h>

#include <algorithm>

#include "backend/backend.hpp"
#include "backend/container_backend.hpp"

namespace coco::backend {
namespace {

engine::RunSpec sampleSpec() {
  engine::RunSpec s;
  s.toolName = "eslint";
  s.mounts = {{"/home/u/project", "/workspace", false}, {"/home/u/.npmrc", "/root/.npmrc", true}};
  s.env = {{"PATH", "/usr/bin"}, {"HOME", "/root"}};
  s.argv = {"eslint", "--fix", "src/"};
  s.workdir = "/workspace";
  s.network = NetworkMode::None;
  s.ports = {{"127.0.0.1", 8080, 80}, {"::1", 9000, 90}};
  s.seccompProfile = "/usr/share/coco/seccomp-profiles/default.json";
  return s;
}

// Whether `flag` appears immediately followed by `value`.
bool hasPair(const std::vector<std::string>& args, const std::string& flag, const std::string& value) {
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == flag && args[i + 1] == value) return true;
  return false;
}

TEST(ContainerArgs, FullVector) {
  auto a = buildContainerArgs(sampleSpec(), {"podman", "", {"--pids-limit", "100"}, false});
  ASSERT_TRUE(a.ok()) << a.error().describe();
  const auto& args = *a;
  EXPECT_EQ(std::vector<std::string>(args.begin(), args.begin() + 4),
            (std::vector<std::string>{"podman", "run", "--rm", "-i"}));
  EXPECT_EQ(std::find(args.begin(), args.end(), "-t"), args.end());
  EXPECT_TRUE(hasPair(args, "-v", "/home/u/project:/workspace"));
  EXPECT_TRUE(hasPair(args, "-v", "/home/u/.npmrc:/root/.npmrc:ro"));
  EXPECT_TRUE(hasPair(args, "-e", "PATH=/usr/bin"));
  EXPECT_TRUE(hasPair(args, "-e", "HOME=/root"));
  EXPECT_TRUE(hasPair(args, "--workdir", "/workspace"));
  EXPECT_TRUE(hasPair(args, "--network", "none"));
  EXPECT_TRUE(hasPair(args, "-p", "127.0.0.1:8080:80"));
  EXPECT_TRUE(hasPair(args, "-p", "[::1]:9000:90"));
  EXPECT_TRUE(hasPair(args, "--security-opt", "seccomp=/usr/share/coco/seccomp-profiles/default.json"));
  EXPECT_TRUE(hasPair(args, "--security-opt", "no-new-privileges"));
  EXPECT_TRUE(hasPair(args, "--cap-drop", "all"));
  // Tail: podman_args, then the image, then the command exactly.
  std::vector<std::string> tail(args.end() - 6, args.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"--pids-limit", "100", "localhost/coco:latest", "eslint", "--fix", "src/"}));
}

// A mount's z/Z reaches podman and docker as written, after ro.
TEST(ContainerArgs, RelabelOptionsPassThrough) {
  auto spec = sampleSpec();
  spec.mounts[0].relabel = "z";
  spec.mounts[1].relabel = "Z";
  auto a = buildContainerArgs(spec, {"podman", "", {}, false});
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_TRUE(hasPair(*a, "-v", "/home/u/project:/workspace:z"));
  EXPECT_TRUE(hasPair(*a, "-v", "/home/u/.npmrc:/root/.npmrc:ro,Z"));
}

// U (chown to the container's user) is podman's: podman gets it, docker (which refuses it) not.
TEST(ContainerArgs, PodmansUOptionReachesPodmanOnly) {
  auto spec = sampleSpec();
  spec.mounts[0].relabel = "z,U";
  spec.mounts[1].relabel = "U";
  auto p = buildContainerArgs(spec, {"podman", "", {}, false});
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_TRUE(hasPair(*p, "-v", "/home/u/project:/workspace:z,U"));
  EXPECT_TRUE(hasPair(*p, "-v", "/home/u/.npmrc:/root/.npmrc:ro,U"));
  auto d = buildContainerArgs(spec, {"docker", "", {}, false});
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_TRUE(hasPair(*d, "-v", "/home/u/project:/workspace:z"));
  EXPECT_TRUE(hasPair(*d, "-v", "/home/u/.npmrc:/root/.npmrc:ro"));
}

TEST(ContainerArgs, TtyImageDockerAndUnconfined) {
  auto spec = sampleSpec();
  spec.seccompProfile.clear();
  spec.network = NetworkMode::Host;
  spec.installPhase = true;
  auto a = buildContainerArgs(spec, {"docker", "example.org/coco:1", {}, true});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)[0], "docker");
  EXPECT_EQ((*a)[4], "-t");
  EXPECT_TRUE(hasPair(*a, "--security-opt", "seccomp=unconfined"));
  EXPECT_TRUE(hasPair(*a, "--network", "host"));
  EXPECT_FALSE(hasPair(*a, "--cap-drop", "all"));
  EXPECT_EQ(*(a->end() - 4), "example.org/coco:1");
}

TEST(ContainerArgs, FullNetworkHasNoNetworkFlag) {
  auto spec = sampleSpec();
  spec.network = NetworkMode::Full;
  auto a = buildContainerArgs(spec, {"podman", "", {}, false});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(std::find(a->begin(), a->end(), "--network"), a->end());
}

TEST(ContainerArgs, RefusesWhatItCannotExpress) {
  auto spec = sampleSpec();
  spec.network = NetworkMode::Allowlist;
  spec.allowedHosts = {"api.example.com"};
  auto allow = buildContainerArgs(spec, {"podman", "", {}, false});
  ASSERT_FALSE(allow.ok());
  EXPECT_NE(allow.error().message().find("native"), std::string::npos);

  auto colon = sampleSpec();
  colon.mounts = {{"/home/u/a:b", "/workspace", false}};
  EXPECT_FALSE(buildContainerArgs(colon, {"podman", "", {}, false}).ok());
  colon.mounts = {{"/home/u/a", "/work:space", false}};
  EXPECT_FALSE(buildContainerArgs(colon, {"podman", "", {}, false}).ok());

  auto empty = sampleSpec();
  empty.argv.clear();
  EXPECT_FALSE(buildContainerArgs(empty, {"podman", "", {}, false}).ok());
}

TEST(MakeBackend, KnownAndUnknownNames) {
  EXPECT_EQ((*makeBackend(""))->name(), "native");
  EXPECT_EQ((*makeBackend("native"))->name(), "native");
  EXPECT_EQ((*makeBackend("podman"))->name(), "podman");
  EXPECT_EQ((*makeBackend("docker"))->name(), "docker");
  for (const char* bad : {"Podman", "lxc", "native ", "runc"}) {
    auto b = makeBackend(bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.error().message().find("native, podman, docker"), std::string::npos);
    EXPECT_NE(b.error().message().find(bad), std::string::npos);
  }
}

TEST(SpawnAndWait, ExitCodesAndSignals) {
  EXPECT_EQ(*spawnAndWait({"sh", "-c", "exit 0"}), 0);
  EXPECT_EQ(*spawnAndWait({"sh", "-c", "exit 3"}), 3);
  EXPECT_EQ(*spawnAndWait({"sh", "-c", "kill -9 $$"}), 128 + 9);
  auto missing = spawnAndWait({"coco-no-such-program-xyz"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ENOENT);
}

}  // namespace
}  // namespace coco::backend
