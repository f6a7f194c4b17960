// TrafficLog: what a sandbox asked the gateway for, for `coco run --learn`:
// every name it looked up and every destination it tried to connect to, with
// the verdict. Filled by the Policy from the gateway's threads.
#pragma once

#include <cstddef>
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
  // The tool chooses the names and destinations: one that looked up or connected to endless
  // distinct ones grew coco's memory on the host without bound. The first kMaxEntries names
  // and kMaxEntries destinations are kept; what comes after them is only counted.
  static constexpr size_t kMaxEntries = 1000;

  void lookup(const std::string& name);
  void connection(Destination d);

  std::set<std::string> lookups() const;
  // Each (host, port) once, sorted; the last verdict wins.
  std::vector<Destination> destinations() const;
  // Lookups of a name, and connections to a destination, that were past the bound (each
  // attempt counts: names and destinations not kept cannot be told apart).
  size_t unrecordedLookups() const;
  size_t unrecordedConnections() const;

 private:
  mutable std::mutex mu_;
  std::set<std::string> lookups_;
  std::map<std::pair<std::string, uint16_t>, Destination> destinations_;
  size_t unrecordedLookups_ = 0;
  size_t unrecordedConnections_ = 0;
};

}  // namespace coco::net
