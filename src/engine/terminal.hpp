// The host side of the sandbox's pty: raw mode on the user's terminal (restored
// on every exit path) and the byte relay.
#pragma once

#include <termios.h>

#include <vector>

#include "engine/child_plan.hpp"
#include "util/result.hpp"
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

// How the tool's standard descriptors are wired; the user's terminal itself
// never reaches the tool (TIOCSTI, TIOCSETD and `stty raw -echo` on it would
// outlive the tool). Interactive runs (stdin and stdout terminals) get the
// sandbox's pty on each fd that is a terminal here. Otherwise a terminal
// stdout or stderr becomes a pipe coco copies to it, and a terminal stdin
// becomes /dev/null: the terminal's keys stay with whoever reads them
// (`tool | less`), as with `docker run` without -i. Fds that are no terminal
// are passed through as they are: no copy.
struct Stdio {
  bool pty = false;
  int plan[3] = {kStdioInherit, kStdioInherit, kStdioInherit};  // for ChildPlan::stdio
  UniqueFd childEnds[3];  // the fds plan names: pipe write ends, /dev/null; coco closes them after clone
  struct Relay {
    UniqueFd from;  // a pipe's read end
    int to;         // coco's fd 1 or 2
  };
  std::vector<Relay> relays;
};

Result<Stdio> planStdio();

// Copies what is readable from `from` to `to` (blocking writes). Returns false on
// EOF or a read error other than EAGAIN.
bool relayOnce(int from, int to);

// Copies the pty's window size from the user's terminal.
void copyWindowSize(int terminal, int master);

}  // namespace coco::engine
