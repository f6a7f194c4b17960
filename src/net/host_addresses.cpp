#include "net/host_addresses.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "util/unique_fd.hpp"

namespace coco::net {

namespace {

constexpr uint32_t kSeq = 1;
// The kernel sizes a dump's messages to the reader's buffer, up to 32 KiB
// (netlink_recvmsg): with this one a message never comes truncated.
constexpr size_t kBufferSize = 32768;
// A dump the kernel marks inconsistent (addresses changed meanwhile) is
// taken again, this many times at most.
constexpr int kAttempts = 3;

enum class Dump { Complete, Interrupted };

// The address an interface address entry stands for, as getifaddrs() takes
// it: IFA_LOCAL, else IFA_ADDRESS (the two differ on point-to-point links,
// where IFA_ADDRESS is the peer's).
bool entryAddress(const nlmsghdr* h, in_addr_t& out) {
  const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
  if (ifa->ifa_family != AF_INET) return false;
  int len = static_cast<int>(IFA_PAYLOAD(h));
  bool haveAddress = false, haveLocal = false;
  in_addr_t address = 0, local = 0;
  for (auto* a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (RTA_PAYLOAD(a) != sizeof(in_addr_t)) continue;
    if (a->rta_type == IFA_LOCAL) {
      std::memcpy(&local, RTA_DATA(a), sizeof local);
      haveLocal = true;
    } else if (a->rta_type == IFA_ADDRESS) {
      std::memcpy(&address, RTA_DATA(a), sizeof address);
      haveAddress = true;
    }
  }
  if (!haveLocal && !haveAddress) return false;
  out = haveLocal ? local : address;
  return true;
}

Result<Dump> dumpOnce(std::vector<in_addr_t>& out) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return Error::fromErrno("netlink socket");
  struct {
    nlmsghdr h;
    ifaddrmsg m;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = RTM_GETADDR;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = kSeq;
  req.m.ifa_family = AF_INET;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd.get(), &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return Error::fromErrno("sending RTM_GETADDR");
  alignas(nlmsghdr) char buf[kBufferSize];
  bool interrupted = false;
  for (;;) {
    sockaddr_nl from{};
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = ::recvmsg(fd.get(), &msg, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::fromErrno("reading the RTM_GETADDR dump");
    if (msg.msg_flags & MSG_TRUNC) return Error::make("the RTM_GETADDR dump came truncated");
    if (n == 0) return Error::make("the RTM_GETADDR dump ended early");
    if (from.nl_pid != 0) continue;  // only the kernel answers
    int len = static_cast<int>(n);
    // NLMSG_OK compares the header's unsigned length with this int (see sandbox_side.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != kSeq) continue;
      if (h->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
      if (h->nlmsg_type == NLMSG_DONE) return interrupted ? Dump::Interrupted : Dump::Complete;
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return Error::make("a short netlink error");
        int err = -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
        return Error::withErrno(err, "RTM_GETADDR");
      }
      if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) continue;
      in_addr_t address;
      if (entryAddress(h, address)) out.push_back(address);
    }
#pragma GCC diagnostic pop
  }
}

}  // namespace

Result<std::vector<in_addr_t>> hostIpv4Addresses() {
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::vector<in_addr_t> out;
    auto dump = dumpOnce(out);
    if (!dump) return std::move(dump).error().wrap("listing the host's own addresses");
    if (*dump == Dump::Complete) return out;
  }
  return Error::make("listing the host's own addresses: they kept changing during {} listings", kAttempts);
}

}  // namespace coco::net
