// Reading and rewriting X authority files, and checking the host's display for `x11`.
#include "tool/x11.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>

#include "util/fs.hpp"
#include "util/host_port.hpp"
#include "util/sha256.hpp"
#include "util/unique_fd.hpp"

namespace coco::tool {

namespace {

constexpr size_t kMaxXauthorityBytes = 1 << 20;
constexpr const char* kSandboxXauthority = "/tmp/.coco-xauthority";
constexpr unsigned kX11TcpPortBase = 6000;  // display N listens on TCP port 6000+N

struct Reader {
  std::string_view in;
  bool u16(uint16_t& out) {
    if (in.size() < 2) return false;
    out = static_cast<uint16_t>((static_cast<unsigned char>(in[0]) << 8) | static_cast<unsigned char>(in[1]));
    in.remove_prefix(2);
    return true;
  }
  bool field(std::string& out) {
    uint16_t n;
    if (!u16(n) || in.size() < n) return false;
    out.assign(in.substr(0, n));
    in.remove_prefix(n);
    return true;
  }
};

void putU16(std::string& out, size_t v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

void putField(std::string& out, const std::string& s) {
  putU16(out, s.size());
  out += s;
}

std::string hostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return {};
  return buf;
}

Result<std::vector<XauthEntry>> readXauthority(const std::string& path) {
  COCO_ASSIGN(std::string bytes, fs::readFileAtMost(path, kMaxXauthorityBytes));
  auto entries = parseXauthority(bytes);
  if (!entries) return std::move(entries).error().wrap(path);
  return entries;
}

// A name or an IPv4 literal: what getaddrinfo gets, and messages show.
bool plainHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') return false;
  return true;
}

// A display over TCP: the sandbox reaches no host port, so it gets a socket
// directory of its own, which coco relays to the display's one port. Returns
// the display host's addresses (their cookies are the display's too).
Result<std::vector<in_addr_t>> planTcpDisplay(X11Grant& grant, const X11Display& d, const std::string& value,
                                              const std::string& fileDir, bool writeFiles,
                                              const std::string& socketDir) {
  if (!plainHostName(d.host))
    return Error::make("x11: DISPLAY is {}: '{}' is not a host name or an IPv4 address", value, d.host);
  if (fileDir.empty())
    return Error::make(
        "x11: DISPLAY is {}, an X display over TCP, which coco relays through a socket in a directory of "
        "its own, and there is none (set XDG_RUNTIME_DIR or XDG_CACHE_HOME)",
        value);
  auto addresses = resolveHostIPv4(d.host);
  if (!addresses) return std::move(addresses).error().wrap(fmt::format("x11: DISPLAY is {}", value));
  std::string dir = fs::joinPath(fileDir, fmt::format("relay-{}", ::getpid()));
  std::string socket = fs::joinPath(dir, "X" + std::to_string(d.number));
  if (socket.size() >= sizeof(sockaddr_un{}.sun_path))
    return Error::make(
        "x11: the X relay's socket {} is too long a path for a unix socket; set XDG_RUNTIME_DIR", socket);
  if (writeFiles) COCO_TRY(fs::makeDirs(dir, 0700));
  grant.mounts.push_back({dir, socketDir, true});
  grant.env.emplace_back("DISPLAY", ":" + std::to_string(d.number));
  grant.relay = {socket, d.host, *addresses, static_cast<uint16_t>(kX11TcpPortBase + d.number)};
  return addresses;
}

// Whether one of `addresses` takes a TCP connection on `port` within a moment
// (a warning's check: the relay connects anew for every X client).
bool answers(const std::vector<in_addr_t>& addresses, uint16_t port) {
  for (in_addr_t a : addresses) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return true;  // cannot tell
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = a;
    sa.sin_port = htons(port);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) return true;
    if (errno != EINPROGRESS) continue;
    pollfd p{fd.get(), POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, 500) == 1 && ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
      return true;
  }
  return false;
}

}  // namespace

Result<std::vector<XauthEntry>> parseXauthority(std::string_view bytes) {
  std::vector<XauthEntry> out;
  Reader r{bytes};
  while (!r.in.empty()) {
    XauthEntry e;
    if (!r.u16(e.family) || !r.field(e.address) || !r.field(e.number) || !r.field(e.name) || !r.field(e.data))
      return Error::make("truncated X authority entry {} (at byte {})", out.size() + 1,
                         bytes.size() - r.in.size());
    out.push_back(std::move(e));
  }
  return out;
}

std::string formatXauthority(const std::vector<XauthEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    putU16(out, e.family);
    for (const std::string* f : {&e.address, &e.number, &e.name, &e.data}) putField(out, *f);
  }
  return out;
}

Result<X11Display> parseDisplay(std::string_view display) {
  size_t colon = display.rfind(':');
  if (colon == std::string_view::npos || display.find('/') != std::string_view::npos)
    return Error::make("DISPLAY '{}' is not HOST:N or :N", display);
  X11Display d;
  d.host = std::string(display.substr(0, colon));
  std::string_view rest = display.substr(colon + 1);
  rest = rest.substr(0, rest.find('.'));
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), d.number);
  if (rest.empty() || ec != std::errc() || end != rest.data() + rest.size() || d.number > 65535 - 6000)
    return Error::make("DISPLAY '{}' has no display number", display);
  return d;
}

