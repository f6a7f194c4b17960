// The allowed_hosts rules: parsing entries, matching names, ports and addresses.
#include "net/allowlist.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>

namespace coco::net {

namespace {

const std::vector<uint16_t> kDefaultPorts = {80, 443};

bool validLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

Result<uint16_t> parsePort(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return Error::make("bad port '{}'", text);
  }
  return static_cast<uint16_t>(value);
}

// "a.b.c.d" only: inet_pton also refuses the short forms inet_aton takes.
bool parseIpv4(std::string_view text, in_addr_t& out) {
  std::string s(text);
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
  out = a.s_addr;
  return true;
}

bool nameMatches(const AllowEntry& e, std::string_view name) {
  if (e.isAddress) return false;
  if (!e.subdomainsOnly && name == e.name) return true;
  return name.size() > e.name.size() && name.ends_with(e.name) &&
         name[name.size() - e.name.size() - 1] == '.';
}

bool hasPort(const AllowEntry& e, uint16_t port) {
  return std::find(e.ports.begin(), e.ports.end(), port) != e.ports.end();
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

Result<std::string> normalizeName(std::string_view name) {
  if (name.ends_with('.')) name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return Error::make("bad host name '{}'", name);
  std::string out;
  out.reserve(name.size());
  size_t labelLen = 0;
  for (char c : name) {
    char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower == '.') {
      if (labelLen == 0) return Error::make("bad host name '{}': empty label", name);
      labelLen = 0;
    } else if (!validLabelChar(lower) || ++labelLen > 63) {
      return Error::make("bad host name '{}'", name);
    }
    out.push_back(lower);
  }
  if (labelLen == 0) return Error::make("bad host name '{}': empty label", name);
  return out;
}

Result<AllowEntry> parseAllowEntry(std::string_view text, EntryOrigin origin) {
  AllowEntry e;
  e.origin = origin;
  std::string_view host = text;
  e.ports = kDefaultPorts;
  if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    auto port = parsePort(text.substr(colon + 1));
    if (!port) return std::move(port).error().wrap(fmt::format("allowed host '{}'", text));
    e.ports = {*port};
  }
  if (parseIpv4(host, e.address)) {
    e.isAddress = true;
    return e;
  }
  if (host.starts_with("*.")) {
    e.subdomainsOnly = true;
    host.remove_prefix(2);
  }
  auto name = normalizeName(host);
  if (!name) return std::move(name).error().wrap(fmt::format("allowed host '{}'", text));
  e.name = std::move(*name);
  return e;
}

Result<Allowlist> Allowlist::parse(const std::vector<std::string>& entries, const std::vector<std::string>& derived) {
  Allowlist list;
  for (const auto& text : entries) {
    COCO_ASSIGN(AllowEntry e, parseAllowEntry(text, EntryOrigin::Config));
    list.entries_.push_back(std::move(e));
  }
  for (const auto& text : derived) {
    COCO_ASSIGN(AllowEntry e, parseAllowEntry(text, EntryOrigin::Derived));
    list.entries_.push_back(std::move(e));
  }
  return list;
}

bool Allowlist::allowsName(std::string_view name) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const AllowEntry& e) { return nameMatches(e, name); });
}

bool Allowlist::allows(std::string_view name, uint16_t port) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const AllowEntry& e) {
    return nameMatches(e, name) && hasPort(e, port);
  });
}

const AllowEntry* Allowlist::addressEntry(in_addr_t address, uint16_t port) const {
  const AllowEntry* found = nullptr;
  for (const auto& e : entries_) {
    if (!e.isAddress || e.address != address || !hasPort(e, port)) continue;
    if (e.origin == EntryOrigin::Config) return &e;
    found = &e;
  }
  return found;
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
  std::string s(text);
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) return classifyAddress(v4.s_addr);
  in6_addr v6{};
  if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) return classifyAddress(v6);
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

std::string formatAddress(in_addr_t address) {
  char buf[INET_ADDRSTRLEN] = {};
  in_addr a{address};
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

}  // namespace coco::net
