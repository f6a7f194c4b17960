// The gateway's event loop and workers: accepts captured connections, decides
// them, answers DNS, publishes ports, and relays in the same loop (RelayLoop).
#include "net/gateway.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter_ipv4.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "net/dns_message.hpp"
#include "net/host_addresses.hpp"
#include "net/relay.hpp"
#include "sys/fd_passing.hpp"
#include "sys/io.hpp"
#include "util/log.hpp"

namespace coco::net {

namespace {

constexpr int kMaxWorkers = 1024;
constexpr size_t kMaxConnections = 1024;
constexpr int kConnectTimeoutMs = 10000;
// How long resume() waits for the event thread's first pass (what was queued before it started).
constexpr int kFirstPassMs = 250;
// DNS over TCP (a resolver's fallback after a truncated answer, which the stub never sends): each
// connection is a worker blocked on the tool, so their number has a bound of its own, below the
// workers', and each lives at most kDnsTcpTimeoutSec however slowly its bytes come: with a
// timeout per read, a client sending a byte every few seconds held a worker for good, and 1024
// such connections used up the workers that lookups and connections need.
constexpr int kMaxDnsTcp = 64;
constexpr int kDnsTcpTimeoutSec = 10;
constexpr int kDnsTcpMaxQueries = 64;
constexpr int kUdpBurst = 64;

enum Tag : uint64_t { kTagWake, kTagRelay, kTagDnsUdp, kTagDnsTcp, kTagChannel, kTagPublished = 100 };

Status setNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return Error::fromErrno("fcntl O_NONBLOCK");
  return okStatus();
}

// Closing with a zero linger sends RST: the tool sees "connection reset" at
// once instead of a clean, misleading EOF.
void resetAndClose(UniqueFd fd) {
  linger l{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

// A relayed connection holds up to four fds (two sockets, two pipes while
// both directions have bytes in flight): stay below the fd limit, so a
// flood of connections is reset at accept rather than making accept fail
// (EMFILE) with the listener still readable.
RelayLimits relayLimits() {
  RelayLimits l;
  l.connectTimeoutMs = kConnectTimeoutMs;
  rlimit r{};
  size_t byFds = kMaxConnections;
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY && r.rlim_cur > 128)
    byFds = static_cast<size_t>((r.rlim_cur - 128) / 4);
  l.maxConnections = std::clamp<size_t>(byFds, 16, kMaxConnections);
  return l;
}

void logRelayEnd(const std::string& label, const RelayStats& st) {
  log::debug("relay {}: {} bytes out, {} bytes in{}", label, st.aToB, st.bToA, st.failed ? " (reset)" : "");
}

// One message and the fds riding on it. Every received fd is owned at once,
// so none leaks whatever the message turns out to be.
Result<size_t> recvWithFds(int channelFd, void* msg, size_t size, std::vector<UniqueFd>& fds, int flags) {
  int got[kSetupFdCount];
  size_t count = 0;
  ssize_t n = sys::recvFds(channelFd, msg, size, got, kSetupFdCount, &count, flags);
  for (size_t i = 0; i < count; ++i) fds.emplace_back(got[i]);
  if (n == -EMSGSIZE) return Error::make("network channel message truncated");
  if (n < 0) return Error::withErrno(static_cast<int>(-n), "recvmsg on the network channel");
  return static_cast<size_t>(n);
}

bool isTcpSocket(int fd) {
  int domain = 0, type = 0;
  socklen_t len = sizeof domain;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) return false;
  len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) return false;
  return domain == AF_INET && type == SOCK_STREAM;
}

}  // namespace

