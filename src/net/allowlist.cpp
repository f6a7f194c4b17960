// The allowed_hosts rules: parsing entries, matching names, ports and addresses.
#include "net/allowlist.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

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

std::string formatAddress(in_addr_t address) {
  char buf[INET_ADDRSTRLEN] = {};
  in_addr a{address};
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

}  // namespace coco::net
