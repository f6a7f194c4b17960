// Network benchmark (not a test): download throughput, sequential connection rate and
// per-connection latency, DNS latency: direct vs coco's gateway vs pasta and slirp4netns.
//
// The process first enters a "world" network namespace of its own (as root a new
// netns; otherwise a user namespace too), so nothing touches the host's network.
// In it: 127.0.0.1 servers (the loopback destination) and a veth pair to a second
// netns holding the same servers at 203.0.113.2 (the veth destination: a public
// address to the gateway's policy, as a real registry would be). Each contender is a
// child process running the same client code on command, timed inside itself:
//   direct       in the world netns
//   gateway      a sandbox netns (sandboxNetSetup) behind a Gateway in this process
//   pasta        a netns attached with `pasta --config-net` (needs /dev/net/tun)
//   slirp4netns  a netns attached with `slirp4netns --configure` (same)
// Contenders alternate within each round; the table gives medians of per-round
// ratios against direct in the same round, with min and max.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/dns_message.hpp"
#include "net/gateway.hpp"
#include "net/sandbox_side.hpp"
#include "util/unique_fd.hpp"

extern char** environ;

namespace {

using namespace coco;
using namespace coco::net;
using Clock = std::chrono::steady_clock;

constexpr size_t kChunk = 256 * 1024;
constexpr const char* kWorldIf = "cocobench0";
constexpr const char* kServerIf = "cocobench1";
constexpr const char* kWorldAddr = "203.0.113.1";
constexpr const char* kServerAddr = "203.0.113.2";
constexpr uint16_t kSourcePort = 5001;  // in the server netns
constexpr uint16_t kPingPort = 5002;
constexpr const char* kVethDomain = "veth.bench.test";  // names under it resolve to kServerAddr
constexpr const char* kLoDomain = "lo.bench.test";      // to 127.0.0.1
constexpr const char* kDnsDomain = "dns.bench.test";

struct Options {
  uint64_t bulkMiB = 1024;
  int connections = 2000;
  int rounds = 3;
  int cachedQueries = 2000;
  int firstQueries = 200;
  bool others = true;  // pasta and slirp4netns when installed
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "network_bench: %s\n", what.c_str());
  std::exit(1);
}

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

sockaddr_in ipv4(in_addr_t addr, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = addr;
  sa.sin_port = htons(port);
  return sa;
}

in_addr_t loopbackAddr() { return htonl(INADDR_LOOPBACK); }

UniqueFd bindTo(int type, in_addr_t addr, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa = ipv4(addr, port);
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) die("bind");
  if (type == SOCK_STREAM && ::listen(fd.get(), 128) < 0) die("listen");
  return fd;
}