Result<SandboxEndpoints> receiveSandboxEndpoints(int channelFd) {
  SetupMessage msg;
  std::vector<UniqueFd> fds;
  COCO_ASSIGN(size_t got, recvWithFds(channelFd, &msg, sizeof msg, fds, 0));
  if (got == 0) return Error::make("the sandbox exited before its network was set up");
  if (got != sizeof msg || msg.magic != kSetupMagic) return Error::make("bad network setup message");
  if (msg.error != 0) {
    return Error::withErrno(msg.error, fmt::format("sandbox network: {}", setupStepName(msg.step)));
  }
  SandboxEndpoints ep;
  if (msg.fdCount == 0 && fds.empty()) return ep;
  if (msg.fdCount != kSetupFdCount || fds.size() != kSetupFdCount) {
    return Error::make("network setup message carries {} fds, expected {}", fds.size(), +kSetupFdCount);
  }
  ep.relayListener = std::move(fds[kRelayListener]);
  ep.dnsUdp = std::move(fds[kDnsUdp]);
  ep.dnsTcp = std::move(fds[kDnsTcp]);
  return ep;
}

namespace {

// What a spare's listener must be: a socket of `netns` (SIOCGSKNS), of this type, listening
// or not, bound to addr (host order) and, unless 0, port.
Status checkSpareListener(const struct stat& netns, int fd, int type, bool listening, uint32_t addr,
                          uint16_t port, const char* what) {
  UniqueFd ns(::ioctl(fd, SIOCGSKNS));
  struct stat st;
  if (!ns || ::fstat(ns.get(), &st) != 0) return Error::fromErrno("the spare's {}: SIOCGSKNS", what);
  if (st.st_dev != netns.st_dev || st.st_ino != netns.st_ino)
    return Error::make("the spare's {} is a socket of another network namespace", what);
  int domain = 0, gotType = 0, accepting = 0;
  socklen_t len = sizeof domain;
  bool ok = ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0;
  len = sizeof gotType;
  ok = ok && ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &gotType, &len) == 0;
  len = sizeof accepting;
  ok = ok && ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0;
  sockaddr_in sa{};
  len = sizeof sa;
  ok = ok && ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0;
  if (!ok) return Error::fromErrno("the spare's {}", what);
  if (domain != AF_INET || gotType != type || (accepting != 0) != listening || sa.sin_family != AF_INET ||
      ntohl(sa.sin_addr.s_addr) != addr || (port != 0 && ntohs(sa.sin_port) != port) || sa.sin_port == 0)
    return Error::make("the spare's {} is not the socket the sandbox side makes", what);
  return {};
}

}  // namespace

Result<SandboxEndpoints> checkSpareEndpoints(int netns, std::vector<UniqueFd> listeners) {
  SandboxEndpoints ep;
  if (listeners.empty()) return ep;
  if (listeners.size() != kSetupFdCount)
    return Error::make("a spare comes with {} listeners, not {}", listeners.size(), +kSetupFdCount);
  struct stat ns;
  if (::fstat(netns, &ns) != 0) return Error::fromErrno("stat the spare network namespace");
  COCO_TRY(checkSpareListener(ns, listeners[kRelayListener].get(), SOCK_STREAM, true, INADDR_LOOPBACK, 0,
                              "relay listener"));
  COCO_TRY(checkSpareListener(ns, listeners[kDnsUdp].get(), SOCK_DGRAM, false, INADDR_ANY, 53, "DNS socket"));
  COCO_TRY(
      checkSpareListener(ns, listeners[kDnsTcp].get(), SOCK_STREAM, true, INADDR_ANY, 53, "DNS listener"));
  ep.relayListener = std::move(listeners[kRelayListener]);
  ep.dnsUdp = std::move(listeners[kDnsUdp]);
  ep.dnsTcp = std::move(listeners[kDnsTcp]);
  return ep;
}

Gateway::Gateway(GatewayConfig config, PolicyConfig policyConfig)
    : config_(std::move(config)), policyConfig_(std::move(policyConfig)) {}

Result<std::unique_ptr<Gateway>> Gateway::create(GatewayConfig config) {
  PolicyConfig pc;
  pc.mode = config.mode;
  pc.toolName = config.toolName;
  pc.allowLocalDestinations = config.allowLocalDestinations;
  pc.installPhase = config.installPhase;
  pc.traffic = config.traffic.get();  // config_ keeps it alive
  COCO_ASSIGN(pc.allowlist, Allowlist::parse(config.allowedHosts, config.derivedHosts));
  std::unique_ptr<Gateway> gw(new Gateway(std::move(config), std::move(pc)));
  COCO_TRY(gw->bindPublishedPorts());
  return gw;
}

