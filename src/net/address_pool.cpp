// The synthetic address pool: sequential assignment, skipping .0 and .255.
#include "net/address_pool.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

namespace coco::net {

AddressPool::AddressPool(uint32_t base, int prefixLength)
    : base_(base), count_(prefixLength >= 32 ? 1u : (1u << (32 - prefixLength))) {}

// Addresses ending in .0 or .255 look like network or broadcast addresses to
// some tools, so they are never handed out.
uint32_t AddressPool::nextCandidate() {
  while (next_ < count_) {
    uint32_t host = base_ + next_++;
    uint32_t last = host & 0xff;
    if (last != 0 && last != 255) return host;
  }
  return 0;
}

Result<in_addr_t> AddressPool::addressFor(const std::string& name) {
  std::lock_guard lock(mu_);
  if (auto it = byName_.find(name); it != byName_.end()) return it->second;
  if (byName_.size() >= kMaxNames)
    return Error::withErrno(
        ENOSPC, fmt::format("the sandbox looked up more than {} names in this run; new names get no address", kMaxNames));
  uint32_t host = nextCandidate();
  if (host == 0) return Error::withErrno(ENOSPC, "the synthetic address pool is exhausted");
  in_addr_t addr = htonl(host);
  byName_.emplace(name, addr);
  byAddress_.emplace(addr, name);
  return addr;
}

std::optional<std::string> AddressPool::nameFor(in_addr_t address) const {
  std::lock_guard lock(mu_);
  if (auto it = byAddress_.find(address); it != byAddress_.end()) return it->second;
  return std::nullopt;
}

bool AddressPool::contains(in_addr_t address) const {
  uint32_t a = ntohl(address);
  return a >= base_ && a - base_ < count_;
}

size_t AddressPool::size() const {
  std::lock_guard lock(mu_);
  return byName_.size();
}

}  // namespace coco::net
