// Allowlist: the allowed_hosts matching rules, and what kind of address a
// destination is (loopback, private, ...) for the gateway's refusals.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace coco::net {

// One allowed_hosts entry:
//   "example.com"       the name and its subdomains, ports 80 and 443
//   "example.com:22"    the name and its subdomains, port 22 only
//   "*.example.com"     only subdomains (ports as above)
//   "192.0.2.7:8080"    a literal IPv4 address (the only way to allow one)
//
// Where an entry came from decides how far it is trusted: a literal address
// the user wrote may open a local one (an internal registry at 10.0.0.5); one
// coco derived (an install's package hosts, read from an image's apt sources
// or npm's configuration) may not.
enum class EntryOrigin {
  Config,   // the user's allowed_hosts
  Derived,  // found by coco
};

struct AllowEntry {
  std::string name;        // lower case, no trailing dot; empty for an address
  bool subdomainsOnly = false;
  bool isAddress = false;
  in_addr_t address = 0;   // network order, when isAddress
  std::vector<uint16_t> ports;
  EntryOrigin origin = EntryOrigin::Config;
};

// Lower-cases and strips one trailing dot; rejects what is not a host name
// (labels of [a-z0-9_-], 1..63 chars, 253 in all).
Result<std::string> normalizeName(std::string_view name);

Result<AllowEntry> parseAllowEntry(std::string_view text, EntryOrigin origin = EntryOrigin::Config);

class Allowlist {
 public:
  // The user's entries, and those coco derived.
  static Result<Allowlist> parse(const std::vector<std::string>& entries,
                                 const std::vector<std::string>& derived = {});

  // Whether any entry names this host (on any port): decides DNS answers.
  bool allowsName(std::string_view name) const;
  bool allows(std::string_view name, uint16_t port) const;
  bool allowsAddress(in_addr_t address, uint16_t port) const { return addressEntry(address, port) != nullptr; }
  // The literal entry for address:port (the user's before a derived one), or nullptr.
  const AllowEntry* addressEntry(in_addr_t address, uint16_t port) const;

  const std::vector<AllowEntry>& entries() const { return entries_; }

 private:
  std::vector<AllowEntry> entries_;
};

// What kind of place an address is. Only Public is a destination by itself;
// see Policy for what an allowlist entry can open.
enum class AddressKind {
  Public,
  Unspecified,  // 0.0.0.0/8, ::
  Loopback,     // 127/8, ::1
  LinkLocal,    // 169.254/16, fe80::/10
  Metadata,     // cloud instance metadata and host agents (kMetadata in allowlist.cpp)
  SharedCgnat,  // 100.64/10: carrier-grade NAT, Tailscale
  Private,      // 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10, 64:ff9b:1::/48
  Multicast,    // 224/4, ff00::/8
  Reserved,     // 240/4 (broadcast included), 192.0.0/24, 100::/64, IPv4-compatible ::/96
  Synthetic,    // 198.18/15, the gateway's own pool
};

AddressKind classifyAddress(in_addr_t address);  // network order
// An IPv6 address; one that embeds an IPv4 address (mapped ::ffff:0:0/96,
// ::ffff:0:0:0/96, compatible ::/96, NAT64 64:ff9b::/96, 6to4 2002::/16,
// Teredo 2001::/32) is what its IPv4 address is.
AddressKind classifyAddress(const in6_addr& address);
// A literal address ("192.0.2.1", "::1", "[fd00:ec2::254]"); nullopt when the
// text is not one (a host name).
std::optional<AddressKind> classifyLiteral(std::string_view text);
const char* addressKindName(AddressKind kind);

// "a.b.c.d" from a network-order address.
std::string formatAddress(in_addr_t address);

}  // namespace coco::net