Status Gateway::preparePolicy() {
  if (policy_) return okStatus();
  // The host's own addresses, which the policy refuses as destinations, are listed at its
  // first decision (PolicyConfig::hostAddresses): listed here, the netlink dump ran on coco's
  // main thread beside the sandbox's setup, 0.23-0.46 ms of CPU per allowlist run (perf stat,
  // stop 51; too little for bench/startup's wall time to show). The upstream is chosen here,
  // so that a resolv.conf without one fails the run. Without a network nothing is decided.
  policyConfig_.hostAddresses = hostIpv4Addresses;
  if (config_.mode != NetworkMode::None) {
    COCO_ASSIGN(upstream_, chooseUpstream(config_.upstream));
  }
  resolver_.emplace(upstream_);
  policy_.emplace(std::move(policyConfig_), pool_, *resolver_);
  return okStatus();
}

Status Gateway::bindPublishedPorts() {
  for (const auto& p : config_.ports) {
    auto ep = socketEndpoint(p.hostAddr, p.hostPort);
    if (!ep) return std::move(ep).error().wrap("published port");
    UniqueFd fd(::socket(ep->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return Error::fromErrno("socket");
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ep->addr), ep->len) < 0 || ::listen(fd.get(), SOMAXCONN) < 0) {
      return Error::fromErrno("publishing port {}", ep->text);
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len);
    publishedPorts_.push_back(ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port));
    publishListeners_.push_back(std::move(fd));
  }
  return okStatus();
}

std::vector<uint16_t> Gateway::publishedPorts() const { return publishedPorts_; }

Gateway::~Gateway() { stop(); }

Status Gateway::start(UniqueFd channel, bool deferred) {
  // Here rather than in create(): coco reads the host's addresses and picks
  // the upstream resolver while init sets the sandbox's network up, after
  // the clone, instead of before it (the engine's prepare hook).
  COCO_TRY(preparePolicy());
  if (spareUsed_) {
    endpoints_ = std::move(offered_);
  } else {
    COCO_ASSIGN(endpoints_, receiveSandboxEndpoints(channel.get()));
  }
  if (config_.mode != NetworkMode::None && !endpoints_.relayListener) {
    return Error::make("the sandbox sent no network listeners for mode {}", networkModeName(config_.mode));
  }
  channel_ = std::move(channel);
  deferred_ = deferred;
  return startLoop();
}

int Gateway::pendingFd() const { return deferred_ && relays_ ? relays_->pollFd() : -1; }

Status Gateway::resume() {
  if (!deferred_) return okStatus();
  deferred_ = false;
  COCO_TRY(relays_->watch(channel_.get(), kTagChannel));
  COCO_TRY(startThread());
  // coco leaves its loop at the tool's end: a tool that connected and ended at once must still
  // have its connection decided, and its notice printed, before coco exits, as when a thread was
  // already waiting. The thread's first pass handles what is queued (the connection was queued
  // before the tool's end, so coco resumes no later than it sees that end), and coco waits for
  // that pass, though no longer than kFirstPassMs: a notice held by a stalled terminal must not
  // keep coco's own loop (signals, the tool's output) waiting with it.
  std::unique_lock lock(mu_);
  passed_.wait_for(lock, std::chrono::milliseconds(kFirstPassMs), [this] { return firstPass_; });
  return okStatus();
}

Status Gateway::startThread() {
  auto started = thread_.start([this] { loop(); });
  if (!started) return std::move(started).error().wrap("starting the gateway");
  return okStatus();
}

Status Gateway::offerSpare(int netns, std::vector<UniqueFd> listeners) {
  COCO_ASSIGN(SandboxEndpoints ep, checkSpareEndpoints(netns, std::move(listeners)));
  bool capture = config_.mode != NetworkMode::None;
  if (capture != static_cast<bool>(ep.relayListener))
    return Error::make("a spare {} the capture, which mode {} {}", capture ? "without" : "with",
                       networkModeName(config_.mode), capture ? "needs" : "does not have");
  offered_ = std::move(ep);
  return {};
}

