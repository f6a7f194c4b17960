// Reading mmdebstrap's output: its stage, apt's downloads, dpkg's packages.
#include "image/bootstrap_output.hpp"

#include <cstdlib>
#include <sstream>
#include <vector>

#include "util/size.hpp"

namespace coco::image {

namespace {

constexpr size_t kTailLines = 20;

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::vector<std::string> words(std::string_view line) {
  std::istringstream in{std::string(line)};
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// "Get:2 URI trixie/main amd64 libc6 amd64 2.41-12 [2850 kB]": the package, its version, its size.
void readGet(std::string_view line, std::string& detail, uint64_t& bytes) {
  size_t open = line.rfind('['), close = line.rfind(']');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open)
    bytes = aptSizeBytes(line.substr(open + 1, close - open - 1));
  auto w = words(line.substr(0, open == std::string_view::npos ? line.size() : open));
  if (w.size() >= 7)
    detail = w[4] + " " + w[6];
  else if (w.size() >= 4)
    detail = w[2] + " " + w[3];  // an index: "trixie InRelease"
}

}  // namespace

uint64_t aptSizeBytes(std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  double value = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || value < 0) return 0;
  std::string_view unit = std::string_view(end);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  double scale = unit == "B" ? 1 : unit == "kB" ? 1e3 : unit == "MB" ? 1e6 : unit == "GB" ? 1e9 : 0;
  return static_cast<uint64_t>(value * scale);
}

void BootstrapOutput::feed(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty()) return;
  last_.emplace_back(line);
  if (last_.size() > kTailLines) last_.pop_front();
  if (startsWith(line, "I: ")) {
    line.remove_prefix(3);
    while (!line.empty() && line.back() == '.') line.remove_suffix(1);
    stage_ = std::string(line);
    detail_.clear();
    fetched_ = toFetch_ = 0;
    return;
  }
  if (startsWith(line, "Get:")) {
    uint64_t bytes = 0;
    readGet(line, detail_, bytes);
    fetched_ += bytes;
    return;
  }
  if (startsWith(line, "Need to get ")) {
    // A new download: apt-get update's indexes are not part of it.
    fetched_ = 0;
    toFetch_ = aptSizeBytes(line.substr(12, line.find(" of archives") - 12));
    return;
  }
  if (startsWith(line, "Unpacking ") || startsWith(line, "Setting up ") ||
      startsWith(line, "Preparing to unpack "))
    detail_ = std::string(line);
}

std::string BootstrapOutput::status() const {
  std::string s = stage_;
  std::string sizes;
  if (fetched_ > 0) {
    sizes = formatSize(fetched_);
    if (toFetch_ >= fetched_) sizes += " / " + formatSize(toFetch_);
  }
  if (!sizes.empty()) s += ": " + sizes;
  if (!detail_.empty()) s += (sizes.empty() ? ": " : ", ") + detail_;
  return s;
}

std::string BootstrapOutput::tail() const {
  std::string out;
  for (const auto& l : last_) out += "\n  " + l;
  return out;
}

}  // namespace coco::image
