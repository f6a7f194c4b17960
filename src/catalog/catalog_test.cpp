// Tests for catalog::get: bundled and remote (file://) stores, and every refusal.
#include "catalog/catalog.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::catalog {
namespace {

constexpr const char* kGoodJson = R"({"tool": "npm:eslint", "mounts": [{"src": ".", "dst": "/workspace"}], "network": "none"})";
constexpr const char* kGoodYaml = "tool: pipx:black\nnetwork: none\n";
constexpr const char* kTypoJson = R"({"tool": "npm:eslint", "netwrok": "none"})";

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path();
    paths_.home = root_ + "/home";
    paths_.dataHome = paths_.home + "/.local/share";
    paths_.configHome = paths_.home + "/.config";
    paths_.cacheHome = paths_.home + "/.cache";
    storeDir_ = root_ + "/store";
    ASSERT_TRUE(fs::makeDirs(storeDir_).ok());
  }

  void put(const std::string& dir, const std::string& file, const std::string& text) {
    ASSERT_TRUE(fs::makeDirs(dir).ok());
    ASSERT_TRUE(fs::writeFileAtomic(dir + "/" + file, text).ok());
  }
  std::string tools() const { return paths_.toolsDir(); }
  GetOptions bundled(bool force = false) const { return {force, "", storeDir_}; }
  GetOptions remote(const std::string& dir) const { return {false, "file://" + dir, storeDir_}; }

  TempDir tmp_{"coco-store-test"};
  std::string root_, storeDir_;
  config::Paths paths_;
};

TEST_F(StoreTest, CopiesBundledJson) {
  put(storeDir_, "eslint.json", kGoodJson);
  auto r = get("eslint", paths_, bundled());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->savedPath, tools() + "/eslint.json");
  EXPECT_EQ(r->source, storeDir_ + "/eslint.json");
  EXPECT_EQ(r->config.tool, std::optional<std::string>("npm:eslint"));
  EXPECT_EQ(r->config.path, tools() + "/eslint.json");
  EXPECT_EQ(fs::readFile(tools() + "/eslint.json").value(), kGoodJson);
}

TEST_F(StoreTest, CopiesBundledYamlKeepingItsExtension) {
  put(storeDir_, "black.yaml", kGoodYaml);
  auto r = get("black", paths_, bundled());
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->savedPath, tools() + "/black.yaml");
  EXPECT_FALSE(fs::exists(tools() + "/black.json"));
}

TEST_F(StoreTest, RefusesBadNames) {
  put(storeDir_, "eslint.json", kGoodJson);
  put(root_, "evil.json", kGoodJson);
  for (const char* bad : {"", "..", "../evil", "a/b", "/etc/passwd", "./eslint", "-rf"}) {
    auto r = get(bad, paths_, bundled());
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message().find("not a valid tool name"), std::string::npos) << r.error().message();
  }
  EXPECT_FALSE(fs::exists(tools()));
}

TEST_F(StoreTest, RefusesToOverwriteWithoutForce) {
  put(storeDir_, "eslint.json", kGoodJson);
  put(tools(), "eslint.yaml", "tool: npm:eslint\n# mine\n");
  auto r = get("eslint", paths_, bundled());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), EEXIST);
  EXPECT_NE(r.error().message().find("--force"), std::string::npos);
  EXPECT_EQ(fs::readFile(tools() + "/eslint.yaml").value(), "tool: npm:eslint\n# mine\n");
  EXPECT_FALSE(fs::exists(tools() + "/eslint.json"));
}

TEST_F(StoreTest, ForceReplacesAndRemovesTheOtherExtension) {
  put(storeDir_, "eslint.json", kGoodJson);
  put(tools(), "eslint.yaml", "tool: npm:eslint\n");
  auto r = get("eslint", paths_, bundled(/*force=*/true));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(fs::readFile(tools() + "/eslint.json").value(), kGoodJson);
  EXPECT_FALSE(fs::exists(tools() + "/eslint.yaml"));
}

TEST_F(StoreTest, InvalidBundledConfigIsNotSaved) {
  put(storeDir_, "eslint.json", kTypoJson);
  auto r = get("eslint", paths_, bundled());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("netwrok"), std::string::npos) << r.error().message();
  EXPECT_FALSE(fs::exists(tools() + "/eslint.json"));
}

TEST_F(StoreTest, ForceWithInvalidConfigKeepsTheOldOne) {
  put(storeDir_, "eslint.json", kTypoJson);
  put(tools(), "eslint.json", kGoodJson);
  auto r = get("eslint", paths_, bundled(/*force=*/true));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(fs::readFile(tools() + "/eslint.json").value(), kGoodJson);
}

TEST_F(StoreTest, UnknownNameInBundledStore) {
  auto r = get("nosuchtool", paths_, bundled());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ENOENT);
  EXPECT_NE(r.error().message().find("nosuchtool"), std::string::npos);
}

TEST_F(StoreTest, RemoteJson) {
  std::string remoteDir = root_ + "/remote";
  put(remoteDir, "eslint.json", kGoodJson);
  put(storeDir_, "eslint.json", kTypoJson);  // must not be used when a base is set
  auto r = get("eslint", paths_, remote(remoteDir));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->source, "file://" + remoteDir + "/eslint.json");
  EXPECT_EQ(fs::readFile(tools() + "/eslint.json").value(), kGoodJson);
}

TEST_F(StoreTest, RemoteFallsBackToYamlAndToleratesTrailingSlash) {
  std::string remoteDir = root_ + "/remote";
  put(remoteDir, "black.yaml", kGoodYaml);
  auto r = get("black", paths_, remote(remoteDir + "/"));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->savedPath, tools() + "/black.yaml");
}

TEST_F(StoreTest, InvalidDownloadIsNotSaved) {
  std::string remoteDir = root_ + "/remote";
  put(remoteDir, "eslint.json", "{\"tool\": [1, 2");
  auto r = get("eslint", paths_, remote(remoteDir));
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(fs::exists(tools() + "/eslint.json"));
}

TEST_F(StoreTest, RemoteMissingEverywhere) {
  auto r = get("eslint", paths_, remote(root_ + "/empty"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ENOENT);
  EXPECT_FALSE(fs::exists(tools() + "/eslint.json"));
}

TEST_F(StoreTest, DownloadRefusesOtherSchemesAndHugeFiles) {
  auto scheme = download("ftp://127.0.0.1/eslint.json");
  ASSERT_FALSE(scheme.ok());
  EXPECT_NE(scheme.error().code(), ENOENT);
  put(root_, "huge.json", std::string(2 << 20, ' '));
  auto huge = download("file://" + root_ + "/huge.json");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message().find("larger than"), std::string::npos);
}

TEST_F(StoreTest, BundledStoreDirHonoursEnvironment) {
  ::setenv("COCO_STORE_DIR", storeDir_.c_str(), 1);
  EXPECT_EQ(bundledStoreDir(), storeDir_);
  ::unsetenv("COCO_STORE_DIR");
  EXPECT_NE(bundledStoreDir(), storeDir_);
  EXPECT_TRUE(bundledStoreDir().ends_with("/store"));
}

}  // namespace
}  // namespace coco::catalog
