// The network layer plugged into the real engine: engine::run() with the hooks
// of a NetworkSession, busybox and the probe in the test rootfs as the tool.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "engine/engine.hpp"
#include "net/host_addresses.hpp"
#include "net/network_session.hpp"
#include "net_test_support.hpp"
#include "util/host_port.hpp"
#include "util/temp_dir.hpp"

namespace coco::net {
namespace {

using namespace coco::net::testing;

std::string testRootfs() {
  const char* r = std::getenv("COCO_TEST_ROOTFS");
  return r ? r : "";
}

class EngineNetwork : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testRootfs().empty()) GTEST_SKIP() << "COCO_TEST_ROOTFS is not set";
    ::setenv("COCO_DNS_UPSTREAM", ("127.0.0.1:" + std::to_string(upstream.port())).c_str(), 1);
  }
  void TearDown() override { ::unsetenv("COCO_DNS_UPSTREAM"); }

  engine::RunSpec spec(NetworkMode mode, const std::string& script) {
    engine::RunSpec s;
    s.layers = {testRootfs()};
    s.env = {{"PATH", "/usr/bin:/bin:/usr/sbin:/sbin"}};
    s.argv = {"sh", "-c", script};
    s.network = mode;
    s.toolName = "nettest";
    s.hostSetup.stagingDir = staging_.path() + "/staging";  // the engine reads no XDG variable
    return s;
  }

  // Runs the spec; returns {exit status, stdout, stderr}.
  std::tuple<int, std::string, std::string> run(const engine::RunSpec& s, bool allowLocal) {
    auto session = NetworkSession::create(s, allowLocal);
    EXPECT_TRUE(session) << session.error().describe();
    if (!session) return {-1, "", ""};
    FdCapture out(STDOUT_FILENO), err(STDERR_FILENO);
    auto rc = engine::run(s, (*session)->hooks());
    std::string e = err.finish(), o = out.finish();
    EXPECT_TRUE(rc) << rc.error().describe();
    return {rc ? *rc : -1, o, e};
  }

  UpstreamDns upstream;
  EchoServer echo;
  TempDir staging_{"coco-net-staging"};
};

TEST_F(EngineNetwork, AllowlistSandbox) {
  std::string port = std::to_string(echo.port());
  auto s = spec(NetworkMode::Allowlist,
                "probe resolve " + std::string(kEchoName) + "; echo ping | nc " + kEchoName + " " + port +
                    "; echo; probe resolve denied.test; echo x | nc 192.0.2.1 " + port + "; echo literal-done");
  s.allowedHosts = {std::string(kEchoName) + ":" + port};
  auto [status, out, err] = run(s, /*allowLocal=*/true);
  EXPECT_EQ(status, 0) << err;
  EXPECT_NE(out.find("198.18."), std::string::npos) << out;
  EXPECT_NE(out.find("ping\n"), std::string::npos) << out;
  EXPECT_NE(out.find("denied resolve"), std::string::npos) << out;
  EXPECT_NE(out.find("literal-done"), std::string::npos) << out;
  EXPECT_EQ(echo.connections(), 1);
  EXPECT_FALSE(upstream.asked().count("denied.test"));
  EXPECT_NE(err.find("blocked lookup of denied.test"), std::string::npos) << err;
  EXPECT_NE(err.find("blocked connection to 192.0.2.1:" + port), std::string::npos) << err;
}