uint16_t portOf(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

void setTimeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool writeAll(int fd, const void* data, size_t size) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool readExact(int fd, void* data, size_t size) {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    ssize_t n = ::recv(fd, p, size, 0);
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

UniqueFd connectTo(in_addr_t addr, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  setTimeouts(fd.get(), 15);
  sockaddr_in sa = ipv4(addr, port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return {};
  return fd;
}

// Runs argv to completion; false unless it exits 0.
bool run(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  if (::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return false;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool onPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// ---- Servers ----

// Accepts connections one at a time and hands each to `serve`; polls with a
// timeout so stop() is prompt.
class Server {
 public:
  Server(UniqueFd listener, std::function<void(int)> serve)
      : fd_(std::move(listener)), serve_(std::move(serve)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Server() {
    stop_ = true;
    thread_.join();
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      UniqueFd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c) continue;
      setTimeouts(c.get(), 15);
      serve_(c.get());
    }
  }

  UniqueFd fd_;
  std::function<void(int)> serve_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Source: reads a byte count, sends that many bytes, closes (a download).
void serveSource(int fd) {
  uint64_t want = 0;
  if (!readExact(fd, &want, sizeof want)) return;
  std::vector<char> buf(kChunk, 'x');
  for (uint64_t left = want; left > 0;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
    if (!writeAll(fd, buf.data(), n)) return;
    left -= n;
  }
}

// Ping: one byte in, one byte out, so a connection counts only once the
// gateway really reached the server (a sandbox's connect() completes against
// the local relay listener before the gateway has connected upstream).
void servePing(int fd) {
  char b;
  if (readExact(fd, &b, 1)) writeAll(fd, &b, 1);
}

// The upstream DNS server the gateway asks.
void serveUpstreamDns(int fd, const std::atomic<bool>& stop) {
  while (!stop) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    uint8_t buf[512];
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len);
    if (n <= 0) continue;
    auto q = dns::parseQuery(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
    if (!q) continue;
    in_addr_t a = q->question.name.ends_with(kVethDomain) ? inet_addr(kServerAddr) : loopbackAddr();
    auto reply = dns::buildResponse(*q, dns::Rcode::NoError, {a}, 300);
    ::sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
  }
}

// ---- Client measurements: run inside each contender's child. ----

// Seconds from connect until `bytes` downloaded and EOF seen; < 0 on failure.
double downloadSeconds(in_addr_t addr, uint16_t port, uint64_t bytes) {
  std::vector<char> buf(kChunk);
  auto t0 = Clock::now();
  UniqueFd fd = connectTo(addr, port);
  if (!fd || !writeAll(fd.get(), &bytes, sizeof bytes)) return -1;
  uint64_t got = 0;
  ssize_t n;
  while ((n = ::recv(fd.get(), buf.data(), buf.size(), 0)) > 0) got += static_cast<uint64_t>(n);
  if (n < 0 || got != bytes) return -1;
  return secondsSince(t0);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// `count` sequential connect / 1 byte each way / close: "SECONDS P50_US P90_US", or "-1".
std::string connectionFigures(in_addr_t addr, uint16_t port, int count) {
  std::vector<double> each;
  auto t0 = Clock::now();
  for (int i = 0; i < count; ++i) {
    auto c0 = Clock::now();
    UniqueFd fd = connectTo(addr, port);
    char b = 'p';
    if (!fd || !writeAll(fd.get(), &b, 1) || !readExact(fd.get(), &b, 1)) return "-1";
    each.push_back(secondsSince(c0) * 1e6);
  }
  double total = secondsSince(t0);
  return std::to_string(total) + " " + std::to_string(percentile(each, 0.5)) + " " +
         std::to_string(percentile(each, 0.9));
}

// One A query over a connected UDP socket: microseconds, and the first address; < 0 on failure.
double queryMicros(int fd, const std::string& name, in_addr_t* addr = nullptr) {
  static uint16_t id = 1;
  ++id;
  auto q = dns::buildQuery(id, name, dns::kTypeA);
  uint8_t buf[512];
  auto t0 = Clock::now();
  if (!q || ::send(fd, q->data(), q->size(), 0) < 0) return -1;
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  double us = secondsSince(t0) * 1e6;
  if (n <= 0) return -1;
  auto a = dns::parseResponse(std::span<const uint8_t>(buf, static_cast<size_t>(n)), id, name, dns::kTypeA);
  if (!a || a->addresses.empty()) return -1;
  if (addr) *addr = a->addresses.front();
  return us;
}

UniqueFd dnsSocket(in_addr_t server, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  setTimeouts(fd.get(), 3);
  sockaddr_in sa = ipv4(server, port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) die("connect dns socket");
  return fd;
}

// Latencies of `count` queries; `first` asks a fresh name each time (so each
// goes upstream), otherwise the same, already cached name.
std::vector<double> dnsSamples(in_addr_t server, uint16_t port, int count, bool first) {
  UniqueFd fd = dnsSocket(server, port);
  std::string cachedName = std::string("cached.") + kDnsDomain;
  if (!first && queryMicros(fd.get(), cachedName) < 0) return {};
  std::vector<double> out;
  for (int i = 0; i < count; ++i) {
    std::string name = first ? "first-" + std::to_string(i) + "." + kDnsDomain : cachedName;
    double us = queryMicros(fd.get(), name);
    if (us < 0) return {};
    out.push_back(us);
  }
  return out;
}

// ---- Namespaces ----

bool writeFile(const char* path, const std::string& text) {
  UniqueFd fd(::open(path, O_WRONLY | O_CLOEXEC));
  return fd && ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

// A user namespace where this process is root (single id mapping, as the
// engine's no-subuid mode) plus `extra` namespaces.
bool unshareAsRoot(int extra) {
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  if (::unshare(CLONE_NEWUSER | extra) < 0) return false;
  return writeFile("/proc/self/setgroups", "deny") &&
         writeFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") &&
         writeFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
}

bool realRoot() { return ::geteuid() == 0; }

// A fresh netns (own user namespace unless real root): never the host's network.
bool unshareNet() { return realRoot() ? ::unshare(CLONE_NEWNET) == 0 : unshareAsRoot(CLONE_NEWNET); }

void loUp() {
  if (!run({"ip", "link", "set", "lo", "up"})) die("ip link set lo up");
}

// The world netns: loopback and one end of the veth pair, with a default route
// through it so pasta finds an interface to copy.
void enterWorld() {
  if (!unshareNet()) die(std::string("unshare the world network namespace: ") + std::strerror(errno));
  loUp();
  std::string cidr = std::string(kWorldAddr) + "/24";
  if (!run({"ip", "link", "add", kWorldIf, "type", "veth", "peer", "name", kServerIf}) ||
      !run({"ip", "addr", "add", cidr, "dev", kWorldIf}) || !run({"ip", "link", "set", kWorldIf, "up"}) ||
      !run({"ip", "route", "add", "default", "via", "203.0.113.254", "dev", kWorldIf}))
    die("setting up the veth pair (ip link add ... type veth)");
}

std::string readLine(int fd) {
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

void writeLine(int fd, const std::string& line) {
  std::string l = line + "\n";
  if (::write(fd, l.data(), l.size()) != static_cast<ssize_t>(l.size())) std::_Exit(3);
}

// The server netns: a child that takes the veth peer and serves source and
// ping on kServerAddr until its control socket closes.
pid_t forkServerNetns() {
  int ctl[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0) die("socketpair");
  pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(ctl[0]);
    if (::unshare(CLONE_NEWNET) < 0) std::_Exit(2);
    writeLine(ctl[1], "netns");
    if (readLine(ctl[1]) != "moved") std::_Exit(2);
    std::string cidr = std::string(kServerAddr) + "/24";
    if (!run({"ip", "link", "set", "lo", "up"}) || !run({"ip", "addr", "add", cidr, "dev", kServerIf}) ||
        !run({"ip", "link", "set", kServerIf, "up"}))
      std::_Exit(2);
    in_addr_t any = htonl(INADDR_ANY);
    {
      Server source(bindTo(SOCK_STREAM, any, kSourcePort), serveSource);
      Server ping(bindTo(SOCK_STREAM, any, kPingPort), servePing);
      writeLine(ctl[1], "serving");
      readLine(ctl[1]);  // until the parent closes it
    }
    std::_Exit(0);
  }
  ::close(ctl[1]);
  if (readLine(ctl[0]) != "netns") die("the server netns child failed");
  if (!run({"ip", "link", "set", kServerIf, "netns", std::to_string(pid)})) die("moving the veth peer");
  writeLine(ctl[0], "moved");
  if (readLine(ctl[0]) != "serving") die("the server netns child failed to configure its side");
  static std::vector<UniqueFd> keep;  // closing it ends the child
  keep.emplace_back(ctl[0]);
  return pid;
}

// ---- Contenders ----

// One command from the parent, answered with one line.
std::string runCommand(const std::string& line) {
  std::istringstream in(line);
  std::string cmd;
  in >> cmd;
  if (cmd == "resolve") {
    std::string name;
    in >> name;
    in_addr_t addr = 0;
    UniqueFd fd = dnsSocket(inet_addr("127.0.0.53"), 53);
    return queryMicros(fd.get(), name, &addr) < 0 ? "-1" : std::to_string(addr);
  }
  in_addr_t addr = 0;
  uint16_t port = 0;
  uint64_t n = 0;
  if (cmd == "bulk" && in >> addr >> port >> n) return std::to_string(downloadSeconds(addr, port, n));
  if (cmd == "conns" && in >> addr >> port >> n) return connectionFigures(addr, port, static_cast<int>(n));
  int first = 0;
  if (cmd == "dns" && in >> n >> first) {
    std::ostringstream out;
    for (double x : dnsSamples(inet_addr("127.0.0.53"), 53, static_cast<int>(n), first)) out << x << ' ';
    return out.str();
  }
  return "?";
}

struct Contender {
  std::string name;
  pid_t pid = -1;
  UniqueFd control;
  pid_t helper = -1;                   // pasta or slirp4netns
  std::string skipped;                 // why it is not measured
  in_addr_t vethAddr = 0, loAddr = 0;  // what it connects to (synthetic for the gateway)
  bool onLoopback = true;              // also measured against the loopback destination

  std::string ask(const std::string& cmd) {
    writeLine(control.get(), cmd);
    std::string reply = readLine(control.get());
    if (reply.empty() && cmd != "quit") die(name + " child died during: " + cmd);
    return reply;
  }
};

enum class Kind { Direct, Gateway, Plain };

// pasta drops its own capabilities before it opens /proc/PID/ns/net, and the
// kernel's ptrace check refuses it a process holding more capabilities than
// it has: so the netns's process holds none.
void dropCapabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  ::syscall(SYS_capset, &header, data);
}

// Forks a client child. Gateway: own user+net namespaces and sandboxNetSetup;
// Plain: a bare netns for pasta or slirp4netns to attach to. Forks before any
// thread exists, so the child's allocations are safe.
Contender forkContender(const std::string& name, Kind kind, UniqueFd* gatewayChannel = nullptr) {
  int sv[2] = {-1, -1}, ctl[2];
  if (kind == Kind::Gateway && ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    die("socketpair");
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0) die("socketpair");
  pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(ctl[0]);
    if (kind == Kind::Gateway) {
      ::close(sv[0]);
      SandboxNetPlan plan;
      plan.mode = NetworkMode::Allowlist;
      if (!unshareAsRoot(CLONE_NEWNET) || sandboxNetSetup(plan, sv[1]) != 0) std::_Exit(2);
      ::close(sv[1]);
    } else if (kind == Kind::Plain) {
      if (!unshareNet()) std::_Exit(2);
      loUp();
      dropCapabilities();
    }
    for (std::string line; !(line = readLine(ctl[1])).empty() && line != "quit";)
      writeLine(ctl[1], runCommand(line));
    std::_Exit(0);
  }
  ::close(ctl[1]);
  if (kind == Kind::Gateway) {
    ::close(sv[1]);
    gatewayChannel->reset(sv[0]);
  }
  Contender c;
  c.name = name;
  c.pid = pid;
  c.control.reset(ctl[0]);
  return c;
}

pid_t spawn(const std::vector<std::string>& args, int keepFd = -1) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  posix_spawn_file_actions_adddup2(&fa, devnull, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, devnull,
                                   STDERR_FILENO);  // their chatter; failures show as not attached
  if (keepFd >= 0) posix_spawn_file_actions_adddup2(&fa, keepFd, 3);  // dup2 clears CLOEXEC
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(devnull);
  return rc == 0 ? pid : -1;
}

std::string tunNote() {
  return ::access("/dev/net/tun", R_OK | W_OK) == 0 ? ""
                                                    : " (/dev/net/tun is not open to this user: run as root)";
}

// pasta copies the world's veth address and default route into the netns; it
// returns once the namespace is configured (and then runs in the background).
void attachPasta(Contender& c) {
  std::string pidFile = "/tmp/coco-bench-pasta." + std::to_string(::getpid());
  std::string ns = "/proc/" + std::to_string(c.pid) + "/ns/net";
  pid_t p = spawn({"pasta",
                   "--quiet",
                   "--ipv4-only",
                   "--config-net",
                   "--no-map-gw",
                   "-t",
                   "none",
                   "-u",
                   "none",
                   "-T",
                   "none",
                   "-U",
                   "none",
                   "--runas",
                   std::to_string(::geteuid()),
                   "--pid",
                   pidFile,
                   "--netns",
                   ns,
                   "--netns-only"});
  int status = -1;
  if (p > 0) ::waitpid(p, &status, 0);
  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  UniqueFd f(::open(pidFile.c_str(), O_RDONLY | O_CLOEXEC));
  std::string text = f ? readLine(f.get()) : "";
  ::unlink(pidFile.c_str());
  if (!ok || text.empty()) {
    c.skipped = "pasta failed to attach" + tunNote();
    return;
  }
  c.helper = static_cast<pid_t>(std::stol(text));
}

// slirp4netns writes "1" to --ready-fd once the tap is configured.
void attachSlirp(Contender& c) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) < 0) die("pipe");
  c.helper = spawn({"slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback", "--ready-fd=3",
                    std::to_string(c.pid), "tap0"},
                   ready[1]);
  ::close(ready[1]);
  pollfd p{ready[0], POLLIN, 0};
  char b = 0;
  bool ok = c.helper > 0 && ::poll(&p, 1, 10000) == 1 && ::read(ready[0], &b, 1) == 1;
  ::close(ready[0]);
  if (!ok) c.skipped = "slirp4netns failed to attach" + tunNote();
}

