// The relay loop: non-blocking connect, then splice both ways through pooled
// pipes taken only while bytes wait; half-close on EOF, reset on failure.
#include "net/relay.hpp"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace coco::net {

namespace {

constexpr uint64_t kWakeId = 0;
constexpr uint64_t kWatched = uint64_t{1} << 63;  // connection ids stay below
using Clock = std::chrono::steady_clock;

void setNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0 && !(flags & O_NONBLOCK)) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// Small writes (a request's end) leave at once; splice hands over whole pages anyway.
void setNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Closing with a zero linger sends RST.
void resetAndClose(UniqueFd& fd) {
  if (!fd) return;
  linger l{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd.reset();
}

bool wouldBlock() { return errno == EAGAIN || errno == EWOULDBLOCK; }

}  // namespace

struct RelayLoop::Conn {
  uint64_t id = 0;
  std::string label;
  UniqueFd a, b;  // a: the client; b: the destination
  std::vector<sockaddr_in> targets;
  size_t next = 0;  // the target to try after the current one
  bool connecting = false;
  bool givenSocket = false;  // b came from the caller: no new socket per target
  Clock::time_point deadline;
  Direction ab, ba;
};

RelayLoop::RelayLoop(RelayLimits limits) : limits_(limits) {}

RelayLoop::~RelayLoop() { closeAll(); }

Result<std::unique_ptr<RelayLoop>> RelayLoop::create(RelayLimits limits) {
  std::unique_ptr<RelayLoop> loop(new RelayLoop(limits));
  COCO_TRY(loop->init());
  return loop;
}

Status RelayLoop::init() {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!epoll_ || !wake_) return Error::fromErrno("relay: epoll/eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeId;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) < 0)
    return Error::fromErrno("relay: epoll_ctl");
  return okStatus();
}

bool RelayLoop::add(UniqueFd client, std::vector<sockaddr_in> targets, std::string label, UniqueFd socket) {
  if (closed_ || conns_.size() >= limits_.maxConnections || targets.empty()) {
    resetAndClose(client);
    return false;
  }
  auto c = std::make_unique<Conn>();
  c->id = nextId_++;
  c->label = std::move(label);
  c->a = std::move(client);
  c->targets = std::move(targets);
  c->givenSocket = static_cast<bool>(socket);
  c->b = std::move(socket);
  setNonBlocking(c->a.get());
  setNoDelay(c->a.get());
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = c->id;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c->a.get(), &ev) < 0) {
    resetAndClose(c->a);
    return false;
  }
  Conn& ref = *c;
  conns_.emplace(c->id, std::move(c));
  if (!tryConnect(ref)) finish(ref.id, true);
  return true;
}

bool RelayLoop::submit(UniqueFd client, std::vector<sockaddr_in> targets, std::string label,
                       UniqueFd socket) {
  {
    std::lock_guard lock(mu_);
    if (!queueClosed_)
      queue_.push_back({std::move(client), std::move(targets), std::move(label), std::move(socket)});
  }
  if (client) {
    resetAndClose(client);
    return false;
  }
  uint64_t one = 1;
  ssize_t unused = ::write(wake_.get(), &one, sizeof one);
  (void)unused;
  return true;
}

// Starts a non-blocking connect to the next target; false when none is left.
bool RelayLoop::tryConnect(Conn& c) {
  while (c.next < c.targets.size()) {
    const sockaddr_in& t = c.targets[c.next++];
    if (c.givenSocket && c.next > 1) return false;  // a given socket gets one try
    if (!c.givenSocket) {
      if (c.b) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.b.get(), nullptr);
      c.b.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      if (!c.b) return false;
    }
    if (c.givenSocket) setNonBlocking(c.b.get());
    setNoDelay(c.b.get());
    int rc = ::connect(c.b.get(), reinterpret_cast<const sockaddr*>(&t), sizeof t);
    if (rc < 0 && errno != EINPROGRESS) continue;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = c.id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.b.get(), &ev) < 0) return false;
    c.connecting = true;
    c.deadline = Clock::now() + std::chrono::milliseconds(limits_.connectTimeoutMs);
    if (rc == 0) checkConnect(c);
    return true;
  }
  return false;
}

// After an event on a connecting connection: connected, failed (next target), or not yet.
void RelayLoop::checkConnect(Conn& c) {
  pollfd p{c.b.get(), POLLOUT, 0};
  if (::poll(&p, 1, 0) != 1) return;
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(c.b.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err == 0 && !(p.revents & (POLLERR | POLLHUP))) {
    c.connecting = false;
    if (!startRelay(c)) finish(c.id, true);
    return;
  }
  if (!tryConnect(c)) finish(c.id, true);
}

bool RelayLoop::startRelay(Conn& c) {
  c.ab.from = c.a.get();
  c.ab.to = c.b.get();
  c.ba.from = c.b.get();
  c.ba.to = c.a.get();
  pumpBoth(c);
  return true;
}

