#include "backend/container_network.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "net/sandbox_side.hpp"
#include "sys/fd_passing.hpp"
#include "sys/process.hpp"
#include "util/data_dir.hpp"
#include "util/log.hpp"

namespace coco::backend {

namespace {

constexpr uint32_t kNetnsMagic = 0x636f6e73;  // "cons"

// The helper's first message: the namespace's descriptor follows when error is 0.
struct NetnsMessage {
  uint32_t magic = kNetnsMagic;
  int32_t error = 0;    // errno of the failed step
  int32_t pid = 0;      // the helper's (podman unshare makes no pid namespace)
  char step[32] = {};   // which step failed
};

int sendFailure(int channel, const char* step, int err) {
  NetnsMessage m;
  m.error = err;
  std::strncpy(m.step, step, sizeof m.step - 1);
  sys::sendFds(channel, &m, sizeof m, nullptr, 0);
  return 1;
}

// How long podman's first `unshare` may take: it may start podman's pause process.
constexpr int kHelperAnswerMs = 60'000;

}  // namespace

int containerNetnsMain(int argc, char** argv) {
  const int channel = STDIN_FILENO;
  if (argc != 3) return 2;
  net::SandboxNetPlan plan;
  std::string_view mode = argv[2];
  if (mode == "full")
    plan.mode = NetworkMode::Full;
  else if (mode == "allowlist")
    plan.mode = NetworkMode::Allowlist;
  else
    return sendFailure(channel, "network mode", EINVAL);
  // No PR_SET_PDEATHSIG: the parent is a thread of podman (Go), whose end says nothing about
  // the run's. The channel is the lifetime: it closes when coco ends, however it ends.
  if (::unshare(CLONE_NEWNET) != 0) return sendFailure(channel, "unshare", errno);
  int ns = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (ns < 0) return sendFailure(channel, "opening the namespace", errno);
  NetnsMessage ok;
  ok.pid = ::getpid();
  if (int rc = sys::sendFds(channel, &ok, sizeof ok, &ns, 1); rc != 0) return 1;
  ::close(ns);
  if (net::sandboxNetSetup(plan, channel) != 0) return 1;  // the gateway reports the step
  // Published ports: a fresh socket in this namespace for each of the gateway's requests, until
  // coco closes the channel.
  for (;;) {
    struct pollfd p = {channel, POLLIN, 0};
    if (::poll(&p, 1, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (!(p.revents & POLLIN)) return 0;  // hung up
    if (net::sandboxServeSocketRequest(channel) != 0) return 0;
  }
}

Result<std::unique_ptr<ContainerNetwork>> ContainerNetwork::start(const engine::RunSpec& spec,
                                                                  const std::string& runtime) {
  std::unique_ptr<ContainerNetwork> n(new ContainerNetwork());
  COCO_ASSIGN(n->session_, net::NetworkSession::create(spec));
  const engine::NetworkHooks* hooks = n->session_->hooks();
  if (!hooks) return Error::make("network mode {} needs no gateway", networkModeName(spec.network));

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    return Error::fromErrno("socketpair (the container network's channel)");
  UniqueFd ours(pair[0]), theirs(pair[1]);
  std::string self = selfExe();
  if (self.empty()) return Error::fromErrno("readlink /proc/self/exe");
  sys::SpawnOptions options{.argv = {runtime, "unshare", self, std::string(kContainerNetnsCommand),
                                     spec.network == NetworkMode::Full ? "full" : "allowlist"}};
  options.inFd = theirs.get();
  options.out = sys::Stdio::Null;
  COCO_ASSIGN(n->helper_, sys::spawn(options));
  theirs.reset();

  struct pollfd p = {ours.get(), POLLIN, 0};
  int ready;
  while ((ready = ::poll(&p, 1, kHelperAnswerMs)) < 0 && errno == EINTR) {
  }
  if (ready == 0)
    return Error::make("{} unshare did not start coco's network helper within {} s", runtime, kHelperAnswerMs / 1000);
  NetnsMessage msg;
  int fds[1] = {-1};
  size_t received = 0;
  ssize_t got = sys::recvFds(ours.get(), &msg, sizeof msg, fds, 1, &received);
  if (received == 1) n->netns_.reset(fds[0]);
  if (got == 0)
    return Error::make("{} unshare ended before coco's network helper answered (run `{} unshare true` to see why)",
                       runtime, runtime);
  if (got < 0) return Error::withErrno(static_cast<int>(-got), "reading the network helper's answer");
  if (static_cast<size_t>(got) != sizeof msg || msg.magic != kNetnsMagic) return Error::make("bad answer from the network helper");
  if (msg.error != 0)
    return Error::withErrno(msg.error, fmt::format("the container's network namespace: {}", msg.step));
  if (!n->netns_) return Error::make("the network helper sent no namespace");
  // podman, in its own user namespace, may not look into coco's descriptors: it joins the
  // namespace through the helper, which lives in podman's user namespace until the run ends.
  // The path must name the namespace the helper sent.
  n->path_ = fmt::format("/proc/{}/ns/net", msg.pid);
  struct stat sent, named;
  if (msg.pid <= 1 || ::fstat(n->netns_.get(), &sent) != 0 || ::stat(n->path_.c_str(), &named) != 0 ||
      sent.st_ino != named.st_ino || sent.st_dev != named.st_dev)
    return Error::make("the network helper's namespace is not {}", n->path_);
  // The gateway reads the helper's listeners (or the step that failed) and starts, its thread
  // at once: no loop of coco's waits for the container's first packet (engine.hpp, pendingFd).
  COCO_TRY(hooks->start(std::move(ours)));
  if (hooks->resume) COCO_TRY(hooks->resume());
  return n;
}

const std::string& ContainerNetwork::namespacePath() const { return path_; }

ContainerNetwork::~ContainerNetwork() {
  if (session_ && session_->hooks()) session_->hooks()->stop();
  session_.reset();  // closes the channel: the helper ends
  netns_.reset();
  if (helper_ <= 0) return;
  for (int i = 0; i < 50; ++i) {  // up to 5 s for podman unshare to exit
    int status;
    pid_t r = ::waitpid(helper_, &status, WNOHANG);
    if (r == helper_ || (r < 0 && errno != EINTR)) return;
    ::usleep(100'000);
  }
  log::debug("the container network's helper did not exit; killing it");
  ::kill(helper_, SIGKILL);
  ::waitpid(helper_, nullptr, 0);
}

}  // namespace coco::backend
