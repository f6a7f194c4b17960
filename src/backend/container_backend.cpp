// Translating a RunSpec into `podman run` / `docker run` and running it.
#include "backend/container_backend.hpp"

#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include <fmt/ranges.h>

#include "backend/container_network.hpp"
#include "backend/container_run.hpp"
#include "engine/workspace_guard.hpp"
#include "net/unix_forward.hpp"
#include "sys/process.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace coco::backend {

namespace {

Status checkPath(const std::string& path) {
  // -v splits on ':'; such a path would silently mount something else.
  if (path.find(':') != std::string::npos)
    return Error::make("path '{}' contains ':', which podman/docker -v cannot express", path);
  return {};
}

bool isDocker(const std::string& runtime) { return runtime.find("docker") != std::string::npos; }

// podman's own mount options ("z", "Z", "U", comma-joined) as this runtime takes them:
// docker has no U (chown to the container's user) and refuses the mount with it.
std::string runtimeMountOptions(const std::string& options, const std::string& runtime, const std::string& dst) {
  if (!isDocker(runtime) || options.find('U') == std::string::npos) return options;
  log::warn("mount {}: docker has no mount option U; it is left out", dst);
  std::string kept = options == "U" ? "" : options.substr(0, options.find(",U"));
  return kept;
}

Status addMounts(std::vector<std::string>& args, const std::vector<engine::BindMount>& mounts,
                 const std::string& runtime) {
  for (const auto& m : mounts) {
    COCO_TRY(checkPath(m.src));
    COCO_TRY(checkPath(m.dst));
    args.push_back("-v");
    std::vector<std::string> opts;
    if (m.readOnly) opts.push_back("ro");
    if (std::string own = runtimeMountOptions(m.relabel, runtime, m.dst); !own.empty()) opts.push_back(own);
    args.push_back(m.src + ":" + m.dst + (opts.empty() ? "" : ":" + fmt::format("{}", fmt::join(opts, ","))));
  }
  return {};
}

Status addNetwork(std::vector<std::string>& args, const engine::RunSpec& spec, const ContainerArgsInput& input) {
  if (!input.networkNamespace.empty()) {
    // coco's gateway serves this namespace (ContainerNetwork): its DNS stub, and the published
    // ports, which the gateway binds on the host as for a native run.
    args.insert(args.end(), {"--network", "ns:" + input.networkNamespace, "--dns", "127.0.0.53", "--cap-drop",
                             "NET_ADMIN"});
    return {};
  }
  switch (spec.network) {
    case NetworkMode::None:
      // podman and docker drop -p with --network none without a word.
      if (!spec.ports.empty())
        return Error::make(
            "ports are published only with a network under podman/docker; the config says "
            "network: none (remove its ports, or use COCO_RUNTIME=native, which publishes them "
            "into a sandbox without network)");
      args.insert(args.end(), {"--network", "none"});
      break;
    case NetworkMode::Host:
      args.insert(args.end(), {"--network", "host"});
      break;
    case NetworkMode::Full:
      break;  // the runtime's default outbound network
    case NetworkMode::Allowlist:
      // Refuse rather than silently granting full network access.
      if (isDocker(input.runtime))
        return Error::make(
            "allowed_hosts cannot be enforced under docker: a container cannot join a network "
            "namespace coco prepares (docker has no --network ns:PATH); use COCO_RUNTIME=podman or "
            "native, or COCO_ALLOW_NETWORK=1 to allow all outbound traffic");
      return Error::make("allowed_hosts under {} needs coco's network namespace for the container", input.runtime);
  }
  for (const auto& p : spec.ports) {
    args.push_back("-p");
    args.push_back(formatPublishedPort(p));
  }
  return {};
}

void addSecurity(std::vector<std::string>& args, const engine::RunSpec& spec) {
  args.insert(args.end(), {"--security-opt", "no-new-privileges"});
  if (!spec.installPhase) args.insert(args.end(), {"--cap-drop", "all"});
  args.push_back("--security-opt");
  args.push_back("seccomp=" +
                 (spec.seccompProfile.empty() ? std::string("unconfined") : spec.seccompProfile));
}

const std::vector<std::string> kExecShell = {"/bin/sh", "-c", "exec \"$0\" \"$@\""};

bool isTerminal() { return ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO); }

}  // namespace

