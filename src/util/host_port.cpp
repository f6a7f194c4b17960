// The host, address and port grammar shared by config, tool and net.
#include "util/host_port.hpp"

#include <arpa/inet.h>

#include <algorithm>

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

AddressKind classifyAddress(in_addr_t address) {
  uint32_t a = ntohl(address);
  auto in = [a](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
  if (in(0x00000000, 8)) return AddressKind::Unspecified;
  if (in(0x7f000000, 8)) return AddressKind::Loopback;
  if (in(0xa9fe0000, 16)) return AddressKind::LinkLocal;
  if (in(0x0a000000, 8) || in(0xac100000, 12) || in(0xc0a80000, 16) || in(0x64400000, 10)) {
    return AddressKind::Private;
  }
  if (in(0xc6120000, 15)) return AddressKind::Synthetic;
  if (a >= 0xe0000000) return AddressKind::Multicast;
  return AddressKind::Public;
}

const char* addressKindName(AddressKind kind) {
  switch (kind) {
    case AddressKind::Public: return "public";
    case AddressKind::Unspecified: return "unspecified";
    case AddressKind::Loopback: return "loopback";
    case AddressKind::LinkLocal: return "link-local";
    case AddressKind::Private: return "private";
    case AddressKind::Multicast: return "multicast/broadcast";
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