// An allowed name is no way to cloud metadata or a CGNAT address (Tailscale,
// a carrier's NAT): the gateway refuses the connection and says why, even
// with the tests' switch that opens loopback and private addresses on.
TEST_F(EngineNetwork, AllowedNamesLeadingToMetadataOrCgnatAreRefused) {
  std::string port = std::to_string(echo.port());
  std::string script;
  engine::RunSpec s = spec(NetworkMode::Allowlist, "");
  for (const auto& [name, address] : kLocalAnswers) {
    script += "echo x | nc " + std::string(name) + " " + port + "; ";
    s.allowedHosts.push_back(std::string(name) + ":" + port);
  }
  s.argv = {"sh", "-c", script + "echo done"};
  for (bool allowLocal : {true, false}) {
    auto [status, out, err] = run(s, allowLocal);
    EXPECT_EQ(status, 0) << err;
    EXPECT_NE(out.find("done"), std::string::npos) << out;
    for (const auto& [name, address] : kLocalAnswers) {
      std::string refused = "blocked connection to " + std::string(name) + ":" + port + ": it resolves to " + address;
      EXPECT_NE(err.find(refused), std::string::npos) << "allowLocal " << allowLocal << ", missing: " << refused
                                                        << "\n" << err;
    }
  }
  EXPECT_EQ(echo.connections(), 0);
}

// The gateway starts while init sets the sandbox up. A failure after init sent
// its listeners (the tool not found, a working directory that is a file) is still
// init's own error, with its exit code, and the gateway stops with the run.
TEST_F(EngineNetwork, SetupFailureAfterTheGatewayStartedIsInitsError) {
  auto s = spec(NetworkMode::Allowlist, "");
  s.argv = {"no-such-command-coco"};
  auto session = NetworkSession::create(s, true);
  ASSERT_TRUE(session) << session.error().describe();
  auto rc = engine::run(s, (*session)->hooks());
  ASSERT_FALSE(rc);
  EXPECT_EQ(rc.error().exitCode(), 127) << rc.error().describe();
  EXPECT_NE(rc.error().describe().find("no-such-command-coco"), std::string::npos) << rc.error().describe();
  EXPECT_EQ(rc.error().describe().find("gateway"), std::string::npos) << rc.error().describe();

  s = spec(NetworkMode::Full, "echo should-not-run");
  s.workdir = "/usr/bin/probe";  // a file: chdir fails
  session = NetworkSession::create(s, true);
  ASSERT_TRUE(session) << session.error().describe();
  FdCapture out(STDOUT_FILENO);
  rc = engine::run(s, (*session)->hooks());
  EXPECT_EQ(out.finish().find("should-not-run"), std::string::npos);
  ASSERT_FALSE(rc);
  EXPECT_NE(rc.error().describe().find("/usr/bin/probe"), std::string::npos) << rc.error().describe();
  EXPECT_EQ(rc.error().describe().find("gateway"), std::string::npos) << rc.error().describe();
}

// Init failing before it sends its listeners (here sethostname, refusing a
// name longer than the kernel's 64 bytes) closes the channel under the
// starting gateway: the error is still init's.
TEST_F(EngineNetwork, SetupFailureBeforeTheListenersIsInitsError) {
  auto s = spec(NetworkMode::Allowlist, "echo should-not-run");
  s.hostname = std::string(80, 'h');
  auto session = NetworkSession::create(s, true);
  ASSERT_TRUE(session) << session.error().describe();
  FdCapture out(STDOUT_FILENO);
  auto rc = engine::run(s, (*session)->hooks());
  EXPECT_EQ(out.finish().find("should-not-run"), std::string::npos);
  ASSERT_FALSE(rc);
  EXPECT_NE(rc.error().describe().find("sethostname"), std::string::npos) << rc.error().describe();
}

// The gateway picks its upstream resolver (and lists the host's addresses)
// when it starts, after the clone, while init sets the sandbox up. When it
// cannot, the run is refused there: the gateway's error, the sandbox killed
// before the tool ran, nothing left running.
TEST_F(EngineNetwork, AGatewayThatCannotStartRefusesTheRunBeforeTheTool) {
  ::setenv("COCO_DNS_UPSTREAM", "not-an-address", 1);
  TempDir marker{"coco-net-marker"};
  auto s = spec(NetworkMode::Allowlist, "touch /w/ran; echo should-not-run");
  s.mounts.push_back(engine::BindMount{marker.path(), "/w", false});
  auto session = NetworkSession::create(s, true);
  ASSERT_TRUE(session) << session.error().describe();
  FdCapture out(STDOUT_FILENO);
  auto rc = engine::run(s, (*session)->hooks());
  EXPECT_EQ(out.finish().find("should-not-run"), std::string::npos);
  ASSERT_FALSE(rc);
  EXPECT_NE(rc.error().describe().find("starting the network gateway"), std::string::npos) << rc.error().describe();
  EXPECT_NE(rc.error().describe().find("COCO_DNS_UPSTREAM"), std::string::npos) << rc.error().describe();
  EXPECT_FALSE(std::ifstream(marker.path() + "/ran").good()) << "the tool ran";
}

