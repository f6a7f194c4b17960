// Network benchmark (not a test): throughput, connection rate and DNS latency, gateway vs direct.
//
// The parent process runs the servers (a byte sink, a one-byte ping server and
// a tiny upstream DNS server, all on 127.0.0.1) and the Gateway. A child
// unshares a user and network namespace, runs sandboxNetSetup() and then acts
// as the tool: it runs the client side of each measurement on command, so the
// direct and gateway rounds can be interleaved (drift in load hits both alike).
// Every loop is bounded; traffic stays on 127.0.0.1 or inside the child's netns.
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/dns_message.hpp"
#include "net/gateway.hpp"
#include "net/sandbox_side.hpp"
#include "util/unique_fd.hpp"

namespace {

using namespace coco;
using namespace coco::net;
using Clock = std::chrono::steady_clock;

constexpr size_t kChunk = 256 * 1024;
constexpr const char* kBulkName = "bulk.allowed.test";
constexpr const char* kPingName = "ping.allowed.test";
constexpr const char* kDnsDomain = "dns.allowed.test";

struct Options {
  uint64_t bulkMiB = 1024;
  int connections = 2000;
  int rounds = 3;
  int cachedQueries = 2000;
  int firstQueries = 200;
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

// A socket of `type` bound to 127.0.0.1 on a free port.
UniqueFd bindLoopback(int type, uint16_t* port) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  sockaddr_in sa = ipv4(loopbackAddr(), 0);
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) die("bind 127.0.0.1");
  if (type == SOCK_STREAM && ::listen(fd.get(), 128) < 0) die("listen");
  socklen_t len = sizeof sa;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  *port = ntohs(sa.sin_port);
  return fd;
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

// ---- Servers on the host's loopback (parent process). ----

// Accepts connections one at a time on a bound listener and hands each to
// `serve`; polls with a timeout so stop() is prompt.
class LoopbackServer {
 public:
  LoopbackServer(UniqueFd listener, std::function<void(int)> serve)
      : fd_(std::move(listener)), serve_(std::move(serve)) {}
  ~LoopbackServer() { stop(); }
  void start() {
    thread_ = std::thread([this] { loop(); });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
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

// Bulk sink: reads to EOF, then answers the byte count, so the client's clock
// stops only once every byte crossed the relay.
void serveSink(int fd) {
  std::vector<char> buf(kChunk);
  uint64_t total = 0;
  ssize_t n;
  while ((n = ::recv(fd, buf.data(), buf.size(), 0)) > 0) total += static_cast<uint64_t>(n);
  writeAll(fd, &total, sizeof total);
}

// Ping: one byte in, one byte out, so a connection counts only once the
// gateway really reached the server (the sandbox's connect() completes against
// the local relay listener before the gateway has connected upstream).
void servePing(int fd) {
  char b;
  if (readExact(fd, &b, 1)) writeAll(fd, &b, 1);
}

// The upstream DNS server the gateway asks: every name is 127.0.0.1.
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
    auto reply = dns::buildResponse(*q, dns::Rcode::NoError, {loopbackAddr()}, 300);
    ::sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
  }
}

// ---- Client measurements: the same code runs direct (parent) and in the sandbox (child). ----

// Seconds to push `bytes` through a connection and hear the sink confirm them; < 0 on failure.
double bulkSeconds(in_addr_t addr, uint16_t port, uint64_t bytes) {
  std::vector<char> buf(kChunk, 'x');
  auto t0 = Clock::now();
  UniqueFd fd = connectTo(addr, port);
  if (!fd) return -1;
  for (uint64_t left = bytes; left > 0;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
    if (!writeAll(fd.get(), buf.data(), n)) return -1;
    left -= n;
  }
  ::shutdown(fd.get(), SHUT_WR);
  uint64_t confirmed = 0;
  if (!readExact(fd.get(), &confirmed, sizeof confirmed) || confirmed != bytes) return -1;
  return secondsSince(t0);
}

// Seconds for `count` sequential connect / 1 byte each way / close; < 0 on failure.
double connectionSeconds(in_addr_t addr, uint16_t port, int count) {
  auto t0 = Clock::now();
  for (int i = 0; i < count; ++i) {
    UniqueFd fd = connectTo(addr, port);
    char b = 'p';
    if (!fd || !writeAll(fd.get(), &b, 1) || !readExact(fd.get(), &b, 1)) return -1;
  }
  return secondsSince(t0);
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

// ---- The sandbox child: namespaces, setup, then a command loop. ----

bool writeFile(const char* path, const std::string& text) {
  UniqueFd fd(::open(path, O_WRONLY | O_CLOEXEC));
  return fd && ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

// unshare with a single id mapping, as the engine's no-subuid mode does.
bool enterNamespaces() {
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) return false;
  return writeFile("/proc/self/setgroups", "deny") &&
         writeFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") &&
         writeFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
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

std::string joinSamples(const std::vector<double>& v) {
  std::ostringstream out;
  for (double x : v) out << x << ' ';
  return out.str();
}

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
  if (cmd == "bulk" && in >> addr >> port >> n) return std::to_string(bulkSeconds(addr, port, n));
  if (cmd == "conns" && in >> addr >> port >> n)
    return std::to_string(connectionSeconds(addr, port, static_cast<int>(n)));
  int first = 0;
  if (cmd == "dns" && in >> n >> first)
    return joinSamples(dnsSamples(inet_addr("127.0.0.53"), 53, static_cast<int>(n), first));
  return "?";
}

[[noreturn]] void sandboxChild(int channel, int control) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (!enterNamespaces()) {
    std::fprintf(stderr, "network_bench: user+net namespaces: %s\n", std::strerror(errno));
    std::_Exit(2);
  }
  SandboxNetPlan plan;
  plan.mode = NetworkMode::Allowlist;
  int rc = sandboxNetSetup(plan, channel);
  ::close(channel);
  if (rc != 0) std::_Exit(2);
  for (std::string line; !(line = readLine(control)).empty() && line != "quit";)
    writeLine(control, runCommand(line));
  std::_Exit(0);
}

// ---- Parent: drive rounds, print the table. ----

struct Sandbox {
  pid_t pid = -1;
  UniqueFd control;
  std::string ask(const std::string& cmd) {
    writeLine(control.get(), cmd);
    std::string reply = readLine(control.get());
    if (reply.empty() && cmd != "quit") die("the sandbox child died during: " + cmd);
    return reply;
  }
};

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

std::vector<double> parseSamples(const std::string& text) {
  std::istringstream in(text);
  std::vector<double> v;
  for (double x; in >> x;) v.push_back(x);
  return v;
}

bool onPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

struct Ports {
  uint16_t sink = 0, ping = 0, dns = 0;
};

struct Figures {
  std::vector<double> directMBs, gatewayMBs, directRate, gatewayRate;
  std::vector<double> dnsCached, dnsFirst, dnsUpstream;
};

double checked(double seconds, const char* what) {
  if (seconds <= 0) die(std::string(what) + " failed");
  return seconds;
}

// Interleaved rounds: direct then gateway, for bulk and for connections.
void measureTcp(Sandbox& sb, const Ports& ports, const Options& o, Figures& f) {
  uint64_t bytes = o.bulkMiB << 20;
  in_addr_t bulkAddr = static_cast<in_addr_t>(std::stoul(sb.ask(std::string("resolve ") + kBulkName)));
  in_addr_t pingAddr = static_cast<in_addr_t>(std::stoul(sb.ask(std::string("resolve ") + kPingName)));
  auto mbs = [&](double s) { return static_cast<double>(bytes) / checked(s, "bulk transfer") / 1e6; };
  auto rate = [&](double s) { return o.connections / checked(s, "connection loop"); };
  for (int r = 0; r < o.rounds; ++r) {
    f.directMBs.push_back(mbs(bulkSeconds(loopbackAddr(), ports.sink, bytes)));
    f.gatewayMBs.push_back(mbs(std::stod(sb.ask("bulk " + std::to_string(bulkAddr) + " " +
                                                std::to_string(ports.sink) + " " + std::to_string(bytes)))));
    f.directRate.push_back(rate(connectionSeconds(loopbackAddr(), ports.ping, o.connections)));
    f.gatewayRate.push_back(
        rate(std::stod(sb.ask("conns " + std::to_string(pingAddr) + " " + std::to_string(ports.ping) + " " +
                              std::to_string(o.connections)))));
  }
}

void measureDns(Sandbox& sb, const Ports& ports, const Options& o, Figures& f) {
  f.dnsCached = parseSamples(sb.ask("dns " + std::to_string(o.cachedQueries) + " 0"));
  f.dnsFirst = parseSamples(sb.ask("dns " + std::to_string(o.firstQueries) + " 1"));
  f.dnsUpstream = dnsSamples(loopbackAddr(), ports.dns, o.cachedQueries, false);
  if (f.dnsCached.empty() || f.dnsFirst.empty() || f.dnsUpstream.empty()) die("DNS queries failed");
}

void printDnsRow(const char* label, const std::vector<double>& v, const char* target) {
  std::printf("  %-34s %9.1f us %9.1f us  %s\n", label, median(v), percentile(v, 0.95), target);
}

void printTable(const Options& o, const Figures& f) {
  double dT = median(f.directMBs), gT = median(f.gatewayMBs), dR = median(f.directRate),
         gR = median(f.gatewayRate);
  double tp = 100 * gT / dT, cr = 100 * gR / dR, dnsMed = median(f.dnsCached);
  std::printf(
      "coco network benchmark: medians of %d interleaved rounds (%llu MiB bulk, %d connections each)\n\n",
      o.rounds, static_cast<unsigned long long>(o.bulkMiB), o.connections);
  std::printf("  %-22s %12s %12s %10s  %s\n", "", "direct", "gateway", "gw/direct", "target");
  std::printf("  %-22s %7.0f MB/s %7.0f MB/s %9.1f %%  >= 80 %%: %s\n", "bulk TCP throughput", dT, gT, tp,
              tp >= 80 ? "met" : "MISSED");
  std::printf("  %-22s %8.0f /s %10.0f /s %9.1f %%\n", "connection rate", dR, gR, cr);
  std::printf("\n  DNS A over UDP (%d cached, %d first lookups)   median        p95\n", o.cachedQueries,
              o.firstQueries);
  printDnsRow("stub in sandbox, cached", f.dnsCached,
              dnsMed < 1000 ? "median < 1 ms: met" : "median < 1 ms: MISSED");
  printDnsRow("stub in sandbox, first (upstream)", f.dnsFirst, "");
  printDnsRow("test upstream, direct from host", f.dnsUpstream, "(baseline)");
  std::printf("\n");
  for (const char* other : {"pasta", "slirp4netns"}) {
    std::printf("  %-22s %s\n", other,
                onPath(other) ? "installed, comparison not implemented yet" : "not installed");
  }
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
    else
      die("usage: network_bench [--mib N] [--connections N] [--rounds N] [--queries N] [--first N]");
  }
  if (o.bulkMiB < 1 || o.connections < 1 || o.rounds < 1 || o.cachedQueries < 1 || o.firstQueries < 1)
    die("counts must be >= 1");
  return o;
}

