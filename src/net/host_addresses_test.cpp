// The host's own IPv4 addresses: compared with getifaddrs() (the oracle), on
// this host and in a fresh network namespace given secondary, peer and many
// addresses (a dump longer than one message).
#include "net/host_addresses.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "net/netlink_builder.hpp"
#include "sys/loopback.hpp"
#include "util/unique_fd.hpp"

namespace coco::net {
namespace {

std::vector<in_addr_t> fromGetifaddrs() {
  std::vector<in_addr_t> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) < 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET)
      out.push_back(reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr);
  }
  ::freeifaddrs(list);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<in_addr_t> sorted(std::vector<in_addr_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

bool has(const std::vector<in_addr_t>& list, const char* address) {
  return std::find(list.begin(), list.end(), inet_addr(address)) != list.end();
}

TEST(HostAddresses, TheSameAsGetifaddrsOnThisHost) {
  auto got = hostIpv4Addresses();
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(sorted(*got), fromGetifaddrs());
  EXPECT_TRUE(has(*got, "127.0.0.1"));
}

// ip addr add LOCAL[/PREFIX] [peer PEER] dev lo, on `nl`; 0 or an errno.
int addAddress(int nl, int loIndex, const char* local, uint8_t prefix, const char* peer = nullptr) {
  alignas(nlmsghdr) char buf[256];
  NetlinkBuilder b(buf, sizeof buf);
  b.beginMessage(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 1);
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = prefix;
  ifa.ifa_index = static_cast<uint32_t>(loIndex);
  b.putRaw(&ifa, sizeof ifa);
  in_addr_t ours = inet_addr(local);
  b.putAttr(IFA_LOCAL, &ours, sizeof ours);
  in_addr_t address = inet_addr(peer ? peer : local);
  b.putAttr(IFA_ADDRESS, &address, sizeof address);
  b.endMessage();
  if (::send(nl, b.data(), b.size(), 0) < 0) return errno;
  alignas(nlmsghdr) char ack[1024];
  ssize_t n = ::recv(nl, ack, sizeof ack, 0);
  if (n < static_cast<ssize_t>(NLMSG_LENGTH(sizeof(nlmsgerr)))) return EPROTO;
  auto* h = reinterpret_cast<nlmsghdr*>(ack);
  if (h->nlmsg_type != NLMSG_ERROR) return EPROTO;
  return -static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
}

constexpr int kMany = 1200;  // ~80 bytes each: more than one 32 KiB message of the dump

// Exit status: 0, 77 (no user namespaces), or which check failed.
int checkInAFreshNetns() {
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) return 77;
  int lo = sys::bringLoopbackUp();
  if (lo <= 0) return 2;
  UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!nl) return 3;
  // 192.0.2.2 in the same subnet as .1 is a secondary address, without a label.
  if (addAddress(nl.get(), lo, "192.0.2.1", 24) || addAddress(nl.get(), lo, "192.0.2.2", 24)) return 4;
  if (addAddress(nl.get(), lo, "203.0.113.1", 32, "203.0.113.2")) return 5;  // a peer: not ours
  for (int i = 0; i < kMany; ++i) {
    std::string a = "198.18." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    if (addAddress(nl.get(), lo, a.c_str(), 32)) return 6;
  }
  auto got = hostIpv4Addresses();
  if (!got) return 7;
  if (sorted(*got) != fromGetifaddrs()) return 8;
  if (!has(*got, "192.0.2.2") || !has(*got, "192.0.2.1") || !has(*got, "127.0.0.1")) return 9;
  if (!has(*got, "203.0.113.1") || has(*got, "203.0.113.2")) return 10;
  if (!has(*got, "198.18.0.1") || !has(*got, "198.18.4.200")) return 11;
  return got->size() == kMany + 4u ? 0 : 12;
}

TEST(HostAddresses, SecondaryPeerAndManyAddressesInAFreshNetns) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(checkInAFreshNetns());
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "unprivileged user namespaces are off here";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace coco::net