// A service on the host that listens on every address (0.0.0.0) is not the sandbox's to reach
// through the host's own addresses, in full mode too: each one is refused, with its reason (a
// public one as the host's own, which the gateway lists at its first decision, not at start).
TEST_F(EngineNetwork, TheHostsOwnAddressesAreRefusedInFullMode) {
  auto listed = hostIpv4Addresses();
  ASSERT_TRUE(listed) << listed.error().describe();
  // 127/8 in the sandbox is its own loopback, never the gateway's to relay
  // (GatewayIntegration.FullModeKeepsHostLoopbackUnreachable).
  std::vector<in_addr_t> own;
  for (in_addr_t a : *listed)
    if (classifyAddress(a) != AddressKind::Loopback) own.push_back(a);
  if (own.empty()) GTEST_SKIP() << "the host has no address of its own but loopback";
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
  ASSERT_EQ(::listen(listener.get(), 16), 0);
  std::string port = std::to_string(boundPort(listener.get()));
  std::string script;
  // The listener never accepts: a connection that got through waits for it, and `timeout` ends it.
  for (in_addr_t a : own) script += "echo x | timeout 3 nc -w 2 " + formatAddress(a) + " " + port + "; ";
  auto s = spec(NetworkMode::Full, script + "echo done");
  auto [status, out, err] = run(s, /*allowLocal=*/false);
  EXPECT_EQ(status, 0) << err;
  EXPECT_NE(out.find("done"), std::string::npos) << out;
  for (in_addr_t a : own) {
    AddressKind kind = classifyAddress(a);
    std::string reason = kind == AddressKind::Public ? "host's own" : addressKindName(kind);
    std::string refused =
        "blocked connection to " + formatAddress(a) + ":" + port + " (a " + reason + " address";
    EXPECT_NE(err.find(refused), std::string::npos) << "missing: " << refused << "\n" << err;
  }
  UniqueFd reached(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_FALSE(reached) << "a connection from the sandbox reached the host's listener";
  std::printf("the host's own addresses attacked: %zu, of them public: %zu\n", own.size(),
              static_cast<size_t>(std::count_if(own.begin(), own.end(), [](in_addr_t a) {
                return classifyAddress(a) == AddressKind::Public;
              })));
}

TEST_F(EngineNetwork, PublishedPortIntoNoneSandbox) {
  auto s = spec(NetworkMode::None, "timeout 10 nc -l -p 8080 -e cat");
  s.ports = {{"127.0.0.1", 0, 8080}};
  auto session = NetworkSession::create(s);
  ASSERT_TRUE(session) << session.error().describe();
  uint16_t hostPort = (*session)->publishedPorts().at(0);
  std::string echoed;
  std::thread client([&] {
    for (int i = 0; i < 40 && echoed.empty(); ++i) {
      ::usleep(100 * 1000);
      UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      setTimeouts(fd.get(), 3);
      sockaddr_in sa = loopback(hostPort);
      if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) continue;
      ::send(fd.get(), "hello", 5, MSG_NOSIGNAL);
      ::shutdown(fd.get(), SHUT_WR);
      char buf[64];
      ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n > 0) echoed.assign(buf, static_cast<size_t>(n));
    }
  });
  auto rc = engine::run(s, (*session)->hooks());
  client.join();
  ASSERT_TRUE(rc) << rc.error().describe();
  EXPECT_EQ(echoed, "hello");
}

}  // namespace
}  // namespace coco::net
