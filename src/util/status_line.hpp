// The one renderer of long work's progress: a live line redrawn in place on a
// terminal, plain timestamped lines in logs (no tty, or CI set).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace coco {

// Where the status goes, as far as drawing is concerned.
struct Terminal {
  bool tty = false;   // stderr is a terminal
  int width = 0;      // its columns (TIOCGWINSZ); 0: unknown, 80 is assumed
  bool ci = false;    // CI is set: plain lines even on a terminal, so logs hold no \r
  bool dumb = false;  // TERM=dumb: no \033[K
  int fd = -1;        // when >= 0, the terminal whose width is read again at each draw (it may be resized)

  // A line redrawn in place: a terminal that is not a CI's log and knows \033[K.
  bool live() const { return tty && !ci && !dumb; }
  // stderr's: isatty(2), TIOCGWINSZ on it (again at each draw), CI and TERM from the environment.
  static Terminal ofStderr();
};

// Time since some start: "0:07", "1:12", "1:02:03".
std::string formatElapsed(std::chrono::steady_clock::duration elapsed);

// Text as it may appear on one line of a terminal: control characters (an
// install's escape sequences too) and invalid UTF-8 become '?', and it is cut to
// `columns` terminal columns without splitting a character (wide characters
// count two).
std::string clipToColumns(std::string_view text, size_t columns);

class StatusLine {
 public:
  using Writer = std::function<void(std::string_view)>;
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  StatusLine(Terminal terminal, Writer write, Clock clock = std::chrono::steady_clock::now);

  // A step begins: "[k/n] title" (step 0: no number). The step before it, if
  // any, ends first (done("")).
  void begin(std::string title, unsigned step = 0, unsigned steps = 0);
  // What the current work does now. Live: the line is redrawn (calling this
  // again with the same text only advances the elapsed time). Plain: a line
  // when the text changed and 10 s passed since the last such line.
  void status(std::string text);
  // Bytes of item `id` so far (`total` 0: unknown), shown like status().
  void bytes(const std::string& id, uint64_t done, uint64_t total);
  // A line that stays (an item finished, a fallback taken); the live line is
  // drawn again below it.
  void line(const std::string& text);
  // The current step ended: its final line stays, "[k/n] TEXT (elapsed)", TEXT
  // defaulting to the step's title. Nothing when no step is open.
  void done(const std::string& text = "");
  // Removes the live line (before others write to the terminal); the next
  // status() draws it again.
  void clear();

 private:
  std::string stepPrefix() const;
  std::string stamp() const;  // plain mode: "[m:ss] "
  void drawLive();
  void emitLine(const std::string& text, bool clip);
  size_t columns() const;

  Terminal terminal_;
  Writer write_;
  Clock clock_;
  std::chrono::steady_clock::time_point start_, stepStart_, lastPlain_{};
  std::string title_, detail_, lastPlainText_;
  unsigned step_ = 0, steps_ = 0;
  bool open_ = false;   // a step is open
  bool drawn_ = false;  // the live line is on the screen
};

}  // namespace coco