// ---- Rounds ----

struct Samples {
  std::vector<double> mbs, rate, p50, p90;  // per round
};

struct Dest {
  std::string name;
  uint16_t sourcePort, pingPort;
  bool veth;
};

bool measureOnce(Contender& c, const Dest& d, uint64_t bytes, int conns, Samples& s) {
  in_addr_t a = d.veth ? c.vethAddr : c.loAddr;
  double secs = std::stod(
      c.ask("bulk " + std::to_string(a) + " " + std::to_string(d.sourcePort) + " " + std::to_string(bytes)));
  std::istringstream in(
      c.ask("conns " + std::to_string(a) + " " + std::to_string(d.pingPort) + " " + std::to_string(conns)));
  double total = -1, p50 = 0, p90 = 0;
  in >> total >> p50 >> p90;
  if (secs <= 0 || total <= 0) return false;
  s.mbs.push_back(static_cast<double>(bytes) / secs / 1e6);
  s.rate.push_back(conns / total);
  s.p50.push_back(p50);
  s.p90.push_back(p90);
  return true;
}

std::vector<double> parseSamplesLine(const std::string& text) {
  std::istringstream in(text);
  std::vector<double> v;
  for (double x; in >> x;) v.push_back(x);
  return v;
}

struct Ratio {
  double med, lo, hi;
};

