// Tests for backend selection and the podman/docker argument vectors.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "backend/backend.hpp"
#include "backend/container_backend.hpp"
#include "backend/container_image.hpp"
#include "backend/container_run.hpp"

namespace coco::backend {
namespace {

engine::RunSpec sampleSpec() {
  engine::RunSpec s;
  s.toolName = "eslint";
  s.mounts = {{"/home/u/project", "/workspace", false}, {"/home/u/.npmrc", "/root/.npmrc", true}};
  s.env = {{"PATH", "/usr/bin"}, {"HOME", "/root"}};
  s.argv = {"eslint", "--fix", "src/"};
  s.workdir = "/workspace";
  s.network = NetworkMode::Full;
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

ContainerArgsInput input(const std::string& runtime, const std::string& image = "",
                         std::vector<std::string> extra = {}, bool tty = false) {
  return {runtime, image, std::move(extra), tty, "coco-eslint-0a1b2c", "/run/user/1000/coco/container-env.x",
          {}, ""};
}

TEST(ContainerArgs, FullVector) {
  auto a = buildContainerArgs(sampleSpec(), input("podman", "", {"--pids-limit", "100"}));
  ASSERT_TRUE(a.ok()) << a.error().describe();
  const auto& args = *a;
  EXPECT_EQ(std::vector<std::string>(args.begin(), args.begin() + 5),
            (std::vector<std::string>{"podman", "run", "--rm", "-i", "--init"}));
  EXPECT_EQ(std::find(args.begin(), args.end(), "-t"), args.end());
  EXPECT_TRUE(hasPair(args, "--name", "coco-eslint-0a1b2c"));
  EXPECT_TRUE(hasPair(args, "-v", "/home/u/project:/workspace"));
  EXPECT_TRUE(hasPair(args, "-v", "/home/u/.npmrc:/root/.npmrc:ro"));
  // The environment only in the env file: no value on the command line.
  EXPECT_TRUE(hasPair(args, "--env-file", "/run/user/1000/coco/container-env.x"));
  EXPECT_EQ(std::find(args.begin(), args.end(), "-e"), args.end());
  for (const auto& arg : args) EXPECT_EQ(arg.find("/usr/bin"), std::string::npos) << arg;
  EXPECT_TRUE(hasPair(args, "--workdir", "/workspace"));
  EXPECT_TRUE(hasPair(args, "-p", "127.0.0.1:8080:80"));
  EXPECT_TRUE(hasPair(args, "-p", "[::1]:9000:90"));
  EXPECT_TRUE(hasPair(args, "--security-opt", "seccomp=/usr/share/coco/seccomp-profiles/default.json"));
  EXPECT_TRUE(hasPair(args, "--security-opt", "no-new-privileges"));
  EXPECT_TRUE(hasPair(args, "--cap-drop", "all"));
  // Tail: podman_args, the image, the shell that execs the command (127/126 as native), the command.
  std::vector<std::string> tail(args.end() - 9, args.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"--pids-limit", "100", "localhost/coco:latest", "/bin/sh", "-c",
                                            "exec \"$0\" \"$@\"", "eslint", "--fix", "src/"}));
}

// A mount's z/Z reaches podman and docker as written, after ro.
TEST(ContainerArgs, RelabelOptionsPassThrough) {
  auto spec = sampleSpec();
  spec.mounts[0].relabel = "z";
  spec.mounts[1].relabel = "Z";
  auto a = buildContainerArgs(spec, input("podman"));
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_TRUE(hasPair(*a, "-v", "/home/u/project:/workspace:z"));
  EXPECT_TRUE(hasPair(*a, "-v", "/home/u/.npmrc:/root/.npmrc:ro,Z"));
}

// U (chown to the container's user) is podman's: podman gets it, docker (which refuses it) not.
TEST(ContainerArgs, PodmansUOptionReachesPodmanOnly) {
  auto spec = sampleSpec();
  spec.mounts[0].relabel = "z,U";
  spec.mounts[1].relabel = "U";
  auto p = buildContainerArgs(spec, input("podman"));
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_TRUE(hasPair(*p, "-v", "/home/u/project:/workspace:z,U"));
  EXPECT_TRUE(hasPair(*p, "-v", "/home/u/.npmrc:/root/.npmrc:ro,U"));
  auto d = buildContainerArgs(spec, input("docker"));
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_TRUE(hasPair(*d, "-v", "/home/u/project:/workspace:z"));
  EXPECT_TRUE(hasPair(*d, "-v", "/home/u/.npmrc:/root/.npmrc:ro"));
}

TEST(ContainerArgs, TtyImageDockerAndUnconfined) {
  auto spec = sampleSpec();
  spec.seccompProfile.clear();
  spec.network = NetworkMode::Host;
  spec.installPhase = true;
  auto a = buildContainerArgs(spec, input("docker", "example.org/coco:1", {}, true));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)[0], "docker");
  EXPECT_EQ((*a)[5], "-t");
  EXPECT_TRUE(hasPair(*a, "--security-opt", "seccomp=unconfined"));
  EXPECT_TRUE(hasPair(*a, "--network", "host"));
  EXPECT_FALSE(hasPair(*a, "--cap-drop", "all"));
  EXPECT_EQ(*(a->end() - 7), "example.org/coco:1");
}

