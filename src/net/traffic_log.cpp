// What a sandbox asked the gateway for (see traffic_log.hpp).
#include "net/traffic_log.hpp"

namespace coco::net {

void TrafficLog::lookup(const std::string& name) {
  std::lock_guard lock(mu_);
  if (lookups_.size() < kMaxEntries || lookups_.count(name)) lookups_.insert(name);
  else ++unrecordedLookups_;
}

void TrafficLog::connection(Destination d) {
  std::lock_guard lock(mu_);
  auto key = std::make_pair(d.host, d.port);
  auto known = destinations_.find(key);
  if (known != destinations_.end()) known->second = std::move(d);
  else if (destinations_.size() < kMaxEntries) destinations_.emplace(std::move(key), std::move(d));
  else ++unrecordedConnections_;
}

std::set<std::string> TrafficLog::lookups() const {
  std::lock_guard lock(mu_);
  return lookups_;
}

std::vector<Destination> TrafficLog::destinations() const {
  std::lock_guard lock(mu_);
  std::vector<Destination> out;
  for (const auto& [key, d] : destinations_) out.push_back(d);
  return out;
}

size_t TrafficLog::unrecordedLookups() const {
  std::lock_guard lock(mu_);
  return unrecordedLookups_;
}

size_t TrafficLog::unrecordedConnections() const {
  std::lock_guard lock(mu_);
  return unrecordedConnections_;
}

}  // namespace coco::net
