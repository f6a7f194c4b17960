// The sandbox side of the network: loopback, capture route, nftables redirect,
// listeners, and the socket factory init serves. Plain syscalls on stack buffers.
#include "net/sandbox_side.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "net/netlink_builder.hpp"
#include "sys/fd_passing.hpp"
#include "sys/loopback.hpp"
#include "util/trace.hpp"

namespace coco::net {

namespace {

constexpr const char* kTable = "coco";
constexpr const char* kChain = "out";
constexpr const char* kHoldTable = "coco-hold";  // holdNatHooks's

int closeKeepErrno(int fd) {
  int saved = errno;
  ::close(fd);
  return saved;
}

// Reads acks until `acks` arrived or one carries an error. Returns 0 or errno.
int readAcks(int fd, int acks) {
  alignas(nlmsghdr) char buf[4096];
  while (acks > 0) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) return errno == EAGAIN ? ETIMEDOUT : errno;
    int len = static_cast<int>(n);
    // NLMSG_OK compares the header's unsigned length with this int (linux/netlink.h);
    // gcc keeps quiet about it in a system macro, clang does not.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return EPROTO;
      const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
      if (err->error != 0) return -err->error;
      --acks;
    }
#pragma GCC diagnostic pop
  }
  return 0;
}

// Sends a prepared netlink buffer and waits for its acks. Returns 0 or errno.
int netlinkTransact(int protocol, const NetlinkBuilder& msg, int acks) {
  if (msg.overflow()) return ENOBUFS;
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) return errno;
  // A kernel that never answers must not hang the sandbox start.
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    return closeKeepErrno(fd);
  }
  int rc = readAcks(fd, acks);
  ::close(fd);
  return rc;
}

// ip route add local default dev lo table local
int addLocalDefaultRoute(int loIndex) {
  alignas(nlmsghdr) char buf[256];
  NetlinkBuilder b(buf, sizeof buf);
  b.beginMessage(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 1);
  rtmsg rt{};
  rt.rtm_family = AF_INET;
  rt.rtm_table = RT_TABLE_LOCAL;
  rt.rtm_protocol = RTPROT_BOOT;
  rt.rtm_scope = RT_SCOPE_HOST;
  rt.rtm_type = RTN_LOCAL;
  b.putRaw(&rt, sizeof rt);
  b.putU32(RTA_OIF, static_cast<uint32_t>(loIndex));
  b.endMessage();
  return netlinkTransact(NETLINK_ROUTE, b, 1);
}

void beginNft(NetlinkBuilder& b, uint16_t type, uint16_t flags, uint32_t seq, uint8_t family) {
  b.beginMessage(type, flags, seq);
  nfgenmsg g{};
  g.nfgen_family = family;
  g.version = NFNETLINK_V0;
  g.res_id = type == NFNL_MSG_BATCH_BEGIN || type == NFNL_MSG_BATCH_END ? htons(NFNL_SUBSYS_NFTABLES) : 0;
  b.putRaw(&g, sizeof g);
}

uint16_t nftType(int msg) { return static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg); }

void putExprStart(NetlinkBuilder& b, const char* name, size_t& elem, size_t& data) {
  elem = b.beginNest(NFTA_LIST_ELEM);
  b.putString(NFTA_EXPR_NAME, name);
  data = b.beginNest(NFTA_EXPR_DATA);
}

void putExprEnd(NetlinkBuilder& b, size_t elem, size_t data) {
  b.endNest(data);
  b.endNest(elem);
}

void putCmp(NetlinkBuilder& b, uint32_t op, const void* value, size_t size) {
  size_t elem, data;
  putExprStart(b, "cmp", elem, data);
  b.putBe32(NFTA_CMP_SREG, NFT_REG_1);
  b.putBe32(NFTA_CMP_OP, op);
  size_t v = b.beginNest(NFTA_CMP_DATA);
  b.putAttr(NFTA_DATA_VALUE, value, size);
  b.endNest(v);
  putExprEnd(b, elem, data);
}

