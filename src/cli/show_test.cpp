// Tests for the `show` summary and the warnings about grants that defeat the sandbox.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/show.hpp"
#include "cli/show_json.hpp"

namespace coco::cli {
namespace {

// Paths that do not exist, so only the lexical rules apply.
const ShowContext kCtx{"/nonexistent-coco/home/u/project", "/nonexistent-coco/home/u", "/nonexistent-coco/run/user/1000"};

config::ToolConfig withMount(const std::string& src, bool ro = false) {
  config::ToolConfig c;
  c.name = "t";
  c.path = "/x/t.json";
  c.command = "t";
  c.mounts.push_back({src, "/mnt", ro, 1});
  c.network = NetworkMode::None;  // full outbound has a warning of its own
  return c;
}

bool anyContains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& l : lines)
    if (l.find(needle) != std::string::npos) return true;
  return false;
}

TEST(ShowWarnings, SafeConfigHasNone) {
  auto c = withMount(".");
  c.mounts.push_back({"~/.cache/t", "/root/.cache", false, 2});
  c.network = NetworkMode::None;
  EXPECT_TRUE(sandboxWarnings(c, kCtx).empty());
}

TEST(ShowWarnings, HomeRootAndParents) {
  for (const char* src : {"~", "/nonexistent-coco/home/u", "/nonexistent-coco/home", "/nonexistent-coco", "..", "~/"}) {
    auto w = sandboxWarnings(withMount(src, true), kCtx);
    ASSERT_EQ(w.size(), 1u) << src;
    EXPECT_TRUE(anyContains(w, "home directory")) << src << ": " << w[0];
  }
  auto root = sandboxWarnings(withMount("/"), kCtx);
  ASSERT_EQ(root.size(), 1u);
  EXPECT_TRUE(anyContains(root, "mounts /"));
}

TEST(ShowWarnings, RunningFromHomeMakesDotTheHome) {
  ShowContext fromHome = kCtx;
  fromHome.cwd = fromHome.home;
  EXPECT_TRUE(anyContains(sandboxWarnings(withMount("."), fromHome), "home directory (when run from " + fromHome.home));
  // The same check as `coco run`'s: reached through `.`, not named, so a run refuses it.
  EXPECT_TRUE(anyContains(sandboxWarnings(withMount("."), fromHome), "coco run refuses it"));
  EXPECT_FALSE(anyContains(sandboxWarnings(withMount("~", true), fromHome), "coco run refuses it"));
  // Writable, home is refused however it is named, unless allowed.
  EXPECT_TRUE(anyContains(sandboxWarnings(withMount("~"), fromHome), "refuses it without --allow-home"));
  auto allowed = withMount("~");
  allowed.allowHome = true;
  EXPECT_FALSE(anyContains(sandboxWarnings(allowed, fromHome), "refuses"));
}

TEST(ShowWarnings, Credentials) {
  for (const char* src : {"~/.ssh", "~/.ssh/id_ed25519", "~/.aws", "~/.gnupg", "~/.config/gcloud", "~/.config",
                          "~/.kube/config", "~/.docker"}) {
    auto w = sandboxWarnings(withMount(src, true), kCtx);
    EXPECT_TRUE(anyContains(w, "credentials")) << src;
  }
  EXPECT_FALSE(anyContains(sandboxWarnings(withMount("~/.ssh"), kCtx), "refuses"));
  ShowContext inSsh = kCtx;
  inSsh.cwd = kCtx.home + "/.ssh";
  EXPECT_TRUE(anyContains(sandboxWarnings(withMount("."), inSsh), "coco run refuses it"));
  EXPECT_TRUE(sandboxWarnings(withMount("~/.sshfoo"), kCtx).empty());
  EXPECT_TRUE(sandboxWarnings(withMount("~/.config/nvim"), kCtx).empty());
}

