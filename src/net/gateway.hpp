// Gateway: the host half of the network, in the coco process. It owns the
// listeners the sandbox side created (relay, DNS), the published ports' host
// listeners, and one event thread that also runs the relay loop (relay.hpp):
// a connection costs no thread unless its name must first be resolved
// upstream; DNS over TCP gets a worker thread.
//
// How the engine drives it (see also sandbox_side.hpp):
//   auto gw = Gateway::create(config);          // before clone: binds host ports
//   socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
//   clone ... child: sandboxNetSetup(plan, sv[1]) as root of the userns, keep
//                    sv[1] in init and serve sandboxServeSocketRequest on POLLIN
//   parent: close(sv[1]); write the id maps; gw->start(UniqueFd(sv[0]));
//   ... wait for the sandbox ...
//   gw->stop();                                  // or let the destructor do it
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "net/address_pool.hpp"
#include "net/policy.hpp"
#include "net/relay.hpp"
#include "net/resolver.hpp"
#include "net/sandbox_side.hpp"
#include "net/thread.hpp"
#include "util/host_port.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace coco::net {

struct GatewayConfig {
  NetworkMode mode = NetworkMode::None;
  std::vector<std::string> allowedHosts;  // Allowlist mode: the user's entries
  std::vector<std::string> derivedHosts;  // and those coco derived (see EntryOrigin)
  std::string toolName;
  std::string upstream;  // "IP[:PORT]"; empty = $COCO_DNS_UPSTREAM, else /etc/resolv.conf
  bool allowLocalDestinations = false;
  bool installPhase = false;  // PolicyConfig::installPhase
  std::vector<PublishedPort> ports;
  std::shared_ptr<TrafficLog> traffic;  // `coco run --learn`: what the sandbox asked for
};

// The listeners sandboxNetSetup() sent; empty in mode None.
struct SandboxEndpoints {
  UniqueFd relayListener;
  UniqueFd dnsUdp;
  UniqueFd dnsTcp;
};

// Reads the SetupMessage (blocking). A setup failure in the sandbox comes back
// as an Error naming the failed step; EOF (the child died) as well.
Result<SandboxEndpoints> receiveSandboxEndpoints(int channelFd);

// The listeners of a spare network namespace the user-namespace holder made
// (net::makeSpareNetns), checked: none, or the three in SetupFd order, each a
// socket of that namespace (SIOCGSKNS) of the kind and address
// sandboxNetSetup makes (relay: TCP listening on 127.0.0.1; DNS: UDP and TCP on
// 0.0.0.0:53). A socket of any other namespace would put the gateway's policy
// on traffic that is not the sandbox's.
Result<SandboxEndpoints> checkSpareEndpoints(int netns, std::vector<UniqueFd> listeners);

class Gateway {
 public:
  // Parses the allowlist and binds the published ports on the host, so a bad
  // config or a taken port fails before clone.
  static Result<std::unique_ptr<Gateway>> create(GatewayConfig config);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Reads the host's addresses and picks the upstream resolver (the policy's
  // inputs), once; coco calls it while init sets the sandbox's network up.
  Status preparePolicy();

  // preparePolicy() if it has not run, then receives the sandbox's listeners from the channel
  // (blocking) and starts serving. `deferred` leaves the event thread for later: pendingFd()
  // becomes readable at the first event (a connection, a DNS query, a published port's client;
  // not init's end, which closes the channel), and the owner then calls resume(). Until then what the sandbox
  // sends waits in the listeners' queues, and a run that never uses its network never starts the thread.
  Status start(UniqueFd channel, bool deferred = false);
  // Readable at the first event while the thread waits to be started; -1 once it runs (or
  // before start()).
  int pendingFd() const;
  // Starts the deferred event thread and waits (kFirstPassMs at most) until it has handled what
  // is queued; nothing when it runs already.
  Status resume();

  // A spare network namespace's listeners (checkSpareEndpoints), offered before clone; after
  // it, useSpare says whether the sandbox went into that namespace: then start() takes them
  // and reads nothing from the channel first; else they are dropped.
  Status offerSpare(int netns, std::vector<UniqueFd> listeners);
  void useSpare(bool used);

  // Ends the event thread and every connection; idempotent.
  void stop();

  // The bound host port of each config.ports entry, in order.
  std::vector<uint16_t> publishedPorts() const;

 private:
  struct PendingPublish {
    UniqueFd hostConn;
    uint16_t containerPort;
  };

  Gateway(GatewayConfig config, PolicyConfig policyConfig);
  Status bindPublishedPorts();
  Status startLoop();
  Status startThread();
  void loop();
  bool onEvent(uint64_t tag);
  void onRelayAccept();
  void onDnsUdp();
  void onDnsTcpAccept();
  void onPublishedAccept(size_t index);
  void onChannelReadable();
  bool spawnWorker(std::function<void()> fn);

  void handleOutbound(UniqueFd client);
  void decideUpstream(UniqueFd client, in_addr_t dst, uint16_t port);
  void serveDnsTcp(UniqueFd conn);
  void spawnDnsTcp(int fd);  // serveDnsTcp on a worker, within kMaxDnsTcp; closes fd if not
  void answerUdp(std::vector<uint8_t> query, sockaddr_in peer, in_pktinfo info);
  void sendUdp(const std::vector<uint8_t>& reply, const sockaddr_in& peer, const in_pktinfo& info);

  // Worker bookkeeping: fds a worker blocks on are registered so stop() can
  // shut them down, and stop() waits until every worker has left.
  void track(int fd);
  void untrack(int fd);

  GatewayConfig config_;
  PolicyConfig policyConfig_;  // the policy's, until start() completes it
  Endpoint upstream_;
  AddressPool pool_;
  std::optional<UpstreamResolver> resolver_;  // made by start()
  std::optional<Policy> policy_;              // made by start(); used by the event thread only after
  SandboxEndpoints endpoints_;
  SandboxEndpoints offered_;  // a spare's, until useSpare
  bool spareUsed_ = false;
  UniqueFd channel_;
  std::vector<UniqueFd> publishListeners_;
  std::vector<uint16_t> publishedPorts_;
  std::deque<PendingPublish> pending_;  // event thread only
  UniqueFd wake_;
  std::unique_ptr<RelayLoop> relays_;  // the event loop: its epoll set, its connections
  JoinableThread thread_;
  bool deferred_ = false;  // start(deferred): the thread waits for resume()

  std::mutex mu_;
  std::condition_variable idle_;
  std::condition_variable passed_;  // the thread's first pass is done (firstPass_)
  bool firstPass_ = false;
  std::set<int> tracked_;
  int workers_ = 0;
  int dnsTcp_ = 0;  // connections serveDnsTcp holds (kMaxDnsTcp)
  bool stopping_ = false;
};

}  // namespace coco::net
