// The upstream resolver: UDP with TCP fallback on truncation, bounded waits,
// and a small TTL cache so a name's lookups and connections agree.
#include "net/resolver.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "net/dns_message.hpp"
#include "util/fs.hpp"
#include "util/host_port.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace coco::net {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kAttemptTimeout = std::chrono::seconds(2);
constexpr int kAttempts = 2;
constexpr uint32_t kMinTtl = 30;
constexpr uint32_t kMaxTtl = 600;
constexpr uint32_t kNegativeTtl = 30;

uint16_t randomId() {
  uint16_t id = 0;
  if (::getrandom(&id, sizeof id, 0) != sizeof id) id = static_cast<uint16_t>(::rand());
  return id;
}

int msLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

bool waitFor(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int rc = ::poll(&p, 1, msLeft(deadline));
    if (rc < 0 && errno == EINTR) continue;
    return rc > 0;
  }
}

Status readExact(int fd, uint8_t* buf, size_t size, Clock::time_point deadline) {
  while (size > 0) {
    if (!waitFor(fd, POLLIN, deadline)) return Error::withErrno(ETIMEDOUT, "DNS over TCP");
    ssize_t n = ::recv(fd, buf, size, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return Error::fromErrno("DNS over TCP: read");
    buf += n;
    size -= static_cast<size_t>(n);
  }
  return okStatus();
}

Result<UniqueFd> connectedSocket(const Endpoint& ep, int type, Clock::time_point deadline) {
  UniqueFd fd(::socket(ep.addr.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Error::fromErrno("socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ep.addr), ep.len) < 0 && errno != EINPROGRESS) {
    return Error::fromErrno("connect to {}", ep.text);
  }
  if (type == SOCK_STREAM) {
    int err = 0;
    socklen_t len = sizeof err;
    if (!waitFor(fd.get(), POLLOUT, deadline)) return Error::withErrno(ETIMEDOUT, "connect to " + ep.text);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Error::withErrno(err, "connect to " + ep.text);
  }
  return fd;
}

Result<std::vector<uint8_t>> exchangeUdp(const Endpoint& ep, const std::vector<uint8_t>& query) {
  auto deadline = Clock::now() + kAttemptTimeout;
  COCO_ASSIGN(UniqueFd fd, connectedSocket(ep, SOCK_DGRAM, deadline));
  if (::send(fd.get(), query.data(), query.size(), 0) < 0) return Error::fromErrno("send to {}", ep.text);
  std::vector<uint8_t> buf(65535);
  uint16_t id = static_cast<uint16_t>((query[0] << 8) | query[1]);
  while (waitFor(fd.get(), POLLIN, deadline)) {
    ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return Error::fromErrno("recv from {}", ep.text);
    // A stray datagram with another id is not our answer; keep waiting.
    if (n >= 2 && ((buf[0] << 8) | buf[1]) == id) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
  }
  return Error::withErrno(ETIMEDOUT, "no answer from " + ep.text);
}

Result<std::vector<uint8_t>> exchangeTcp(const Endpoint& ep, const std::vector<uint8_t>& query) {
  auto deadline = Clock::now() + kAttemptTimeout;
  COCO_ASSIGN(UniqueFd fd, connectedSocket(ep, SOCK_STREAM, deadline));
  std::vector<uint8_t> framed = dns::tcpFramed(query);
  if (::send(fd.get(), framed.data(), framed.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(framed.size())) {
    return Error::fromErrno("send to {}", ep.text);
  }
  uint8_t len[2];
  COCO_TRY(readExact(fd.get(), len, 2, deadline));
  std::vector<uint8_t> buf((len[0] << 8) | len[1]);
  COCO_TRY(readExact(fd.get(), buf.data(), buf.size(), deadline));
  return buf;
}

Resolution fromAnswer(const dns::Answer& a) {
  Resolution r;
  if (a.rcode == dns::Rcode::NxDomain) {
    r.status = Resolution::Status::NxDomain;
  } else if (a.rcode != dns::Rcode::NoError) {
    r.status = Resolution::Status::Failed;
  } else if (a.addresses.empty()) {
    r.status = Resolution::Status::NoData;
  } else {
    r.status = Resolution::Status::Ok;
    r.addresses = a.addresses;
  }
  return r;
}

}  // namespace

Result<Endpoint> socketEndpoint(std::string_view address, uint16_t port) {
  Endpoint ep;
  ep.text = joinHostPort(address, port);
  if (auto v4 = parseIpv4(address)) {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ep.addr);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    sa->sin_addr.s_addr = *v4;
    ep.len = sizeof(sockaddr_in);
  } else if (auto v6 = parseIpv6(address)) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ep.addr);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(port);
    sa->sin6_addr = *v6;
    ep.len = sizeof(sockaddr_in6);
  } else {
    return Error::make("bad address '{}': not an IPv4 or IPv6 address", address);
  }
  return ep;
}

