// Allowlist: the allowed_hosts matching rules. The entries' grammar and the
// kinds of address (loopback, private, ...) are util/host_port.hpp, shared with config and tool.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/host_port.hpp"
#include "util/result.hpp"

namespace coco::net {

// Where an entry came from decides how far it is trusted: a literal address
// the user wrote may open a local one (an internal registry at 10.0.0.5); one
// coco derived (an install's package hosts, read from an image's apt sources
// or npm's configuration) may not.
enum class EntryOrigin {
  Config,   // the user's allowed_hosts
  Derived,  // found by coco
};

// One allowed_hosts entry as the gateway holds it: the pattern as written
// (see HostPattern) and where it came from.
struct AllowEntry : HostPattern {
  EntryOrigin origin = EntryOrigin::Config;
};

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

}  // namespace coco::net
