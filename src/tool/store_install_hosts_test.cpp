// Every bundled config in store/ is valid and installs only from hosts coco knows how to allow.
#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "coco_config.h"
#include "config/loader.hpp"
#include "tool/install_hosts.hpp"

namespace coco::tool {
namespace {

const std::string kStoreDir = std::string(COCO_SOURCE_ROOT) + "/store";

std::map<std::string, config::ToolConfig> loadStore() {
  std::map<std::string, config::ToolConfig> configs;
  DIR* dir = ::opendir(kStoreDir.c_str());
  EXPECT_NE(dir, nullptr) << kStoreDir;
  while (const dirent* entry = dir ? ::readdir(dir) : nullptr) {
    std::string file = entry->d_name;
    if (file == "." || file == ".." || file == "meson.build") continue;
    auto config = config::loadConfig(kStoreDir + "/" + file);
    EXPECT_TRUE(config.ok()) << file << ": " << config.error().message();
    if (config.ok()) configs.emplace(config->name, *config);
  }
  if (dir) ::closedir(dir);
  return configs;
}

// A host with nothing configured but an npm registry (an invented name): what
// a new user's laptop gives, so every host comes from coco's own table.
HostConfigSource bareHost() {
  HostConfigSource src;
  src.env["NPM_CONFIG_REGISTRY"] = "https://npm.example.test/";
  src.home = "/nonexistent/coco-store-test-home";
  src.etcDir = "/nonexistent/coco-store-test-etc";
  src.command = [](const std::vector<std::string>&) { return std::optional<std::string>(); };
  return src;
}

std::vector<std::string> specsOf(const config::ToolConfig& c) {
  std::vector<std::string> specs = c.miseDependencies;
  if (c.tool) specs.push_back(*c.tool);
  return specs;
}

TEST(StoreInstallHosts, EveryToolSpecMapsToKnownHosts) {
  auto configs = loadStore();
  ASSERT_GE(configs.size(), 28u);
  for (const auto& [name, c] : configs) {
    // A config without a tool (running the image's own program) installs nothing of mise's.
    for (const auto& spec : specsOf(c)) {
      InstallNeeds needs = needsForSpec(spec);
      EXPECT_TRUE(needs.unknown.empty()) << name << ": coco does not know where " << spec << " downloads from";
      auto hosts = installHosts(needs, bareHost(), {});
      ASSERT_TRUE(hosts.ok()) << name << ": " << hosts.error().describe();
      EXPECT_TRUE(hosts->unknown.empty()) << name << ": " << spec << ": " << ::testing::PrintToString(hosts->unknown);
      EXPECT_FALSE(hosts->hosts.empty()) << name << ": " << spec << " gets no install host";
    }
  }
}

TEST(StoreInstallHosts, RepresentativeToolsGetTheirDownloadHosts) {
  auto configs = loadStore();
  auto hostsOf = [&](const std::string& name) {
    if (!configs.count(name)) return std::vector<std::string>{"<no config " + name + ">"};
    auto r = installHosts(needsForSpecs(specsOf(configs.at(name))), bareHost(), {});
    return r.ok() ? r->hosts : std::vector<std::string>{r.error().describe()};
  };
  auto has = [](const std::vector<std::string>& v, const char* h) { return std::find(v.begin(), v.end(), h) != v.end(); };
  for (const char* name : {"rg", "fd", "bat", "uv", "typst", "hyperfine", "golangci-lint"}) {
    auto h = hostsOf(name);
    EXPECT_TRUE(has(h, "github.com") && has(h, "api.github.com")) << name << ": " << ::testing::PrintToString(h);
  }
  for (const char* name : {"black", "mypy", "pytest", "ruff"}) {
    auto h = hostsOf(name);  // pipx: from PyPI, with uv (aqua) from GitHub
    EXPECT_TRUE(has(h, "pypi.org") && has(h, "github.com")) << name << ": " << ::testing::PrintToString(h);
  }
  EXPECT_TRUE(has(hostsOf("golangci-lint"), "dl.google.com"));  // its go dependency
  EXPECT_TRUE(has(hostsOf("tokei"), "index.crates.io"));
  EXPECT_TRUE(has(hostsOf("rustc"), "static.rust-lang.org"));
  EXPECT_TRUE(has(hostsOf("python"), "mise-versions.jdx.dev"));
  EXPECT_TRUE(has(hostsOf("eslint"), "npm.example.test"));
  if (configs.count("node") && configs.at("node").tool) {
    EXPECT_TRUE(has(hostsOf("node"), "nodejs.org"));
  }
}

}  // namespace
}  // namespace coco::tool
