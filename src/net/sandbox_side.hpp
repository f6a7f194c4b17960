// The sandbox half of the network: what runs inside the sandbox's fresh netns
// (as root of its user namespace, before capabilities are dropped), and the
// wire protocol it speaks with the gateway over the network channel.
//
// Nothing here allocates or throws: it runs between clone and execve.
//
// How outbound traffic is captured (Full and Allowlist modes):
//   - lo is brought up and a `local default` route is added in table local, so
//     every IPv4 destination is "local": packets never need an interface.
//   - an nftables table `ip coco` (in the sandbox's own netns) redirects every
//     TCP connection to a non-127/8 address to the relay listener on
//     127.0.0.1:<relayPort>; the gateway reads the original destination with
//     getsockopt(SO_ORIGINAL_DST).
//   - the DNS stub listens on 0.0.0.0:53 (UDP with IP_PKTINFO, so it can answer
//     from whatever address the tool asked, and TCP); a tool that ignores
//     resolv.conf and asks 8.8.8.8 still reaches the stub. TCP to port 53 of a
//     non-loopback address goes through the relay, which serves it as DNS too.
//   - UDP to anything else is delivered locally to nothing: it never leaves.
// The listeners are created here, sent to the gateway with SCM_RIGHTS and closed
// here, so the tool never holds them.
//
// The channel is one end of socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC).
//   1. sandboxNetSetup() sends one SetupMessage (+ fds) and returns.
//   2. For the rest of the run, coco's init (pid 1, which keeps the channel and
//      never hands it to the tool) polls the channel for POLLIN and calls
//      sandboxServeSocketRequest() once per readable event: the gateway sends a
//      SocketRequest whenever a published port gets a connection, init answers
//      with a fresh, unconnected TCP socket created in the sandbox netns, and the
//      gateway connects it to 127.0.0.1:<containerPort> itself (connect uses the
//      socket's netns, not the caller's). Init never blocks on the tool's ports.
#pragma once

#include <cstdint>

#include "util/network_mode.hpp"

namespace coco::net {

// Prepared by the parent before clone; plain data.
struct SandboxNetPlan {
  // None, Full or Allowlist: Host shares the host's netns, with no sandbox side and no gateway.
  NetworkMode mode = NetworkMode::None;
};

inline constexpr uint32_t kSetupMagic = 0x636f6e31;    // "con1"
inline constexpr uint32_t kSocketMagic = 0x636f736b;   // "cosk"

// The listener fds that follow a SetupMessage, in this order.
enum SetupFd : uint32_t { kRelayListener = 0, kDnsUdp = 1, kDnsTcp = 2, kSetupFdCount = 3 };

struct SetupMessage {
  uint32_t magic = kSetupMagic;
  int32_t error = 0;       // errno of the failed step; 0 = ok
  uint32_t step = 0;       // which step failed (SetupStep)
  uint32_t fdCount = 0;    // 0 in mode None or on error, else kSetupFdCount
};

enum SetupStep : uint32_t {
  kStepNone = 0,
  kStepLoopback,
  kStepRoute,
  kStepNftables,
  kStepListeners,
  kStepSend,
};

struct SocketRequest {
  uint32_t magic = kSocketMagic;
  uint32_t reserved = 0;
};

struct SocketReply {
  uint32_t magic = kSocketMagic;
  int32_t error = 0;  // errno of socket(); when 0 exactly one fd follows
};

// The resolv.conf the sandbox must get in Full and Allowlist modes.
inline constexpr const char* kSandboxResolvConf = "nameserver 127.0.0.53\noptions attempts:2 timeout:2\n";

// Configures the current netns for plan.mode and sends the SetupMessage on
// channelFd. Returns 0 or an errno (the SetupMessage carries the same errno and
// step, so the parent can report which step failed). In mode None without
// published ports there is no gateway: pass channelFd = -1 and only lo comes up.
// Call it after the id maps are written (it needs CAP_NET_ADMIN and
// CAP_NET_BIND_SERVICE in the sandbox's userns) and before seccomp and the
// capability drop.
// On failure *failedStep (when given) says which step failed, for the engine's
// ChildReport: the user reads that report, not the gateway's.
int sandboxNetSetup(const SandboxNetPlan& plan, int channelFd, uint32_t* failedStep = nullptr);

// Serves one SocketRequest. Returns 0, EPIPE when the gateway closed the
// channel (stop polling it), or another errno for a broken message.
int sandboxServeSocketRequest(int channelFd);

// A short name for a SetupStep, for error messages.
const char* setupStepName(uint32_t step);

// A network namespace made ahead of a run, as the user-namespace holder keeps
// them (engine/userns_holder.hpp): moves the caller into a new netns, brings lo
// up and, with `capture`, adds what sandboxNetSetup adds for Full and Allowlist
// (the route, the listeners, the redirect). fds[0] is the namespace; with
// `capture`, fds[1..3] are the listeners in SetupFd order. Returns how many fds
// (1 or 4) or -errno, and then closed what it opened. The caller stays in the
// new namespace: it goes back to its own. Allocation-free.
inline constexpr int kMaxSpareNetnsFds = 1 + kSetupFdCount;
int makeSpareNetns(bool capture, int* fds);

// Moves the calling process into a network namespace of its own and adds a nat
// chain on output there (table `ip coco-hold`, no rules), so that netfilter's
// IPv4 nat and conntrack hooks stay registered for as long as the process lives.
// For the user-namespace holder (engine/userns_holder.hpp). Why: the kernel
// enables each netfilter hook point with a global static key; when no network
// namespace has a hook at that point, registering the first one (the sandbox's
// redirect) rewrites kernel text on every CPU, and removing the last one (the
// sandbox's namespace going away) does it again: 1.1-1.3 ms of each networked
// start here (`--trace`: net-listeners -> net-nftables), against 0.1-0.2 ms
// while another namespace holds the hooks. A host with any nat rule of its own
// (docker, a firewall) never pays it. Returns 0 or errno; allocation-free.
int holdNatHooks();

}  // namespace coco::net
