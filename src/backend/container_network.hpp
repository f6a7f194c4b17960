// The network of a podman container limited by allowed_hosts: coco's own gateway and DNS stub,
// as for a native sandbox, not DNS alone.
//
// podman cannot be told to capture a container's traffic, so coco makes the network namespace
// the container joins. `podman unshare COCO __container-netns MODE` runs coco's helper in
// podman's rootless user namespace (the one its containers run in); the helper makes a network
// namespace there and sets it up exactly as a native sandbox's init does (net::sandboxNetSetup:
// lo, the local default route, the nftables redirect to the relay listener, the DNS stub's
// sockets, all sent to coco's gateway), then sends coco a descriptor of that namespace. The
// container joins it with `--network ns:/proc/HELPER/ns/net` (podman, in its own user namespace,
// may look into the helper's /proc entry but not coco's). The namespace belongs to podman's user
// namespace, in which the container runs without capabilities (--cap-drop all, and NET_ADMIN
// dropped in any case), so it cannot change the redirect or add a route out: it has only lo.
//
// The channel is the helper's stdin, one end of a SOCK_SEQPACKET socketpair: first a
// NetnsMessage with the namespace's descriptor, then what sandboxNetSetup sends, then the
// gateway's socket requests for published ports, which the helper serves until coco closes the
// channel. The helper exits when the channel closes, so it never outlives coco.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "engine/run_spec.hpp"
#include "net/network_session.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace coco::backend {

// coco's argv[1] for the helper (not a command users run).
inline constexpr std::string_view kContainerNetnsCommand = "__container-netns";

// The helper's main: argv = {coco, kContainerNetnsCommand, "full"|"allowlist"}; stdin is the channel.
int containerNetnsMain(int argc, char** argv);

class ContainerNetwork {
 public:
  // Starts the helper through `runtime unshare` and coco's gateway for spec's network (Full or
  // Allowlist, its published ports included). Fails with the reason when the helper cannot.
  static Result<std::unique_ptr<ContainerNetwork>> start(const engine::RunSpec& spec, const std::string& runtime);
  ~ContainerNetwork();
  ContainerNetwork(const ContainerNetwork&) = delete;
  ContainerNetwork& operator=(const ContainerNetwork&) = delete;

  // For --network ns:PATH: /proc/HELPER/ns/net, valid while this object lives.
  const std::string& namespacePath() const;

 private:
  ContainerNetwork() = default;

  std::unique_ptr<net::NetworkSession> session_;
  UniqueFd netns_;  // keeps the namespace while the run lasts
  std::string path_;
  pid_t helper_ = -1;
};

}  // namespace coco::backend
