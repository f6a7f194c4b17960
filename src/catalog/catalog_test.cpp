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
  // `coco get` hints at --force for this kind (CliTest.GetListShowUpDown).
  EXPECT_EQ(r.error().kind(), ErrorKind::Exists);
  EXPECT_EQ(r.error().subject(), tools() + "/eslint.yaml");
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

TEST_F(StoreTest, ListingABundledStoreSurvivesBadEntries) {
  put(storeDir_, "eslint.json", kGoodJson);
  put(storeDir_, "black.yaml", kGoodYaml);
  put(storeDir_, "typo.json", kTypoJson);                   // listed as invalid, not a failure
  put(storeDir_, "README.md", "not a config");              // not a config's extension
  put(storeDir_, ".hidden.json", kGoodJson);                // not a valid tool name
  ASSERT_TRUE(fs::makeDirs(storeDir_ + "/dir.json").ok());  // a directory is no config
  put(storeDir_, "gofmt.json", R"({"command": "gofmt -l", "network": "none"})");
  EXPECT_EQ(bundledNames(storeDir_), (std::vector<std::string>{"black", "eslint", "gofmt", "typo"}));
  auto entries = listBundled(storeDir_);
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].description, "pipx:black");
  EXPECT_EQ(entries[1].description, "npm:eslint");
  EXPECT_EQ(entries[2].description, "runs gofmt -l from the image");
  EXPECT_EQ(entries[3].description.rfind("invalid: ", 0), 0u) << entries[3].description;
  EXPECT_TRUE(bundledNames(root_ + "/nowhere").empty());
}

TEST_F(StoreTest, ListingARemoteStoreRefusesABadIndex) {
  std::string remoteDir = root_ + "/remote";
  auto none = listRemote("file://" + remoteDir);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind(), ErrorKind::NotFound);
  for (const char* bad : {"{\"eslint\": 1}", "[\"../etc/passwd\"]", "[1]", "[{\"description\": \"x\"}]",
                          "[\"a\"", "[{\"name\": \"a/b\"}]"}) {
    put(remoteDir, "index.json", bad);
    auto r = listRemote("file://" + remoteDir);
    EXPECT_FALSE(r.ok()) << bad;
  }
  put(remoteDir, "index.json", R"(["ruff", {"name": "eslint", "description": "lint\nJS\u001b[2J"}])");
  auto r = listRemote("file://" + remoteDir + "/");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].name, "eslint");
  EXPECT_EQ((*r)[0].description, "lint JS [2J");  // control characters cannot reshape the listing
  EXPECT_EQ((*r)[0].source, "file://" + remoteDir + "/eslint.json");
  EXPECT_EQ((*r)[1].name, "ruff");
}

TEST_F(StoreTest, MissesAndConflictsCarryTheirKind) {
  auto miss = get("nosuchtool", paths_, bundled());
  ASSERT_FALSE(miss.ok());
  EXPECT_EQ(miss.error().kind(), ErrorKind::StoreMiss);
  EXPECT_EQ(miss.error().subject(), "nosuchtool");
  EXPECT_EQ(miss.error().userMessage().find("No such file"), std::string::npos);
  auto remoteMiss = get("nosuchtool", paths_, remote(root_ + "/empty"));
  ASSERT_FALSE(remoteMiss.ok());
  EXPECT_EQ(remoteMiss.error().kind(), ErrorKind::StoreMiss);
  put(storeDir_, "eslint.json", kGoodJson);
  ASSERT_TRUE(get("eslint", paths_, bundled()).ok());
  auto again = get("eslint", paths_, bundled());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind(), ErrorKind::Exists);
  EXPECT_EQ(again.error().subject(), tools() + "/eslint.json");
  EXPECT_EQ(again.error().userMessage(), tools() + "/eslint.json already exists");
  put(storeDir_, "typo.json", kTypoJson);
  auto typo = get("typo", paths_, bundled());
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.error().kind(), ErrorKind::ConfigFile);
  EXPECT_EQ(typo.error().subject(), storeDir_ + "/typo.json");
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