Ratio ratios(const std::vector<double>& x, const std::vector<double>& direct) {
  std::vector<double> r;
  for (size_t i = 0; i < x.size() && i < direct.size(); ++i) r.push_back(100 * x[i] / direct[i]);
  if (r.empty()) return {-1, -1, -1};
  return {median(r), *std::min_element(r.begin(), r.end()), *std::max_element(r.begin(), r.end())};
}

std::string loadAverage() {
  UniqueFd f(::open("/proc/loadavg", O_RDONLY | O_CLOEXEC));
  std::string line = f ? readLine(f.get()) : "?";
  std::istringstream in(line);
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

void printDest(const Dest& d, std::vector<Contender>& cs, std::vector<Samples>& s) {
  std::printf("\n  destination %s\n", d.name.c_str());
  std::printf("  %-12s %9s %22s %9s %22s %8s %8s\n", "", "bulk MB/s", "vs direct [min-max]", "conn/s",
              "vs direct [min-max]", "p50 us", "p90 us");
  for (size_t i = 0; i < cs.size(); ++i) {
    if (!cs[i].skipped.empty()) {
      std::printf("  %-12s not measured: %s\n", cs[i].name.c_str(), cs[i].skipped.c_str());
      continue;
    }
    if (s[i].mbs.empty()) continue;
    Ratio b = ratios(s[i].mbs, s[0].mbs), r = ratios(s[i].rate, s[0].rate);
    std::printf("  %-12s %9.0f %8.1f %% [%5.1f-%5.1f] %9.0f %8.1f %% [%5.1f-%5.1f] %8.0f %8.0f\n",
                cs[i].name.c_str(), median(s[i].mbs), b.med, b.lo, b.hi, median(s[i].rate), r.med, r.lo, r.hi,
                median(s[i].p50), median(s[i].p90));
  }
}

// The targets for the gateway on the veth destination.
void printTargets(std::vector<Contender>& cs, std::vector<Samples>& s) {
  const Samples& gw = s[1];
  Ratio bulk = ratios(gw.mbs, s[0].mbs), rate = ratios(gw.rate, s[0].rate);
  double p90 = median(gw.p90);
  std::printf("\n  targets (veth): bulk >= 65%% of direct: %.1f%% %s; p90 < 500 us: %.0f us %s; ", bulk.med,
              bulk.med >= 65 ? "met" : "MISSED", p90, p90 < 500 ? "met" : "MISSED");
  for (size_t i = 2; i < cs.size(); ++i) {
    if (cs[i].name == "pasta" && cs[i].skipped.empty() && !s[i].rate.empty()) {
      double pr = median(s[i].rate), g = median(gw.rate);
      std::printf("conn/s >= pasta's: %.0f vs %.0f %s\n", g, pr, g >= pr ? "met" : "MISSED");
      return;
    }
  }
  std::printf("conn/s >= 35%% of direct (no pasta): %.1f%% %s\n", rate.med,
              rate.med >= 35 ? "met" : "MISSED");
}

void printDnsRow(const char* label, const std::vector<double>& v, const char* target) {
  std::printf("  %-34s %9.1f us %9.1f us  %s\n", label, median(v), percentile(v, 0.95), target);
}

Options parseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> long {
      if (i + 1 >= argc) die("missing value for " + a);
      return std::stol(argv[++i]);
    };
    if (a == "--mib")
      o.bulkMiB = static_cast<uint64_t>(next());
    else if (a == "--connections")
      o.connections = static_cast<int>(next());
    else if (a == "--rounds")
      o.rounds = static_cast<int>(next());
    else if (a == "--queries")
      o.cachedQueries = static_cast<int>(next());
    else if (a == "--first")
      o.firstQueries = static_cast<int>(next());
    else if (a == "--no-others")
      o.others = false;
    else
      die("usage: network_bench [--mib N] [--connections N] [--rounds N] [--queries N] [--first N] "
          "[--no-others]");
  }
  if (o.bulkMiB < 1 || o.connections < 1 || o.rounds < 1 || o.cachedQueries < 1 || o.firstQueries < 1)
    die("counts must be >= 1");
  return o;
}