// ip daddr != 127.0.0.0/8 meta l4proto tcp redirect to :port
void putRedirectRule(NetlinkBuilder& b, uint16_t port) {
  size_t exprs = b.beginNest(NFTA_RULE_EXPRESSIONS);
  size_t elem, data;
  putExprStart(b, "payload", elem, data);
  b.putBe32(NFTA_PAYLOAD_DREG, NFT_REG_1);
  b.putBe32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
  b.putBe32(NFTA_PAYLOAD_OFFSET, 16);  // the first byte of the IPv4 destination
  b.putBe32(NFTA_PAYLOAD_LEN, 1);
  putExprEnd(b, elem, data);
  const uint8_t loopbackNet = 127;
  putCmp(b, NFT_CMP_NEQ, &loopbackNet, 1);
  putExprStart(b, "meta", elem, data);
  b.putBe32(NFTA_META_DREG, NFT_REG_1);
  b.putBe32(NFTA_META_KEY, NFT_META_L4PROTO);
  putExprEnd(b, elem, data);
  const uint8_t tcp = IPPROTO_TCP;
  putCmp(b, NFT_CMP_EQ, &tcp, 1);
  putExprStart(b, "immediate", elem, data);
  b.putBe32(NFTA_IMMEDIATE_DREG, NFT_REG_1);
  size_t v = b.beginNest(NFTA_IMMEDIATE_DATA);
  uint16_t bePort = htons(port);
  b.putAttr(NFTA_DATA_VALUE, &bePort, sizeof bePort);
  b.endNest(v);
  putExprEnd(b, elem, data);
  putExprStart(b, "redir", elem, data);
  b.putBe32(NFTA_REDIR_REG_PROTO_MIN, NFT_REG_1);
  b.putBe32(NFTA_REDIR_REG_PROTO_MAX, NFT_REG_1);
  b.putBe32(NFTA_REDIR_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
  putExprEnd(b, elem, data);
  b.endNest(exprs);
}

// One nftables batch: table ip `table`, a nat chain on output and, when `port`
// is not 0, the redirect rule. Returns 0 or errno.
int addNatChain(const char* table, uint16_t port) {
  alignas(nlmsghdr) char buf[2048];
  NetlinkBuilder b(buf, sizeof buf);
  const uint16_t create = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
  beginNft(b, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 1, AF_UNSPEC);
  b.endMessage();
  beginNft(b, nftType(NFT_MSG_NEWTABLE), create, 2, NFPROTO_IPV4);
  b.putString(NFTA_TABLE_NAME, table);
  b.endMessage();
  beginNft(b, nftType(NFT_MSG_NEWCHAIN), create, 3, NFPROTO_IPV4);
  b.putString(NFTA_CHAIN_TABLE, table);
  b.putString(NFTA_CHAIN_NAME, kChain);
  size_t hook = b.beginNest(NFTA_CHAIN_HOOK);
  b.putBe32(NFTA_HOOK_HOOKNUM, NF_INET_LOCAL_OUT);
  b.putBe32(NFTA_HOOK_PRIORITY, static_cast<uint32_t>(-100));  // NF_IP_PRI_NAT_DST
  b.endNest(hook);
  b.putBe32(NFTA_CHAIN_POLICY, NF_ACCEPT);
  b.putString(NFTA_CHAIN_TYPE, "nat");
  b.endMessage();
  int acks = 2;
  if (port != 0) {
    beginNft(b, nftType(NFT_MSG_NEWRULE), create | NLM_F_APPEND, 4, NFPROTO_IPV4);
    b.putString(NFTA_RULE_TABLE, table);
    b.putString(NFTA_RULE_CHAIN, kChain);
    putRedirectRule(b, port);
    b.endMessage();
    ++acks;
  }
  beginNft(b, NFNL_MSG_BATCH_END, NLM_F_REQUEST, 5, AF_UNSPEC);
  b.endMessage();
  return netlinkTransact(NETLINK_NETFILTER, b, acks);
}

int addRedirect(uint16_t port) { return addNatChain(kTable, port); }

int bindIpv4(int fd, uint32_t addr, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(addr);
  sa.sin_port = htons(port);
  return ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
}

// A TCP listener on addr:port; port 0 picks one. Returns the fd or -errno.
int tcpListener(uint32_t addr, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bindIpv4(fd, addr, port) < 0 || ::listen(fd, SOMAXCONN) < 0) return -closeKeepErrno(fd);
  return fd;
}

int udpDnsSocket() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  // The gateway answers from the address the tool asked (IP_PKTINFO), which
  // with the local default route can be any address.
  if (::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0 ||
      bindIpv4(fd, INADDR_ANY, 53) < 0) {
    return -closeKeepErrno(fd);
  }
  return fd;
}

uint16_t localPort(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) < 0) return 0;
  return ntohs(sa.sin_port);
}

// 0 or errno, as every step here reports.
int sendWithFds(int channelFd, const void* msg, size_t size, const int* fds, size_t count) {
  return -sys::sendFds(channelFd, msg, size, fds, count);
}