TEST(ShowWarnings, RuntimeSockets) {
  for (const char* src : {"/var/run/docker.sock", "/run/docker.sock", "/run/podman/podman.sock", "/var/run",
                          "/nonexistent-coco/run/user/1000/podman/podman.sock", "/nonexistent-coco/run/user/1000"}) {
    auto w = sandboxWarnings(withMount(src), kCtx);
    EXPECT_TRUE(anyContains(w, "container runtime socket")) << src;
  }
  EXPECT_TRUE(sandboxWarnings(withMount("/run/user-data"), kCtx).empty());
}

TEST(ShowWarnings, OtherRiskyGrants) {
  config::ToolConfig c = withMount(".");
  c.envPassthrough = {"TERM", "SSH_AUTH_SOCK"};
  c.x11 = true;
  c.network = NetworkMode::Host;
  c.seccomp = "unconfined";
  c.workspaceGuard = false;
  auto w = sandboxWarnings(c, kCtx);
  EXPECT_EQ(w.size(), 5u);
  for (const char* needle : {"SSH_AUTH_SOCK", "x11", "network: host", "seccomp: unconfined", "workspace_guard"})
    EXPECT_TRUE(anyContains(w, needle)) << needle;
}

// No `network` key and no allowed_hosts: full outbound, which `coco show` and runs warn about.
TEST(ShowWarnings, FullOutboundNetwork) {
  config::ToolConfig c = withMount(".");
  c.network = NetworkMode::Full;
  auto w = sandboxWarnings(c, kCtx);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(anyContains(w, "network: full outbound access")) << w[0];
  EXPECT_TRUE(anyContains(w, "allowed_hosts")) << w[0];
  EXPECT_NE(describeConfig(c, kCtx).find("WARNING: network: full outbound access"), std::string::npos);
  for (NetworkMode quiet : {NetworkMode::None, NetworkMode::Allowlist}) {
    c.network = quiet;
    EXPECT_FALSE(anyContains(sandboxWarnings(c, kCtx), "full outbound"));
  }
}

TEST(ShowWarnings, AllowHome) {
  config::ToolConfig c = withMount(".");
  EXPECT_TRUE(sandboxWarnings(c, kCtx).empty());
  c.allowHome = true;
  auto w = sandboxWarnings(c, kCtx);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(anyContains(w, "allow_home: true")) << w[0];
  EXPECT_NE(describeConfig(c, kCtx).find("allow home:"), std::string::npos);
}

TEST(ShowSummary, PlainWords) {
  config::ToolConfig c = withMount(".", true);
  c.name = "eslint";
  c.tool = "npm:eslint";
  c.command = "eslint";
  c.mounts.push_back({"~/.cache/eslint", "/root/.cache", false, 2});
  c.envPassthrough = {"NODE_ENV"};
  c.env = {{"FOO", "secret-value"}};
  c.network = NetworkMode::Allowlist;
  c.allowedHosts = {"api.example.com"};
  c.ports = {{"127.0.0.1", 8080, 80}};
  std::string s = describeConfig(c, kCtx);
  EXPECT_NE(s.find("npm:eslint"), std::string::npos);
  EXPECT_NE(s.find(kCtx.cwd + " (the directory you run it from) -> /mnt, read-only"), std::string::npos) << s;
  EXPECT_NE(s.find(kCtx.home + "/.cache/eslint -> /root/.cache, WRITABLE"), std::string::npos) << s;
  EXPECT_NE(s.find("NODE_ENV, TERM, LANG (when set on the host)"), std::string::npos) << s;
  EXPECT_NE(s.find("FOO"), std::string::npos);
  EXPECT_EQ(s.find("secret-value"), std::string::npos);
  EXPECT_NE(s.find("only api.example.com"), std::string::npos);
  EXPECT_NE(s.find("127.0.0.1:8080 -> 80"), std::string::npos);
  EXPECT_EQ(s.find("WARNING"), std::string::npos);
  c.network = NetworkMode::Host;
  EXPECT_NE(describeConfig(c, kCtx).find("WARNING: network: host"), std::string::npos);
}

