// Host names, IP literals and ports as users write them: allowed_hosts entries,
// published ports, DNS server addresses. The one grammar config, tool and net share.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace coco {

// "1".."65535": decimal digits only (no sign, blank or NUL).
Result<uint16_t> parsePortNumber(std::string_view text);

// Literals in their standard text form only (inet_pton): "a.b.c.d" (no short
// forms, no leading zeros) and RFC 4291 IPv6 without a zone; anything else,
// an embedded NUL included, is not an address.
std::optional<in_addr_t> parseIpv4(std::string_view text);  // network order
std::optional<in6_addr> parseIpv6(std::string_view text);
bool isIpLiteral(std::string_view text);

// "a.b.c.d" from a network-order address.
std::string formatAddress(in_addr_t address);

// The IPv4 addresses of `host` (a name or a literal) by the host's own resolver
// (getaddrinfo), as an X client resolves a DISPLAY's host; network order,
// without repeats. Not the gateway's way: a sandbox's names go to net/'s stub.
Result<std::vector<in_addr_t>> resolveHostIPv4(const std::string& host);

// What kind of place an address is. Only Public is a destination by itself;
// see net::Policy for what an allowlist entry can open.
enum class AddressKind {
  Public,
  Unspecified,  // 0.0.0.0/8, ::
  Loopback,     // 127/8, ::1
  LinkLocal,    // 169.254/16, fe80::/10
  Metadata,     // cloud instance metadata and host agents (kMetadataV4/V6 in host_port.cpp)
  SharedCgnat,  // 100.64/10: carrier-grade NAT, Tailscale
  Private,      // 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10, 64:ff9b:1::/48
  Multicast,    // 224/4, ff00::/8
  Reserved,     // 240/4 (broadcast included), 192.0.0/24, 100::/64, IPv4-compatible ::/96
  Synthetic,    // 198.18/15: benchmarking, and the gateway's own pool
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

// "HOST", "HOST:PORT", "[V6]", "[V6]:PORT", or a bare IPv6 literal (no port).
// `host` is a view into the text, without brackets.
struct HostPort {
  std::string_view host;
  bool bracketed = false;
  std::optional<uint16_t> port;
};
Result<HostPort> splitHostPort(std::string_view text);

// "HOST:PORT" with brackets around an IPv6 host, so the text splits back.
std::string joinHostPort(std::string_view host, uint16_t port);

// A DNS host name: lower-cased, one trailing dot dropped; labels of [a-z0-9_-],
// 1..63 characters, not starting or ending with '-'; 253 in all; the last label
// is not all digits (that would be an address, not a name).
Result<std::string> normalizeHostName(std::string_view name);

// One allowed_hosts entry:
//   "example.com"       the name and its subdomains, ports 80 and 443
//   "example.com:22"    the name and its subdomains, port 22 only
//   "*.example.com"     only subdomains (ports as above; "*.example.com:8443" too)
//   "192.0.2.7:8080"    a literal IPv4 address (ports as above without ":PORT")
// Brackets and IPv6 literals are refused: the sandbox has no IPv6 route.
struct HostPattern {
  std::string name;  // normalised; empty for an address
  bool subdomainsOnly = false;
  bool isAddress = false;
  in_addr_t address = 0;  // network order, when isAddress
  std::vector<uint16_t> ports;
};

inline const std::vector<uint16_t> kDefaultHostPorts = {80, 443};

Result<HostPattern> parseHostPattern(std::string_view text);
// The canonical spelling: parseHostPattern(formatHostPattern(p)) gives p back.
std::string formatHostPattern(const HostPattern& pattern);

// A published port, from config to gateway: "HOST:CONTAINER", "PORT" (the same
// on both sides), "ADDR:HOST:CONTAINER" with an IPv4 ADDR, "[V6]:HOST:CONTAINER"
// or "[V6]:PORT"; an optional "/tcp" suffix. ADDR defaults to 127.0.0.1.
struct PublishedPort {
  std::string hostAddr = "127.0.0.1";  // an IPv4 or IPv6 literal, no brackets
  uint16_t hostPort = 0;               // 0 picks a free port (tests)
  uint16_t containerPort = 0;
  bool operator==(const PublishedPort&) const = default;
};

Result<PublishedPort> parsePublishedPort(std::string_view spec);
// The canonical spelling ("[::1]:8080:80", "127.0.0.1:8080:80"); parses back.
std::string formatPublishedPort(const PublishedPort& port);

}  // namespace coco