std::vector<XauthEntry> sandboxXauthority(const std::vector<XauthEntry>& hostEntries, unsigned number,
                                          const std::string& hostname,
                                          const std::vector<in_addr_t>& internetAddresses) {
  std::vector<XauthEntry> out;
  std::string n = std::to_string(number);
  auto isDisplayHost = [&](const std::string& address) {
    for (in_addr_t a : internetAddresses)
      if (address == std::string_view(reinterpret_cast<const char*>(&a), sizeof a)) return true;
    return false;
  };
  for (const auto& e : hostEntries) {
    if (e.number != n && !e.number.empty()) continue;
    bool local = e.family == kXauthFamilyLocal && e.address == hostname;
    bool internet = e.family == kXauthFamilyInternet && isDisplayHost(e.address);
    if (!local && !internet && e.family != kXauthFamilyWild) continue;
    XauthEntry wild = e;
    wild.family = kXauthFamilyWild;
    out.push_back(std::move(wild));
  }
  return out;
}

std::string hostXauthorityPath(const std::map<std::string, std::string>& hostEnv, const std::string& home) {
  auto it = hostEnv.find("XAUTHORITY");
  if (it != hostEnv.end() && !it->second.empty()) return it->second;
  return home.empty() ? std::string() : fs::joinPath(home, ".Xauthority");
}

Result<X11Grant> planX11(const std::map<std::string, std::string>& hostEnv, const std::string& home,
                         const std::string& fileDir, bool writeFiles, const std::string& socketDir) {
  X11Grant grant;
  auto it = hostEnv.find("DISPLAY");
  if (it == hostEnv.end() || it->second.empty()) return grant;
  auto display = parseDisplay(it->second);
  if (!display) return std::move(display).error().wrap("x11");
  std::vector<in_addr_t> addresses;
  if (display->tcp()) {
    COCO_ASSIGN(addresses, planTcpDisplay(grant, *display, it->second, fileDir, writeFiles, socketDir));
  } else {
    if (fs::isDirectory(socketDir)) grant.mounts.push_back({socketDir, socketDir, true});
    grant.env.emplace_back("DISPLAY", it->second);
  }
  auto hostEntries = readXauthority(hostXauthorityPath(hostEnv, home));
  if (!hostEntries || fileDir.empty()) return grant;  // x11Warnings says why
  auto entries = sandboxXauthority(*hostEntries, display->number, hostName(), addresses);
  if (entries.empty()) return grant;
  std::string content = formatXauthority(entries);
  std::string file = fs::joinPath(fileDir, sha256Hex(content).substr(0, 32) + ".xauth");
  if (writeFiles) {
    COCO_TRY(fs::makeDirs(fileDir, 0700));
    COCO_TRY(fs::writeFileAtomic(file, content, 0600));
  }
  grant.mounts.push_back({file, kSandboxXauthority, true});
  grant.env.emplace_back("XAUTHORITY", kSandboxXauthority);
  return grant;
}

std::vector<std::string> x11Warnings(const std::map<std::string, std::string>& hostEnv,
                                     const std::string& home, const std::string& socketDir) {
  auto it = hostEnv.find("DISPLAY");
  if (it == hostEnv.end() || it->second.empty())
    return {
        "x11: DISPLAY is not set, so the tool has no X display to open (run it from a graphical session)"};
  auto display = parseDisplay(it->second);
  if (!display) return {};  // planning refuses it with the reason
  std::vector<std::string> out;
  std::vector<in_addr_t> addresses;
  if (display->tcp()) {
    auto resolved = resolveHostIPv4(display->host);
    if (!resolved) return {};  // as above
    addresses = *resolved;
    uint16_t port = static_cast<uint16_t>(kX11TcpPortBase + display->number);
    if (!answers(addresses, port))
      out.push_back(
          fmt::format("x11: DISPLAY is {} but nothing answers on {} port {}: is the X server (or ssh's X "
                      "forwarding) running?",
                      it->second, display->host, port));
  } else {
    std::string socket = fs::joinPath(socketDir, "X" + std::to_string(display->number));
    struct stat st;
    if (::stat(socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
      out.push_back(fmt::format("x11: DISPLAY is {} but there is no X socket {}: is the X server running?",
                                it->second, socket));
  }
  std::string file = hostXauthorityPath(hostEnv, home);
  auto entries = readXauthority(file);
  if (!entries)
    out.push_back(
        fmt::format("x11: no usable X authority file ({}); a server that asks for a cookie will refuse "
                    "the tool",
                    entries.error().describe()));
  else if (sandboxXauthority(*entries, display->number, hostName(), addresses).empty())
    out.push_back(
        fmt::format("x11: {} has no cookie for display {} of this host; a server that asks for one "
                    "will refuse the tool",
                    file, display->number));
  return out;
}

}  // namespace coco::tool
