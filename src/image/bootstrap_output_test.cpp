// What the status line shows of mmdebstrap --verbose output (lines as it printed them).
#include "image/bootstrap_output.hpp"

#include <gtest/gtest.h>

namespace coco::image {
namespace {

TEST(BootstrapOutput, StagesDownloadsAndPackages) {
  BootstrapOutput o;
  EXPECT_EQ(o.status(), "");
  o.feed("I: chroot architecture amd64 is equal to the host's architecture\n");
  EXPECT_EQ(o.status(), "chroot architecture amd64 is equal to the host's architecture");
  o.feed("I: running apt-get update...");
  EXPECT_EQ(o.status(), "running apt-get update");
  o.feed("Get:1 http://mirror.invalid/debian trixie InRelease [140 kB]");
  EXPECT_EQ(o.status(), "running apt-get update: 136.7 KiB, trixie InRelease");
  o.feed("Reading package lists...");
  o.feed("I: downloading packages with apt...");
  EXPECT_EQ(o.status(), "downloading packages with apt");
  o.feed("The following NEW packages will be installed:");
  o.feed("  base-files base-passwd bash bsdutils coreutils dash debconf debianutils");
  o.feed("Need to get 25.4 MB of archives.");
  o.feed("Get:1 http://mirror.invalid/debian trixie/main amd64 gcc-14-base amd64 14.2.0-19 [49.4 kB]");
  o.feed("Get:2 http://mirror.invalid/debian trixie/main amd64 libc6 amd64 2.41-12+deb13u5 [2850 kB]");
  EXPECT_EQ(o.status(), "downloading packages with apt: 2.8 MiB / 24.2 MiB, libc6 2.41-12+deb13u5");
  o.feed("I: extracting archives...");
  EXPECT_EQ(o.status(), "extracting archives");
  o.feed("I: installing essential packages...");
  o.feed("Preparing to unpack .../libc6_2.41-12+deb13u5_amd64.deb ...");
  o.feed("Unpacking libc6:amd64 (2.41-12+deb13u5) ...");
  EXPECT_EQ(o.status(), "installing essential packages: Unpacking libc6:amd64 (2.41-12+deb13u5) ...");
  o.feed("dpkg: warning: ignoring pre-dependency problem!");  // not what it is doing
  o.feed("Setting up libc6:amd64 (2.41-12+deb13u5) ...");
  EXPECT_EQ(o.status(), "installing essential packages: Setting up libc6:amd64 (2.41-12+deb13u5) ...");
}

TEST(BootstrapOutput, TailKeepsTheLastTwentyLines) {
  BootstrapOutput o;
  for (int i = 0; i < 30; ++i) o.feed("line " + std::to_string(i));
  o.feed("");
  o.feed("E: mmdebstrap failed\n");
  std::string tail = o.tail();
  EXPECT_EQ(tail.find("line 10\n"), std::string::npos);
  EXPECT_EQ(tail.rfind("\n  line 11", 0), 0u);
  EXPECT_NE(tail.find("\n  E: mmdebstrap failed"), std::string::npos);
  EXPECT_EQ(tail.back(), 'd');
}

TEST(BootstrapOutput, OddLinesAreHarmless) {
  BootstrapOutput o;
  o.feed("Get:");
  o.feed("Get:1 [");
  o.feed("Get:1 x ] [");
  o.feed("Need to get ");
  o.feed("Need to get lots of archives.");
  o.feed("I: ");
  o.feed("I: ...");
  EXPECT_EQ(o.status(), "");
}

TEST(AptSize, DecimalUnits) {
  EXPECT_EQ(aptSizeBytes("140 kB"), 140000u);
  EXPECT_EQ(aptSizeBytes("25.4 MB"), 25400000u);
  EXPECT_EQ(aptSizeBytes("512 B"), 512u);
  EXPECT_EQ(aptSizeBytes("1.5 GB"), 1500000000u);
  EXPECT_EQ(aptSizeBytes("12 parsecs"), 0u);
  EXPECT_EQ(aptSizeBytes("kB"), 0u);
  EXPECT_EQ(aptSizeBytes("-3 kB"), 0u);
  EXPECT_EQ(aptSizeBytes(""), 0u);
}

}  // namespace
}  // namespace coco::image
