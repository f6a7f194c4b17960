// Tests for planRun and planToJson: environment hygiene, mounts, network, ports, seccomp.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tool/plan.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::tool {
namespace {

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path();
    ctx_.home = root_ + "/home";
    ctx_.cwd = ctx_.home + "/project";
    ASSERT_TRUE(fs::makeDirs(ctx_.cwd).ok());
    ctx_.hostEnv = {{"HOME", ctx_.home}, {"TERM", "xterm-256color"}, {"LANG", "C.UTF-8"},
                    {"AWS_SECRET_ACCESS_KEY", "hunter2-secret"}, {"NODE_ENV", "production"}, {"USER", "alice"}};
    ctx_.image = image::Image{"rootfs:/img", {"/img"}, {{"PATH", "/usr/bin:/bin"}, {"LANG", "image-lang"}}, ""};
    config_.name = "eslint";
    config_.path = ctx_.home + "/.local/share/coco/tools/eslint.json";
    config_.tool = "npm:eslint";
    config_.command = "eslint";
    // Offline like the store's eslint; networked runs also get the CA bundle (tested below).
    config_.network = config::NetworkMode::None;
  }

  static const std::string* envValue(const engine::RunSpec& s, const std::string& name) {
    for (const auto& kv : s.env)
      if (kv.first == name) return &kv.second;
    return nullptr;
  }

  TempDir tmp_{"coco-plan-test"};
  std::string root_;
  RunContext ctx_;
  config::ToolConfig config_;
};

TEST_F(PlanTest, EnvironmentIsBuiltNotInherited) {
  config_.env = {{"FOO", "bar"}, {"PATH", "/opt/bin:/usr/bin"}};
  config_.envPassthrough = {"NODE_ENV", "NOT_SET_ON_HOST"};
  auto s = planRun(config_, {}, ctx_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(*envValue(*s, "HOME"), "/root");
  EXPECT_EQ(*envValue(*s, "TERM"), "xterm-256color");
  EXPECT_EQ(*envValue(*s, "LANG"), "C.UTF-8");  // the host's beats the image's
  EXPECT_EQ(*envValue(*s, "FOO"), "bar");
  EXPECT_EQ(*envValue(*s, "PATH"), "/opt/bin:/usr/bin");
  EXPECT_EQ(*envValue(*s, "NODE_ENV"), "production");
  EXPECT_EQ(envValue(*s, "NOT_SET_ON_HOST"), nullptr);
  EXPECT_EQ(envValue(*s, "AWS_SECRET_ACCESS_KEY"), nullptr);
  EXPECT_EQ(envValue(*s, "USER"), nullptr);
  EXPECT_EQ(s->env.size(), 6u);
}

TEST_F(PlanTest, PassthroughOverridesConfigEnvWhenSet) {
  config_.env = {{"NODE_ENV", "development"}};
  config_.envPassthrough = {"NODE_ENV"};
  auto s = planRun(config_, {}, ctx_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*envValue(*s, "NODE_ENV"), "production");
  ctx_.hostEnv.erase("NODE_ENV");
  auto t = planRun(config_, {}, ctx_);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*envValue(*t, "NODE_ENV"), "development");
}

TEST_F(PlanTest, ArgvIsCommandThenArgsVerbatim) {
  auto s = planRun(config_, {"--fix", "src/", "; rm -rf /", "--help"}, ctx_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->argv, (std::vector<std::string>{"eslint", "--fix", "src/", "; rm -rf /", "--help"}));
  EXPECT_EQ(s->toolName, "eslint");
  EXPECT_EQ(s->layers, std::vector<std::string>{"/img"});
  EXPECT_EQ(s->workdir, "/workspace");
}

