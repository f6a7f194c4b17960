// Unit tests for manifest parsing, platform choice, auth challenges and the store's records.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "image/digest.hpp"
#include "image/manifest.hpp"
#include "image/registry.hpp"
#include "image/storage.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::image {
namespace {

const std::string kDigestA = "sha256:" + std::string(64, 'a');
const std::string kDigestB = "sha256:" + std::string(64, 'b');

TEST(Digest, KnownValue) {
  EXPECT_EQ(sha256Digest("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(digestHex(kDigestA), std::string(64, 'a'));
}

TEST(Manifest, ParsesManifestAndConfig) {
  std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"digest":")" + kDigestA + R"(","size":10},
    "layers":[{"digest":")" + kDigestB + R"(","size":20,"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip"}]})";
  EXPECT_EQ(*manifestKind(body), kOciManifest);
  auto m = parseManifest(body);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  EXPECT_EQ(m->config.digest, kDigestA);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].size, 20);
  auto c = parseConfig(R"({"os":"linux","config":{"Env":["PATH=/x","A=b=c"],"WorkingDir":"/w","Cmd":["sh"]}})");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->env.size(), 2u);
  EXPECT_EQ(c->env[1].second, "b=c");
  EXPECT_EQ(c->workdir, "/w");
  EXPECT_TRUE(parseConfig(R"({"os":"linux","config":null})").ok());
}

TEST(Manifest, RefusesBadInput) {
  EXPECT_FALSE(manifestKind("not json").ok());
  EXPECT_FALSE(manifestKind(R"({"schemaVersion":1})").ok());
  EXPECT_FALSE(parseManifest(R"({"config":{"digest":"md5:00"},"layers":[]})").ok());
  EXPECT_FALSE(parseManifest(R"({"config":{"digest":")" + kDigestA + R"("}})").ok());
  EXPECT_FALSE(parseIndex(R"({"manifests":[{"digest":"sha256:zz"}]})").ok());
}

// F3: nlohmann's value<int>() cast floats and numbers past 64 bits to integers
// (undefined behaviour, UBSan's float-cast-overflow) and read 2.5 as 2.
TEST(Manifest, NumbersAreIntegersInRange) {
  for (const char* v : {"92233720368547758082", "2.5", "2.0", "2e0", "1e300", "-2", "\"2\"", "null"})
    EXPECT_FALSE(manifestKind(std::string(R"({"schemaVersion":)") + v + "}").ok()) << v;
  EXPECT_TRUE(manifestKind(R"({"schemaVersion":2})").ok());
  for (const char* size : {"1e300", "-1e300", "1.5", "-1", "18446744073709551615", "\"10\"", "184467440737095516150"}) {
    std::string layer = R"({"digest":")" + kDigestB + R"(","size":)" + size + "}";
    std::string body = R"({"schemaVersion":2,"config":{"digest":")" + kDigestA + R"("},"layers":[)" + layer + "]}";
    EXPECT_FALSE(parseManifest(body).ok()) << size;
    EXPECT_FALSE(parseIndex(R"({"manifests":[)" + layer + "]}").ok()) << size;
  }
  auto m = parseManifest(R"({"config":{"digest":")" + kDigestA + R"(","size":9223372036854775807},"layers":[]})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->config.size, INT64_MAX);
  auto r = recordFromJson(R"({"name":"x","layers":[],"size":1e300})");
  EXPECT_FALSE(r.ok());
}

TEST(Registry, TokenAndErrorBodies) {
  EXPECT_EQ(*parseTokenResponse(R"({"token":"abc","expires_in":60})"), "abc");
  EXPECT_EQ(*parseTokenResponse(R"({"access_token":"def"})"), "def");
  EXPECT_FALSE(parseTokenResponse(R"({"token":5})").ok());
  EXPECT_FALSE(parseTokenResponse("[]").ok());
  EXPECT_FALSE(parseTokenResponse("").ok());
  EXPECT_EQ(registryErrorMessage(R"({"errors":[{"code":"DENIED","message":"no"}]})"), ": DENIED no");
  EXPECT_EQ(registryErrorMessage(R"({"errors":[{"code":1}]})"), "");
  EXPECT_EQ(registryErrorMessage("<html>"), "");
}

TEST(Manifest, PicksHostPlatform) {
  std::string arch = hostArchitecture();
  std::vector<Descriptor> entries(3);
  entries[0].os = "linux";
  entries[0].architecture = "s390x-not-us";
  entries[1].os = "windows";
  entries[1].architecture = arch;
  entries[2].os = "linux";
  entries[2].architecture = arch;
  entries[2].digest = kDigestB;
  auto d = pickPlatform(entries);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->digest, kDigestB);
  entries.pop_back();
  auto none = pickPlatform(entries);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("linux/" + arch), std::string::npos);
}

