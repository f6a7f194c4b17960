// The host, address and port grammar shared by config, tool and net.
#include "util/host_port.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "util/front.hpp"

namespace coco {

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isHex(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// inet_pton on a copy: it reads a C string, so a view with a NUL inside (or one
// the caller's buffer does not terminate) must never reach it as is.
template <typename Addr>
bool ptonChecked(int family, std::string_view text, bool (*allowed)(char), Addr& out) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (text.empty() || text.size() >= sizeof buf || !std::all_of(text.begin(), text.end(), allowed)) return false;
  std::copy(text.begin(), text.end(), buf);
  return ::inet_pton(family, buf, &out) == 1;
}

bool validLabelChar(char c) { return (c >= 'a' && c <= 'z') || isDigit(c) || c == '-' || c == '_'; }

bool validLabel(std::string_view label) {
  return !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-' &&
         std::all_of(label.begin(), label.end(), validLabelChar);
}

Error badPort(std::string_view spec, std::string_view why) { return Error::make("bad port '{}': {}", spec, why); }

// The "ADDR:" in front of a port spec, removed from `rest`.
Result<std::string> takePortAddress(std::string_view& rest, std::string_view spec) {
  if (rest.starts_with('[')) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return badPort(spec, "unclosed '[' in the address");
    std::string_view addr = rest.substr(1, close - 1);
    if (!parseIpv6(addr)) return badPort(spec, fmt::format("'{}' is not an IPv6 address", addr));
    if (rest.substr(close + 1, 1) != ":") return badPort(spec, "write [ADDR]:HOST:CONTAINER or [ADDR]:PORT");
    rest.remove_prefix(close + 2);
    return std::string(addr);
  }
  size_t colon = rest.find(':');
  std::string_view addr = rest.substr(0, colon);
  if (!parseIpv4(addr)) return badPort(spec, fmt::format("'{}' is not an IPv4 address", addr));
  rest.remove_prefix(colon + 1);
  return std::string(addr);
}

Result<uint16_t> portIn(std::string_view text, std::string_view spec) {
  auto port = parsePortNumber(text);
  if (!port) return Error::make("bad port '{}' in '{}': ports are numbers from 1 to 65535", text, spec);
  return port;
}

// Instance metadata and host agents of cloud providers, whatever range they
// sit in: AWS/GCP/Azure/OCI/DigitalOcean 169.254.169.254, AWS DNS and NTP,
// ECS task metadata 169.254.170.2, EKS pod identity 169.254.170.23, Alibaba
// 100.100.100.200, Azure's wire server 168.63.129.16 (a public-looking one).
constexpr uint32_t kMetadataV4[] = {0xa9fea9fe, 0xa9fea9fd, 0xa9fea97b, 0xa9feaa02,
                                    0xa9feaa17, 0x646464c8, 0xa83f8110};
// AWS's IPv6 ones: fd00:ec2::254 (metadata), ::253 (DNS), ::123 (NTP), ::23 (pod identity).
constexpr uint8_t kMetadataV6[][16] = {
    {0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54},
    {0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x53},
    {0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x23},
    {0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x23},
};

AddressKind embeddedKind(const uint8_t* v4) {
  in_addr_t a;
  std::memcpy(&a, v4, 4);
  return classifyAddress(a);
}

// A deprecated form that carries a public address is still no place to go.
AddressKind orReserved(AddressKind kind) { return kind == AddressKind::Public ? AddressKind::Reserved : kind; }

// Teredo: the server's IPv4 address in bits 32..63, the client's inverted in the last 32.
AddressKind teredoKind(const uint8_t* b) {
  uint8_t client[4] = {static_cast<uint8_t>(~b[12]), static_cast<uint8_t>(~b[13]), static_cast<uint8_t>(~b[14]),
                       static_cast<uint8_t>(~b[15])};
  AddressKind kind = embeddedKind(client);
  return kind != AddressKind::Public ? kind : embeddedKind(b + 4);
}

}  // namespace

Result<uint16_t> parsePortNumber(std::string_view text) {
  unsigned value = 0;
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), isDigit))
    return Error::make("bad port '{}': ports are numbers from 1 to 65535", text);
  for (char c : text) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value < 1 || value > 65535) return Error::make("bad port '{}': ports are numbers from 1 to 65535", text);
  return static_cast<uint16_t>(value);
}

std::optional<in_addr_t> parseIpv4(std::string_view text) {
  in_addr a{};
  if (!ptonChecked(AF_INET, text, +[](char c) { return isDigit(c) || c == '.'; }, a)) return std::nullopt;
  return a.s_addr;
}

