// The native sandbox: one call that builds it, runs the command and tears it down.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/run_spec.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace coco::engine {

// The network layer's part in a run, passed in so the engine does not depend
// on it. A socketpair(AF_UNIX, SOCK_SEQPACKET) links the two halves.
struct NetworkHooks {
  // In the sandbox's pid 1, in its new netns, after the id maps are written and
  // before pivot_root; must not allocate. Returns 0 or an errno, and then
  // names the step that failed in *failedStep (a static string).
  int (*setup)(const void* plan, int channelFd, const char** failedStep) = nullptr;
  const void* plan = nullptr;
  // In pid 1 for the rest of the run, each time the channel is readable.
  // Returns 0, or an errno (EPIPE: the gateway is gone) to stop serving.
  int (*serve)(int channelFd) = nullptr;
  // In coco, once the sandbox is released, while init sets the network up (optional).
  std::function<Status()> prepare;
  // In coco, once the channel is readable: takes the parent end of the channel.
  std::function<Status(UniqueFd channel)> start;
  // In coco, after start(), while it supervises the run (optional, both or neither): an fd that
  // is readable once the sandbox first uses its network (-1: nothing to wait for), and what coco
  // calls then. The gateway starts its event thread there, so a run that never connects or looks
  // a name up pays for no thread.
  std::function<int()> pendingFd;
  std::function<Status()> resume;
  // In coco, after the sandbox exited.
  std::function<void()> stop;
  // The sandbox's network namespace needs the capture (Full, Allowlist): a spare from the
  // user-namespace holder must be of that kind.
  bool capture = false;
  // In coco, before clone, when the holder gave a spare network namespace: checks its
  // listeners (none without the capture) and keeps them. `use` then says, after clone,
  // whether the sandbox went into it: start() takes the kept listeners instead of waiting
  // for init's (which sets up nothing), or drops them. Both or neither.
  std::function<Status(int netns, std::vector<UniqueFd> listeners)> offerSpare;
  std::function<void(bool used)> useSpare;
  // The sandbox's /etc/resolv.conf (empty: the engine's default for the mode).
  std::string resolvConf;
};

// Runs spec.argv in a new sandbox and waits for it. Returns the command's exit
// status as a shell reports it (0-255; 128+N when it died of signal N). An
// Error means the command did not run: coco's own failure (exitCode() 0), or
// 126 (not executable) / 127 (not found) as Error::exitCode().
// NetworkMode::Full and NetworkMode::Allowlist need `net`; NetworkMode::None takes it for
// published ports.
Result<int> run(const RunSpec& spec, const NetworkHooks* net = nullptr);

}  // namespace coco::engine