GatewayConfig gatewayConfig(const Ports& ports) {
  GatewayConfig c;
  c.mode = NetworkMode::Allowlist;
  c.toolName = "network-bench";
  c.allowedHosts = {std::string(kBulkName) + ":" + std::to_string(ports.sink),
                    std::string(kPingName) + ":" + std::to_string(ports.ping), kDnsDomain};
  c.upstream = "127.0.0.1:" + std::to_string(ports.dns);
  c.allowLocalDestinations = true;  // the servers are on the host's loopback; benchmarks only
  return c;
}

// Forks before any thread exists, so the child's allocations are safe.
Sandbox forkSandbox(UniqueFd* gatewayChannel) {
  int sv[2], ctl[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair");
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0) die("socketpair");
  pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    ::close(sv[0]);
    ::close(ctl[0]);
    sandboxChild(sv[1], ctl[1]);
  }
  ::close(sv[1]);
  ::close(ctl[1]);
  gatewayChannel->reset(sv[0]);
  return Sandbox{pid, UniqueFd(ctl[0])};
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parseOptions(argc, argv);
  Ports ports;
  UniqueFd sinkFd = bindLoopback(SOCK_STREAM, &ports.sink);
  UniqueFd pingFd = bindLoopback(SOCK_STREAM, &ports.ping);
  UniqueFd dnsFd = bindLoopback(SOCK_DGRAM, &ports.dns);
  UniqueFd channel;
  Sandbox sb = forkSandbox(&channel);

  LoopbackServer sink(std::move(sinkFd), serveSink), ping(std::move(pingFd), servePing);
  sink.start();
  ping.start();
  std::atomic<bool> dnsStop{false};
  std::thread dns([&] { serveUpstreamDns(dnsFd.get(), dnsStop); });
  auto gw = Gateway::create(gatewayConfig(ports));
  if (!gw) die("gateway: " + gw.error().describe());
  if (auto started = (*gw)->start(std::move(channel)); !started)
    die("gateway start: " + started.error().describe());

  Figures f;
  measureTcp(sb, ports, o, f);
  measureDns(sb, ports, o, f);
  sb.ask("quit");
  ::waitpid(sb.pid, nullptr, 0);
  (*gw)->stop();
  dnsStop = true;
  dns.join();
  printTable(o, f);
  return 0;
}
