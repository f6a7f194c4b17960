// The host side of the sandbox's pty: raw mode on the user's terminal (restored
// on every exit path) and the byte relay.
#pragma once

#include <poll.h>
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

// A non-blocking description of its own of the terminal at `fd` (opened anew through
// /proc/self/fd), so that coco never blocks in a write to a stalled terminal (a suspended ssh
// client, a frozen terminal emulator) while the description the shell shares stays as it is;
// none when `fd` is no terminal, cannot be opened so, or opens as another device than it is (a
// pty master, /dev/ptmx anew, or /dev/tty, /dev/console: names that resolve at open): then
// coco writes to `fd` itself.
UniqueFd ownNonBlocking(int fd);

// After coco gave up writing to `terminal` (stalled, or failed): coco's fds 1 and 2 that reach
// the same terminal are pointed at non-blocking descriptions of their own (ownNonBlocking), so
// what coco writes there later (the workspace guard's report, a final error) is lost when the
// terminal takes nothing instead of holding coco in that write for good. Nothing happens when
// `terminal` is no terminal or those fds reach another.
void stopBlockingOn(int terminal);

// Moves bytes from `from` (non-blocking while coco supervises) to `to`: what a non-blocking `to`
// cannot take yet (EAGAIN) waits in the buffer, and `from` is not read again until it has gone,
// so the writer is held back as a full pipe or terminal would hold it, and nothing is lost or
// given up on. (coco writes to the user's terminal through a non-blocking description of its own,
// ownNonBlocking, so a stalled terminal says EAGAIN; a tool that does not read fills its pty's
// input, whose master is non-blocking.) A blocking `to` blocks the write.
class Pump {
 public:
  enum class State { Open, ReadEnded, WriteFailed };
  Pump(int from, int to) : from_(from), to_(to) {}

  // What to poll: `from` for input while nothing waits, else `to` for room; none once ended.
  struct pollfd pollEntry() const;
  // After poll said the entry is ready or hung up: reads and writes what it can.
  State step();
  // At the end, the writers gone: what is left in `from` (up to its end, or to EAGAIN when it
  // is non-blocking), waiting for room in a non-blocking `to`. Returns false when `stopFd`
  // (coco's signalfd) became readable during such a wait, before the end: the caller reads it
  // and drains again or gives up. `stallMs` >= 0: once `to` has had no room for that long (and,
  // if it is a terminal, its output queue did not shrink meanwhile), the rest is given up on
  // (WriteFailed, true).
  bool drain(int stopFd, int stallMs = -1);
  State state() const { return state_; }
  int destination() const { return to_; }
  void stop() { state_ = State::ReadEnded; }
  // A stop signal went to the tool: notes whether `to` was then taking nothing (bytes waiting for
  // room), which stuckAtStop says.
  void noteStop() { stuckAtStop_ = len_ > 0; }
  bool stuckAtStop() const { return stuckAtStop_; }

 private:
  int from_, to_;
  State state_ = State::Open;
  bool idle_ = false;  // the last read found nothing (EAGAIN)
  size_t off_ = 0, len_ = 0;
  bool stuckAtStop_ = false;
  char buf_[16384];
};

// Copies the pty's window size from the user's terminal.
void copyWindowSize(int terminal, int master);

}  // namespace coco::engine
