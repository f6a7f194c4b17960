// AddressPool: the synthetic IPv4 addresses (198.18.0.0/15) the DNS stub hands
// out, one per name and stable for the run, and the way back from address to name.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "util/result.hpp"

namespace coco::net {

class AddressPool {
 public:
  // Names with an address at most, in a run: the names are the tool's to choose, and each holds
  // two map entries of up to 253 bytes for the run (the /15 alone allowed 130,000, ~85 MB of
  // coco's memory outside the sandbox's limits).
  static constexpr size_t kMaxNames = 16384;

  // base and prefixLength in host order terms: 198.18.0.0/15 by default.
  explicit AddressPool(uint32_t base = 0xc6120000, int prefixLength = 15);

  // The name's address (network order), assigned on first use. Fails (ENOSPC) when the pool
  // is exhausted or kMaxNames names have one.
  Result<in_addr_t> addressFor(const std::string& name);

  // The name behind a synthetic address, if one was handed out.
  std::optional<std::string> nameFor(in_addr_t address) const;

  bool contains(in_addr_t address) const;
  size_t size() const;

 private:
  uint32_t nextCandidate();

  mutable std::mutex mu_;
  uint32_t base_;
  uint32_t count_;
  uint32_t next_ = 1;
  std::unordered_map<std::string, in_addr_t> byName_;
  std::unordered_map<in_addr_t, std::string> byAddress_;
};

}  // namespace coco::net