bool RelayLoop::takePipe(Pipe& p) {
  if (p.r) return true;
  if (!pool_.empty()) {
    p = std::move(pool_.back());
    pool_.pop_back();
    return true;
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return false;
  p.r.reset(fds[0]);
  p.w.reset(fds[1]);
  // Once per pipe, not per connection: pipes are reused. A refusal (the
  // user's pipe page limit) leaves the default size, which still works.
  ::fcntl(p.w.get(), F_SETPIPE_SZ, limits_.pipeSize);
  return true;
}

void RelayLoop::givePipe(Pipe& p) {
  if (!p.r) return;
  if (pool_.size() < limits_.idlePipes) pool_.push_back(std::move(p));
  p.r.reset();
  p.w.reset();
}

// Moves bytes from -> pipe -> to until a side would block, EOF, or the budget is spent.
RelayLoop::Pump RelayLoop::pump(Direction& d, uint64_t& budget) {
  while (!d.done) {
    if (d.held > 0) {
      // No SPLICE_F_MORE: it corks the socket, holding back the end of a request.
      ssize_t n = ::splice(d.pipe.r.get(), nullptr, d.to, nullptr, d.held, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && wouldBlock()) return Pump::Idle;  // EPOLLOUT on `to` resumes
      if (n <= 0) return Pump::Failed;
      d.held -= static_cast<size_t>(n);
      d.moved += static_cast<uint64_t>(n);
      continue;
    }
    givePipe(d.pipe);  // empty: back to the pool
    if (d.eof) {
      ::shutdown(d.to, SHUT_WR);
      d.done = true;
      return Pump::Done;
    }
    if (budget == 0) return Pump::Busy;
    if (!takePipe(d.pipe)) return Pump::Failed;
    size_t want = static_cast<size_t>(std::min<uint64_t>(budget, static_cast<uint64_t>(limits_.pipeSize)));
    ssize_t n = ::splice(d.from, nullptr, d.pipe.w.get(), nullptr, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && wouldBlock()) {
      givePipe(d.pipe);
      return Pump::Idle;  // EPOLLIN on `from` resumes
    }
    if (n < 0) return Pump::Failed;
    if (n == 0) d.eof = true;
    d.held = static_cast<size_t>(n);
    budget -= std::min<uint64_t>(budget, static_cast<uint64_t>(n));
  }
  return Pump::Done;
}

void RelayLoop::pumpBoth(Conn& c) {
  uint64_t budget = limits_.budgetPerWake;
  Pump x = pump(c.ab, budget);
  Pump y = pump(c.ba, budget);
  if (x == Pump::Failed || y == Pump::Failed) return finish(c.id, true);
  if (c.ab.done && c.ba.done) return finish(c.id, false);
  if (x == Pump::Busy || y == Pump::Busy) busy_.push_back(c.id);
}

void RelayLoop::finish(uint64_t id, bool failed) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  if (done_) done_(c.label, RelayStats{c.ab.moved, c.ba.moved, failed});
  // Deregistering is implicit: closing the last fd of a socket removes it from epoll.
  if (failed) {
    resetAndClose(c.a);
    resetAndClose(c.b);
  }
  // A pipe that still holds bytes is dropped, not pooled.
  for (Direction* d : {&c.ab, &c.ba})
    if (d->held == 0) givePipe(d->pipe);
  conns_.erase(it);
}

void RelayLoop::handle(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;  // ended earlier in this batch
  Conn& c = *it->second;
  if (c.connecting) return checkConnect(c);
  pumpBoth(c);
}

void RelayLoop::drainQueue() {
  uint64_t n;
  ssize_t unused = ::read(wake_.get(), &n, sizeof n);
  (void)unused;
  std::deque<Queued> q;
  {
    std::lock_guard lock(mu_);
    q.swap(queue_);
  }
  for (auto& item : q)
    add(std::move(item.client), std::move(item.targets), std::move(item.label), std::move(item.socket));
}

void RelayLoop::expire() {
  auto now = Clock::now();
  std::vector<uint64_t> late;
  for (auto& [id, c] : conns_)
    if (c->connecting && c->deadline <= now) late.push_back(id);
  for (uint64_t id : late) {
    auto it = conns_.find(id);
    if (it != conns_.end() && !tryConnect(*it->second)) finish(id, true);
  }
}

int RelayLoop::timeoutMs() const {
  if (!busy_.empty()) return 0;
  int best = -1;
  auto now = Clock::now();
  for (auto& [id, c] : conns_) {
    if (!c->connecting) continue;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(c->deadline - now).count() + 1;
    int v = static_cast<int>(std::max<int64_t>(0, ms));
    if (best < 0 || v < best) best = v;
  }
  return best;
}

Status RelayLoop::watch(int fd, uint64_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWatched | tag;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) return Error::fromErrno("epoll_ctl");
  return okStatus();
}

void RelayLoop::unwatch(int fd) { ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr); }

bool RelayLoop::waitOnce(const std::function<bool(uint64_t tag)>& onWatched, int maxWaitMs) {
  std::vector<uint64_t> again;
  again.swap(busy_);
  for (uint64_t id : again) handle(id);
  epoll_event events[64];
  int timeout = timeoutMs();
  if (maxWaitMs >= 0 && (timeout < 0 || timeout > maxWaitMs)) timeout = maxWaitMs;
  int n = ::epoll_wait(epoll_.get(), events, 64, timeout);
  if (n < 0 && errno != EINTR) return false;
  for (int i = 0; i < n; ++i) {
    uint64_t id = events[i].data.u64;
    if (id & kWatched) {
      if (!onWatched(id & ~kWatched)) return false;
    } else if (id == kWakeId) {
      drainQueue();
    } else {
      handle(id);
    }
  }
  expire();
  return true;
}

void RelayLoop::run() {
  while (!stopRun_ && waitOnce([](uint64_t) { return true; })) {
  }
}

void RelayLoop::stop() {
  stopRun_ = true;
  uint64_t one = 1;
  ssize_t unused = ::write(wake_.get(), &one, sizeof one);
  (void)unused;
}

void RelayLoop::closeAll() {
  {
    std::lock_guard lock(mu_);
    queueClosed_ = true;
    for (auto& item : queue_) resetAndClose(item.client);
    queue_.clear();
  }
  closed_ = true;
  while (!conns_.empty()) finish(conns_.begin()->first, true);
  busy_.clear();
}

}  // namespace coco::net