GatewayConfig gatewayConfig(uint16_t dnsPort, bool allowLocal, const std::vector<std::string>& hosts) {
  GatewayConfig c;
  c.mode = NetworkMode::Allowlist;
  c.toolName = "network-bench";
  c.allowedHosts = hosts;
  c.upstream = "127.0.0.1:" + std::to_string(dnsPort);
  c.allowLocalDestinations = allowLocal;
  return c;
}

std::unique_ptr<Gateway> startGateway(GatewayConfig config, UniqueFd channel) {
  auto gw = Gateway::create(std::move(config));
  if (!gw) die("gateway: " + gw.error().describe());
  if (auto started = (*gw)->start(std::move(channel)); !started)
    die("gateway start: " + started.error().describe());
  return std::move(*gw);
}

struct World {
  UniqueFd sourceLo, pingLo, dns;
  uint16_t sourcePort = 0, pingPort = 0, dnsPort = 0;
  std::vector<Contender> cs;  // direct, gateway, then pasta / slirp4netns
  Contender gatewayLo;        // the loopback destination's gateway (allowLocalDestinations)
  UniqueFd channel, channelLo;
};

void forkAll(World& w, const Options& o) {
  in_addr_t lo = loopbackAddr();
  w.sourceLo = bindTo(SOCK_STREAM, lo, 0);
  w.pingLo = bindTo(SOCK_STREAM, lo, 0);
  w.dns = bindTo(SOCK_DGRAM, lo, 0);
  w.sourcePort = portOf(w.sourceLo.get());
  w.pingPort = portOf(w.pingLo.get());
  w.dnsPort = portOf(w.dns.get());
  forkServerNetns();
  w.cs.push_back(forkContender("direct", Kind::Direct));
  w.cs.push_back(forkContender("coco gateway", Kind::Gateway, &w.channel));
  w.gatewayLo = forkContender("coco gateway", Kind::Gateway, &w.channelLo);
  for (const char* other : {"pasta", "slirp4netns"}) {
    if (!o.others) continue;
    if (!onPath(other)) {
      Contender c;
      c.name = other;
      c.skipped = "not installed";
      w.cs.push_back(std::move(c));
      continue;
    }
    w.cs.push_back(forkContender(other, Kind::Plain));
    Contender& c = w.cs.back();
    c.onLoopback = false;  // their loopback is their own netns's
    if (c.name == "pasta")
      attachPasta(c);
    else
      attachSlirp(c);
  }
  for (auto& c : w.cs) {
    c.vethAddr = inet_addr(kServerAddr);
    c.loAddr = loopbackAddr();
  }
  w.gatewayLo.loAddr = loopbackAddr();
}

