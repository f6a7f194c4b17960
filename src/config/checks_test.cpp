#include "config/checks.hpp"

#include <gtest/gtest.h>

#include <array>

namespace coco::config {
namespace {

TEST(Checks, EnvNames) {
  EXPECT_TRUE(isValidEnvName("TERM"));
  EXPECT_TRUE(isValidEnvName("_x1"));
  EXPECT_TRUE(isValidEnvName("NODE_ENV"));
  EXPECT_FALSE(isValidEnvName(""));
  EXPECT_FALSE(isValidEnvName("1ABC"));
  EXPECT_FALSE(isValidEnvName("A-B"));
  EXPECT_FALSE(isValidEnvName("A=B"));
  EXPECT_FALSE(isValidEnvName("A B"));
}

TEST(Checks, MountOptions) {
  EXPECT_TRUE(parseMountOptions("ro")->readOnly);
  EXPECT_FALSE(parseMountOptions("rw")->readOnly);
  EXPECT_TRUE(parseMountOptions("ro,ro")->readOnly);
  EXPECT_EQ(parseMountOptions("ro,rw").error().message(), "mount options 'ro,rw' ask for both ro and rw");
  EXPECT_EQ(parseMountOptions("ro,noexec").error().message(),
            "unknown mount option 'noexec' (coco knows ro, rw, z, Z and U)");
  EXPECT_EQ(parseMountOptions("").error().message(), "empty mount option in ''");
  EXPECT_EQ(parseMountOptions("ro,").error().message(), "empty mount option in 'ro,'");
}

// podman's SELinux relabel options: accepted, remembered for podman and docker.
TEST(Checks, MountOptionsRelabel) {
  auto z = parseMountOptions("z");
  ASSERT_TRUE(z.ok());
  EXPECT_FALSE(z->readOnly);
  EXPECT_EQ(z->relabel, "z");
  auto roZ = parseMountOptions("ro,Z");
  ASSERT_TRUE(roZ.ok());
  EXPECT_TRUE(roZ->readOnly);
  EXPECT_EQ(roZ->relabel, "Z");
  EXPECT_EQ(parseMountOptions("Z,Z")->relabel, "Z");
  EXPECT_EQ(parseMountOptions("rw")->relabel, "");
  EXPECT_EQ(parseMountOptions("z,Z").error().message(), "mount options 'z,Z' ask for both z and Z");
  EXPECT_EQ(parseMountOptions("zz").error().message(),
            "unknown mount option 'zz' (coco knows ro, rw, z, Z and U)");
  // podman's U (chown to the container's user): kept with z/Z for podman, ignored natively.
  EXPECT_EQ(parseMountOptions("U")->relabel, "U");
  EXPECT_EQ(parseMountOptions("U,z")->relabel, "z,U");
  EXPECT_EQ(parseMountOptions("ro,Z,U")->relabel, "Z,U");
  EXPECT_TRUE(parseMountOptions("ro,Z,U")->readOnly);
  EXPECT_EQ(parseMountOptions("U,U")->relabel, "U");
  EXPECT_EQ(parseMountOptions("u").error().message(), "unknown mount option 'u' (coco knows ro, rw, z, Z and U)");
}

TEST(Checks, AbsolutePaths) {
  EXPECT_TRUE(checkAbsolutePath("/workspace").ok());
  EXPECT_TRUE(checkAbsolutePath("/").ok());
  EXPECT_TRUE(checkAbsolutePath("/root/.config/claude").ok());
  EXPECT_EQ(checkAbsolutePath("relative").error().message(), "'relative' is not an absolute path");
  EXPECT_EQ(checkAbsolutePath("").error().message(), "'' is not an absolute path");
  EXPECT_EQ(checkAbsolutePath("/a/../b").error().message(), "'/a/../b' is not normalised (write '/b')");
  EXPECT_EQ(checkAbsolutePath("/a/").error().message(), "'/a/' is not normalised (write '/a')");
  EXPECT_EQ(checkAbsolutePath("/a//b").error().message(), "'/a//b' is not normalised (write '/a/b')");
  EXPECT_EQ(checkAbsolutePath("/a/./b").error().message(), "'/a/./b' is not normalised (write '/a/b')");
}

// One grammar with the gateway (util/host_port.hpp): entries come back in the
// spelling the gateway reads, and what the gateway would refuse is refused here.
TEST(Checks, Hosts) {
  EXPECT_EQ(*normalizeHost("API.Anthropic.com"), "api.anthropic.com");
  EXPECT_EQ(*normalizeHost("example.org:8443"), "example.org:8443");
  EXPECT_EQ(*normalizeHost("*.example.org"), "*.example.org");
  EXPECT_EQ(*normalizeHost("localhost"), "localhost");
  EXPECT_EQ(*normalizeHost("Example.org."), "example.org");
  EXPECT_EQ(*normalizeHost("a_b.c"), "a_b.c");
  EXPECT_EQ(*normalizeHost("192.0.2.7:8080"), "192.0.2.7:8080");
  EXPECT_EQ(*normalizeHost("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(normalizeHost("::1").error().message(),
            "allowed host '::1': IPv6 addresses cannot be allowed (the sandbox has no IPv6 route)");
  EXPECT_EQ(normalizeHost("[::1]:443").error().message(),
            "allowed host '[::1]:443': IPv6 addresses cannot be allowed (the sandbox has no IPv6 route)");
  EXPECT_EQ(normalizeHost("a..b").error().message(), "allowed host 'a..b': 'a..b' is not a host name");
  EXPECT_EQ(normalizeHost("-a.b").error().message(), "allowed host '-a.b': '-a.b' is not a host name");
  EXPECT_EQ(normalizeHost("").error().message(), "allowed host '': '' is not a host name");
  EXPECT_EQ(normalizeHost("a.b:0").error().message(),
            "allowed host 'a.b:0': bad port '0': ports are numbers from 1 to 65535");
  EXPECT_EQ(normalizeHost("a.*.b").error().message(), "allowed host 'a.*.b': 'a.*.b' is not a host name");
  EXPECT_EQ(normalizeHost("https://a.b").error().message(),
            "allowed host 'https://a.b': bad port '//a.b': ports are numbers from 1 to 65535");
}

// F5: the gateway failed every run of a config that had passed validation.
TEST(Checks, HostsTheGatewayRefusesAreRefused) {
  for (const char* bad : {"[example.com]:443", "[example.com]", "127.1", "1.2.3", "*.10.0.0.1"})
    EXPECT_FALSE(normalizeHost(bad)) << bad;
}

TEST(Checks, PackageWords) {
  EXPECT_TRUE(checkPackageWord("npm:@anthropic-ai/claude-code").ok());
  EXPECT_TRUE(checkPackageWord("node@lts").ok());
  EXPECT_TRUE(checkPackageWord("libssl-dev").ok());
  EXPECT_EQ(checkPackageWord("").error().message(), "empty name");
  EXPECT_EQ(checkPackageWord("--allow-unauthenticated").error().message(),
            "'--allow-unauthenticated' starts with '-'");
  EXPECT_EQ(checkPackageWord("a b").error().message(), "'a b' contains a blank or control character");
  EXPECT_EQ(checkPackageWord("a\nb").error().message(), "'a\nb' contains a blank or control character");
}

TEST(Checks, ClosestKey) {
  constexpr std::array<std::string_view, 4> known = {"env", "env_passthrough", "network", "allowed_hosts"};
  EXPECT_EQ(closestKey("envv", known), "env");
  EXPECT_EQ(closestKey("netwrok", known), "network");
  EXPECT_EQ(closestKey("allowed_host", known), "allowed_hosts");
  EXPECT_EQ(closestKey("env-passthrough", known), "env_passthrough");
  EXPECT_EQ(closestKey("completely_different", known), "");
  EXPECT_EQ(closestKey("x", known), "");
}

TEST(Checks, SizeLimits) {
  auto bytes = [](std::string_view text) {
    auto r = parseSizeLimit(text, true, 0);
    EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message());
    return r.ok() ? r->bytes : 0;
  };
  EXPECT_EQ(bytes("1024"), 1024u);
  EXPECT_EQ(bytes("512M"), 512ull << 20);
  EXPECT_EQ(bytes("512m"), 512ull << 20);
  EXPECT_EQ(bytes("512MiB"), 512ull << 20);
  EXPECT_EQ(bytes("512MB"), 512ull << 20);
  EXPECT_EQ(bytes("2G"), 2ull << 30);
  EXPECT_EQ(bytes("2Gi"), 2ull << 30);
  EXPECT_EQ(bytes("1.5G"), 3ull << 29);
  EXPECT_EQ(bytes("0.25T"), 1ull << 38);
  EXPECT_EQ(bytes("64K"), 64u << 10);
  EXPECT_EQ(bytes("100B"), 100u);
  auto pct = parseSizeLimit("25%", false, 0);
  ASSERT_TRUE(pct.ok());
  EXPECT_EQ(pct->percent, 25u);
  EXPECT_TRUE(parseSizeLimit("unlimited", true, 0)->unlimited);
  for (const char* bad : {"", "G", "1.5", "1.5.5G", "1X", "1 G", " 1G", "-1G", "1e9", ".5G", "1.2345G", "0%",
                          "101%", "%", "1iB", "unlimited", "99999999999999999999", "2000000000G"})
    EXPECT_FALSE(parseSizeLimit(bad, false, 0).ok()) << bad;
  EXPECT_FALSE(parseSizeLimit("1M", false, 16ull << 20).ok());
  EXPECT_TRUE(parseSizeLimit("16M", false, 16ull << 20).ok());
}

TEST(Checks, CountsAndCpus) {
  EXPECT_EQ(*parseCount("4096", 8), 4096u);
  EXPECT_EQ(*parseCount("unlimited", 8), 0u);
  for (const char* bad : {"", "7", "-1", "1.5", "4k", "0x10", "99999999999"})
    EXPECT_FALSE(parseCount(bad, 8).ok()) << bad;
  EXPECT_EQ(*parseCpus("2"), 2000u);
  EXPECT_EQ(*parseCpus("0.5"), 500u);
  EXPECT_EQ(*parseCpus("1.25"), 1250u);
  EXPECT_EQ(*parseCpus("0.01"), 10u);
  EXPECT_EQ(*parseCpus("1024"), 1024000u);
  EXPECT_EQ(*parseCpus("unlimited"), 0u);
  for (const char* bad : {"", "0", "0.001", "1025", "-1", "1.2345", "two", "1,5", "50%"})
    EXPECT_FALSE(parseCpus(bad).ok()) << bad;
}

}  // namespace
}  // namespace coco::config