TEST_F(PlanTest, MountSourcesAreExpandedAndCreated) {
  config_.mounts = {{".", "/workspace", false, 1}, {"~/.cache/eslint", "/root/.cache", false, 2},
                    {"sub/dir", "/data", true, 3}};
  auto s = planRun(config_, {}, ctx_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  ASSERT_EQ(s->mounts.size(), 3u);
  EXPECT_EQ(s->mounts[0].src, ctx_.cwd);
  EXPECT_FALSE(s->mounts[0].readOnly);
  EXPECT_EQ(s->mounts[1].src, ctx_.home + "/.cache/eslint");
  EXPECT_EQ(s->mounts[2].src, ctx_.cwd + "/sub/dir");
  EXPECT_EQ(s->mounts[2].dst, "/data");
  EXPECT_TRUE(s->mounts[2].readOnly);
  EXPECT_TRUE(fs::isDirectory(ctx_.home + "/.cache/eslint"));
  EXPECT_TRUE(fs::isDirectory(ctx_.cwd + "/sub/dir"));
}

TEST_F(PlanTest, DryRunPlanCreatesNothing) {
  config_.mounts = {{"~/.cache/eslint", "/root/.cache", false, 1}};
  ctx_.createSources = false;
  auto s = planRun(config_, {}, ctx_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->mounts[0].src, ctx_.home + "/.cache/eslint");
  EXPECT_FALSE(fs::exists(ctx_.home + "/.cache"));
}

TEST_F(PlanTest, MissingSourceOutsideHomeAndCwdIsAnError) {
  config_.mounts = {{root_ + "/elsewhere/data", "/data", false, 4}};
  auto s = planRun(config_, {}, ctx_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find(config_.path), std::string::npos) << s.error().message();
  EXPECT_FALSE(fs::exists(root_ + "/elsewhere"));
}

TEST_F(PlanTest, NetworkModes) {
  config_.network = config::NetworkMode::None;
  EXPECT_EQ(planRun(config_, {}, ctx_)->network, engine::Network::None);
  config_.network = config::NetworkMode::Allowlist;
  config_.allowedHosts = {"api.example.com", "example.org:8443"};
  auto allow = planRun(config_, {}, ctx_);
  EXPECT_EQ(allow->network, engine::Network::Allowlist);
  EXPECT_EQ(allow->allowedHosts, config_.allowedHosts);
  config_.network = config::NetworkMode::Host;
  EXPECT_EQ(planRun(config_, {}, ctx_)->network, engine::Network::Host);
  config_.network = config::NetworkMode::Full;
  EXPECT_EQ(planRun(config_, {}, ctx_)->network, engine::Network::Full);
}

TEST_F(PlanTest, AllowNetworkForcesFull) {
  ctx_.allowNetwork = true;
  config_.network = config::NetworkMode::None;
  EXPECT_EQ(planRun(config_, {}, ctx_)->network, engine::Network::Full);
  config_.network = config::NetworkMode::Allowlist;
  config_.allowedHosts = {"api.example.com"};
  auto s = planRun(config_, {}, ctx_);
  EXPECT_EQ(s->network, engine::Network::Full);
  EXPECT_TRUE(s->allowedHosts.empty());
  config_.network = config::NetworkMode::Host;
  EXPECT_EQ(planRun(config_, {}, ctx_)->network, engine::Network::Host);
}

TEST_F(PlanTest, PortsFromConfigAndExtra) {
  config_.ports = {{"127.0.0.1", 8080, 80}};
  ctx_.extraPorts = "3000:3000,0.0.0.0:9000:90";
  auto s = planRun(config_, {}, ctx_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  ASSERT_EQ(s->ports.size(), 3u);
  EXPECT_EQ(s->ports[0].hostPort, 8080);
  EXPECT_EQ(s->ports[1].containerPort, 3000);
  EXPECT_EQ(s->ports[2].hostAddr, "0.0.0.0");
  ctx_.extraPorts = "3000:3000,bogus";
  auto bad = planRun(config_, {}, ctx_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("COCO_EXTRA_PORTS"), std::string::npos);
}

TEST_F(PlanTest, SeccompProfiles) {
  auto s = planRun(config_, {}, ctx_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_TRUE(s->seccompProfile.ends_with("/seccomp-profiles/default.json")) << s->seccompProfile;
  EXPECT_TRUE(fs::exists(s->seccompProfile));
  config_.seccomp = "unconfined";
  EXPECT_EQ(planRun(config_, {}, ctx_)->seccompProfile, "");
  config_.seccomp = "~/profiles/strict.json";
  EXPECT_EQ(planRun(config_, {}, ctx_)->seccompProfile, ctx_.home + "/profiles/strict.json");
  config_.seccomp = "strict.json";
  EXPECT_EQ(planRun(config_, {}, ctx_)->seccompProfile, ctx_.cwd + "/strict.json");
}

TEST_F(PlanTest, WorkspaceGuardIsCarried) {
  auto spec = planRun(config_, {}, ctx_);
  EXPECT_TRUE(spec->guard.enabled);
  EXPECT_FALSE(spec->guard.gitWrite);
  EXPECT_EQ(spec->guard.home, ctx_.home);
  EXPECT_TRUE(spec->guard.cacheDir.ends_with("/coco/guard")) << spec->guard.cacheDir;
  config_.guardGitWrite = true;
  EXPECT_TRUE(planRun(config_, {}, ctx_)->guard.gitWrite);
  config_.workspaceGuard = false;
  EXPECT_FALSE(planRun(config_, {}, ctx_)->guard.enabled);
}

TEST_F(PlanTest, WorkspaceGuardReadsTheUsersHooksPath) {
  ASSERT_TRUE(fs::makeDirs(ctx_.home + "/.config/git").ok());
  ASSERT_TRUE(fs::writeFileAtomic(ctx_.home + "/.config/git/config", "[core]\n\thooksPath = xdg\n").ok());
  EXPECT_EQ(planRun(config_, {}, ctx_)->guard.hostHooksPath, "xdg");
  // ~/.gitconfig is read after the XDG file, so it wins.
  ASSERT_TRUE(fs::writeFileAtomic(ctx_.home + "/.gitconfig", "[core]\n\thooksPath = ~/hooks\n").ok());
  EXPECT_EQ(planRun(config_, {}, ctx_)->guard.hostHooksPath, "~/hooks");
  ctx_.hostEnv["GIT_CONFIG_GLOBAL"] = ctx_.home + "/other";
  ASSERT_TRUE(fs::writeFileAtomic(ctx_.home + "/other", "[core]\n\thooksPath = other\n").ok());
  EXPECT_EQ(planRun(config_, {}, ctx_)->guard.hostHooksPath, "other");
}

TEST_F(PlanTest, X11PassesDisplayAndCookieReadOnly) {
  std::string cookie = ctx_.home + "/.Xauthority";
  ASSERT_TRUE(fs::writeFileAtomic(cookie, "cookie").ok());
  ctx_.hostEnv["DISPLAY"] = ":0";
  config_.x11 = true;
  auto s = planRun(config_, {}, ctx_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*envValue(*s, "DISPLAY"), ":0");
  ASSERT_NE(envValue(*s, "XAUTHORITY"), nullptr);
  auto it = std::find_if(s->mounts.begin(), s->mounts.end(), [&](const auto& m) { return m.src == cookie; });
  ASSERT_NE(it, s->mounts.end());
  EXPECT_TRUE(it->readOnly);
  EXPECT_EQ(it->dst, *envValue(*s, "XAUTHORITY"));
  config_.x11 = false;
  auto off = planRun(config_, {}, ctx_);
  EXPECT_EQ(envValue(*off, "DISPLAY"), nullptr);
  EXPECT_TRUE(off->mounts.empty());
}

TEST_F(PlanTest, JsonHasNamesNotValues) {
  config_.mounts = {{".", "/workspace", true, 1}};
  config_.envPassthrough = {"AWS_SECRET_ACCESS_KEY"};
  config_.network = config::NetworkMode::Allowlist;
  config_.allowedHosts = {"api.example.com"};
  config_.ports = {{"127.0.0.1", 8080, 80}};
  auto s = planRun(config_, {"--fix", "\xff\xfe"}, ctx_);
  ASSERT_TRUE(s.ok());
  std::string text = planToJson(*s, "rootfs:/img");
  EXPECT_EQ(text.find("hunter2-secret"), std::string::npos);
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["image"], "rootfs:/img");
  EXPECT_EQ(j["layers"][0], "/img");
  EXPECT_EQ(j["mounts"][0]["src"], ctx_.cwd);
  EXPECT_EQ(j["mounts"][0]["dst"], "/workspace");
  EXPECT_EQ(j["mounts"][0]["mode"], "ro");
  auto names = j["env"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(names.begin(), names.end(), "AWS_SECRET_ACCESS_KEY"), names.end());
  EXPECT_EQ(j["network"], "allowlist");
  EXPECT_EQ(j["allowed_hosts"][0], "api.example.com");
  EXPECT_EQ(j["ports"][0]["host_port"], 8080);
  EXPECT_EQ(j["ports"][0]["container_port"], 80);
  EXPECT_EQ(j["workdir"], "/workspace");
  EXPECT_EQ(j["argv"][0], "eslint");
  EXPECT_EQ(j["argv"][1], "--fix");
  EXPECT_EQ(j["workspace_guard"], true);
  EXPECT_EQ(j["workspace_guard_git"], "read");
  EXPECT_TRUE(j["seccomp"].get<std::string>().ends_with("default.json"));
}

}  // namespace
}  // namespace coco::tool

