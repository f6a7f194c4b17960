#include "config/config_hash.hpp"

#include <gtest/gtest.h>

#include <set>

#include "config/loader.hpp"

namespace coco::config {
namespace {

std::string hashOf(std::string_view text, const std::string& path = "/a/tool.json") {
  auto config = parseConfig(text, path, "tool");
  EXPECT_TRUE(config.ok()) << config.error().message();
  return config.ok() ? config->hash : std::string();
}

constexpr std::string_view kJson = R"({
  "tool": "npm:eslint",
  "mounts": [{"src": ".", "dst": "/workspace", "opts": "ro"}],
  "env": {"A": "1", "B": "two"},
  "env_passthrough": ["TERM"],
  "network": "none",
  "ports": ["8080:80"]
})";

// The same meaning: other key order, YAML, comments, defaults spelled out,
// `rw` written or not, equivalent port and bool spellings.
constexpr std::string_view kYaml = R"(# same config
ports: [ "127.0.0.1:8080:80/tcp" ]
network: none
env_passthrough:
  - TERM
mounts:
  - dst: /workspace
    src: .
    opts: ro,ro
tool: npm:eslint
env: {A: 1, B: two}
command: tool
workdir: /workspace
workspace_guard: True
seccomp: default
isolated: false
)";

TEST(ConfigHash, IsSha256Hex) {
  std::string h = hashOf(kJson);
  ASSERT_EQ(h.size(), 64u);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(ConfigHash, IgnoresFormattingOrderAndPath) {
  EXPECT_EQ(hashOf(kJson), hashOf(kYaml));
  EXPECT_EQ(hashOf(kJson), hashOf(kJson, "/elsewhere/tool.yaml"));
  EXPECT_EQ(hashOf("tool: x\nmounts: [{src: ., dst: /w}]\n"),
            hashOf("tool: x\nmounts: [{src: ., dst: /w, opts: rw}]\n"));
  EXPECT_EQ(hashOf("tool: x\nallowed_hosts: [A.B]\n"),
            hashOf("{\"tool\":\"x\",\"allowed_hosts\":[\"a.b\"]}"));
}

TEST(ConfigHash, ChangesWithEveryField) {
  const std::string base = "tool: x\n";
  const char* variants[] = {
      "tool: y\n",
      "tool: x\ncommand: z\n",
      "command: tool\n",  // same command, but from the image instead of mise
      "tool: x\nmounts: [{src: ., dst: /w}]\n",
      "tool: x\nmounts: [{src: ., dst: /w, opts: ro}]\n",
      "tool: x\nmounts: [{src: ./, dst: /w}]\n",
      "tool: x\nmounts: [{src: ., dst: /v}]\n",
      "tool: x\nenv: {A: 1}\n",
      "tool: x\nenv: {A: 2}\n",
      "tool: x\nenv: {B: 1}\n",
      "tool: x\nenv: {A: 1, B: 2}\n",
      "tool: x\nenv: {B: 2, A: 1}\n",
      "tool: x\nenv_passthrough: [A]\n",
      "tool: x\ndependencies: {apt: [git]}\n",
      "tool: x\ndependencies: {mise: [git]}\n",
      "tool: x\nworkdir: /src\n",
      "tool: x\nnetwork: none\n",
      "tool: x\nnetwork: host\n",
      "tool: x\nallowed_hosts: [a.b]\n",
      "tool: x\nallowed_hosts: [a.b:443]\n",
      "tool: x\nisolated: true\n",
      "tool: x\nports: [\"80:80\"]\n",
      "tool: x\nports: [\"0.0.0.0:80:80\"]\n",
      "tool: x\nports: [\"80:81\"]\n",
      "tool: x\nx11: true\n",
      "tool: x\npodman_args: [--init]\n",
      "tool: x\nseccomp: unconfined\n",
      "tool: x\nworkspace_guard: false\n",
      "tool: x\nworkspace_guard: {git: write}\n",
      "tool: x\ninstall_hosts: [a.b]\n",
      "tool: x\ninstall_hosts: [a.b:8443]\n",
      "tool: x\ncheck: []\n",
      "tool: x\ncheck: [--help]\n",
      "tool: x\ncheck: [--version]\n",  // the default spelled out: still another install's recipe
      "tool: x\ncaches: [npm]\n",
      "tool: x\ncaches: [npm, pip]\n",
      "tool: x\nallow_home: true\n",
      "tool: x\nmounts: [{src: ., dst: /w, opts: z}]\n",
      "tool: x\nmounts: [{src: ., dst: /w, opts: Z}]\n",
      // Values must not run into each other.
      "tool: x\npodman_args: [a, b]\n",
      "tool: x\npodman_args: [\"a b\"]\n",
      "tool: x\npodman_args: [ab]\n",
  };
  std::set<std::string> seen = {hashOf(base)};
  for (const char* v : variants)
    EXPECT_TRUE(seen.insert(hashOf(v)).second) << "same hash as another for:\n" << v;
}

TEST(ConfigHash, ChangesWithEveryLimit) {
  const char* variants[] = {
      "tool: x\n",
      "tool: x\nlimits: {memory: 1G}\n",
      "tool: x\nlimits: {memory: 2G}\n",
      "tool: x\nlimits: {memory: 50%}\n",
      "tool: x\nlimits: {memory: unlimited}\n",
      "tool: x\nlimits: {pids: 64}\n",
      "tool: x\nlimits: {pids: unlimited}\n",
      "tool: x\nlimits: {cpu: 1}\n",
      "tool: x\nlimits: {cpu: 0.5}\n",
      "tool: x\nlimits: {tmpfs: 64M}\n",
      "tool: x\nlimits: {tmpfs: 64%}\n",
      "tool: x\nlimits: {memory: 1G, pids: 64, cpu: 1, tmpfs: 64M}\n",
  };
  std::set<std::string> seen;
  for (const char* v : variants)
    EXPECT_TRUE(seen.insert(hashOf(v)).second) << "same hash as another for:\n" << v;
  // The same limits spelled otherwise: the same hash.
  EXPECT_EQ(hashOf("tool: x\nlimits: {memory: 1G}\n"), hashOf("tool: x\nlimits: {memory: 1024MiB}\n"));
  EXPECT_EQ(hashOf("tool: x\nlimits: {memory: 1G, cpu: 1}\n"),
            hashOf("{\"tool\": \"x\", \"limits\": {\"cpu\": \"1.0\", \"memory\": \"1073741824\"}}"));
}

// Without `limits` a config hashes as before the key existed: no reinstall of
// every tool for an upgrade of coco.
TEST(ConfigHash, WithoutLimitsTheCanonicalFormHasNoLimits) {
  auto config = parseConfig("tool: x\n", "/a/tool.yaml", "tool");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(canonicalForm(*config).find("limits"), std::string::npos);
}

// Nor do `install_hosts`, `check` and `caches` change the hash of configs without them.
TEST(ConfigHash, WithoutTheLaterKeysTheCanonicalFormHasNone) {
  auto config = parseConfig("tool: x\nallowed_hosts: [a.b]\n", "/a/tool.yaml", "tool");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(canonicalForm(*config).find("install_hosts"), std::string::npos);
  EXPECT_EQ(canonicalForm(*config).find("check"), std::string::npos);
  EXPECT_EQ(canonicalForm(*config).find("caches"), std::string::npos);
  EXPECT_EQ(canonicalForm(*config).find("allow_home"), std::string::npos);
  EXPECT_EQ(canonicalForm(*config).find("mount_relabel"), std::string::npos);
  // allow_home: false is the default: the same hash as without the key.
  auto off = parseConfig("tool: x\nallow_home: false\nallowed_hosts: [a.b]\n", "/a/tool.yaml", "tool");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->hash, config->hash);
}

TEST(ConfigHash, CanonicalFormIsLengthPrefixed) {
  ToolConfig a, b;
  a.podmanArgs = {"a\n- 1:b"};
  b.podmanArgs = {"a", "b"};
  EXPECT_NE(canonicalForm(a), canonicalForm(b));
  EXPECT_NE(configHash(a), configHash(b));
  EXPECT_EQ(configHash(a), configHash(a));
}

}  // namespace
}  // namespace coco::config
