// Progress events of long image work, and a printer the CLI can hand in.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace coco::image {

struct ProgressEvent {
  enum class Kind {
    Step,      // one line: "pulling docker.io/library/debian:trixie-slim"
    Bytes,     // `done` of `total` (0 = unknown) bytes of item `id` so far
    ItemDone,  // item `id` finished; `text` says how ("downloaded", "unpacked", "exists")
  };
  Kind kind = Kind::Step;
  std::string id;    // short layer digest, for Bytes and ItemDone
  std::string text;
  uint64_t done = 0, total = 0;
};

using ProgressFn = std::function<void(const ProgressEvent&)>;

// Writes progress to stderr: a redrawn bar per item when stderr is a terminal,
// otherwise only Step and ItemDone lines (readable in CI logs).
ProgressFn stderrProgress();
// Discards everything.
ProgressFn noProgress();

}  // namespace coco::image
