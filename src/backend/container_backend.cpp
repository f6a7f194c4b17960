// Translating a RunSpec into `podman run` / `docker run` and running it.
#include "backend/container_backend.hpp"

#include <signal.h>
#include <unistd.h>

#include <utility>

#include <fmt/ranges.h>

#include "net/unix_forward.hpp"
#include "sys/process.hpp"
#include "util/log.hpp"


namespace coco::backend {

namespace {

Status checkPath(const std::string& path) {
  // -v splits on ':'; such a path would silently mount something else.
  if (path.find(':') != std::string::npos)
    return Error::make("path '{}' contains ':', which podman/docker -v cannot express", path);
  return {};
}

// podman's own mount options ("z", "Z", "U", comma-joined) as this runtime takes them:
// docker has no U (chown to the container's user) and refuses the mount with it.
std::string runtimeMountOptions(const std::string& options, const std::string& runtime, const std::string& dst) {
  if (runtime.find("docker") == std::string::npos || options.find('U') == std::string::npos) return options;
  log::warn("mount {}: docker has no mount option U; it is left out", dst);
  std::string kept = options == "U" ? "" : options.substr(0, options.find(",U"));
  return kept;
}

Status addMounts(std::vector<std::string>& args, const engine::RunSpec& spec, const std::string& runtime) {
  for (const auto& m : spec.mounts) {
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

Status addNetwork(std::vector<std::string>& args, const engine::RunSpec& spec) {
  switch (spec.network) {
    case NetworkMode::None: args.insert(args.end(), {"--network", "none"}); break;
    case NetworkMode::Host: args.insert(args.end(), {"--network", "host"}); break;
    case NetworkMode::Full: break;  // the runtime's default outbound network
    case NetworkMode::Allowlist:
      // Refuse rather than silently granting full network access.
      return Error::make(
          "allowed_hosts is enforced only by the native runtime; use COCO_RUNTIME=native, "
          "or COCO_ALLOW_NETWORK=1 to allow all outbound traffic");
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
  args.push_back("seccomp=" + (spec.seccompProfile.empty() ? std::string("unconfined") : spec.seccompProfile));
}

bool isTerminal() { return ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO); }

}  // namespace

Result<std::vector<std::string>> buildContainerArgs(const engine::RunSpec& spec, const ContainerArgsInput& input) {
  if (spec.argv.empty()) return Error::make("nothing to run: empty command");
  std::vector<std::string> args = {input.runtime, "run", "--rm", "-i"};
  if (input.tty) args.push_back("-t");
  args.insert(args.end(), {"--hostname", spec.hostname, "--workdir", spec.workdir});
  addSecurity(args, spec);
  COCO_TRY(addNetwork(args, spec));
  COCO_TRY(addMounts(args, spec, input.runtime));
  for (const auto& [name, value] : spec.env) {
    args.push_back("-e");
    args.push_back(name + "=" + value);
  }
  args.insert(args.end(), input.extraArgs.begin(), input.extraArgs.end());
  args.push_back(input.image.empty() ? std::string(kDefaultContainerImage) : input.image);
  args.insert(args.end(), spec.argv.begin(), spec.argv.end());
  return args;
}

ContainerBackend::ContainerBackend(std::string runtime, BackendOptions options)
    : runtime_(std::move(runtime)), options_(std::move(options)) {}

Result<int> ContainerBackend::run(const engine::RunSpec& spec) {
  ContainerArgsInput input{runtime_, options_.containerImage, options_.podmanArgs, isTerminal()};
  COCO_ASSIGN(auto args, buildContainerArgs(spec, input));
  if (spec.guard.enabled) log::debug("{}: the workspace guard is enforced only by the native runtime", runtime_);
  log::debug("running {}", fmt::join(args, " "));
  COCO_ASSIGN(auto x11Relay, net::startDisplayRelay(spec.x11Relay));
  return spawnAndWait(args);
}

Result<int> spawnAndWait(const std::vector<std::string>& argv) {
  // Like system(3): the terminal's ^C goes to the child; coco waits to report its status.
  COCO_ASSIGN(auto done, sys::run(sys::SpawnOptions{.argv = argv, .ignoreInterrupts = true}));
  return done.exitCode;
}

}  // namespace coco::backend
