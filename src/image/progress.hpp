// Progress events of long image work, and a printer the CLI can hand in.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "util/status_line.hpp"

namespace coco::image {

struct ProgressEvent {
  enum class Kind {
    Step,      // with `step` set: step k of n begins ("[1/2] installing eslint"); else one line
               // that stays ("pulling docker.io/library/debian:trixie-slim")
    Bytes,     // `done` of `total` (0 = unknown) bytes of item `id` so far; `text`, when
               // set, says of what ("unpacked": of its archive; empty: downloaded)
    ItemDone,  // item `id` finished; `text` says how ("downloaded", "unpacked", "exists")
    Status,    // what the current step does now (a stage, a log's last line); sent
               // again unchanged, it only advances the elapsed time shown
    Done,      // the current step ended; `text` (empty: the step's title) stays on screen
  };
  Kind kind = Kind::Step;
  std::string id;    // short layer digest, for Bytes and ItemDone
  std::string text;
  uint64_t done = 0, total = 0;
  unsigned step = 0, steps = 0;  // Step: k of n (0: not a numbered step)
};

using ProgressFn = std::function<void(const ProgressEvent&)>;

// Writes progress to stderr through one util/status_line: a live line redrawn
// in place on a terminal, plain timestamped lines without one or with CI set;
// nothing with --quiet (log::quietEnabled()).
ProgressFn stderrProgress();
// The same renderer on any terminal and writer (tests).
ProgressFn statusLineProgress(const Terminal& terminal, StatusLine::Writer write,
                              StatusLine::Clock clock = std::chrono::steady_clock::now);
// Discards everything.
ProgressFn noProgress();

}  // namespace coco::image
