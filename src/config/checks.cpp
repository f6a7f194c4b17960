// Checks of single config values: ports, mount options, hosts, names.
#include "config/checks.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "util/fs.hpp"

namespace coco::config {
namespace {

bool isDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<uint16_t> parsePortNumber(std::string_view text, std::string_view spec) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!isDigits(text) || ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 65535)
    return Error::make("bad port '{}' in '{}': ports are numbers from 1 to 65535", text, spec);
  return static_cast<uint16_t>(value);
}

// Splits "ADDR:" off the front; an IPv6 address is written in brackets.
Result<std::string> splitAddress(std::string_view& rest, std::string_view spec) {
  std::string addr;
  if (rest.starts_with('[')) {
    size_t close = rest.find("]:");
    if (close == std::string_view::npos)
      return Error::make("bad port '{}': unclosed '[' in the address", spec);
    addr = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 2);
    unsigned char buf[16];
    if (inet_pton(AF_INET6, addr.c_str(), buf) != 1)
      return Error::make("bad port '{}': '{}' is not an IPv6 address", spec, addr);
    return addr;
  }
  size_t colon = rest.find(':');
  addr = std::string(rest.substr(0, colon));
  rest.remove_prefix(colon + 1);
  unsigned char buf[4];
  if (inet_pton(AF_INET, addr.c_str(), buf) != 1)
    return Error::make("bad port '{}': '{}' is not an IPv4 address", spec, addr);
  return addr;
}

bool isHostLabel(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; });
}

bool isIpAddress(std::string_view text) {
  std::string s(text);
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

bool isValidEnvName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

Result<PortConfig> parsePort(std::string_view spec) {
  std::string_view rest = spec;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(slash + 1) != "tcp")
      return Error::make("bad port '{}': only tcp ports can be published", spec);
    rest = rest.substr(0, slash);
  }
  PortConfig port;
  size_t colons = std::count(rest.begin(), rest.end(), ':');
  if (rest.starts_with('[') || colons == 2) {
    COCO_ASSIGN(port.hostAddr, splitAddress(rest, spec));
    colons = std::count(rest.begin(), rest.end(), ':');
  }
  if (colons > 1 || rest.empty())
    return Error::make("bad port '{}': write HOST:CONTAINER or ADDR:HOST:CONTAINER", spec);
  size_t colon = rest.find(':');
  COCO_ASSIGN(port.hostPort, parsePortNumber(rest.substr(0, colon), spec));
  port.containerPort = port.hostPort;
  if (colon != std::string_view::npos) {
    COCO_ASSIGN(port.containerPort, parsePortNumber(rest.substr(colon + 1), spec));
  }
  return port;
}

Result<bool> parseMountOptions(std::string_view opts) {
  bool ro = false, rw = false;
  size_t start = 0;
  while (start <= opts.size()) {
    size_t comma = std::min(opts.find(',', start), opts.size());
    std::string_view opt = opts.substr(start, comma - start);
    if (opt == "ro")
      ro = true;
    else if (opt == "rw")
      rw = true;
    else if (opt.empty())
      return Error::make("empty mount option in '{}'", opts);
    else
      return Error::make("unknown mount option '{}' (coco knows ro and rw)", opt);
    start = comma + 1;
  }
  if (ro && rw) return Error::make("mount options '{}' ask for both ro and rw", opts);
  return ro;
}

Status checkAbsolutePath(std::string_view path) {
  if (path.empty() || path.front() != '/') return Error::make("'{}' is not an absolute path", path);
  std::string normal = fs::normalize(path);
  if (normal != path) return Error::make("'{}' is not normalised (write '{}')", path, normal);
  return {};
}

Result<std::string> normalizeHost(std::string_view host) {
  std::string out(host);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view name = out;
  if (isIpAddress(name)) return Error::make("'{}' is an IP address; allowed_hosts takes host names", host);
  if (size_t colon = name.rfind(':'); colon != std::string_view::npos) {
    COCO_TRY(parsePortNumber(name.substr(colon + 1), host));
    name = name.substr(0, colon);
  }
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  if (isIpAddress(name)) return Error::make("'{}' is an IP address; allowed_hosts takes host names", host);
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (name.empty() || name.size() > 253) return Error::make("'{}' is not a host name", host);
  for (size_t start = 0; start <= name.size();) {
    size_t dot = std::min(name.find('.', start), name.size());
    if (!isHostLabel(name.substr(start, dot - start))) return Error::make("'{}' is not a host name", host);
    start = dot + 1;
  }
  return out;
}

Status checkPackageWord(std::string_view word) {
  if (word.empty()) return Error::make("empty name");
  if (word.front() == '-') return Error::make("'{}' starts with '-'", word);
  for (char c : word) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
      return Error::make("'{}' contains a blank or control character", word);
  }
  return {};
}

std::string_view closestKey(std::string_view key, std::span<const std::string_view> known) {
  std::string_view best;
  size_t bestDistance = std::max<size_t>(2, key.size() / 3) + 1;
  for (std::string_view candidate : known) {
    size_t d = editDistance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

}  // namespace coco::config
