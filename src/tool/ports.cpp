// Port specs from COCO_EXTRA_PORTS: "HOST:CONTAINER" or "ADDR:HOST:CONTAINER".
#include <algorithm>
#include <charconv>

#include "tool/plan.hpp"

namespace coco::tool {

namespace {

constexpr const char* kLoopback = "127.0.0.1";

Result<uint16_t> parsePort(std::string_view text, std::string_view spec) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
    return Error::make("bad port '{}' in '{}' (want a number 1-65535)", text, spec);
  return static_cast<uint16_t>(value);
}

// Splits "[v6]:rest" or "addr:host:container" into the address and the rest.
Result<std::pair<std::string, std::string_view>> splitAddress(std::string_view spec) {
  if (spec.front() == '[') {
    size_t close = spec.find(']');
    if (close == std::string_view::npos || close + 1 >= spec.size() || spec[close + 1] != ':')
      return Error::make("bad port spec '{}' (want [ADDR]:HOST:CONTAINER)", spec);
    return std::pair{std::string(spec.substr(1, close - 1)), spec.substr(close + 2)};
  }
  size_t colons = static_cast<size_t>(std::count(spec.begin(), spec.end(), ':'));
  if (colons == 1) return std::pair{std::string(kLoopback), spec};
  if (colons != 2) return Error::make("bad port spec '{}' (want HOST:CONTAINER or ADDR:HOST:CONTAINER)", spec);
  size_t first = spec.find(':');
  return std::pair{std::string(spec.substr(0, first)), spec.substr(first + 1)};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<engine::PortMapping> parsePortSpec(std::string_view spec) {
  if (spec.empty()) return Error::make("empty port spec");
  COCO_ASSIGN(auto split, splitAddress(spec));
  auto& [addr, rest] = split;
  size_t colon = rest.find(':');
  if (addr.empty() || colon == std::string_view::npos)
    return Error::make("bad port spec '{}' (want HOST:CONTAINER or ADDR:HOST:CONTAINER)", spec);
  COCO_ASSIGN(uint16_t host, parsePort(rest.substr(0, colon), spec));
  COCO_ASSIGN(uint16_t container, parsePort(rest.substr(colon + 1), spec));
  return engine::PortMapping{addr, host, container};
}

Result<std::vector<engine::PortMapping>> parsePortList(std::string_view csv) {
  std::vector<engine::PortMapping> out;
  while (!csv.empty()) {
    size_t comma = csv.find(',');
    std::string_view item = trim(csv.substr(0, comma));
    csv = comma == std::string_view::npos ? std::string_view() : csv.substr(comma + 1);
    if (item.empty()) continue;
    COCO_ASSIGN(auto port, parsePortSpec(item));
    out.push_back(std::move(port));
  }
  return out;
}

}  // namespace coco::tool
