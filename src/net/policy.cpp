// The gateway's decisions: DNS answers and connection verdicts.
#include "net/policy.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>

#include "net/dns_message.hpp"
#include "util/log.hpp"

namespace coco::net {

namespace {

DnsOutcome reply(std::vector<uint8_t> packet) { return {DnsOutcome::Kind::Reply, std::move(packet)}; }

bool isReverseName(const std::string& name) {
  return name.ends_with(".in-addr.arpa") || name.ends_with(".ip6.arpa");
}

// How the user may open a local address an allowed name leads to (an
// internal registry); metadata, link-local and the never-reachable kinds get
// no such advice.
std::string listHint(NetworkMode mode, in_addr_t address, uint16_t port) {
  AddressKind kind = classifyAddress(address);
  bool local = kind == AddressKind::Loopback || kind == AddressKind::Private || kind == AddressKind::SharedCgnat ||
               kind == AddressKind::Public;
  if (mode != NetworkMode::Allowlist || !local) return "";
  return fmt::format(" (if it is yours, add \"{}:{}\" to allowed_hosts as well)", formatAddress(address), port);
}

sockaddr_in socketAddress(in_addr_t address, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = address;
  sa.sin_port = htons(port);
  return sa;
}

}  // namespace

bool Policy::nameAllowed(const std::string& name) const {
  return config_.mode == NetworkMode::Full || config_.allowlist.allowsName(name);
}

std::string Policy::howToAllow(const std::string& entry) const {
  if (config_.installPhase)
    return fmt::format("(the install of {} may reach only its package sources; add \"{}\" to install_hosts in its "
                       "config, or give this install the host's network with COCO_INSTALL_NETWORK=host)",
                       config_.toolName, entry);
  return fmt::format("(not in allowed_hosts of {}; add \"{}\" to allow it)", config_.toolName, entry);
}

// A tool can look up endless random names: the set stops at kMaxNotices,
// so neither coco's memory (outside the sandbox's limits) nor the terminal
// grows with them; the traffic log and the debug lines still get each one.
void Policy::noticeOnce(const std::string& key, const std::string& text) {
  bool capped = false;
  {
    std::lock_guard lock(mu_);
    if (noticed_.contains(key) || noticesCapped_) return;
    if (noticed_.size() < kMaxNotices)
      noticed_.insert(key);
    else
      noticesCapped_ = capped = true;
  }
  if (capped)
    log::notice("further blocked lookups and connections are not listed (COCO_DEBUG=1 shows each)");
  else
    log::notice("{}", text);
}

void Policy::record(const std::string& host, uint16_t port, bool literal, const Verdict& v,
                    const std::string& refusal) {
  if (config_.traffic && !v.pending) config_.traffic->connection({host, port, literal, v.allowed, refusal});
}

DnsOutcome Policy::answerDns(std::span<const uint8_t> packet, bool cacheOnly, bool recorded) {
  auto header = dns::parseHeader(packet);
  if (!header || header->isResponse()) return {};
  if (header->opcode() != 0) return reply(dns::buildHeaderOnlyResponse(*header, dns::Rcode::NotImp));
  auto query = dns::parseQuery(packet);
  if (!query) {
    log::debug("dns: malformed query: {}", query.error().describe());
    return reply(dns::buildHeaderOnlyResponse(*header, dns::Rcode::FormErr));
  }
  const dns::Question& q = query->question;
  if (q.qclass != dns::kClassIn || q.name.empty()) return reply(dns::buildResponse(*query, dns::Rcode::Refused));
  auto name = normalizeHostName(q.name);
  if (!name || isReverseName(*name)) {
    log::debug("dns: {} type {}: no such name here", q.name, q.type);
    return reply(dns::buildResponse(*query, dns::Rcode::NxDomain));
  }
  if (config_.traffic && !recorded) config_.traffic->lookup(*name);
  bool allowed = nameAllowed(*name);
  std::optional<Resolution> res = allowed ? resolver_.cached(*name) : std::nullopt;
  // Asked again off the event thread (recorded: true there).
  if (allowed && !res && cacheOnly) return {DnsOutcome::Kind::NeedsUpstream, {}};
  if (!allowed) {
    log::debug("dns: {} type {}: denied, not asked upstream", *name, q.type);
    noticeOnce("lookup:" + *name, fmt::format("blocked lookup of {} {}", *name, howToAllow(*name)));
    return reply(dns::buildResponse(*query, dns::Rcode::NxDomain));
  }
  if (!res) res = resolver_.resolve(*name);
  switch (res->status) {
    case Resolution::Status::NxDomain: return reply(dns::buildResponse(*query, dns::Rcode::NxDomain));
    case Resolution::Status::Failed: return reply(dns::buildResponse(*query, dns::Rcode::ServFail));
    case Resolution::Status::NoData: return reply(dns::buildResponse(*query, dns::Rcode::NoError));
    case Resolution::Status::Ok: break;
  }
  // Only A carries the name through (a synthetic address); every other type of
  // an existing name is answered "no data" so resolvers fall back to A.
  if (q.type != dns::kTypeA && q.type != dns::kTypeAny) {
    log::debug("dns: {} type {}: no data", *name, q.type);
    return reply(dns::buildResponse(*query, dns::Rcode::NoError));
  }
  auto addr = pool_.addressFor(*name);
  if (!addr) {
    // Said once: every new name after it fails the same way.
    bool first = false;
    {
      std::lock_guard lock(mu_);
      first = !poolFullSaid_;
      poolFullSaid_ = true;
    }
    if (first) log::warn("dns: {}: {}", *name, addr.error().describe());
    else log::debug("dns: {}: {}", *name, addr.error().describe());
    return reply(dns::buildResponse(*query, dns::Rcode::ServFail));
  }
  log::debug("dns: {} -> {} (synthetic)", *name, formatAddress(*addr));
  return reply(dns::buildResponse(*query, dns::Rcode::NoError, {*addr}, kSyntheticTtl));
}

std::optional<bool> Policy::hostOwn(in_addr_t address) {
  std::lock_guard lock(hostMu_);
  if (!hostListed_) {
    hostListed_ = true;
    auto listed = config_.hostAddresses ? config_.hostAddresses()
                                        : Result<std::vector<in_addr_t>>(Error::make("no way to list them"));
    if (listed) {
      hostAddresses_ = std::move(*listed);
    } else {
      hostListFailed_ = true;
      log::warn(
          "{}: {}; every public address could be one of them, so the gateway refuses connections to "
          "them all",
          config_.toolName, std::move(listed).error().wrap("listing the host's own addresses").describe());
    }
  }
  if (hostListFailed_) return std::nullopt;
  return std::find(hostAddresses_.begin(), hostAddresses_.end(), address) != hostAddresses_.end();
}

// Only a public address is a destination by itself. A literal the user wrote
// in allowed_hosts opens its address (an internal registry, even metadata:
// the user's call), also to a name that resolves to it; a name alone, a
// literal coco derived (an image's apt sources) or full mode opens nothing
// else. Unspecified (0.0.0.0 is this host), multicast, reserved and the
// gateway's own pool are never a destination.
const char* Policy::refusalReason(in_addr_t address, bool userListed) {
  AddressKind kind = classifyAddress(address);
  switch (kind) {
    case AddressKind::Unspecified:
    case AddressKind::Multicast:
    case AddressKind::Reserved:
    case AddressKind::Synthetic:
      return addressKindName(kind);
    default: break;
  }
  if (userListed) return nullptr;
  if (kind != AddressKind::Public) {
    bool testLocal = kind == AddressKind::Loopback || kind == AddressKind::Private;
    return config_.allowLocalDestinations && testLocal ? nullptr : addressKindName(kind);
  }
  std::optional<bool> own = hostOwn(address);
  // Said as "a {} address" (a literal) and "ADDRESS ({})" (what a name resolves to).
  if (!own) return "possible host's own";
  if (*own && config_.allowLocalDestinations) return nullptr;
  return *own ? "host's own" : nullptr;
}

bool Policy::userListed(in_addr_t address, uint16_t port) const {
  const AllowEntry* entry = config_.allowlist.addressEntry(address, port);
  return entry && entry->origin == EntryOrigin::Config;
}

Verdict Policy::decideConnection(in_addr_t dst, uint16_t port, bool cacheOnly) {
  if (pool_.contains(dst)) {
    auto name = pool_.nameFor(dst);
    if (name) return decideName(*name, port, cacheOnly);
    Verdict v;
    v.label = fmt::format("{}:{}", formatAddress(dst), port);
    log::debug("connect {}: refused, no name was looked up for this address", v.label);
    return v;
  }
  return decideLiteral(dst, port);
}

Verdict Policy::decideName(const std::string& name, uint16_t port, bool cacheOnly) {
  std::string refusal;
  Verdict v = decideNameUnrecorded(name, port, cacheOnly, refusal);
  record(name, port, false, v, refusal);
  return v;
}

Verdict Policy::decideNameUnrecorded(const std::string& name, uint16_t port, bool cacheOnly, std::string& why) {
  Verdict v;
  v.label = fmt::format("{}:{}", name, port);
  if (config_.mode == NetworkMode::Allowlist && !config_.allowlist.allows(name, port)) {
    log::debug("connect {}: refused, not in allowed_hosts", v.label);
    why = "not in allowed_hosts";
    std::string add = config_.allowlist.allowsName(name) ? v.label : name;
    noticeOnce("connect:" + v.label, fmt::format("blocked connection to {} {}", v.label, howToAllow(add)));
    return v;
  }
  std::optional<Resolution> known = resolver_.cached(name);
  if (!known && cacheOnly) {
    v.pending = true;
    return v;
  }
  Resolution res = known ? std::move(*known) : resolver_.resolve(name);
  if (res.status != Resolution::Status::Ok) {
    log::debug("connect {}: refused, the name does not resolve on the host", v.label);
    why = "the name does not resolve";
    return v;
  }
  std::string refused;
  in_addr_t refusedAddress = 0;
  for (in_addr_t a : res.addresses) {
    if (const char* why = refusalReason(a, userListed(a, port))) {
      refused = fmt::format("{} ({})", formatAddress(a), why);
      refusedAddress = a;
    } else {
      v.targets.push_back(socketAddress(a, port));
    }
  }
  v.allowed = !v.targets.empty();
  if (!v.allowed) {
    log::debug("connect {}: refused, resolves to {}", v.label, refused);
    why = "resolves to " + refused;
    noticeOnce("local:" + v.label, fmt::format("blocked connection to {}: it resolves to {}, an address a sandbox may "
                                               "not reach{}",
                                               v.label, refused, listHint(config_.mode, refusedAddress, port)));
  } else {
    log::debug("connect {}: allowed", v.label);
  }
  return v;
}

Verdict Policy::decideLiteral(in_addr_t dst, uint16_t port) {
  std::string refusal;
  Verdict v = decideLiteralUnrecorded(dst, port, refusal);
  record(formatAddress(dst), port, true, v, refusal);
  return v;
}

Verdict Policy::decideLiteralUnrecorded(in_addr_t dst, uint16_t port, std::string& refusal) {
  Verdict v;
  v.label = fmt::format("{}:{}", formatAddress(dst), port);
  const AllowEntry* entry = config_.allowlist.addressEntry(dst, port);
  if (config_.mode == NetworkMode::Allowlist && !entry) {
    log::debug("connect {}: refused, a literal address in allowlist mode", v.label);
    refusal = "a literal address, not in allowed_hosts";
    noticeOnce("literal:" + v.label,
               config_.installPhase
                   ? fmt::format("blocked connection to {} {}", v.label, howToAllow(v.label))
                   : fmt::format("blocked connection to {} (a literal address, not a name from allowed_hosts of {}; "
                                 "add \"{}\" to allow it)",
                                 v.label, config_.toolName, v.label));
    return v;
  }
  bool derived = entry && entry->origin == EntryOrigin::Derived;
  if (const char* why = refusalReason(dst, entry && !derived)) {
    log::debug("connect {}: refused, a {} address{}", v.label, why, derived ? " (a derived entry)" : "");
    refusal = fmt::format("a {} address", why);
    noticeOnce("literal:" + v.label,
               fmt::format("blocked connection to {} (a {} address, which a sandbox may not reach{})", v.label, why,
                           derived ? "; coco found it in the install's package sources, which cannot open such an "
                                     "address"
                                   : ""));
    return v;
  }
  log::debug("connect {}: allowed", v.label);
  v.allowed = true;
  v.targets.push_back(socketAddress(dst, port));
  return v;
}

}  // namespace coco::net