Result<Endpoint> parseEndpoint(const std::string& text) {
  auto hp = splitHostPort(text);
  if (!hp) return Error::make("bad address '{}': {}", text, hp.error().message());
  COCO_ASSIGN(Endpoint ep, socketEndpoint(hp->host, hp->port.value_or(53)));
  ep.text = text;
  return ep;
}

Result<Endpoint> nameserverFromResolvConf(const std::string& content) {
  size_t pos = 0;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    if (end == std::string::npos) end = content.size();
    std::string_view line(content.data() + pos, end - pos);
    pos = end + 1;
    if (!line.starts_with("nameserver")) continue;
    line.remove_prefix(10);
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string_view::npos || b == 0) continue;
    line.remove_prefix(b);
    line = line.substr(0, line.find_first_of(" \t#;"));
    // A scoped IPv6 address (fe80::1%eth0) needs a scope id we do not carry.
    if (line.find('%') != std::string_view::npos) continue;
    if (auto ep = socketEndpoint(line, 53)) {
      ep->text = std::string(line);
      return ep;
    }
  }
  return Error::make("no usable nameserver line");
}

Result<Endpoint> chooseUpstream(const std::string& configured) {
  if (!configured.empty()) return parseEndpoint(configured);
  if (const char* env = std::getenv("COCO_DNS_UPSTREAM"); env && *env) {
    auto ep = parseEndpoint(env);
    if (!ep) return std::move(ep).error().wrap("COCO_DNS_UPSTREAM");
    return ep;
  }
  auto content = fs::readFile("/etc/resolv.conf");
  if (!content) return std::move(content).error().wrap("finding the upstream DNS server");
  auto ep = nameserverFromResolvConf(*content);
  if (!ep) return std::move(ep).error().wrap("/etc/resolv.conf");
  return ep;
}

std::optional<Resolution> UpstreamResolver::cached(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = cache_.find(name);
  if (it == cache_.end()) return std::nullopt;
  if (it->second.expires < Clock::now()) {
    cache_.erase(it);
    return std::nullopt;
  }
  return it->second.resolution;
}

Resolution UpstreamResolver::resolve(const std::string& name) {
  if (auto hit = cached(name)) return *hit;
  uint32_t ttl = 0;
  Resolution r = query(name, ttl);
  if (r.status == Resolution::Status::Failed) return r;
  std::lock_guard lock(mu_);
  if (cache_.size() >= kMaxCached && !cache_.contains(name)) {
    auto now = Clock::now();
    std::erase_if(cache_, [now](const auto& e) { return e.second.expires < now; });
    if (cache_.size() >= kMaxCached) cache_.clear();  // names looked up again cost one query each
  }
  cache_[name] = Entry{r, Clock::now() + std::chrono::seconds(ttl)};
  return r;
}

size_t UpstreamResolver::cacheSize() {
  std::lock_guard lock(mu_);
  return cache_.size();
}

Resolution UpstreamResolver::query(const std::string& name, uint32_t& ttl) {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    uint16_t id = randomId();
    auto packet = dns::buildQuery(id, name, dns::kTypeA);
    if (!packet) return {};
    auto reply = exchangeUdp(upstream_, *packet);
    if (!reply) {
      log::debug("dns: upstream {} for {}: {}", upstream_.text, name, reply.error().describe());
      continue;
    }
    auto answer = dns::parseResponse(*reply, id, name, dns::kTypeA);
    if (answer && answer->truncated) {
      // A truncated answer may lack addresses; only the full one counts.
      reply = exchangeTcp(upstream_, *packet);
      if (!reply) {
        log::debug("dns: upstream {} over TCP for {}: {}", upstream_.text, name, reply.error().describe());
        continue;
      }
      answer = dns::parseResponse(*reply, id, name, dns::kTypeA);
    }
    if (!answer) {
      log::debug("dns: upstream answer for {}: {}", name, answer.error().describe());
      continue;
    }
    Resolution r = fromAnswer(*answer);
    ttl = r.status == Resolution::Status::Ok ? std::clamp(answer->minTtl, kMinTtl, kMaxTtl) : kNegativeTtl;
    return r;
  }
  return {};
}

}  // namespace coco::net
