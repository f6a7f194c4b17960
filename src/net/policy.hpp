// Policy: every decision the gateway makes, without sockets: what a DNS query
// gets, and whether (and where) a captured connection may go. Prints the
// once-per-name refusal notices, the first kMaxNotices of them.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "net/address_pool.hpp"
#include "net/allowlist.hpp"
#include "net/resolver.hpp"
#include "net/sandbox_side.hpp"
#include "net/traffic_log.hpp"

namespace coco::net {

struct PolicyConfig {
  NetworkMode mode = NetworkMode::Full;
  Allowlist allowlist;
  std::string toolName;
  // Lets connections reach loopback, private (RFC 1918) and the host's own
  // addresses: the tests' servers listen there. Link-local, metadata and
  // CGNAT addresses stay shut even so.
  bool allowLocalDestinations = false;
  // Lists the host's own IPv4 addresses. Called once, at the first decision that needs them,
  // not when the run starts: the netlink dump then runs on the gateway's threads instead of
  // beside the sandbox's setup. A failure refuses every address it would have let through.
  std::function<Result<std::vector<in_addr_t>>()> hostAddresses;
  // An install's sandbox: a refused name is added to the config's
  // install_hosts (allowed_hosts would open it to every run), or the install
  // gets the host's network (COCO_INSTALL_NETWORK=host).
  bool installPhase = false;
  // `coco run --learn`: every lookup and connection decision is recorded here.
  TrafficLog* traffic = nullptr;
};

struct DnsOutcome {
  enum class Kind { Reply, Drop, NeedsUpstream };
  Kind kind = Kind::Drop;
  std::vector<uint8_t> packet;
};

struct Verdict {
  bool allowed = false;
  std::string label;                // NAME:PORT or ADDR:PORT, for logs
  std::vector<sockaddr_in> targets; // where to connect, in order
  bool pending = false;             // cacheOnly: the name is not resolved yet; ask again without
};

inline constexpr uint32_t kSyntheticTtl = 300;
// Distinct refusals noticed per run; after them one line says the rest are not listed.
inline constexpr size_t kMaxNotices = 100;

class Policy {
 public:
  Policy(PolicyConfig config, AddressPool& pool, Resolver& resolver)
      : config_(std::move(config)), pool_(pool), resolver_(resolver) {}

  // The reply to one DNS message from the sandbox. With cacheOnly, a query that
  // needs the upstream server returns NeedsUpstream instead of blocking.
  // `recorded`: the query was recorded in the traffic log already, by the event thread's
  // cache-only pass that handed it to this worker; every query is recorded once, even when no
  // worker was free to answer it.
  DnsOutcome answerDns(std::span<const uint8_t> packet, bool cacheOnly, bool recorded = false);

  // Whether a captured connection to dst:port may proceed; may block to resolve.
  // With cacheOnly, a decision that needs the upstream server comes back
  // `pending` (not allowed, nothing printed) instead of blocking.
  Verdict decideConnection(in_addr_t dst, uint16_t port, bool cacheOnly = false);

 private:
  bool nameAllowed(const std::string& name) const;
  Verdict decideName(const std::string& name, uint16_t port, bool cacheOnly);
  Verdict decideLiteral(in_addr_t dst, uint16_t port);
  // The same without recording in config_.traffic; `why` gets the refusal reason.
  Verdict decideNameUnrecorded(const std::string& name, uint16_t port, bool cacheOnly, std::string& why);
  Verdict decideLiteralUnrecorded(in_addr_t dst, uint16_t port, std::string& why);
  // Why an address may not be a destination, or nullptr when it may;
  // userListed: the user wrote it as a literal entry in allowed_hosts.
  const char* refusalReason(in_addr_t address, bool userListed);
  // Whether `address` is one of the host's own; nullopt when they could not be listed.
  std::optional<bool> hostOwn(in_addr_t address);
  bool userListed(in_addr_t address, uint16_t port) const;
  void noticeOnce(const std::string& key, const std::string& text);
  void record(const std::string& host, uint16_t port, bool literal, const Verdict& v, const std::string& refusal);
  // "(not in allowed_hosts of T; add "E" to allow it)", or its install-phase form.
  std::string howToAllow(const std::string& entry) const;

  PolicyConfig config_;
  AddressPool& pool_;
  Resolver& resolver_;
  std::mutex mu_;
  std::set<std::string> noticed_;  // at most kMaxNotices keys
  bool poolFullSaid_ = false;      // the synthetic address pool's exhaustion was warned about
  bool noticesCapped_ = false;     // the "not listed" line is printed
  std::mutex hostMu_;
  bool hostListed_ = false;               // config_.hostAddresses was called
  std::vector<in_addr_t> hostAddresses_;  // its list, when it gave one
  bool hostListFailed_ = false;
};

}  // namespace coco::net