int reportFailure(int channelFd, uint32_t step, int err) {
  if (channelFd < 0) return err;
  SetupMessage m;
  m.error = err;
  m.step = step;
  sendWithFds(channelFd, &m, sizeof m, nullptr, 0);
  return err;
}

// Creates the three listeners and the redirect to the relay listener.
int setupCapture(int loIndex, int (&fds)[kSetupFdCount], uint32_t& step) {
  step = kStepRoute;
  if (int rc = addLocalDefaultRoute(loIndex)) return rc;
  trace::point("net-route");
  step = kStepListeners;
  fds[kRelayListener] = tcpListener(INADDR_LOOPBACK, 0);
  if (fds[kRelayListener] < 0) return -fds[kRelayListener];
  fds[kDnsUdp] = udpDnsSocket();
  if (fds[kDnsUdp] < 0) return -fds[kDnsUdp];
  fds[kDnsTcp] = tcpListener(INADDR_ANY, 53);
  if (fds[kDnsTcp] < 0) return -fds[kDnsTcp];
  uint16_t port = localPort(fds[kRelayListener]);
  if (port == 0) return EADDRNOTAVAIL;
  trace::point("net-listeners");
  step = kStepNftables;
  int rc = addRedirect(port);
  trace::point("net-nftables");
  return rc;
}

}  // namespace

int sandboxNetSetup(const SandboxNetPlan& plan, int channelFd, uint32_t* failedStep) {
  uint32_t ignored = kStepNone;
  uint32_t& step = failedStep ? *failedStep : ignored;
  step = kStepLoopback;
  int loIndex = sys::bringLoopbackUp();
  if (loIndex < 0) return reportFailure(channelFd, kStepLoopback, -loIndex);
  trace::point("net-loopback");
  SetupMessage msg;
  if (plan.mode == NetworkMode::None) {
    // Without published ports there is no gateway and no channel.
    step = kStepSend;
    return channelFd < 0 ? 0 : sendWithFds(channelFd, &msg, sizeof msg, nullptr, 0);
  }
  step = kStepNone;
  if (channelFd < 0) return EINVAL;

  int fds[kSetupFdCount] = {-1, -1, -1};
  int rc = setupCapture(loIndex, fds, step);
  if (rc == 0) {
    msg.fdCount = kSetupFdCount;
    step = kStepSend;
    rc = sendWithFds(channelFd, &msg, sizeof msg, fds, kSetupFdCount);
  } else {
    reportFailure(channelFd, step, rc);
  }
  // The tool must never hold the listeners: only the gateway's copies stay open.
  for (int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
  return rc;
}

int makeSpareNetns(bool capture, int* fds) {
  if (::unshare(CLONE_NEWNET) != 0) return -errno;
  int count = 0;
  fds[count] = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fds[count] < 0) return -errno;
  ++count;
  int rc = 0;
  int loIndex = sys::bringLoopbackUp();
  if (loIndex < 0) rc = -loIndex;
  if (rc == 0 && capture) {
    int listeners[kSetupFdCount] = {-1, -1, -1};
    uint32_t step = kStepNone;
    rc = setupCapture(loIndex, listeners, step);
    for (int fd : listeners) {
      if (fd >= 0) fds[count++] = fd;
    }
  }
  if (rc == 0) return count;
  while (count > 0) ::close(fds[--count]);
  return -rc;
}

int holdNatHooks() {
  if (::unshare(CLONE_NEWNET) != 0) return errno;
  return addNatChain(kHoldTable, 0);
}

int sandboxServeSocketRequest(int channelFd) {
  SocketRequest req;
  ssize_t n;
  do {
    n = ::recv(channelFd, &req, sizeof req, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return EPIPE;
  if (n < 0) return errno == EAGAIN ? 0 : errno;
  if (n != sizeof req || req.magic != kSocketMagic) return EPROTO;
  SocketReply reply;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    reply.error = errno;
    return sendWithFds(channelFd, &reply, sizeof reply, nullptr, 0);
  }
  int rc = sendWithFds(channelFd, &reply, sizeof reply, &fd, 1);
  ::close(fd);
  return rc;
}

const char* setupStepName(uint32_t step) {
  switch (step) {
    case kStepLoopback: return "bringing up lo";
    case kStepRoute: return "adding the local default route";
    case kStepNftables: return "adding the nftables redirect";
    case kStepListeners: return "creating the gateway listeners";
    case kStepSend: return "sending the listeners to coco";
    default: return "network setup";
  }
}

}  // namespace coco::net
