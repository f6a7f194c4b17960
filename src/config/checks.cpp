// Checks of single config values: mount options, hosts, names, limits (ports: util/host_port.hpp).
#include "config/checks.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "util/fs.hpp"
#include "util/host_port.hpp"

namespace coco::config {
namespace {

bool isDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "12" or "12.25" (at most maxDecimals places): whole = 12, frac = 25, scale = 100.
bool parseDecimal(std::string_view text, unsigned maxDecimals, uint64_t& whole, uint64_t& frac, uint64_t& scale) {
  size_t dot = text.find('.');
  std::string_view intPart = text.substr(0, dot);
  std::string_view fracPart = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (!isDigits(intPart) || intPart.size() > 15) return false;
  if (dot != std::string_view::npos && (!isDigits(fracPart) || fracPart.size() > maxDecimals)) return false;
  std::from_chars(intPart.data(), intPart.data() + intPart.size(), whole);
  frac = 0;
  scale = 1;
  for (char c : fracPart) {
    frac = frac * 10 + static_cast<uint64_t>(c - '0');
    scale *= 10;
  }
  return true;
}

// The power of 1024 a size suffix names: "" 0, "k"/"K"/"KiB"/"kb" 1, ... "T" 4; -1 otherwise.
int sizeShift(std::string_view suffix) {
  std::string s(suffix);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s.ends_with('b')) s.pop_back();
  if (s.size() == 2 && s.back() == 'i') s.pop_back();
  if (s.empty()) return suffix.empty() || suffix == "b" || suffix == "B" ? 0 : -1;
  if (s.size() != 1) return -1;
  const std::string_view units = "kmgt";
  size_t i = units.find(s[0]);
  return i == std::string_view::npos ? -1 : static_cast<int>(i + 1);
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

Result<MountOptions> parseMountOptions(std::string_view opts) {
  MountOptions out;
  bool ro = false, rw = false, chown = false;
  size_t start = 0;
  while (start <= opts.size()) {
    size_t comma = std::min(opts.find(',', start), opts.size());
    std::string_view opt = opts.substr(start, comma - start);
    if (opt == "ro") {
      ro = true;
    } else if (opt == "rw") {
      rw = true;
    } else if (opt == "z" || opt == "Z") {
      // Seed configs written for podman carry them; the native runtime relabels nothing.
      if (!out.relabel.empty() && out.relabel != opt)
        return Error::make("mount options '{}' ask for both z and Z", opts);
      out.relabel = std::string(opt);
    } else if (opt == "U") {
      chown = true;  // podman's: chown the source to the container's user; the native runtime maps ids instead
    } else if (opt.empty()) {
      return Error::make("empty mount option in '{}'", opts);
    } else {
      return Error::make("unknown mount option '{}' (coco knows ro, rw, z, Z and U)", opt);
    }
    start = comma + 1;
  }
  if (ro && rw) return Error::make("mount options '{}' ask for both ro and rw", opts);
  out.readOnly = ro;
  if (chown) out.relabel += out.relabel.empty() ? "U" : ",U";
  return out;
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

Result<SizeLimit> parseSizeLimit(std::string_view text, bool allowUnlimited, uint64_t minimum) {
  if (allowUnlimited && text == "unlimited") return SizeLimit{0, 0, true};
  auto bad = [&] {
    return Error::make("'{}' is not a size (write 512M, 2G, 1.5G, a number of bytes, or a share of the "
                       "host's memory like 50%{})",
                       text, allowUnlimited ? ", or unlimited" : "");
  };
  if (text.ends_with('%')) {
    unsigned percent = 0;
    std::string_view digits = text.substr(0, text.size() - 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), percent);
    if (!isDigits(digits) || ec != std::errc() || percent < 1 || percent > 100)
      return Error::make("'{}': a share of memory is from 1% to 100%", text);
    return SizeLimit{0, percent, false};
  }
  size_t unitStart = text.find_first_not_of("0123456789.");
  int shift = sizeShift(unitStart == std::string_view::npos ? std::string_view() : text.substr(unitStart));
  uint64_t whole = 0, frac = 0, scale = 1;
  if (shift < 0 || !parseDecimal(text.substr(0, unitStart), shift == 0 ? 0 : 3, whole, frac, scale)) return bad();
  uint64_t unit = uint64_t{1} << (10 * shift);
  if (whole > (uint64_t{1} << 60) / unit) return Error::make("'{}' is too large", text);
  uint64_t bytes = whole * unit + frac * unit / scale;
  if (bytes < minimum)
    return Error::make("'{}' is too small (at least {} MiB)", text, minimum >> 20);
  return SizeLimit{bytes, 0, false};
}

Result<uint64_t> parseCount(std::string_view text, uint64_t minimum) {
  if (text == "unlimited") return uint64_t{0};
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!isDigits(text) || ec != std::errc() || end != text.data() + text.size() || value > (uint64_t{1} << 32))
    return Error::make("'{}' is not a whole number (or unlimited)", text);
  if (value < minimum) return Error::make("'{}' is too small (at least {})", text, minimum);
  return value;
}

Result<uint32_t> parseCpus(std::string_view text) {
  if (text == "unlimited") return uint32_t{0};
  uint64_t whole = 0, frac = 0, scale = 1;
  if (!parseDecimal(text, 3, whole, frac, scale))
    return Error::make("'{}' is not a number of CPUs (like 2 or 0.5, or unlimited)", text);
  uint64_t millis = whole * 1000 + frac * 1000 / scale;
  if (millis < 10 || millis > 1024 * 1000) return Error::make("'{}': CPUs are from 0.01 to 1024", text);
  return static_cast<uint32_t>(millis);
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
