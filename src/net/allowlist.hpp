// Allowlist: the allowed_hosts matching rules. The entries' grammar and the
// kinds of address (loopback, private, ...) are util/host_port.hpp, shared with config and tool.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/host_port.hpp"
#include "util/result.hpp"

namespace coco::net {

// One allowed_hosts entry as the gateway holds it: the pattern as written
// (see HostPattern), plus what only the gateway needs to know about it.
struct AllowEntry : HostPattern {};

Result<AllowEntry> parseAllowEntry(std::string_view text);

class Allowlist {
 public:
  static Result<Allowlist> parse(const std::vector<std::string>& entries);

  // Whether any entry names this host (on any port): decides DNS answers.
  bool allowsName(std::string_view name) const;
  bool allows(std::string_view name, uint16_t port) const;
  bool allowsAddress(in_addr_t address, uint16_t port) const;

  const std::vector<AllowEntry>& entries() const { return entries_; }

 private:
  std::vector<AllowEntry> entries_;
};

}  // namespace coco::net