std::optional<in6_addr> parseIpv6(std::string_view text) {
  in6_addr a{};
  if (!ptonChecked(AF_INET6, text, +[](char c) { return isHex(c) || c == ':' || c == '.'; }, a)) return std::nullopt;
  return a;
}

bool isIpLiteral(std::string_view text) { return parseIpv4(text) || parseIpv6(text); }

std::string formatAddress(in_addr_t address) {
  char buf[INET_ADDRSTRLEN] = {};
  in_addr a{address};
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

Result<std::vector<in_addr_t>> resolveHostIPv4(const std::string& host) {
  if (host.empty()) return Error::make("no host name to resolve");
  front::needFull("resolving a host name");  // NSS modules: coco-full's (util/front.hpp)
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) return Error::make("resolving {}: {}", host, ::gai_strerror(rc));
  std::vector<in_addr_t> out;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET || ai->ai_addrlen < sizeof(sockaddr_in)) continue;
    in_addr_t a = reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr.s_addr;
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  ::freeaddrinfo(res);
  if (out.empty()) return Error::make("{} has no IPv4 address", host);
  return out;
}

AddressKind classifyAddress(in_addr_t address) {
  uint32_t a = ntohl(address);
  auto in = [a](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
  if (std::find(std::begin(kMetadataV4), std::end(kMetadataV4), a) != std::end(kMetadataV4)) {
    return AddressKind::Metadata;
  }
  if (in(0x00000000, 8)) return AddressKind::Unspecified;
  if (in(0x7f000000, 8)) return AddressKind::Loopback;
  if (in(0xa9fe0000, 16)) return AddressKind::LinkLocal;
  if (in(0x64400000, 10)) return AddressKind::SharedCgnat;
  if (in(0x0a000000, 8) || in(0xac100000, 12) || in(0xc0a80000, 16)) return AddressKind::Private;
  if (in(0xc6120000, 15)) return AddressKind::Synthetic;
  if (in(0xc0000000, 24) || in(0xf0000000, 4)) return AddressKind::Reserved;
  if (in(0xe0000000, 4)) return AddressKind::Multicast;
  return AddressKind::Public;
}

AddressKind classifyAddress(const in6_addr& address) {
  const uint8_t* b = address.s6_addr;
  auto starts = [b](std::initializer_list<uint8_t> prefix) {
    return std::equal(prefix.begin(), prefix.end(), b);
  };
  for (const auto& m : kMetadataV6)
    if (std::equal(std::begin(m), std::end(m), b)) return AddressKind::Metadata;
  static constexpr uint8_t kZero[16] = {};
  if (std::equal(b, b + 16, kZero)) return AddressKind::Unspecified;
  if (std::equal(b, b + 15, kZero) && b[15] == 1) return AddressKind::Loopback;
  if (std::equal(b, b + 10, kZero) && b[10] == 0xff && b[11] == 0xff) return embeddedKind(b + 12);  // mapped
  if (starts({0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0})) return embeddedKind(b + 12);  // IPv4-translated
  if (std::equal(b, b + 12, kZero)) return orReserved(embeddedKind(b + 12));  // IPv4-compatible, deprecated
  if (starts({0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) return embeddedKind(b + 12);  // NAT64
  if (starts({0, 0x64, 0xff, 0x9b, 0, 1})) return AddressKind::Private;               // local-use NAT64
  if (starts({0x20, 0x02})) return embeddedKind(b + 2);                                  // 6to4
  if (starts({0x20, 0x01, 0, 0})) return teredoKind(b);
  if (starts({0x01, 0, 0, 0, 0, 0, 0, 0})) return AddressKind::Reserved;  // discard-only
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressKind::LinkLocal;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return AddressKind::Private;  // site-local, deprecated
  if ((b[0] & 0xfe) == 0xfc) return AddressKind::Private;                  // unique local
  if (b[0] == 0xff) return AddressKind::Multicast;
  return AddressKind::Public;
}

std::optional<AddressKind> classifyLiteral(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (auto v4 = parseIpv4(text)) return classifyAddress(*v4);
  if (auto v6 = parseIpv6(text)) return classifyAddress(*v6);
  return std::nullopt;
}

const char* addressKindName(AddressKind kind) {
  switch (kind) {
    case AddressKind::Public: return "public";
    case AddressKind::Unspecified: return "unspecified";
    case AddressKind::Loopback: return "loopback";
    case AddressKind::LinkLocal: return "link-local";
    case AddressKind::Metadata: return "cloud metadata";
    case AddressKind::SharedCgnat: return "shared (CGNAT)";
    case AddressKind::Private: return "private";
    case AddressKind::Multicast: return "multicast";
    case AddressKind::Reserved: return "reserved or broadcast";
    case AddressKind::Synthetic: return "synthetic";
  }
  return "unknown";
}

Result<HostPort> splitHostPort(std::string_view text) {
  HostPort hp;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return Error::make("unclosed '['");
    hp.host = text.substr(1, close - 1);
    hp.bracketed = true;
    if (!parseIpv6(hp.host)) return Error::make("brackets hold an IPv6 address, not '{}'", hp.host);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return hp;
    if (rest.front() != ':') return Error::make("':PORT' or nothing may follow ']'");
    COCO_ASSIGN(hp.port, parsePortNumber(rest.substr(1)));
    return hp;
  }
  if (std::count(text.begin(), text.end(), ':') > 1) {
    if (!parseIpv6(text)) return Error::make("write an IPv6 address in brackets, '[ADDR]:PORT'");
    hp.host = text;  // a bare IPv6 literal
    return hp;
  }
  size_t colon = text.find(':');
  hp.host = text.substr(0, colon);
  if (colon != std::string_view::npos) {
    COCO_ASSIGN(hp.port, parsePortNumber(text.substr(colon + 1)));
  }
  return hp;
}

std::string joinHostPort(std::string_view host, uint16_t port) {
  if (host.find(':') != std::string_view::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<std::string> normalizeHostName(std::string_view name) {
  std::string_view in = name.ends_with('.') ? name.substr(0, name.size() - 1) : name;
  if (in.empty() || in.size() > 253) return Error::make("'{}' is not a host name", name);
  std::string out(in);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  std::string_view last;
  for (size_t start = 0; start <= out.size();) {
    size_t dot = std::min(out.find('.', start), out.size());
    last = std::string_view(out).substr(start, dot - start);
    if (!validLabel(last)) return Error::make("'{}' is not a host name", name);
    start = dot + 1;
  }
  if (std::all_of(last.begin(), last.end(), isDigit))
    return Error::make("'{}' is not a host name (nor an IPv4 address in dotted form)", name);
  return out;
}

Result<HostPattern> parseHostPattern(std::string_view text) {
  auto hp = splitHostPort(text);
  if (!hp) return Error::make("allowed host '{}': {}", text, hp.error().message());
  if (hp->bracketed || parseIpv6(hp->host))
    return Error::make("allowed host '{}': IPv6 addresses cannot be allowed (the sandbox has no IPv6 route)", text);
  HostPattern p;
  p.ports = hp->port ? std::vector<uint16_t>{*hp->port} : kDefaultHostPorts;
  std::string_view host = hp->host;
  if (auto address = parseIpv4(host)) {
    p.isAddress = true;
    p.address = *address;
    return p;
  }
  if (host.starts_with("*.")) {
    p.subdomainsOnly = true;
    host.remove_prefix(2);
    if (parseIpv4(host)) return Error::make("allowed host '{}': '*.' goes in front of a host name", text);
  }
  auto name = normalizeHostName(host);
  if (!name) return Error::make("allowed host '{}': {}", text, name.error().message());
  p.name = std::move(*name);
  return p;
}

std::string formatHostPattern(const HostPattern& p) {
  std::string out = p.isAddress ? formatAddress(p.address) : (p.subdomainsOnly ? "*." : "") + p.name;
  if (p.ports != kDefaultHostPorts && p.ports.size() == 1) out += fmt::format(":{}", p.ports.front());
  return out;
}

Result<PublishedPort> parsePublishedPort(std::string_view spec) {
  std::string_view rest = spec;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(slash + 1) != "tcp") return badPort(spec, "only tcp ports can be published");
    rest = rest.substr(0, slash);
  }
  PublishedPort port;
  size_t colons = static_cast<size_t>(std::count(rest.begin(), rest.end(), ':'));
  if (rest.starts_with('[') || colons == 2) {
    COCO_ASSIGN(port.hostAddr, takePortAddress(rest, spec));
  }
  colons = static_cast<size_t>(std::count(rest.begin(), rest.end(), ':'));
  if (colons > 1 || rest.empty())
    return badPort(spec, "write HOST:CONTAINER or ADDR:HOST:CONTAINER");
  size_t colon = rest.find(':');
  COCO_ASSIGN(port.hostPort, portIn(rest.substr(0, colon), spec));
  port.containerPort = port.hostPort;
  if (colon != std::string_view::npos) {
    COCO_ASSIGN(port.containerPort, portIn(rest.substr(colon + 1), spec));
  }
  return port;
}

std::string formatPublishedPort(const PublishedPort& p) {
  return fmt::format("{}:{}", joinHostPort(p.hostAddr, p.hostPort), p.containerPort);
}

}  // namespace coco