// A networked config's CA bundle: where the run binds it (the plan's own choice), or that no
// place is left and runs are refused, which is what the run's refusal sends the user here for.
TEST(ShowSummary, WhereTheCaBundleGoes) {
  config::ToolConfig c = withMount(".");
  ShowContext ctx = kCtx;
  ctx.caBundle = "/etc/ssl/certs/ca-certificates.crt";
  // network: none has none, but a widened run has, and the widened run's refusal sends the user here.
  EXPECT_NE(
      describeConfig(c, ctx).find("CA bundle:        none (no network); a --learn or COCO_ALLOW_NETWORK "
                                  "run: the host's /etc/ssl/certs/ca-certificates.crt, read-only at "
                                  "/run/coco/ca-certificates.crt"),
      std::string::npos)
      << describeConfig(c, ctx);
  EXPECT_EQ(nlohmann::json::parse(configToJson(c, ctx))["ca_bundle"]["only_widened"], true);
  c.network = NetworkMode::Allowlist;
  c.allowedHosts = {"api.example.com"};
  EXPECT_NE(describeConfig(c, ctx).find(
                "CA bundle:        the host's /etc/ssl/certs/ca-certificates.crt, read-only "
                "at /run/coco/ca-certificates.crt"),
            std::string::npos)
      << describeConfig(c, ctx);
  c.mounts.push_back({"~/run", "/run", false, 2});
  EXPECT_NE(describeConfig(c, ctx).find("read-only at /etc/coco/ca-certificates.crt"), std::string::npos)
      << describeConfig(c, ctx);
  c.mounts.push_back({"~/etc", "/etc/coco", false, 3});
  c.mounts.push_back({"~/var", "/var", true, 4});
  std::string s = describeConfig(c, ctx);
  EXPECT_NE(s.find("CA bundle:        NO PLACE, so runs are refused: the mounts at /run (/x/t.json, line 2), "
                   "/etc/coco (/x/t.json, line 3), /var (/x/t.json, line 4) leave no place"),
            std::string::npos)
      << s;
  auto json = nlohmann::json::parse(configToJson(c, ctx));
  EXPECT_EQ(json["ca_bundle"]["host"], "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_TRUE(json["ca_bundle"]["at"].is_null());
  EXPECT_NE(json["ca_bundle"]["refused"].get<std::string>().find("/var (/x/t.json, line 4)"),
            std::string::npos);
  c.mounts.pop_back();
  json = nlohmann::json::parse(configToJson(c, ctx));
  EXPECT_EQ(json["ca_bundle"]["at"], "/var/lib/coco/ca-certificates.crt");
  EXPECT_TRUE(json["ca_bundle"]["refused"].is_null());
  ctx.caBundle = "";
  EXPECT_NE(describeConfig(c, ctx).find("CA bundle:        none on the host"), std::string::npos);
  EXPECT_TRUE(nlohmann::json::parse(configToJson(c, ctx))["ca_bundle"].is_null());
  ctx.caBundle = "/etc/ssl/certs/ca-certificates.crt";
  c.network = NetworkMode::None;
  c.mounts.push_back({"~/var", "/var", true, 4});
  EXPECT_NE(
      describeConfig(c, ctx).find("CA bundle:        none (no network); a --learn or COCO_ALLOW_NETWORK "
                                  "run: NO PLACE, so runs are refused: the mounts at /run"),
      std::string::npos)
      << describeConfig(c, ctx);
}

// `caches`: which, and the host directory CI would keep.
TEST(ShowSummary, KeptCaches) {
  config::ToolConfig c = withMount(".");
  EXPECT_EQ(describeConfig(c, kCtx).find("kept caches:"), std::string::npos);
  c.caches = {"npm", "pip"};
  ShowContext ctx = kCtx;
  ctx.runCaches = "/nonexistent-coco/home/u/.cache/coco/run-caches";
  std::string s = describeConfig(c, ctx);
  EXPECT_NE(s.find("npm, pip: read-write, kept between this tool's runs in "
                   "/nonexistent-coco/home/u/.cache/coco/run-caches/t/"),
            std::string::npos)
      << s;
}

// The install's hosts: what coco derived, the config's install_hosts and
// allowed_hosts, and what to do about managers whose sources were not found.
TEST(ShowSummary, InstallHosts) {
  config::ToolConfig c;
  c.name = "ruff";
  c.tool = "pipx:ruff";
  c.command = "ruff";
  c.network = NetworkMode::None;
  c.installHosts = {"mirror.example:8443"};
  ShowContext ctx = kCtx;
  EXPECT_EQ(describeConfig(c, ctx).find("install hosts:"), std::string::npos);  // not asked for
  ctx.install = InstallHostsView{{"files.example", "pypi.example"}, {"cargo"}, "", true};
  std::string s = describeConfig(c, ctx);
  EXPECT_NE(s.find("install hosts:    files.example, pypi.example (derived); mirror.example:8443 (install_hosts)\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("cargo: sources not found; name them in install_hosts, or set COCO_INSTALL_NETWORK=host"),
            std::string::npos)
      << s;
  ctx.install = InstallHostsView{{}, {"apt"}, "", false};
  s = describeConfig(c, ctx);
  EXPECT_NE(s.find("install hosts:    mirror.example:8443 (install_hosts)\n"), std::string::npos) << s;
  EXPECT_NE(s.find("apt: the base image's sources, read once it is built"), std::string::npos) << s;
  ctx.install = InstallHostsView{{}, {}, "cannot tell which npm registry to use", true};
  c.installHosts.clear();
  s = describeConfig(c, ctx);
  EXPECT_NE(s.find("install hosts:    none derived: cannot tell which npm registry to use\n"), std::string::npos) << s;
  c.tool.reset();
  EXPECT_NE(describeConfig(c, ctx).find("install hosts:    none (nothing is installed)"), std::string::npos);
}

TEST(Show, SaysWhetherLandlockIsOn) {
  config::ToolConfig c;
  c.name = "tool";
  c.command = "tool";
  c.network = NetworkMode::Host;
  ShowContext ctx = kCtx;
  ctx.landlockAbi = 0;
  std::string off = describeConfig(c, ctx);
  EXPECT_NE(off.find("landlock:         off: this kernel has no Landlock"), std::string::npos) << off;
  EXPECT_NE(off.find("the host's abstract unix sockets"), std::string::npos) << off;
  ctx.landlockAbi = 5;
  std::string five = describeConfig(c, ctx);
  EXPECT_NE(five.find("landlock:         on (ABI 5)"), std::string::npos) << five;
  EXPECT_NE(five.find("cannot keep abstract unix sockets and signals inside the sandbox"), std::string::npos) << five;
  ctx.landlockAbi = 6;
  std::string six = describeConfig(c, ctx);
  EXPECT_NE(six.find("landlock:         on (ABI 6)"), std::string::npos) << six;
  EXPECT_NE(six.find("abstract unix sockets and signals stay inside the sandbox"), std::string::npos) << six;
  EXPECT_EQ(six.find("the host's abstract unix sockets"), std::string::npos) << six;
}

TEST(ShowSummary, WorkspaceGuard) {
  config::ToolConfig c = withMount(".");
  std::string s = describeConfig(c, kCtx);
  EXPECT_NE(s.find("workspace guard:  on, .git read-only"), std::string::npos) << s;
  for (const char* name :
       {".envrc", ".vscode", "mise.toml", ".husky", ".pre-commit-config.yaml", "core.hooksPath"})
    EXPECT_NE(s.find(name), std::string::npos) << name << "\n" << s;
  c.guardGitWrite = true;
  EXPECT_NE(describeConfig(c, kCtx).find("on, git: write"), std::string::npos);
  c.workspaceGuard = false;
  s = describeConfig(c, kCtx);
  EXPECT_NE(s.find("workspace guard:  OFF (workspace_guard: false)"), std::string::npos) << s;
  EXPECT_NE(s.find("WARNING: workspace_guard: false"), std::string::npos) << s;
}

}  // namespace
}  // namespace coco::cli