TEST(ContainerArgs, FullNetworkHasNoNetworkFlag) {
  auto spec = sampleSpec();
  spec.network = NetworkMode::Full;
  auto a = buildContainerArgs(spec, input("podman"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(std::find(a->begin(), a->end(), "--network"), a->end());
}

// allowed_hosts and full network: the container joins the namespace coco's gateway serves, with
// the gateway's DNS stub; podman publishes no ports itself (the gateway binds them).
TEST(ContainerArgs, PreparedNetworkNamespace) {
  auto spec = sampleSpec();
  spec.network = NetworkMode::Allowlist;
  spec.allowedHosts = {"api.example.com"};
  auto in = input("podman");
  in.networkNamespace = "/proc/42/fd/7";
  auto a = buildContainerArgs(spec, in);
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_TRUE(hasPair(*a, "--network", "ns:/proc/42/fd/7"));
  EXPECT_TRUE(hasPair(*a, "--dns", "127.0.0.53"));
  EXPECT_TRUE(hasPair(*a, "--cap-drop", "NET_ADMIN"));
  EXPECT_EQ(std::count(a->begin(), a->end(), "-p"), 0);
}

TEST(ContainerArgs, RefusesWhatItCannotExpress) {
  auto spec = sampleSpec();
  spec.network = NetworkMode::Allowlist;
  spec.allowedHosts = {"api.example.com"};
  // Without the namespace coco prepares (ContainerNetwork), never the runtime's own network.
  auto allow = buildContainerArgs(spec, input("podman"));
  ASSERT_FALSE(allow.ok());
  auto docker = buildContainerArgs(spec, input("docker"));
  ASSERT_FALSE(docker.ok());
  EXPECT_NE(docker.error().message().find("docker has no --network ns:PATH"), std::string::npos);

  auto colon = sampleSpec();
  colon.mounts = {{"/home/u/a:b", "/workspace", false}};
  EXPECT_FALSE(buildContainerArgs(colon, input("podman")).ok());
  colon.mounts = {{"/home/u/a", "/work:space", false}};
  EXPECT_FALSE(buildContainerArgs(colon, input("podman")).ok());
  auto guardColon = input("podman");
  guardColon.guardBinds = {{"/home/u/p/.git:x", "/workspace/.git:x", true}};
  EXPECT_FALSE(buildContainerArgs(sampleSpec(), guardColon).ok());

  auto empty = sampleSpec();
  empty.argv.clear();
  EXPECT_FALSE(buildContainerArgs(empty, input("podman")).ok());

  // An environment with nowhere to put it is never put on the command line instead.
  auto noFile = input("podman");
  noFile.envFile.clear();
  EXPECT_FALSE(buildContainerArgs(sampleSpec(), noFile).ok());
}

// podman and docker drop -p with --network none silently: refused, saying why.
TEST(ContainerArgs, PortsWithoutNetworkRefused) {
  auto spec = sampleSpec();  // two ports
  spec.network = NetworkMode::None;
  auto a = buildContainerArgs(spec, input("docker"));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message().find("network: none"), std::string::npos) << a.error().message();
  spec.ports.clear();
  a = buildContainerArgs(spec, input("docker"));
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_TRUE(hasPair(*a, "--network", "none"));
}

TEST(ContainerArgs, GuardBindsAreReadOnlyMounts) {
  auto in = input("podman");
  in.guardBinds = {{"/home/u/project/.git", "/workspace/.git", true},
                   {"/run/pin", "/workspace/.envrc", true}};
  auto a = buildContainerArgs(sampleSpec(), in);
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_TRUE(hasPair(*a, "-v", "/home/u/project/.git:/workspace/.git:ro"));
  EXPECT_TRUE(hasPair(*a, "-v", "/run/pin:/workspace/.envrc:ro"));
}

TEST(ContainerName, OnlyWhatRuntimesAccept) {
  EXPECT_EQ(containerName("eslint", "0a1b"), "coco-eslint-0a1b");
  EXPECT_EQ(containerName("npm+config-1234", "ff"), "coco-npm-config-1234-ff");
  EXPECT_EQ(containerName("a b/c:d", "1"), "coco-a-b-c-d-1");
}

TEST(EnvFile, LinesAndRefusals) {
  auto text = envFileContent({{"A", "1"}, {"B", "x = y #z"}, {"EMPTY", ""}});
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "A=1\nB=x = y #z\nEMPTY=\n");
  EXPECT_FALSE(envFileContent({{"A", "two\nlines"}}).ok());
  EXPECT_FALSE(envFileContent({{"A", "cr\r"}}).ok());
  for (const char* bad : {"", "#A", "A B", "A=B", " A"})
    EXPECT_FALSE(envFileContent({{bad, "1"}}).ok()) << bad;
}

