// Tests for the sandbox half's failure reporting (a failed step is named to the caller), and
// for the spares the user-namespace holder makes and the checks coco puts them through.
#include "net/sandbox_side.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "net/gateway.hpp"

namespace coco::net {
namespace {

// In a new user namespace without a network namespace of its own, the process
// holds no CAP_NET_ADMIN over the host's netns, so the first step (bringing up
// lo) fails with EPERM; the caller learns that step, as the engine's
// ChildReport then names it ("setting up the sandbox network: bringing up lo").
TEST(SandboxNetSetup, AFailedStepIsNamedToTheCaller) {
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipefd[0]);
    int result[2] = {-1, -1};
    if (::unshare(CLONE_NEWUSER) == 0) {
      uint32_t step = kStepNone;
      SandboxNetPlan plan;
      plan.mode = NetworkMode::Allowlist;
      result[0] = sandboxNetSetup(plan, -1, &step);
      result[1] = static_cast<int>(step);
    }
    (void)!::write(pipefd[1], result, sizeof result);
    ::_exit(0);
  }
  ::close(pipefd[1]);
  int result[2] = {-1, -1};
  ASSERT_EQ(::read(pipefd[0], result, sizeof result), static_cast<ssize_t>(sizeof result));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_NE(result[0], -1) << "unshare(CLONE_NEWUSER) failed: this kernel gives no user namespaces";
  EXPECT_EQ(result[0], EPERM) << std::strerror(result[0]);
  EXPECT_EQ(result[1], static_cast<int>(kStepLoopback));
  EXPECT_STREQ(setupStepName(static_cast<uint32_t>(result[1])), "bringing up lo");
}

// Runs `body` in a child in a user namespace of its own (the test's user mapped to root), and
// returns what it wrote to the pipe it is given.
std::string inOwnUserns(void (*body)(int out)) {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipefd[0]);
    uid_t uid = ::getuid();
    gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER) != 0) _exit(1);
    auto write = [](const char* path, const std::string& text) {
      int fd = ::open(path, O_WRONLY | O_CLOEXEC);
      bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
      if (fd >= 0) ::close(fd);
      return ok;
    };
    write("/proc/self/setgroups", "deny");
    if (!write("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
        !write("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"))
      _exit(1);
    body(pipefd[1]);
    _exit(0);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  ::waitpid(pid, nullptr, 0);
  return out;
}

void say(int out, const std::string& line) { (void)!::write(out, (line + "\n").data(), line.size() + 1); }

std::string verdict(Result<SandboxEndpoints> r) {
  if (!r) return r.error().describe();
  return r->relayListener ? "ok, three listeners" : "ok, none";
}

int udpOn(uint32_t addr, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(addr);
  sa.sin_port = htons(port);
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A spare as the holder makes it passes; each way a listener can be wrong is refused, naming it.
void spareChecks(int out) {
  int lo[kMaxSpareNetnsFds];
  int n = makeSpareNetns(false, lo);
  say(out, "lo only: " + std::to_string(n));
  if (n == 1) say(out, "lo only, checked: " + verdict(checkSpareEndpoints(lo[0], {})));
  int fds[kMaxSpareNetnsFds];
  n = makeSpareNetns(true, fds);
  say(out, "capture: " + std::to_string(n));
  if (n != kMaxSpareNetnsFds) return;
  int netns = fds[0];
  auto listeners = [&](int relay, int udp, int tcp) {
    std::vector<UniqueFd> v;
    v.emplace_back(::fcntl(relay, F_DUPFD_CLOEXEC, 0));
    v.emplace_back(::fcntl(udp, F_DUPFD_CLOEXEC, 0));
    v.emplace_back(::fcntl(tcp, F_DUPFD_CLOEXEC, 0));
    return v;
  };
  say(out, "as made: " + verdict(checkSpareEndpoints(netns, listeners(fds[1], fds[2], fds[3]))));
  std::vector<UniqueFd> two = listeners(fds[1], fds[2], fds[3]);
  two.pop_back();
  say(out, "two: " + verdict(checkSpareEndpoints(netns, std::move(two))));
  say(out,
      "relay swapped with DNS: " + verdict(checkSpareEndpoints(netns, listeners(fds[3], fds[2], fds[1]))));
  int wrongPort = udpOn(INADDR_ANY, 5353);
  say(out, "DNS on 5353: " + verdict(checkSpareEndpoints(netns, listeners(fds[1], wrongPort, fds[3]))));
  // The right kind and address, in another namespace: the one makeSpareNetns left this process in
  // is the spare's, so a further one is made for it.
  int other[kMaxSpareNetnsFds];
  if (makeSpareNetns(true, other) != kMaxSpareNetnsFds) return;
  say(out, "DNS of another namespace: " +
               verdict(checkSpareEndpoints(netns, listeners(fds[1], other[2], fds[3]))));
  say(out, "DNS TCP of another namespace: " +
               verdict(checkSpareEndpoints(netns, listeners(fds[1], fds[2], other[3]))));
  say(out, "relay of another namespace: " +
               verdict(checkSpareEndpoints(netns, listeners(other[1], fds[2], fds[3]))));
}

TEST(SpareNetns, TheHoldersSparesPassAndEveryWrongListenerIsRefused) {
  std::string out = inOwnUserns(spareChecks);
  ASSERT_FALSE(out.empty()) << "no user namespace here";
  EXPECT_NE(out.find("lo only: 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lo only, checked: ok, none\n"), std::string::npos) << out;
  EXPECT_NE(out.find("capture: 4\n"), std::string::npos) << out;
  EXPECT_NE(out.find("as made: ok, three listeners\n"), std::string::npos) << out;
  EXPECT_NE(out.find("two: a spare comes with 2 listeners, not 3\n"), std::string::npos) << out;
  EXPECT_NE(
      out.find(
          "relay swapped with DNS: the spare's relay listener is not the socket the sandbox side makes\n"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("DNS on 5353: the spare's DNS socket is not the socket the sandbox side makes\n"),
            std::string::npos)
      << out;
  EXPECT_NE(
      out.find("DNS of another namespace: the spare's DNS socket is a socket of another network namespace\n"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("DNS TCP of another namespace: the spare's DNS listener is a socket of another network "
                     "namespace\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("relay of another namespace: the spare's relay listener is a socket of another network "
                     "namespace\n"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace coco::net