void Gateway::useSpare(bool used) {
  spareUsed_ = used;
  if (!used) offered_ = {};
}

Status Gateway::startLoop() {
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) return Error::fromErrno("eventfd");
  COCO_ASSIGN(relays_, RelayLoop::create(relayLimits()));
  relays_->onDone(logRelayEnd);
  COCO_TRY(relays_->watch(wake_.get(), kTagWake));
  // The channel carries only the replies to the thread's own requests (a published port's
  // socket), so a deferred thread watches it from its start: until then its one event would be
  // init's end, which would start the thread for nothing as the run ends (+0.26 ms a run).
  if (!deferred_) COCO_TRY(relays_->watch(channel_.get(), kTagChannel));
  for (UniqueFd* fd : {&endpoints_.relayListener, &endpoints_.dnsUdp, &endpoints_.dnsTcp}) {
    if (*fd) COCO_TRY(setNonBlocking(fd->get()));
  }
  if (endpoints_.relayListener) COCO_TRY(relays_->watch(endpoints_.relayListener.get(), kTagRelay));
  if (endpoints_.dnsUdp) COCO_TRY(relays_->watch(endpoints_.dnsUdp.get(), kTagDnsUdp));
  if (endpoints_.dnsTcp) COCO_TRY(relays_->watch(endpoints_.dnsTcp.get(), kTagDnsTcp));
  for (size_t i = 0; i < publishListeners_.size(); ++i)
    COCO_TRY(relays_->watch(publishListeners_[i].get(), kTagPublished + i));
  log::debug("gateway: started (mode {}, upstream {}{})", networkModeName(config_.mode), upstream_.text,
             deferred_ ? "; its thread at the first event" : "");
  return deferred_ ? okStatus() : startThread();
}

// One epoll set for the listeners and every relayed connection (RelayLoop).
void Gateway::loop() {
  auto handle = [this](uint64_t tag) { return onEvent(tag); };
  bool more = relays_->waitOnce(handle, 0);  // what is queued at the start: resume() waits for it
  {
    std::lock_guard lock(mu_);
    firstPass_ = true;
  }
  passed_.notify_all();
  while (more && relays_->waitOnce(handle)) {
  }
}

bool Gateway::onEvent(uint64_t tag) {
  switch (tag) {
    case kTagWake: return false;
    case kTagRelay: onRelayAccept(); break;
    case kTagDnsUdp: onDnsUdp(); break;
    case kTagDnsTcp: onDnsTcpAccept(); break;
    case kTagChannel: onChannelReadable(); break;
    default: onPublishedAccept(static_cast<size_t>(tag - kTagPublished)); break;
  }
  return true;
}

void Gateway::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    deferred_ = false;  // a thread never started stays so
    for (int fd : tracked_) ::shutdown(fd, SHUT_RDWR);
  }
  if (wake_) {
    uint64_t one = 1;
    ssize_t unused = ::write(wake_.get(), &one, sizeof one);
    (void)unused;
  }
  thread_.join();
  if (relays_) relays_->closeAll();  // the event thread is gone: this thread may
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return workers_ == 0; });
  pending_.clear();
}

void Gateway::track(int fd) {
  std::lock_guard lock(mu_);
  tracked_.insert(fd);
  if (stopping_) ::shutdown(fd, SHUT_RDWR);
}

void Gateway::untrack(int fd) {
  std::lock_guard lock(mu_);
  tracked_.erase(fd);
}

bool Gateway::spawnWorker(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || workers_ >= kMaxWorkers) return false;
    ++workers_;
  }
  auto status = spawnDetached([this, fn = std::move(fn)] {
    fn();
    std::lock_guard lock(mu_);
    if (--workers_ == 0) idle_.notify_all();
  });
  if (status) return true;
  log::debug("gateway: {}", status.error().describe());
  std::lock_guard lock(mu_);
  if (--workers_ == 0) idle_.notify_all();
  return false;
}