TEST(PrivateFile, ModeAndRemoval) {
  char tmpl[] = "/tmp/coco-backend-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = std::string(tmpl) + "/sub";
  std::string path;
  {
    auto f = PrivateFile::create(dir, "SECRET=1\n");
    ASSERT_TRUE(f.ok()) << f.error().describe();
    path = f->path();
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    ASSERT_EQ(::stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
  ::rmdir(dir.c_str());
  ::rmdir(tmpl);
}

// The import build has no RUN step (no network, no runtime needed) and makes /workspace.
TEST(ImportContainerfile, FromLabelWorkdir) {
  EXPECT_EQ(importContainerfile("sha256:ab12", "cd34"),
            "# Made by `coco rebuild`: coco's native base image, imported.\n"
            "FROM sha256:ab12\nLABEL coco.base=\"cd34\"\nCOPY workspace /workspace\nWORKDIR /workspace\n");
}

// A tool's image runs instead of the backend's when the plan names one.
TEST(ContainerArgs, ToolImageReplacesTheRuntimesImage) {
  auto spec = sampleSpec();
  spec.containerImage = "localhost/coco-tool-jq:0123456789ab-cdef01234567";
  auto a = buildContainerArgs(spec, input("podman", "localhost/coco:latest"));
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_EQ(*(a->end() - 7), spec.containerImage);
  EXPECT_EQ(std::find(a->begin(), a->end(), "localhost/coco:latest"), a->end());
}

// Tagged by the tool's name (as a repository takes it), config hash and base.
TEST(ToolImageReference, NameHashAndBase) {
  EXPECT_EQ(toolImageReference("jq", std::string(64, 'a'), std::string(64, 'b')),
            "localhost/coco-tool-jq:aaaaaaaaaaaa-bbbbbbbbbbbb");
  EXPECT_EQ(toolImageReference("My.Tool+x_1", "0123456789abcdef", "fedcba9876543210"),
            "localhost/coco-tool-my-tool-x-1:0123456789ab-fedcba987654");
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
