// Checks of single config values: mount options, hosts, names (ports: util/host_port.hpp).
#include "config/checks.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "util/fs.hpp"
#include "util/host_port.hpp"

namespace coco::config {
namespace {

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
  COCO_ASSIGN(HostPattern pattern, parseHostPattern(host));
  return formatHostPattern(pattern);
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
