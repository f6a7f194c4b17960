// Unit tests for image reference parsing.
#include "image/reference.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace coco::image {
namespace {

Reference parseOk(std::string_view text) {
  auto r = parseReference(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().describe());
  return r.ok() ? *r : Reference{};
}

TEST(Reference, ShortNameGoesToDockerHubLibrary) {
  auto r = parseOk("debian:trixie-slim");
  EXPECT_EQ(r.kind, SourceKind::Registry);
  EXPECT_EQ(r.registry, "docker.io");
  EXPECT_EQ(r.repository, "library/debian");
  EXPECT_EQ(r.tag, "trixie-slim");
  EXPECT_EQ(r.canonical(), "docker.io/library/debian:trixie-slim");
  EXPECT_EQ(r.apiHost(), "registry-1.docker.io");
}

TEST(Reference, DefaultTagIsLatest) {
  EXPECT_EQ(parseOk("busybox").canonical(), "docker.io/library/busybox:latest");
  EXPECT_EQ(parseOk("user/tool").canonical(), "docker.io/user/tool:latest");
}

TEST(Reference, ExplicitRegistryWithPort) {
  auto r = parseOk("docker://127.0.0.1:5000/test/busy:v1");
  EXPECT_EQ(r.registry, "127.0.0.1:5000");
  EXPECT_EQ(r.repository, "test/busy");
  EXPECT_EQ(r.tag, "v1");
  EXPECT_EQ(r.manifestRef(), "v1");
  EXPECT_EQ(parseOk("localhost/x").registry, "localhost");
  EXPECT_EQ(parseOk("quay.io/a/b/c").repository, "a/b/c");
  EXPECT_EQ(parseOk("docker.io/library/debian:stable-slim").canonical(), "docker.io/library/debian:stable-slim");
  EXPECT_EQ(parseOk("index.docker.io/library/debian").registry, "docker.io");
}

TEST(Reference, Digest) {
  std::string d = "sha256:" + std::string(64, 'a');
  auto r = parseOk("ghcr.io/o/r@" + d);
  EXPECT_EQ(r.digest, d);
  EXPECT_EQ(r.tag, "");
  EXPECT_EQ(r.manifestRef(), d);
  EXPECT_EQ(r.canonical(), "ghcr.io/o/r@" + d);
  auto both = parseOk("debian:12@" + d);
  EXPECT_EQ(both.tag, "12");
  EXPECT_EQ(both.manifestRef(), d);
}

TEST(Reference, BadRegistryReferences) {
  std::vector<std::string> bads = {"", "Debian:12", "debian:", "debian:-x", "a//b", "x@sha256:abc", "x@md5:" + std::string(32, 'a'),
                          "http://host/x", "deb ian", "a/b/", "/abs", "x:" + std::string(129, 't'), "re_/x",
                          "x@sha256:" + std::string(64, 'A')};
  for (const auto& bad : bads) {
    EXPECT_FALSE(parseReference(bad).ok()) << bad;
  }
}

TEST(Reference, LocalTransports) {
  auto oci = parseOk("oci:/tmp/layout:v2");
  EXPECT_EQ(oci.kind, SourceKind::OciDir);
  EXPECT_EQ(oci.path, "/tmp/layout");
  EXPECT_EQ(oci.ociRef, "v2");
  auto ociPlain = parseOk("oci:/tmp/lay:out/dir");
  EXPECT_EQ(ociPlain.path, "/tmp/lay:out/dir");
  EXPECT_EQ(ociPlain.ociRef, "");
  EXPECT_EQ(parseOk("oci-archive:/x/img.tar").kind, SourceKind::OciArchive);
  EXPECT_EQ(parseOk("docker-archive:/x/img.tar").kind, SourceKind::DockerArchive);
  EXPECT_EQ(parseOk("rootfs:/srv/root").kind, SourceKind::RootfsDir);
  for (auto t : {"rootfs:/r.tar", "rootfs:/r.tar.gz", "rootfs:/r.tgz", "rootfs:/r.tar.zst"})
    EXPECT_EQ(parseOk(t).kind, SourceKind::RootfsTar) << t;
  EXPECT_FALSE(parseReference("oci:").ok());
  EXPECT_FALSE(parseReference("rootfs:").ok());
}

// F8: "oci:/x/a:b:" (directory /x/a:b) and "oci:/x/a:b" (directory /x/a, ref b)
// had the same canonical name, so their store records overwrote each other.
TEST(Reference, CanonicalIsOneToOneForPathsWithColons) {
  auto dir = parseOk("oci:/x/a:b:");
  auto ref = parseOk("oci:/x/a:b");
  EXPECT_EQ(dir.path, "/x/a:b");
  EXPECT_EQ(dir.ociRef, "");
  EXPECT_EQ(ref.path, "/x/a");
  EXPECT_EQ(ref.ociRef, "b");
  EXPECT_NE(dir.canonical(), ref.canonical());
  for (const char* text : {"oci:/x/a:b:", "oci:/x/a:b", "oci-archive:/x/a::", "oci:/x/a:b:c", "oci:/x:y/z",
                           "oci:rel:", "oci-archive:/t.tar"}) {
    auto first = parseOk(text);
    auto again = parseOk(first.canonical());
    EXPECT_EQ(again.path, first.path) << text;
    EXPECT_EQ(again.ociRef, first.ociRef) << text;
    EXPECT_EQ(again.canonical(), first.canonical()) << text;
  }
  EXPECT_EQ(parseOk("oci:/x/a").canonical(), "oci:/x/a");
  EXPECT_EQ(parseOk("oci:/x/a:").canonical(), "oci:/x/a");
}

// Found by a 10-minute fuzz run: `docker://oci:5/0t` (a registry "oci" on port 5) had the
// canonical name `oci:5/0t:latest`, which reads back as a local OCI directory and shared its
// store record.
TEST(Reference, RegistryNamedLikeATransportKeepsDockerScheme) {
  for (const char* text : {"docker://oci:5/0t", "docker://rootfs:5/x:v1", "docker://bootstrap:1/debian:trixie",
                           "docker://oci-archive:9/a@sha256:" "0000000000000000000000000000000000000000000000000000000000000000"}) {
    auto first = parseOk(text);
    EXPECT_EQ(first.kind, SourceKind::Registry) << text;
    EXPECT_TRUE(first.canonical().starts_with("docker://")) << first.canonical();
    auto again = parseOk(first.canonical());
    EXPECT_EQ(again.kind, SourceKind::Registry) << text;
    EXPECT_EQ(again.registry, first.registry) << text;
    EXPECT_EQ(again.repository, first.repository) << text;
    EXPECT_EQ(again.canonical(), first.canonical()) << text;
  }
  EXPECT_NE(parseOk("docker://oci:5/0t").canonical(), parseOk("oci:5/0t:latest").canonical());
  EXPECT_EQ(parseOk("localhost:5000/a").canonical(), "localhost:5000/a:latest");
}

TEST(Reference, BootstrapIsDistinctFromShortNames) {
  auto b = parseOk("bootstrap:debian:trixie");
  EXPECT_EQ(b.kind, SourceKind::Bootstrap);
  EXPECT_EQ(b.suite, "trixie");
  EXPECT_EQ(b.canonical(), "bootstrap:debian:trixie");
  EXPECT_EQ(parseOk("debian:trixie").kind, SourceKind::Registry);
  EXPECT_FALSE(parseReference("bootstrap:ubuntu:noble").ok());
  EXPECT_FALSE(parseReference("bootstrap:debian:").ok());
}

}  // namespace
}  // namespace coco::image
