// TrafficLog: what a sandbox asked the gateway for, for `coco run --learn`:
// every name it looked up and every destination it tried to connect to, with
// the verdict. Filled by the Policy from the gateway's threads.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace coco::net {

struct Destination {
  std::string host;  // a normalised DNS name, or a dotted IPv4 address
  uint16_t port = 0;
  bool literal = false;  // host is an address the tool connected to without a lookup
  bool allowed = false;  // the gateway let it through (a learn run is in full mode)
  std::string refusal;   // why not, when refused ("a loopback address", ...)
  auto operator<=>(const Destination& o) const { return std::tie(host, port) <=> std::tie(o.host, o.port); }
  bool operator==(const Destination& o) const { return host == o.host && port == o.port; }
};

class TrafficLog {
 public:
  void lookup(const std::string& name);
  void connection(Destination d);

  std::set<std::string> lookups() const;
  // Each (host, port) once, sorted; the last verdict wins.
  std::vector<Destination> destinations() const;

 private:
  mutable std::mutex mu_;
  std::set<std::string> lookups_;
  std::map<std::pair<std::string, uint16_t>, Destination> destinations_;
};

}  // namespace coco::net
