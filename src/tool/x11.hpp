// The `x11` grant: which display, its socket, and an X authority file the sandbox can use.
//
// X authority entries are keyed by host name, and the sandbox's host name is not
// the host's, so an ordinary cookie (family Local, address = the host's name)
// matches nothing inside and the server answers "Authorization required". The
// sandbox gets its own file instead: the host's entries for this display only,
// rewritten to family Wild (0xffff, any address), bound read-only. Xlib reads
// xauth's file format: per entry a 2-byte big-endian family, then address,
// display number, auth name and auth data, each a 2-byte big-endian length
// and that many bytes.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/run_spec.hpp"
#include "util/result.hpp"

namespace coco::tool {

inline constexpr uint16_t kXauthFamilyInternet = 0;
inline constexpr uint16_t kXauthFamilyLocal = 256;
inline constexpr uint16_t kXauthFamilyWild = 0xffff;

struct XauthEntry {
  uint16_t family = 0;
  std::string address, number, name, data;
};

// The entries of an X authority file; an Error for a truncated one.
Result<std::vector<XauthEntry>> parseXauthority(std::string_view bytes);
std::string formatXauthority(const std::vector<XauthEntry>& entries);

// A DISPLAY value: ":N", ":N.S", "unix:N" (the unix socket /tmp/.X11-unix/XN),
// or "HOST:N" (over TCP, as ssh -X sets "localhost:10.0").
struct X11Display {
  std::string host;  // "" or "unix" for the local socket
  unsigned number = 0;
  bool tcp() const { return !host.empty() && host != "unix"; }
};
Result<X11Display> parseDisplay(std::string_view display);

// The entries of `hostEntries` for display `number` that this host's X clients
// would use (family Local with address `hostname`, or already Wild; for a
// display over TCP also family Internet with one of `internetAddresses`, the
// display host's, network order), rewritten to family Wild so they match in a
// sandbox of any host name.
std::vector<XauthEntry> sandboxXauthority(const std::vector<XauthEntry>& hostEntries, unsigned number,
                                          const std::string& hostname,
                                          const std::vector<in_addr_t>& internetAddresses = {});

// The host's X authority file: $XAUTHORITY, else ~/.Xauthority.
std::string hostXauthorityPath(const std::map<std::string, std::string>& hostEnv, const std::string& home);

// What the `x11` grant adds to a run: the X socket directory and the sandbox's
// authority file (read-only), DISPLAY and XAUTHORITY. With DISPLAY unset,
// nothing (x11Warnings says so). The authority file is written (unless
// !writeFiles, for a dry run) below `fileDir`, named by its content, mode 0600.
//
// A display over TCP (HOST:N, as ssh -X sets localhost:10.0): the sandbox reaches
// no host TCP port, so it gets a socket directory of its own instead, `relay-PID`
// below `fileDir` (made 0700 unless !writeFiles), holding XN once coco listens
// there (`relay`, engine::TcpDisplayRelay: to port 6000+N of HOST and nowhere
// else), and DISPLAY=:N.
struct X11Grant {
  std::vector<engine::BindMount> mounts;
  std::vector<std::pair<std::string, std::string>> env;
  engine::TcpDisplayRelay relay;
};
Result<X11Grant> planX11(const std::map<std::string, std::string>& hostEnv, const std::string& home,
                         const std::string& fileDir, bool writeFiles,
                         const std::string& socketDir = "/tmp/.X11-unix");

// What a run with `x11` should tell the user about the host's display: DISPLAY
// unset, its socket missing (over TCP: its port not answering), no authority
// entry for it. Empty when all is there.
std::vector<std::string> x11Warnings(const std::map<std::string, std::string>& hostEnv,
                                     const std::string& home,
                                     const std::string& socketDir = "/tmp/.X11-unix");

}  // namespace coco::tool