Result<std::vector<std::string>> buildContainerArgs(const engine::RunSpec& spec,
                                                    const ContainerArgsInput& input) {
  if (spec.argv.empty()) return Error::make("nothing to run: empty command");
  // The tool layer reaches a container as binds (tool::layerBinds) or in an image of the tool's
  // own (spec.containerImage), never as a layer stacked here.
  if (!spec.layers.empty())
    return Error::make("{} runs its own image: layers cannot be stacked under it", input.runtime);
  if (!spec.env.empty() && input.envFile.empty())
    return Error::make("the environment goes to {} in an env file, and there is none", input.runtime);
  // --init: an init as pid 1 reaps, forwards signals and reports a signal's death as 128+N.
  std::vector<std::string> args = {input.runtime, "run", "--rm", "-i", "--init"};
  if (input.tty) args.push_back("-t");
  if (!input.name.empty()) args.insert(args.end(), {"--name", input.name});
  args.insert(args.end(), {"--hostname", spec.hostname, "--workdir", spec.workdir});
  addSecurity(args, spec);
  COCO_TRY(addNetwork(args, spec, input));
  COCO_TRY(addMounts(args, spec.mounts, input.runtime));
  COCO_TRY(addMounts(args, input.guardBinds, input.runtime));
  if (!input.envFile.empty()) args.insert(args.end(), {"--env-file", input.envFile});
  args.insert(args.end(), input.extraArgs.begin(), input.extraArgs.end());
  if (!spec.containerImage.empty())
    args.push_back(spec.containerImage);
  else
    args.push_back(input.image.empty() ? std::string(kDefaultContainerImage) : input.image);
  // The init (catatonit, tini) exits 1 when the command cannot be started; the shell's exec
  // gives what native gives: 127 not found, 126 not executable. It replaces itself, so the
  // tool is the init's child as without it.
  args.insert(args.end(), kExecShell.begin(), kExecShell.end());
  args.insert(args.end(), spec.argv.begin(), spec.argv.end());
  return args;
}

ContainerBackend::ContainerBackend(std::string runtime, BackendOptions options)
    : runtime_(std::move(runtime)), options_(std::move(options)) {}

Result<std::vector<engine::BindMount>> guardBinds(const engine::RunSpec& spec, engine::WorkspaceGuard& guard,
                                                  const std::string& pinFile) {
  std::vector<engine::BindMount> out;
  if (!spec.guard.enabled) return out;
  for (const auto& m : spec.mounts) {
    struct stat st;
    if (m.readOnly || ::stat(m.src.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    engine::PlannedBind mount{fs::normalize(m.src), fs::normalize(m.dst), false, true};
    std::vector<engine::PlannedBind> pins;
    COCO_TRY(guard.addMount(mount, spec.guard, pins));
    for (const auto& p : pins) {
      if (!fs::isAtOrBelow(p.dst, mount.dst))
        return Error::make("workspace guard: {} is outside {}", p.dst, mount.dst);
      std::string rel = p.dst.substr(mount.dst.size());
      std::string src = p.guard == engine::GuardBind::Pin ? pinFile : mount.src + rel;
      out.push_back({src, p.dst, p.readOnly});
    }
  }
  return out;
}

namespace {

std::string randomHex() {
  unsigned char bytes[6] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != sizeof bytes) return std::to_string(::getpid());
  return fmt::format("{:02x}", fmt::join(bytes, ""));
}

}  // namespace

Result<int> ContainerBackend::run(const engine::RunSpec& spec) {
  // The env file and the guard's pin file live in the user's private staging directory.
  const std::string& dir = spec.hostSetup.stagingDir;
  COCO_ASSIGN(std::string envText, envFileContent(spec.env));
  COCO_ASSIGN(PrivateFile envFile, PrivateFile::create(dir, envText));
  COCO_ASSIGN(PrivateFile pinFile, PrivateFile::create(dir, ""));
  engine::WorkspaceGuard guard;
  COCO_ASSIGN(auto pins, guardBinds(spec, guard, pinFile.path()));
  ContainerArgsInput input{runtime_,
                           options_.containerImage,
                           options_.podmanArgs,
                           isTerminal(),
                           containerName(spec.toolName, randomHex()),
                           envFile.path(),
                           std::move(pins),
                           ""};
  // allowed_hosts (and full network, which then needs no slirp4netns or pasta) go through
  // coco's gateway in a namespace coco prepares; docker cannot join one.
  std::unique_ptr<ContainerNetwork> network;
  if ((spec.network == NetworkMode::Allowlist || spec.network == NetworkMode::Full) && !isDocker(runtime_)) {
    COCO_ASSIGN(network, ContainerNetwork::start(spec, runtime_));
    input.networkNamespace = network->namespacePath();
  }
  COCO_ASSIGN(auto args, buildContainerArgs(spec, input));
  log::debug("running {}", fmt::join(args, " "));
  COCO_ASSIGN(auto x11Relay, net::startDisplayRelay(spec.x11Relay));
  return runContainer({args, runtime_, input.name, envFile.path(), &guard});
}

Result<int> spawnAndWait(const std::vector<std::string>& argv) {
  // Like system(3): the terminal's ^C goes to the child; coco waits to report its status.
  COCO_ASSIGN(auto done, sys::run(sys::SpawnOptions{.argv = argv, .ignoreInterrupts = true}));
  return done.exitCode;
}

}  // namespace coco::backend
