// COCO_EXTRA_PORTS: a comma-separated list of port specs.
#include "tool/plan.hpp"

namespace coco::tool {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

// One syntax for ports everywhere: what a config's `ports` accepts, COCO_EXTRA_PORTS accepts.
Result<std::vector<PublishedPort>> parsePortList(std::string_view csv) {
  std::vector<PublishedPort> out;
  while (!csv.empty()) {
    size_t comma = csv.find(',');
    std::string_view item = trim(csv.substr(0, comma));
    csv = comma == std::string_view::npos ? std::string_view() : csv.substr(comma + 1);
    if (item.empty()) continue;
    COCO_ASSIGN(auto port, parsePublishedPort(item));
    out.push_back(std::move(port));
  }
  return out;
}

}  // namespace coco::tool
