// The stderr progress printer: bars on a terminal, one line per step elsewhere.
#include "image/progress.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <memory>

#include "sys/io.hpp"

namespace coco::image {

namespace {

std::string humanBytes(uint64_t n) {
  if (n >= (1ull << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(n) / (1ull << 30));
  if (n >= (1ull << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1ull << 20));
  if (n >= (1ull << 10)) return fmt::format("{:.1f} KiB", static_cast<double>(n) / (1ull << 10));
  return fmt::format("{} B", n);
}

void writeAll(const std::string& s) { (void)sys::writeAll(STDERR_FILENO, s.data(), s.size()); }

std::string bar(uint64_t done, uint64_t total) {
  constexpr int kWidth = 30;
  if (total == 0) return fmt::format("{:>10}", humanBytes(done));
  int filled = static_cast<int>(kWidth * std::min(done, total) / total);
  return fmt::format("[{}{}] {:>10} / {}", std::string(filled, '#'), std::string(kWidth - filled, ' '),
                     humanBytes(done), humanBytes(total));
}

struct Printer {
  bool tty = ::isatty(STDERR_FILENO) == 1;
  bool lineOpen = false;  // a bar is drawn on the current line

  void operator()(const ProgressEvent& e) {
    switch (e.kind) {
      case ProgressEvent::Kind::Step: line(fmt::format("coco: {}", e.text)); break;
      case ProgressEvent::Kind::Bytes:
        if (!tty) return;
        writeAll(fmt::format("\r\033[K  {} {}", e.id, bar(e.done, e.total)));
        lineOpen = true;
        break;
      case ProgressEvent::Kind::ItemDone:
        line(e.total ? fmt::format("  {} {} ({})", e.id, e.text, humanBytes(e.total))
                     : fmt::format("  {} {}", e.id, e.text));
        break;
    }
  }
  void line(const std::string& text) {
    writeAll((lineOpen ? "\r\033[K" : "") + text + "\n");
    lineOpen = false;
  }
};

}  // namespace

ProgressFn stderrProgress() {
  auto p = std::make_shared<Printer>();
  return [p](const ProgressEvent& e) { (*p)(e); };
}

ProgressFn noProgress() {
  return [](const ProgressEvent&) {};
}

}  // namespace coco::image
