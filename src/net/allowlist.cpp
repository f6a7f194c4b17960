// The allowed_hosts rules: parsing entries, matching names, ports and addresses.
#include "net/allowlist.hpp"

#include <algorithm>

namespace coco::net {

namespace {

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

Result<AllowEntry> parseAllowEntry(std::string_view text, EntryOrigin origin) {
  COCO_ASSIGN(HostPattern pattern, parseHostPattern(text));
  return AllowEntry{std::move(pattern), origin};
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

}  // namespace coco::net
