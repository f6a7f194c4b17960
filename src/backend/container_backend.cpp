// Translating a RunSpec into `podman run` / `docker run` and running it.
#include "backend/container_backend.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>

#include <fmt/ranges.h>

#include "util/log.hpp"

extern char** environ;

namespace coco::backend {

namespace {

Status checkPath(const std::string& path) {
  // -v splits on ':'; such a path would silently mount something else.
  if (path.find(':') != std::string::npos)
    return Error::make("path '{}' contains ':', which podman/docker -v cannot express", path);
  return {};
}

Status addMounts(std::vector<std::string>& args, const engine::RunSpec& spec) {
  for (const auto& m : spec.mounts) {
    COCO_TRY(checkPath(m.src));
    COCO_TRY(checkPath(m.dst));
    args.push_back("-v");
    args.push_back(m.src + ":" + m.dst + (m.readOnly ? ":ro" : ""));
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

int shellStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 125;
}

}  // namespace

Result<std::vector<std::string>> buildContainerArgs(const engine::RunSpec& spec, const ContainerArgsInput& input) {
  if (spec.argv.empty()) return Error::make("nothing to run: empty command");
  std::vector<std::string> args = {input.runtime, "run", "--rm", "-i"};
  if (input.tty) args.push_back("-t");
  args.insert(args.end(), {"--hostname", spec.hostname, "--workdir", spec.workdir});
  addSecurity(args, spec);
  COCO_TRY(addNetwork(args, spec));
  COCO_TRY(addMounts(args, spec));
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
  return spawnAndWait(args);
}

Result<int> spawnAndWait(const std::vector<std::string>& argv) {
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  // Like system(3): the terminal's ^C goes to the child; coco waits to report its status.
  struct sigaction ignore = {}, oldInt = {}, oldQuit = {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGINT, &ignore, &oldInt);
  ::sigaction(SIGQUIT, &ignore, &oldQuit);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGQUIT);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, cargv[0], nullptr, &attr, cargv.data(), environ);
  posix_spawnattr_destroy(&attr);
  int status = 0;
  pid_t waited = rc == 0 ? ::waitpid(pid, &status, 0) : -1;
  while (waited < 0 && rc == 0 && errno == EINTR) waited = ::waitpid(pid, &status, 0);
  int waitErr = errno;
  ::sigaction(SIGINT, &oldInt, nullptr);
  ::sigaction(SIGQUIT, &oldQuit, nullptr);
  if (rc != 0) return Error::withErrno(rc, fmt::format("cannot run {}", argv[0]));
  if (waited < 0) return Error::withErrno(waitErr, fmt::format("waiting for {}", argv[0]));
  return shellStatus(status);
}

}  // namespace coco::backend
