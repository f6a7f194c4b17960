// PID 1 of the sandbox: finishes the setup, starts the tool, reaps zombies,
// forwards signals and exits with the tool's status. Runs after clone: no allocation.
#pragma once

#include <signal.h>

#include "engine/child_plan.hpp"

namespace coco::engine {

struct InitFds {
  int sync;    // read end: one byte from the parent once the id maps are written
  int report;  // write end of the failure pipe (close-on-exec)
  int tty;     // socket to pass the pty master to the parent, or -1
  int net;     // the network channel (see NetworkHooks), or -1
  int events;  // write end: one byte per event coco must act on (kEvent*)
};

// Events init sends coco on InitFds::events.
inline constexpr char kEventPidsLimit = 'P';  // the sandbox stays at its process limit
// The setup is done and init starts the tool: always the first event. A signal init gets from
// now on is held until the tool runs (it is blocked, with a handler) and then passed on.
inline constexpr char kEventToolSpawning = 'S';
// The tool exited and every other process of the sandbox is dead and reaped: a
// ToolExit follows at once (one write, so it arrives whole). coco need not wait
// for the kernel to tear the namespaces down (bubblewrap's monitor does the same
// with its event fd).
inline constexpr char kEventToolExited = 'X';
struct ToolExit {
  char event = kEventToolExited;
  int code = 0;         // the tool's exit code (128+N for signal N)
  long maxRssKib = 0;   // the largest any process of the sandbox grew (RUSAGE_CHILDREN)
};

// Signals coco forwards to the tool.
inline constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

[[noreturn]] void runInit(const ChildPlan& plan, InitFds fds);

}  // namespace coco::engine
