// What a sandbox asked the gateway for (see traffic_log.hpp).
#include "net/traffic_log.hpp"

namespace coco::net {

void TrafficLog::lookup(const std::string& name) {
  std::lock_guard lock(mu_);
  lookups_.insert(name);
}

void TrafficLog::connection(Destination d) {
  std::lock_guard lock(mu_);
  auto key = std::make_pair(d.host, d.port);
  destinations_[key] = std::move(d);
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

}  // namespace coco::net
