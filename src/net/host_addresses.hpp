// The host's own IPv4 addresses, which the gateway's policy never opens to a
// sandbox by themselves (policy.hpp).
#pragma once

#include <netinet/in.h>

#include <vector>

#include "util/result.hpp"

namespace coco::net {

// Every IPv4 address of every interface, secondary ones (added without a
// label, which SIOCGIFCONF misses) included, from one RTM_GETADDR dump of
// the AF_INET family. getifaddrs() dumps every link with its statistics
// first: in a networked start on the bench machine (bench/startup --trace)
// the step took ~270 µs with it and 80-180 µs with this. A list that cannot
// be had whole is an error, never a shorter list.
Result<std::vector<in_addr_t>> hostIpv4Addresses();

}  // namespace coco::net