void Gateway::onRelayAccept() {
  for (;;) {
    // Non-blocking as the relay wants it (saves two fcntl per connection).
    int fd = ::accept4(endpoints_.relayListener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    handleOutbound(UniqueFd(fd));
  }
}

void Gateway::onDnsTcpAccept() {
  for (;;) {
    int fd = ::accept4(endpoints_.dnsTcp.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    spawnDnsTcp(fd);
  }
}

void Gateway::onDnsUdp() {
  for (int i = 0; i < kUdpBurst; ++i) {
    std::vector<uint8_t> buf(4096);
    sockaddr_in peer{};
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(in_pktinfo))] = {};
    msghdr mh{};
    mh.msg_name = &peer;
    mh.msg_namelen = sizeof peer;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    ssize_t n = ::recvmsg(endpoints_.dnsUdp.get(), &mh, MSG_DONTWAIT);
    if (n < 0) return;
    in_pktinfo info{};
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) std::memcpy(&info, CMSG_DATA(c), sizeof info);
    }
    buf.resize(static_cast<size_t>(n));
    DnsOutcome out = policy_->answerDns(buf, /*cacheOnly=*/true);
    if (out.kind == DnsOutcome::Kind::Reply) {
      sendUdp(out.packet, peer, info);
    } else if (out.kind == DnsOutcome::Kind::NeedsUpstream) {
      spawnWorker([this, q = std::move(buf), peer, info]() mutable { answerUdp(std::move(q), peer, info); });
    }
  }
}

void Gateway::answerUdp(std::vector<uint8_t> query, sockaddr_in peer, in_pktinfo info) {
  DnsOutcome out = policy_->answerDns(query, /*cacheOnly=*/false, /*recorded=*/true);
  if (out.kind == DnsOutcome::Kind::Reply) sendUdp(out.packet, peer, info);
}

// Answers from the address the tool sent to, so a resolver that asked any
// address (all local in the sandbox) accepts the reply.
void Gateway::sendUdp(const std::vector<uint8_t>& reply, const sockaddr_in& peer, const in_pktinfo& info) {
  std::vector<uint8_t> packet = reply;
  if (packet.size() > dns::kMaxUdpPayload) {
    packet.resize(dns::kMaxUdpPayload);  // never happens with A-only answers; a fence
    packet[2] |= 0x02;
  }
  iovec iov{packet.data(), packet.size()};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(in_pktinfo))] = {};
  msghdr mh{};
  mh.msg_name = const_cast<sockaddr_in*>(&peer);
  mh.msg_namelen = sizeof peer;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
  in_pktinfo out{};
  out.ipi_spec_dst = info.ipi_addr;
  std::memcpy(CMSG_DATA(c), &out, sizeof out);
  if (::sendmsg(endpoints_.dnsUdp.get(), &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
    log::debug("dns: reply: {}", std::strerror(errno));
  }
}

