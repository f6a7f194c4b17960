// Resolver: how the gateway learns whether a name exists and where it points,
// by asking the upstream DNS server (the host's, or COCO_DNS_UPSTREAM) itself.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/result.hpp"

namespace coco::net {

struct Resolution {
  enum class Status { Ok, NxDomain, NoData, Failed };
  Status status = Status::Failed;
  std::vector<in_addr_t> addresses;  // network order; only with Ok
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  // Blocks (bounded by timeouts) when the answer is not cached.
  virtual Resolution resolve(const std::string& name) = 0;
  virtual std::optional<Resolution> cached(const std::string& name) = 0;
};

// A socket address for the upstream server.
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;
};

// A literal IPv4 or IPv6 address (no brackets) and a port.
Result<Endpoint> socketEndpoint(std::string_view address, uint16_t port);

// "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353"; the port defaults to 53.
Result<Endpoint> parseEndpoint(const std::string& text);

// The first nameserver of a resolv.conf text.
Result<Endpoint> nameserverFromResolvConf(const std::string& content);

// configured if set, else $COCO_DNS_UPSTREAM, else /etc/resolv.conf's first nameserver.
Result<Endpoint> chooseUpstream(const std::string& configured);

class UpstreamResolver : public Resolver {
 public:
  explicit UpstreamResolver(Endpoint upstream) : upstream_(std::move(upstream)) {}

  Resolution resolve(const std::string& name) override;
  std::optional<Resolution> cached(const std::string& name) override;
  // A tool can look up endless distinct names (full network mode passes each upstream): the
  // cache, coco's memory and outside the sandbox's limits, holds at most this many.
  static constexpr size_t kMaxCached = 1024;
  size_t cacheSize();

 private:
  struct Entry {
    Resolution resolution;
    std::chrono::steady_clock::time_point expires;
  };

  Resolution query(const std::string& name, uint32_t& ttl);

  Endpoint upstream_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;
};

}  // namespace coco::net
