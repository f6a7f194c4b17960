// UnixForward: a unix socket on the host whose every connection coco relays to
// one fixed TCP destination (the `x11` grant's display over TCP).
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/run_spec.hpp"
#include "net/relay.hpp"
#include "net/thread.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace coco::net {

// Listens on `socketPath` (made anew, mode 0600, in a directory that must be
// coco's own: a file already there is replaced) and relays each connection to
// the first of `targets` that answers, with the gateway's RelayLoop, on a
// thread of its own. Whoever connects picks nothing: not the address, not the
// port. Destruction resets the open connections and removes the socket (and,
// with removeDirectory, its directory when that is empty then).
class UnixForward {
 public:
  static Result<std::unique_ptr<UnixForward>> start(std::string socketPath, std::vector<sockaddr_in> targets,
                                                    std::string label, bool removeDirectory = false);
  ~UnixForward();
  UnixForward(const UnixForward&) = delete;
  UnixForward& operator=(const UnixForward&) = delete;

  const std::string& socketPath() const { return path_; }

 private:
  UnixForward() = default;
  void loop();
  bool onEvent(uint64_t tag);

  std::string path_, label_;
  bool removeDirectory_ = false;
  std::vector<sockaddr_in> targets_;
  UniqueFd listener_, wake_;
  std::unique_ptr<RelayLoop> relays_;
  JoinableThread thread_;
};

// The `x11` grant's relay for a display over TCP (engine::TcpDisplayRelay):
// running until the result is destroyed; null when the spec has none.
Result<std::unique_ptr<UnixForward>> startDisplayRelay(const engine::TcpDisplayRelay& relay);

}  // namespace coco::net