void resolveGatewayNames(World& w) {
  auto resolve = [](Contender& c, const std::string& name) {
    in_addr_t a = static_cast<in_addr_t>(std::stoul(c.ask("resolve " + name)));
    if (a == static_cast<in_addr_t>(-1) || a == 0) die("the gateway's stub did not resolve " + name);
    return a;
  };
  w.cs[1].vethAddr = resolve(w.cs[1], std::string("server.") + kVethDomain);
  w.gatewayLo.loAddr = resolve(w.gatewayLo, std::string("server.") + kLoDomain);
}

void measureRounds(World& w, const Options& o, std::vector<Samples>& veth, std::vector<Samples>& lo) {
  uint64_t bytes = o.bulkMiB << 20;
  Dest dv{"veth", kSourcePort, kPingPort, true};
  Dest dl{"loopback", w.sourcePort, w.pingPort, false};
  for (int r = 0; r < o.rounds; ++r) {
    for (size_t i = 0; i < w.cs.size(); ++i) {
      Contender& c = w.cs[i];
      if (!c.skipped.empty()) continue;
      if (!measureOnce(c, dv, bytes, o.connections, veth[i])) c.skipped = "a transfer failed";
    }
    if (!measureOnce(w.cs[0], dl, bytes, o.connections, lo[0])) die("direct to loopback failed");
    if (!measureOnce(w.gatewayLo, dl, bytes, o.connections, lo[1])) die("the gateway to loopback failed");
  }
  if (!w.cs[1].skipped.empty()) die("the gateway's transfers failed");
}

