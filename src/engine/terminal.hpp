// The host side of the sandbox's pty: raw mode on the user's terminal (restored
// on every exit path) and the byte relay.
#pragma once

#include <termios.h>

#include "util/unique_fd.hpp"

namespace coco::engine {

class RawTerminal {
 public:
  RawTerminal() = default;
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal() { restore(); }

  // Puts fd (a terminal) in raw mode; no-op when it is not a terminal.
  void enter(int fd);
  void restore();

 private:
  int fd_ = -1;
  termios saved_{};
};

// Copies what is readable from `from` to `to` (blocking writes). Returns false on
// EOF or a read error other than EAGAIN.
bool relayOnce(int from, int to);

// Copies the pty's window size from the user's terminal.
void copyWindowSize(int terminal, int master);

}  // namespace coco::engine
