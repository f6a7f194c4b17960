// A host unix socket relayed to one TCP destination, with the gateway's relay loop.
#include "net/unix_forward.hpp"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "util/log.hpp"

namespace coco::net {

namespace {

constexpr uint64_t kTagWake = 1;
constexpr uint64_t kTagListener = 2;
// An X client opens a connection or two; a tool that opens more is refused past this.
constexpr size_t kMaxConnections = 64;

void logEnd(const std::string& label, const RelayStats& stats) {
  log::debug("{}: connection closed ({} bytes out, {} back{})", label, stats.aToB, stats.bToA,
             stats.failed ? ", reset" : "");
}

// The socket's directory, when coco made it for this run: a directory (not a
// link to one), this user's and no one else's, so the socket lands where planned.
Status checkOwnDirectory(const std::string& socketPath) {
  size_t slash = socketPath.rfind('/');
  std::string dir = slash == std::string::npos || slash == 0 ? "/" : socketPath.substr(0, slash);
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return Error::fromErrno("lstat {}", dir);
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0)
    return Error::make("{} is not a private directory of this user's (mode {:o}, owner {})", dir,
                       st.st_mode & 07777, st.st_uid);
  return okStatus();
}

}  // namespace

Result<std::unique_ptr<UnixForward>> UnixForward::start(std::string socketPath,
                                                        std::vector<sockaddr_in> targets, std::string label,
                                                        bool removeDirectory) {
  if (targets.empty()) return Error::make("{}: no destination", label);
  std::unique_ptr<UnixForward> f(new UnixForward());
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (socketPath.size() >= sizeof sa.sun_path)
    return Error::make("{}: socket path {} is longer than a unix socket address holds", label, socketPath);
  std::memcpy(sa.sun_path, socketPath.data(), socketPath.size());
  f->listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!f->listener_) return Error::fromErrno("{}: socket", label);
  if (removeDirectory) COCO_TRY(checkOwnDirectory(socketPath));
  // The directory is coco's own; a socket left there by a run that was killed goes.
  if (::unlink(socketPath.c_str()) != 0 && errno != ENOENT)
    return Error::fromErrno("removing {}", socketPath);
  if (::bind(f->listener_.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0)
    return Error::fromErrno("{}: binding {}", label, socketPath);
  f->path_ = socketPath;  // from here on the destructor removes it
  f->removeDirectory_ = removeDirectory;
  if (::chmod(socketPath.c_str(), 0600) != 0) return Error::fromErrno("chmod {}", socketPath);
  if (::listen(f->listener_.get(), 16) != 0) return Error::fromErrno("{}: listen", label);
  f->wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!f->wake_) return Error::fromErrno("eventfd");
  RelayLimits limits;
  limits.maxConnections = kMaxConnections;
  COCO_ASSIGN(f->relays_, RelayLoop::create(limits));
  f->relays_->onDone(logEnd);
  COCO_TRY(f->relays_->watch(f->wake_.get(), kTagWake));
  COCO_TRY(f->relays_->watch(f->listener_.get(), kTagListener));
  f->targets_ = std::move(targets);
  f->label_ = std::move(label);
  UnixForward* self = f.get();
  // Started before the engine routes signals to its signalfd: the thread takes
  // none (a Ctrl-C meant for the tool, a closed peer's SIGPIPE); it inherits this mask.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  auto started = f->thread_.start([self] { self->loop(); });
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (!started) return std::move(started).error().wrap("starting the " + self->label_ + " relay");
  log::debug("{}: relaying {} to port {}", self->label_, self->path_, ntohs(self->targets_.front().sin_port));
  return f;
}

UnixForward::~UnixForward() {
  if (thread_.running()) {
    uint64_t one = 1;
    ssize_t unused = ::write(wake_.get(), &one, sizeof one);
    (void)unused;
    thread_.join();
  }
  if (relays_) relays_->closeAll();
  listener_.reset();
  if (path_.empty()) return;
  ::unlink(path_.c_str());
  size_t slash = path_.rfind('/');
  if (removeDirectory_ && slash != std::string::npos && slash > 0) ::rmdir(path_.substr(0, slash).c_str());
}

void UnixForward::loop() {
  while (relays_->waitOnce([this](uint64_t tag) { return onEvent(tag); })) {
  }
}

bool UnixForward::onEvent(uint64_t tag) {
  if (tag == kTagWake) return false;
  for (;;) {
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!client) return true;  // EAGAIN, or an error the next wake-up meets again
    if (!relays_->add(std::move(client), targets_, label_))
      log::debug("{}: connection refused ({} open)", label_, relays_->size());
  }
}

Result<std::unique_ptr<UnixForward>> startDisplayRelay(const engine::TcpDisplayRelay& relay) {
  if (relay.socketPath.empty()) return std::unique_ptr<UnixForward>();
  std::vector<sockaddr_in> targets;
  for (in_addr_t a : relay.addresses) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = a;
    sa.sin_port = htons(relay.port);
    targets.push_back(sa);
  }
  auto f = UnixForward::start(relay.socketPath, std::move(targets), "x11 relay", true);
  if (!f)
    return std::move(f).error().wrap(
        fmt::format("relaying the X display at {} port {}", relay.host, relay.port));
  return f;
}

}  // namespace coco::net