void stopContenders(World& w) {
  auto end = [](Contender& c) {
    if (c.pid > 0) {
      writeLine(c.control.get(), "quit");
      ::waitpid(c.pid, nullptr, 0);
    }
    if (c.helper > 0) {
      ::kill(c.helper, SIGTERM);
      ::waitpid(c.helper, nullptr, 0);  // pasta is not our child (it daemonized): returns at once
    }
  };
  for (auto& c : w.cs) end(c);
  end(w.gatewayLo);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parseOptions(argc, argv);
  std::string loadBefore = loadAverage();
  enterWorld();
  World w;
  forkAll(w, o);

  Server source(std::move(w.sourceLo), serveSource), ping(std::move(w.pingLo), servePing);
  std::atomic<bool> dnsStop{false};
  std::thread dns([&] { serveUpstreamDns(w.dns.get(), dnsStop); });
  std::string vethHost = std::string("server.") + kVethDomain;
  auto gw = startGateway(gatewayConfig(w.dnsPort, false,
                                       {vethHost + ":" + std::to_string(kSourcePort),
                                        vethHost + ":" + std::to_string(kPingPort)}),
                         std::move(w.channel));
  std::string loHost = std::string("server.") + kLoDomain;
  auto gwLo = startGateway(gatewayConfig(w.dnsPort, true,
                                         {loHost + ":" + std::to_string(w.sourcePort),
                                          loHost + ":" + std::to_string(w.pingPort), kDnsDomain}),
                           std::move(w.channelLo));
  resolveGatewayNames(w);

  std::vector<Samples> veth(w.cs.size()), lo(2);
  measureRounds(w, o, veth, lo);
  auto dnsCached = parseSamplesLine(w.gatewayLo.ask("dns " + std::to_string(o.cachedQueries) + " 0"));
  auto dnsFirst = parseSamplesLine(w.gatewayLo.ask("dns " + std::to_string(o.firstQueries) + " 1"));
  auto dnsUpstream = dnsSamples(loopbackAddr(), w.dnsPort, o.cachedQueries, false);
  if (dnsCached.empty() || dnsFirst.empty() || dnsUpstream.empty()) die("DNS queries failed");
  stopContenders(w);
  gw->stop();
  gwLo->stop();
  dnsStop = true;
  dns.join();

  std::printf(
      "coco network benchmark: %d interleaved rounds, %llu MiB download and %d sequential connections "
      "per contender and round; %s\n",
      o.rounds, static_cast<unsigned long long>(o.bulkMiB), o.connections,
      realRoot() ? "as root" : "as an unprivileged user");
  std::printf("  load average before: %s, after: %s; %u CPUs\n", loadBefore.c_str(), loadAverage().c_str(),
              std::thread::hardware_concurrency());
  std::printf("  figures: medians over rounds; vs direct: median of per-round ratios [min-max]\n");
  printDest({std::string("veth (server in its own netns at ") + kServerAddr + ", public to the gateway)", 0,
             0, true},
            w.cs, veth);
  std::vector<Contender> loNames(2);
  loNames[0].name = "direct";
  loNames[1].name = "coco gateway";
  printDest({"loopback (127.0.0.1 in the same netns; gateway with allowLocalDestinations)", 0, 0, false},
            loNames, lo);
  printTargets(w.cs, veth);
  std::printf("\n  DNS A over UDP (%d cached, %d first lookups)   median        p95\n", o.cachedQueries,
              o.firstQueries);
  double dnsMed = median(dnsCached);
  printDnsRow("stub in sandbox, cached", dnsCached,
              dnsMed < 1000 ? "median < 1 ms: met" : "median < 1 ms: MISSED");
  printDnsRow("stub in sandbox, first (upstream)", dnsFirst, "");
  printDnsRow("test upstream, direct", dnsUpstream, "(baseline)");
  return 0;
}