namespace coco::tool {
namespace {

TEST_F(PlanTest, CommandWithArgumentsIsSplitLikeTheOriginal) {
  config_.command = "npm  ci";
  auto s = planRun(config_, {"--omit=dev"}, ctx_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(s->argv, (std::vector<std::string>{"npm", "ci", "--omit=dev"}));
}

TEST_F(PlanTest, NetworkedRunsGetTheHostCaBundleReadOnly) {
  std::string bundle = root_ + "/corp-ca.pem";
  ASSERT_TRUE(fs::writeFileAtomic(bundle, "-----BEGIN CERTIFICATE-----\n").ok());
  ctx_.hostEnv["SSL_CERT_FILE"] = bundle;
  config_.network = config::NetworkMode::Allowlist;
  config_.allowedHosts = {"example.com"};
  auto s = planRun(config_, {}, ctx_);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  auto ca = std::find_if(s->mounts.begin(), s->mounts.end(), [&](const auto& m) { return m.src == bundle; });
  ASSERT_NE(ca, s->mounts.end());
  EXPECT_TRUE(ca->readOnly);
  for (const char* name : {"SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "PIP_CERT",
                           "CARGO_HTTP_CAINFO", "GIT_SSL_CAINFO"}) {
    ASSERT_NE(envValue(*s, name), nullptr) << name;
    EXPECT_EQ(*envValue(*s, name), ca->dst) << name;
  }
}

TEST_F(PlanTest, OfflineRunsGetNoCaBundle) {
  config_.network = config::NetworkMode::None;
  auto s = planRun(config_, {}, ctx_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(envValue(*s, "SSL_CERT_FILE"), nullptr);
  for (const auto& m : s->mounts) EXPECT_EQ(m.dst.find("ca-certificates"), std::string::npos);
}

}  // namespace
}  // namespace coco::tool