TEST(Registry, ParsesBearerChallenge) {
  auto ch = parseChallenge(R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:library/debian:pull")");
  ASSERT_TRUE(ch.ok());
  EXPECT_EQ(ch->scheme, "bearer");
  EXPECT_EQ(ch->realm, "https://auth.example/token");
  EXPECT_EQ(ch->service, "registry.example");
  EXPECT_EQ(ch->scope, "repository:library/debian:pull");
  EXPECT_EQ(parseChallenge(R"(Basic realm="x")")->scheme, "basic");
  EXPECT_FALSE(parseChallenge(R"(Bearer realm="file:///etc/passwd")").ok());
  EXPECT_FALSE(parseChallenge(R"(Bearer realm="https://x)").ok());
}

TEST(Registry, PlainHttpOnlyForLoopbackOrListed) {
  ::unsetenv("COCO_INSECURE_REGISTRIES");
  EXPECT_TRUE(allowPlainHttp("127.0.0.1:5000"));
  EXPECT_TRUE(allowPlainHttp("localhost:5000"));
  EXPECT_TRUE(allowPlainHttp("[::1]:5000"));
  EXPECT_FALSE(allowPlainHttp("registry.example"));
  EXPECT_FALSE(allowPlainHttp("127.0.0.1.example:5000"));
  ::setenv("COCO_INSECURE_REGISTRIES", "a.example:5000, b.example", 1);
  EXPECT_TRUE(allowPlainHttp("a.example:5000"));
  EXPECT_TRUE(allowPlainHttp("b.example:443"));
  EXPECT_FALSE(allowPlainHttp("c.example"));
  ::unsetenv("COCO_INSECURE_REGISTRIES");
}

TEST(Registry, CredentialsFromAuthFile) {
  TempDir tmp("coco-auth-test");
  std::string file = tmp.sub("auth.json");
  ASSERT_TRUE(fs::writeFileAtomic(file, R"({"auths":{"reg.example":{"auth":"dTpw"},
    "https://index.docker.io/v1/":{"auth":"aHViOnA="}}})").ok());
  ::setenv("REGISTRY_AUTH_FILE", file.c_str(), 1);
  EXPECT_EQ(findCredentials("reg.example").value_or(""), "dTpw");
  EXPECT_EQ(findCredentials("docker.io").value_or(""), "aHViOnA=");
  ::unsetenv("REGISTRY_AUTH_FILE");
}

TEST(Storage, RecordRoundTripAndNames) {
  ImageRecord r;
  r.name = "127.0.0.1:5000/a/b:v1";
  r.layers = {kDigestA, kDigestB};
  r.env = {{"PATH", "/bin"}, {"X", "1=2"}};
  r.cmd = {"sh"};
  r.size = 42;
  auto back = recordFromJson(recordToJson(r));
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(back->name, r.name);
  EXPECT_EQ(back->layers, r.layers);
  EXPECT_EQ(back->env, r.env);
  EXPECT_EQ(back->size, 42u);
  EXPECT_EQ(escapeName(r.name), "127.0.0.1%3A5000%2Fa%2Fb%3Av1");
  EXPECT_EQ(unescapeName(escapeName(r.name)), r.name);
  EXPECT_FALSE(recordFromJson(R"({"name":"x","layers":["../../etc"]})").ok());
  EXPECT_FALSE(recordFromJson("{").ok());
}

}  // namespace
}  // namespace coco::image
