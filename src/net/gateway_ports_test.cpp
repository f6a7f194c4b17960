// Published ports bind the address the config names, IPv6 included: the
// gateway is handed the address and port as they are, never re-parsed from text.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <iterator>

#include "net/gateway.hpp"
#include "net/host_addresses.hpp"
#include "util/unique_fd.hpp"

namespace coco::net {
namespace {

bool connects(int family, const char* address, uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (family == AF_INET6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(port);
    ::inet_pton(AF_INET6, address, &sa->sin6_addr);
    len = sizeof *sa;
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    ::inet_pton(AF_INET, address, &sa->sin_addr);
    len = sizeof *sa;
  }
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0;
}

// F6: "{}:{}" without brackets made "[::1]:8080:80" bind another address (or
// fail), and "[::]:8080:80" failed with "bad address ':::8080'".
TEST(GatewayPorts, Ipv6AddressesBindThemselves) {
  GatewayConfig config;
  config.mode = NetworkMode::None;
  config.ports = {{"::1", 0, 80}, {"::", 0, 81}, {"127.0.0.1", 0, 82}};
  auto gw = Gateway::create(config);
  ASSERT_TRUE(gw) << gw.error().describe();
  auto ports = (*gw)->publishedPorts();
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_TRUE(connects(AF_INET6, "::1", ports[0]));
  EXPECT_TRUE(connects(AF_INET6, "::1", ports[1]));
  EXPECT_TRUE(connects(AF_INET, "127.0.0.1", ports[2]));
}

TEST(GatewayPorts, AnAddressThatIsNoLiteralIsRefused) {
  GatewayConfig config;
  config.mode = NetworkMode::None;
  config.ports = {{"localhost", 0, 80}};
  EXPECT_FALSE(Gateway::create(config));
  config.ports = {{std::string("127.0.0.1\0junk", 14), 0, 80}};
  EXPECT_FALSE(Gateway::create(config));
}

// Runs `body` in a forked child that can open no descriptor (the limit is
// the whole process's); its exit status is what failed (0: nothing).
int withNoFreeDescriptor(int (*body)()) {
  pid_t pid = ::fork();
  if (pid == 0) {
    rlimit none{0, 0};
    ::_exit(::setrlimit(RLIMIT_NOFILE, &none) != 0 ? 100 : body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

// Runs `body` in a forked child whose socket(AF_NETLINK, ...) fails with EACCES (a seccomp
// filter); its exit status is what failed (0: nothing). Not a limit of no descriptors: the
// sanitizers' own checks open pipes. No architecture check: the child makes only native system
// calls, and one pinned to x86-64 let every call through elsewhere (the control below then failed).
int withoutNetlink(int (*body)()) {
  pid_t pid = ::fork();
  if (pid == 0) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {static_cast<unsigned short>(std::size(filter)), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
      ::_exit(100);
    // The filter works: listing them now fails.
    auto listed = hostIpv4Addresses();
    if (listed || listed.error().describe().find("Permission denied") == std::string::npos) ::_exit(101);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

// The policy refuses the host's own public addresses. A gateway that could not list them
// once started with an empty list, and so let a sandbox reach the host's services on them;
// then one that could not list them did not start. They are listed now at the policy's first
// decision about a public address, which refuses every one when the listing fails
// (PolicyTest.HostAddressesThatCannotBeListedRefuseEveryPublicDestination), and preparing the
// gateway opens no netlink socket for them: listed there, the dump ran beside the sandbox's
// setup on every networked start. (EngineNetwork.TheHostsOwnAddressesAreRefusedInFullMode
// attacks them.)
int fullModePreparesWithoutListingThem() {
  GatewayConfig config;
  config.mode = NetworkMode::Full;
  config.upstream = "127.0.0.1:53";
  auto gw = Gateway::create(config);
  if (!gw) return 3;
  auto prepared = (*gw)->preparePolicy();
  if (!prepared) {
    std::fprintf(stderr, "%s\n", prepared.error().describe().c_str());
    return 1;
  }
  return 0;
}

// Without a network nothing is decided: no need to list them.
int noneModeDoesNotListThem() {
  GatewayConfig config;
  config.mode = NetworkMode::None;
  return Gateway::create(config) ? 0 : 1;
}

TEST(GatewayCreate, TheHostsAddressesAreNotListedWhenTheGatewayStarts) {
  EXPECT_EQ(withoutNetlink(fullModePreparesWithoutListingThem), 0);
}

TEST(GatewayCreate, WithoutANetworkTheHostsAddressesAreNotNeeded) {
  EXPECT_EQ(withNoFreeDescriptor(noneModeDoesNotListThem), 0);
}

}  // namespace
}  // namespace coco::net