namespace {

int64_t monotonicMs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// Reads exactly `size` bytes before `deadlineMs` (monotonic); false at the end, an error or the deadline.
bool readBefore(int fd, uint8_t* p, size_t size, int64_t deadlineMs) {
  while (size) {
    int64_t left = deadlineMs - monotonicMs();
    if (left <= 0) return false;
    pollfd pf{fd, POLLIN, 0};
    int r = ::poll(&pf, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void Gateway::spawnDnsTcp(int fd) {
  {
    std::lock_guard lock(mu_);
    if (dnsTcp_ >= kMaxDnsTcp) {
      log::debug("dns: {} connections over TCP open, closing another", dnsTcp_);
      ::close(fd);
      return;
    }
    ++dnsTcp_;
  }
  if (spawnWorker([this, fd] { serveDnsTcp(UniqueFd(fd)); })) return;
  ::close(fd);
  std::lock_guard lock(mu_);
  --dnsTcp_;
}

void Gateway::serveDnsTcp(UniqueFd conn) {
  track(conn.get());
  int64_t deadline = monotonicMs() + int64_t{kDnsTcpTimeoutSec} * 1000;
  timeval tv{kDnsTcpTimeoutSec, 0};  // a reader that never takes the answers
  ::setsockopt(conn.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  for (int i = 0; i < kDnsTcpMaxQueries; ++i) {
    uint8_t len[2];
    if (!readBefore(conn.get(), len, 2, deadline)) break;
    std::vector<uint8_t> query((len[0] << 8) | len[1]);
    if (!readBefore(conn.get(), query.data(), query.size(), deadline)) break;
    DnsOutcome out = policy_->answerDns(query, /*cacheOnly=*/false);
    if (out.kind != DnsOutcome::Kind::Reply) break;
    std::vector<uint8_t> framed = dns::tcpFramed(out.packet);
    if (sys::sendAll(conn.get(), framed.data(), framed.size()) != 0) break;
  }
  untrack(conn.get());
  std::lock_guard lock(mu_);
  --dnsTcp_;
}

// On the event thread: the decision when it needs no upstream lookup (the
// tool looked the name up through the stub, so it is cached), else a worker.
void Gateway::handleOutbound(UniqueFd client) {
  sockaddr_in orig{};
  socklen_t len = sizeof orig;
  if (::getsockopt(client.get(), SOL_IP, SO_ORIGINAL_DST, &orig, &len) < 0) {
    log::debug("relay: no original destination: {}", std::strerror(errno));
    return resetAndClose(std::move(client));
  }
  uint16_t port = ntohs(orig.sin_port);
  if (relays_->full()) {
    log::debug("relay: {} connections open, resetting another", relays_->size());
    return resetAndClose(std::move(client));
  }
  if (port == 53) {  // DNS over TCP to any address is the stub's; its worker reads blocking
    int flags = ::fcntl(client.get(), F_GETFL);
    ::fcntl(client.get(), F_SETFL, flags & ~O_NONBLOCK);
    spawnDnsTcp(client.release());
    return;
  }
  Verdict v = policy_->decideConnection(orig.sin_addr.s_addr, port, /*cacheOnly=*/true);
  if (v.pending) {
    int fd = client.release();
    in_addr_t dst = orig.sin_addr.s_addr;
    if (!spawnWorker([this, fd, dst, port] { decideUpstream(UniqueFd(fd), dst, port); })) resetAndClose(UniqueFd(fd));
    return;
  }
  if (!v.allowed) return resetAndClose(std::move(client));
  relays_->add(std::move(client), std::move(v.targets), std::move(v.label));
}

// On a worker: a decision that resolves the name upstream first.
void Gateway::decideUpstream(UniqueFd client, in_addr_t dst, uint16_t port) {
  Verdict v = policy_->decideConnection(dst, port);
  if (!v.allowed) return resetAndClose(std::move(client));
  relays_->submit(std::move(client), std::move(v.targets), std::move(v.label));
}

void Gateway::onPublishedAccept(size_t index) {
  if (index >= publishListeners_.size()) return;
  for (;;) {
    int fd = ::accept4(publishListeners_[index].get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    UniqueFd conn(fd);
    SocketRequest req;
    if (!channel_ || ::send(channel_.get(), &req, sizeof req, MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof req) {
      log::debug("publish: no way into the sandbox: {}", std::strerror(errno));
      continue;
    }
    pending_.push_back({std::move(conn), config_.ports[index].containerPort});
  }
}

void Gateway::onChannelReadable() {
  SocketReply reply;
  std::vector<UniqueFd> fds;
  auto got = recvWithFds(channel_.get(), &reply, sizeof reply, fds, MSG_DONTWAIT);
  if (got && *got == 0) {
    // The sandbox is gone: no more ways into it.
    relays_->unwatch(channel_.get());
    channel_.reset();
    pending_.clear();
    return;
  }
  if (!got || pending_.empty()) return;
  PendingPublish p = std::move(pending_.front());
  pending_.pop_front();
  if (*got != sizeof reply || reply.magic != kSocketMagic || reply.error != 0 || fds.size() != 1 ||
      !isTcpSocket(fds[0].get())) {
    log::debug("publish: the sandbox gave no socket (error {})", reply.error);
    return;
  }
  // The socket lives in the sandbox netns, so 127.0.0.1 is the sandbox's loopback.
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(p.containerPort);
  relays_->add(std::move(p.hostConn), {sa}, fmt::format("published port {}", p.containerPort), std::move(fds[0]));
}

}  // namespace coco::net
