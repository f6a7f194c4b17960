// Unit tests: where the host's CA bundle is found, how it is read, and the variables that name it.
#include "tool/ca_bundle.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::tool {
namespace {

class CaBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path() + "/root";
  }
  std::string put(const std::string& path, const std::string& text = "-----BEGIN CERTIFICATE-----\n") {
    std::string full = root_ + path;
    EXPECT_TRUE(fs::makeDirs(full.substr(0, full.rfind('/'))));
    EXPECT_TRUE(fs::writeFileAtomic(full, text));
    return full;
  }
  TempDir tmp_{"coco-ca"};
  std::string root_;
  std::map<std::string, std::string> env_;
};

TEST_F(CaBundleTest, DistributionPathsInOrder) {
  const std::vector<std::string> paths = {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                                          "/etc/ssl/ca-bundle.pem", "/etc/pki/tls/cacert.pem",
                                          "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem"};
  EXPECT_EQ(findHostCaBundle(env_, root_), "");
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
    put(*it);
    EXPECT_EQ(findHostCaBundle(env_, root_), root_ + *it);
  }
}

TEST_F(CaBundleTest, SslCertFileFirstWhenItIsARegularFile) {
  put("/etc/ssl/certs/ca-certificates.crt");
  std::string corp = put("/opt/corp/proxy-ca.pem");
  env_["SSL_CERT_FILE"] = corp;
  EXPECT_EQ(findHostCaBundle(env_, root_), corp);
  for (const std::string& bad : {std::string(), root_ + "/missing.pem", root_ + "/opt/corp"}) {
    env_["SSL_CERT_FILE"] = bad;
    EXPECT_EQ(findHostCaBundle(env_, root_), root_ + "/etc/ssl/certs/ca-certificates.crt") << bad;
  }
}

TEST_F(CaBundleTest, SymlinkedBundlesAreFollowed) {
  std::string target = put("/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem");
  ASSERT_TRUE(fs::makeDirs(root_ + "/etc/pki/tls/certs"));
  ASSERT_EQ(::symlink(target.c_str(), (root_ + "/etc/pki/tls/certs/ca-bundle.crt").c_str()), 0);
  EXPECT_EQ(findHostCaBundle(env_, root_), root_ + "/etc/pki/tls/certs/ca-bundle.crt");
  ASSERT_TRUE(fs::makeDirs(root_ + "/etc/ssl/certs"));  // a dangling link earlier in the order is passed over
  ASSERT_EQ(::symlink((root_ + "/nowhere").c_str(), (root_ + "/etc/ssl/certs/ca-certificates.crt").c_str()), 0);
  EXPECT_EQ(findHostCaBundle(env_, root_), root_ + "/etc/pki/tls/certs/ca-bundle.crt");
}

TEST_F(CaBundleTest, ReadOnceWithACap) {
  std::string small = put("/a.pem", "certs\n");
  EXPECT_EQ(*readCaBundle(small), "certs\n");
  std::string big = put("/b.pem", std::string(kMaxCaBundleBytes + 1, 'x'));
  auto r = readCaBundle(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), EFBIG);
  EXPECT_NE(r.error().message().find("CA bundle"), std::string::npos) << r.error().message();
  EXPECT_FALSE(readCaBundle(root_ + "/missing.pem").ok());
}

TEST(CaBundleEnv, OneListForNodeNpmPipUvCargoGoGitCurlAndMise) {
  auto env = caBundleEnv("/x.pem");
  std::vector<std::string> names;
  for (const auto& [name, value] : env) {
    names.push_back(name);
    EXPECT_EQ(value, "/x.pem") << name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "PIP_CERT",
                                             "CARGO_HTTP_CAINFO", "GIT_SSL_CAINFO", "CURL_CA_BUNDLE"}));
}

}  // namespace
}  // namespace coco::tool
