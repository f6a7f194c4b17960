// What mmdebstrap --verbose says while it bootstraps Debian, for the status line.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace coco::image {

// Fed mmdebstrap's output line by line: its "I: " lines name the stage, apt's
// "Get:" lines the package being downloaded and its size (counted against
// "Need to get N MB"), dpkg's lines the package being unpacked or set up.
class BootstrapOutput {
 public:
  void feed(std::string_view line);
  // "downloading packages with apt: 3.1 MiB / 24.2 MiB, libc6 2.41-12"; "" before the first stage.
  std::string status() const;
  // The last lines fed, for the error when mmdebstrap fails.
  std::string tail() const;

 private:
  std::string stage_, detail_;
  uint64_t fetched_ = 0, toFetch_ = 0;
  std::deque<std::string> last_;
};

// apt's sizes ("140 kB", "25.4 MB", "512 B"; decimal units, as apt prints them) in bytes; 0 when unreadable.
uint64_t aptSizeBytes(std::string_view text);

}  // namespace coco::image
