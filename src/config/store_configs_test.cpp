// Every bundled config in store/ must load and grant no more than its kind needs.
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "coco_config.h"
#include "config/loader.hpp"

namespace coco::config {
namespace {

const std::string kStoreDir = std::string(COCO_SOURCE_ROOT) + "/store";

std::map<std::string, ToolConfig> loadStore() {
  std::map<std::string, ToolConfig> configs;
  DIR* dir = ::opendir(kStoreDir.c_str());
  EXPECT_NE(dir, nullptr) << kStoreDir;
  if (dir == nullptr) return configs;
  while (const dirent* entry = ::readdir(dir)) {
    std::string file = entry->d_name;
    if (file == "." || file == ".." || file == "meson.build") continue;
    auto config = loadConfig(kStoreDir + "/" + file);
    EXPECT_TRUE(config.ok()) << file << ": " << config.error().message();
    if (config.ok()) configs.emplace(config->name, *config);
  }
  ::closedir(dir);
  return configs;
}

bool workspaceReadOnly(const ToolConfig& c) {
  auto it = std::find_if(c.mounts.begin(), c.mounts.end(),
                         [](const MountConfig& m) { return m.dst == "/workspace"; });
  return it != c.mounts.end() && it->readOnly;
}

TEST(StoreConfigs, AllOfTheOriginalsToolsAreThereAndValid) {
  auto configs = loadStore();
  for (const char* name : {"bat",   "black",         "cargo",     "claude", "eslint",  "fd",  "go",
                           "gofmt", "golangci-lint", "hyperfine", "mypy",   "node",    "npm", "npx",
                           "pip",   "prettier",      "pytest",    "python", "python3", "rg",  "ruff",
                           "rustc", "rustfmt",       "tokei",     "tsc",    "typst",   "uv",  "uvx"}) {
    ASSERT_TRUE(configs.count(name)) << "store has no config for " << name;
    const ToolConfig& c = configs.at(name);
    // node, npm and npx are the base image's: nothing to install, no second node.
    bool fromImage = name == std::string("node") || name == std::string("npm") || name == std::string("npx");
    EXPECT_EQ(c.tool.has_value(), !fromImage) << name;
    if (fromImage) {
      EXPECT_EQ(c.command, name);
    }
    EXPECT_FALSE(c.x11) << name;
    EXPECT_TRUE(c.podmanArgs.empty()) << name;
    EXPECT_TRUE(c.ports.empty()) << name;
    EXPECT_NE(c.network, NetworkMode::Host) << name;
    EXPECT_EQ(c.seccomp, "default") << name;
    EXPECT_TRUE(c.workspaceGuard) << name;
    if (name != std::string("claude")) {
      for (const std::string& var : c.envPassthrough)
        EXPECT_TRUE(var == "TERM" || var == "NODE_ENV" || var == "BAT_THEME") << name << " passes " << var;
    }
  }
}

TEST(StoreConfigs, LintersAndFormattersAreOffline) {
  auto configs = loadStore();
  for (const char* name :
       {"black", "eslint", "gofmt", "golangci-lint", "mypy", "prettier", "ruff", "rustfmt", "tsc", "bat",
        "fd", "rg", "tokei", "pytest", "node", "npx", "python", "python3", "rustc"}) {
    ASSERT_TRUE(configs.count(name)) << name;
    EXPECT_EQ(configs.at(name).network, NetworkMode::None) << name;
  }
}

TEST(StoreConfigs, ReadersGetAReadOnlyWorkspace) {
  auto configs = loadStore();
  for (const char* name : {"bat", "fd", "rg", "tokei", "mypy", "golangci-lint"}) {
    ASSERT_TRUE(configs.count(name)) << name;
    EXPECT_TRUE(workspaceReadOnly(configs.at(name))) << name;
  }
  for (const char* name : {"prettier", "black", "ruff", "gofmt", "rustfmt", "eslint"}) {
    ASSERT_TRUE(configs.count(name)) << name;
    EXPECT_FALSE(workspaceReadOnly(configs.at(name))) << name << " rewrites files";
  }
}

TEST(StoreConfigs, OnlyWhatMustDownloadHasNetwork) {
  auto configs = loadStore();
  const std::set<std::string> online = {"npm", "pip", "uv", "uvx", "cargo", "go"};
  for (const auto& [name, c] : configs) {
    if (online.count(name)) {
      EXPECT_EQ(c.network, NetworkMode::Full) << name;
    } else {
      EXPECT_TRUE(c.network == NetworkMode::None || c.network == NetworkMode::Allowlist) << name;
    }
  }
  EXPECT_EQ(configs.at("claude").allowedHosts,
            (std::vector<std::string>{"api.anthropic.com", "statsig.anthropic.com"}));
  EXPECT_EQ(configs.at("claude").command, "claude");
  EXPECT_EQ(configs.at("tsc").tool, "npm:typescript");
  EXPECT_EQ(configs.at("rg").command, "rg");
}

}  // namespace
}  // namespace coco::config
