#include "config/loader.hpp"

#include <gtest/gtest.h>

#include "config/test_support.hpp"
#include "util/fs.hpp"

namespace coco::config {
namespace {

using testing::ScopedEnv;
using testing::TempDir;

ToolConfig parseOk(std::string_view text, const std::string& name = "tool") {
  auto config = parseConfig(text, "/cfg/" + name + ".yaml", name);
  EXPECT_TRUE(config.ok()) << config.error().message();
  return config.ok() ? *config : ToolConfig{};
}

std::string parseError(std::string_view text, const std::string& name = "eslint") {
  auto config = parseConfig(text, "t.yaml", name);
  if (config.ok()) return "(parsed fine)";
  return config.error().message();
}

// The README's two examples, verbatim.
constexpr std::string_view kReadmeEslint = R"({
  "tool": "npm:eslint",
  "command": "eslint",
  "mounts": [{ "src": ".", "dst": "/workspace" }],
  "env_passthrough": ["TERM", "NODE_ENV"],
  "network": "none"
}
)";

constexpr std::string_view kReadmeClaude = R"({
  "tool": "npm:@anthropic-ai/claude-code",
  "command": "claude",
  "mounts": [
    { "src": ".", "dst": "/workspace" },
    { "src": "~/.local/share/claude", "dst": "/root/.claude" },
    { "src": "~/.config/claude", "dst": "/root/.config/claude" }
  ],
  "env_passthrough": ["TERM", "ANTHROPIC_API_KEY"],
  "allowed_hosts": ["api.anthropic.com", "statsig.anthropic.com"]
}
)";

TEST(Loader, ReadmeEslintExample) {
  ToolConfig c = parseOk(kReadmeEslint, "eslint");
  EXPECT_EQ(c.name, "eslint");
  EXPECT_EQ(c.path, "/cfg/eslint.yaml");
  EXPECT_EQ(c.tool, "npm:eslint");
  EXPECT_EQ(c.command, "eslint");
  ASSERT_EQ(c.mounts.size(), 1u);
  EXPECT_EQ(c.mounts[0].src, ".");
  EXPECT_EQ(c.mounts[0].dst, "/workspace");
  EXPECT_FALSE(c.mounts[0].readOnly);
  EXPECT_EQ(c.mounts[0].line, 4);
  EXPECT_EQ(c.envPassthrough, (std::vector<std::string>{"TERM", "NODE_ENV"}));
  EXPECT_EQ(c.network, NetworkMode::None);
  EXPECT_EQ(c.workdir, "/workspace");
  EXPECT_EQ(c.hash.size(), 64u);
}

TEST(Loader, ReadmeClaudeExample) {
  ToolConfig c = parseOk(kReadmeClaude, "claude");
  EXPECT_EQ(c.tool, "npm:@anthropic-ai/claude-code");
  EXPECT_EQ(c.command, "claude");
  ASSERT_EQ(c.mounts.size(), 3u);
  EXPECT_EQ(c.mounts[1].src, "~/.local/share/claude");
  EXPECT_EQ(c.mounts[1].dst, "/root/.claude");
  EXPECT_EQ(c.mounts[2].src, "~/.config/claude");
  EXPECT_EQ(c.mounts[2].dst, "/root/.config/claude");
  EXPECT_EQ(c.mounts[2].line, 7);
  EXPECT_EQ(c.network, NetworkMode::Allowlist);
  EXPECT_EQ(c.allowedHosts, (std::vector<std::string>{"api.anthropic.com", "statsig.anthropic.com"}));
}

// Every option the original documents, in its JSON format.
constexpr std::string_view kOriginalEveryOption = R"({
  "tool": "npm:vite",
  "command": "vite",
  "mounts": [
    { "src": ".", "dst": "/workspace" },
    { "src": "~/.cache/vite", "dst": "/root/.cache/vite", "opts": "rw" },
    { "src": "/etc/ssl/certs", "dst": "/etc/ssl/certs", "opts": "ro" }
  ],
  "env": { "NODE_ENV": "development", "PORT": 5173, "CI": true },
  "env_passthrough": ["TERM"],
  "dependencies": { "apt": ["libvips-dev"], "mise": ["node@20"] },
  "workdir": "/workspace/app",
  "allowed_hosts": ["registry.example.com", "cdn.example.com:443"],
  "isolated": true,
  "ports": ["5173:5173", "127.0.0.1:9229:9229"],
  "x11": true,
  "podman_args": ["--shm-size=1g", "--memory", "2g"]
})";

TEST(Loader, OriginalFormatWithEveryOption) {
  ToolConfig c = parseOk(kOriginalEveryOption, "vite");
  EXPECT_EQ(c.tool, "npm:vite");
  EXPECT_EQ(c.command, "vite");
  ASSERT_EQ(c.mounts.size(), 3u);
  EXPECT_FALSE(c.mounts[1].readOnly);
  EXPECT_TRUE(c.mounts[2].readOnly);
  EXPECT_EQ(c.mounts[2].src, "/etc/ssl/certs");
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(c.env, (Env{{"NODE_ENV", "development"}, {"PORT", "5173"}, {"CI", "true"}}));
  EXPECT_EQ(c.envPassthrough, std::vector<std::string>{"TERM"});
  EXPECT_EQ(c.aptDependencies, std::vector<std::string>{"libvips-dev"});
  EXPECT_EQ(c.miseDependencies, std::vector<std::string>{"node@20"});
  EXPECT_EQ(c.workdir, "/workspace/app");
  EXPECT_EQ(c.network, NetworkMode::Allowlist);
  EXPECT_EQ(c.allowedHosts, (std::vector<std::string>{"registry.example.com", "cdn.example.com:443"}));
  EXPECT_TRUE(c.isolated);
  ASSERT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.ports[0].hostAddr, "127.0.0.1");
  EXPECT_EQ(c.ports[0].hostPort, 5173);
  EXPECT_EQ(c.ports[1].containerPort, 9229);
  EXPECT_TRUE(c.x11);
  EXPECT_EQ(c.podmanArgs, (std::vector<std::string>{"--shm-size=1g", "--memory", "2g"}));
  EXPECT_EQ(c.seccomp, "default");
  EXPECT_TRUE(c.workspaceGuard);
}

TEST(Loader, YamlWithCocoAdditions) {
  ToolConfig c = parseOk(R"(# a YAML config
command: npm ci
mounts:
  - {src: ., dst: /workspace, opts: "rw"}
  - src: "~"
    dst: /home/me
    opts: ro,ro
network: host
ports: [8080, "0.0.0.0:80:8080/tcp"]
seccomp: unconfined
workspace_guard: false
isolated: False
x11: FALSE
env:
  EMPTY: ""
  PI: 3.14
)",
                         "ci");
  EXPECT_FALSE(c.tool.has_value());
  EXPECT_EQ(c.command, "npm ci");
  ASSERT_EQ(c.mounts.size(), 2u);
  EXPECT_TRUE(c.mounts[1].readOnly);
  EXPECT_EQ(c.mounts[1].src, "~");
  EXPECT_EQ(c.mounts[1].line, 5);
  EXPECT_EQ(c.network, NetworkMode::Host);
  ASSERT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.ports[0].hostPort, 8080);
  EXPECT_EQ(c.ports[0].containerPort, 8080);
  EXPECT_EQ(c.ports[1].hostAddr, "0.0.0.0");
  EXPECT_EQ(c.ports[1].hostPort, 80);
  EXPECT_EQ(c.ports[1].containerPort, 8080);
  EXPECT_EQ(c.seccomp, "unconfined");
  EXPECT_FALSE(c.workspaceGuard);
  EXPECT_FALSE(c.isolated);
  EXPECT_FALSE(c.x11);
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(c.env, (Env{{"EMPTY", ""}, {"PI", "3.14"}}));
}

TEST(Loader, WorkspaceGuardOptions) {
  ToolConfig c = parseOk("tool: x\nworkspace_guard: {git: write}\n");
  EXPECT_TRUE(c.workspaceGuard);
  EXPECT_TRUE(c.guardGitWrite);
  c = parseOk("tool: x\nworkspace_guard:\n  git: read\n");
  EXPECT_TRUE(c.workspaceGuard);
  EXPECT_FALSE(c.guardGitWrite);
  c = parseOk("{\"tool\": \"x\", \"workspace_guard\": {}}");
  EXPECT_TRUE(c.workspaceGuard);
  EXPECT_FALSE(c.guardGitWrite);
  EXPECT_TRUE(parseOk("tool: x\nworkspace_guard: true\n").workspaceGuard);
}

TEST(Loader, Defaults) {
  ToolConfig c = parseOk("tool: ripgrep\n", "rg");
  EXPECT_EQ(c.tool, "ripgrep");
  EXPECT_EQ(c.command, "rg");
  EXPECT_TRUE(c.mounts.empty());
  EXPECT_TRUE(c.env.empty());
  EXPECT_EQ(c.workdir, "/workspace");
  EXPECT_EQ(c.network, NetworkMode::Full);
  EXPECT_TRUE(c.allowedHosts.empty());
  EXPECT_FALSE(c.isolated);
  EXPECT_FALSE(c.x11);
  EXPECT_EQ(c.seccomp, "default");
  EXPECT_TRUE(c.workspaceGuard);
  EXPECT_FALSE(c.guardGitWrite);
  // An empty allowlist grants nothing extra: the network stays as `network` says.
  EXPECT_EQ(parseOk("tool: x\nallowed_hosts: []\n").network, NetworkMode::Full);
  EXPECT_EQ(parseOk("tool: x\nnetwork: none\nallowed_hosts: []\n").network, NetworkMode::None);
  EXPECT_EQ(parseOk("tool: x\nseccomp: /etc/coco/strict.json\n").seccomp, "/etc/coco/strict.json");
  EXPECT_EQ(parseOk("tool: x\nseccomp: ~/profiles/p.json\n").seccomp, "~/profiles/p.json");
  EXPECT_EQ(parseOk("{\"tool\": \"x\", \"allowed_hosts\": [\"A.Example.COM\"]}").allowedHosts,
            std::vector<std::string>{"a.example.com"});
}

struct BadCase {
  const char* text;
  const char* message;
};

// Each class of bad input, with the exact position it is reported at.
const BadCase kBadCases[] = {
    // YAML itself
    {"", "t.yaml:1:1: the config is empty"},
    {"# nothing\n", "t.yaml:1:1: the config is empty"},
    {"- tool\n",
     "t.yaml:1:1: the config must be a map of keys (like {\"tool\": ...}), not a list or a value"},
    {"just words\n",
     "t.yaml:1:1: the config must be a map of keys (like {\"tool\": ...}), not a list or a value"},
    {"{\"tool\": \"x\",\n \"mounts\": [\n}", "t.yaml:3:1: YAML syntax error: illegal flow end"},
    {"tool: x\nenv: a: b\n", "t.yaml:2:7: YAML syntax error: illegal map value"},
    {"{\"tool\": \"x\" \"command\": \"y\"}", "t.yaml:1:14: YAML syntax error: end of map flow not found"},
    {"tool: x\ntool: y\n", "t.yaml:2:1: duplicate key 'tool' (first on line 1)"},
    {"tool: x\nenv:\n  A: 1\n  A: 2\n", "t.yaml:4:3: duplicate key 'A' (first on line 3)"},
    // unknown keys
    {"tool: x\nenvv: {}\n", "t.yaml:2:1: unknown key 'envv' (did you mean 'env'?)"},
    {"{\n  \"tool\": \"x\",\n  \"netwrok\": \"none\"\n}",
     "t.yaml:3:3: unknown key 'netwrok' (did you mean 'network'?)"},
    {"tool: x\nallowed-hosts: [a.b]\n",
     "t.yaml:2:1: unknown key 'allowed-hosts' (did you mean 'allowed_hosts'?)"},
    {"tool: x\nimage: debian\n",
     "t.yaml:2:1: unknown key 'image' (known keys: tool, command, mounts, env, env_passthrough, "
     "dependencies, "
     "workdir, network, allowed_hosts, install_hosts, check, isolated, caches, ports, x11, podman_args, "
     "seccomp, "
     "workspace_guard, limits, allow_home)"},
    {"tool: x\nmounts:\n  - {src: ., dest: /w}\n", "t.yaml:3:14: unknown key 'dest' (did you mean 'dst'?)"},
    {"tool: x\ndependencies: {pip: [a]}\n", "t.yaml:2:16: unknown key 'pip' (known keys: apt, mise)"},
    {"tool: x\n[a]: 1\n", "t.yaml:2:1: keys of 'config' must be strings"},
    // tool and command
    {"network: none\n",
     "t.yaml:1:1: neither 'tool' nor 'command' is set: name a mise tool, or a command found in "
     "the image"},
    {"tool: \"\"\n", "t.yaml:1:7: 'tool': empty name"},
    {"tool: -rf\n", "t.yaml:1:7: 'tool': '-rf' starts with '-'"},
    {"tool: npm:eslint extra\n",
     "t.yaml:1:7: 'tool': 'npm:eslint extra' contains a blank or control character"},
    {"tool:\n", "t.yaml:1:1: 'tool' must be a string, not empty (a bare ~ is empty in YAML: write \"~\")"},
    {"tool: x\nmounts: [{src: ~, dst: /h}]\n",
     "t.yaml:2:11: 'src' must be a string, not empty (a bare ~ is empty in YAML: write \"~\")"},
    {"tool: [a]\n", "t.yaml:1:7: 'tool' must be a string, not a list"},
    {"tool: x\ncommand: \"\"\n", "t.yaml:2:10: 'command' is empty"},
    {"command: {a: b}\n", "t.yaml:1:10: 'command' must be a string, not a map"},
    // wrong types
    {"tool: x\nmounts: .\n", "t.yaml:2:9: 'mounts' must be a list, not '.'"},
    {"tool: x\nenv: [A=1]\n", "t.yaml:2:6: 'env' must be a map, not a list"},
    {"tool: x\nenv_passthrough: TERM\n", "t.yaml:2:18: 'env_passthrough' must be a list, not 'TERM'"},
    {"tool: x\ndependencies: [git]\n", "t.yaml:2:15: 'dependencies' must be a map, not a list"},
    {"tool: x\ndependencies:\n  apt: git\n", "t.yaml:3:8: 'apt' must be a list, not 'git'"},
    {"tool: x\ndependencies:\n  mise: [go, [x]]\n", "t.yaml:3:14: 'mise[1]' must be a string, not a list"},
    {"tool: x\ndependencies: {apt: [--yes]}\n", "t.yaml:2:22: 'apt[0]': '--yes' starts with '-'"},
    {"tool: x\nisolated: yes\n", "t.yaml:2:11: 'isolated' must be true or false, not 'yes'"},
    {"tool: x\nx11: \"true\"\n", "t.yaml:2:6: 'x11' must be true or false, not a quoted string"},
    {"tool: x\nworkspace_guard: 1\n", "t.yaml:2:18: 'workspace_guard' must be true or false, not '1'"},
    {"tool: x\nworkspace_guard: {git: rw}\n",
     "t.yaml:2:24: workspace_guard 'git' is 'rw', not 'read' (.git read-only) or 'write' (for tools that "
     "commit)"},
    {"tool: x\nworkspace_guard: {hooks: off}\n", "t.yaml:2:19: unknown key 'hooks' (known keys: git)"},
    {"tool: x\nisolated:\n", "t.yaml:2:1: 'isolated' must be true or false, not empty"},
    {"tool: x\npodman_args: --privileged\n", "t.yaml:2:14: 'podman_args' must be a list, not '--privileged'"},
    {"tool: x\nallowed_hosts: a.b\n", "t.yaml:2:16: 'allowed_hosts' must be a list, not 'a.b'"},
    // install_hosts and check
    {"tool: x\ninstall_hosts: a.b\n", "t.yaml:2:16: 'install_hosts' must be a list, not 'a.b'"},
    {"tool: x\nnetwork: none\ninstall_hosts:\n  - good.example\n  - \"[good.example]:443\"\n",
     "t.yaml:5:5: 'install_hosts[1]': allowed host '[good.example]:443': brackets hold an IPv6 address, not "
     "'good.example'"},
    {"tool: x\ninstall_hosts: [\"a.b:0\"]\n",
     "t.yaml:2:17: 'install_hosts[0]': allowed host 'a.b:0': bad port '0': ports are numbers from 1 to "
     "65535"},
    {"tool: x\ncheck: --help\n", "t.yaml:2:8: 'check' must be a list, not '--help'"},
    {"tool: x\ncheck: [[a]]\n", "t.yaml:2:9: 'check[0]' must be a string, not a list"},
    {"command: ls\ncheck: [--help]\n",
     "t.yaml:2:1: 'check' starts the tool coco installs, and there is no 'tool'; remove 'check'"},
    {"tool: x\nports: \"80:80\"\n", "t.yaml:2:8: 'ports' must be a list, not '80:80'"},
    // allow_home
    {"tool: x\nallow_home: yes\n", "t.yaml:2:13: 'allow_home' must be true or false, not 'yes'"},
    {"tool: x\nallow_home: \"true\"\n",
     "t.yaml:2:13: 'allow_home' must be true or false, not a quoted string"},
    // mount options
    {"tool: x\nmounts: [{src: ., dst: /w, opts: \"z,Z\"}]\n",
     "t.yaml:2:34: 'opts': mount options 'z,Z' ask for both z and Z"},
    {"tool: x\nmounts: [{src: ., dst: /w, opts: \"ro,shared\"}]\n",
     "t.yaml:2:34: 'opts': unknown mount option 'shared' (coco knows ro, rw, z, Z and U)"},
    // caches
    {"tool: x\ncaches: npm\n", "t.yaml:2:9: 'caches' must be a list, not 'npm'"},
    {"tool: x\ncaches: [npm, mise]\n",
     "t.yaml:2:15: 'mise' is not a cache coco knows; 'caches' takes npm, pip, uv, cargo, go, yarn, pnpm"},
    {"tool: x\ncaches: [../npm]\n",
     "t.yaml:2:10: '../npm' is not a cache coco knows; 'caches' takes npm, pip, uv, cargo, go, yarn, pnpm"},
    {"tool: x\ncaches:\n  - npm\n  - pip\n  - npm\n", "t.yaml:5:5: cache 'npm' is named twice"},
    {"tool: x\ncaches: [[npm]]\n", "t.yaml:2:10: 'caches[0]' must be a string, not a list"},
    // network
    {"tool: x\nnetwork: bridge\n",
     "t.yaml:2:10: network 'bridge' is not 'none' or 'host' (leave it out for full access, or list "
     "allowed_hosts)"},
    {"tool: x\nnetwork: none\nallowed_hosts: [a.b]\n",
     "t.yaml:3:1: 'allowed_hosts' contradicts 'network: none'; remove one of them"},
    {"tool: x\nallowed_hosts: [a.b]\nnetwork: host\n",
     "t.yaml:2:1: 'allowed_hosts' cannot be enforced with 'network: host'; remove one of them"},
    {"tool: x\nallowed_hosts:\n  - good.example\n  - \"[good.example]:443\"\n",
     "t.yaml:4:5: 'allowed_hosts[1]': allowed host '[good.example]:443': brackets hold an IPv6 address, not "
     "'good.example'"},
    {"tool: x\nallowed_hosts: [\"https://a.b/\"]\n",
     "t.yaml:2:17: 'allowed_hosts[0]': allowed host 'https://a.b/': bad port '//a.b/': ports are numbers "
     "from 1 "
     "to 65535"},
    // ports
    {"tool: x\nports: [\"8080\", \"70000:80\"]\n",
     "t.yaml:2:17: 'ports[1]': bad port '70000' in '70000:80': ports are numbers from 1 to 65535"},
    {"tool: x\nports:\n  - 0\n",
     "t.yaml:3:5: 'ports[0]': bad port '0' in '0': ports are numbers from 1 to 65535"},
    {"tool: x\nports: [{host: 1}]\n", "t.yaml:2:9: 'ports[0]' must be a string, not a map"},
    {"tool: x\nports: [\"8080:80/udp\"]\n",
     "t.yaml:2:9: 'ports[0]': bad port '8080:80/udp': only tcp ports can be "
     "published"},
    // mounts
    {"tool: x\nmounts:\n  - dst: /w\n", "t.yaml:3:5: mount has no 'src'"},
    {"tool: x\nmounts:\n  - src: .\n", "t.yaml:3:5: mount has no 'dst'"},
    {"tool: x\nmounts: [{src: ., dst: relative}]\n",
     "t.yaml:2:24: 'dst': 'relative' is not an absolute path"},
    {"tool: x\nmounts: [{src: ., dst: /a/../b}]\n",
     "t.yaml:2:24: 'dst': '/a/../b' is not normalised (write '/b')"},
    {"tool: x\nmounts: [{src: ., dst: /a/}]\n", "t.yaml:2:24: 'dst': '/a/' is not normalised (write '/a')"},
    {"tool: x\nmounts: [{src: ., dst: /}]\n", "t.yaml:2:24: mount 'dst' cannot be '/'"},
    {"tool: x\nmounts: [{src: ., dst: /etc, opts: ro}]\n",
     "t.yaml:2:24: mount 'dst' cannot be '/etc': coco binds its own /etc/hostname, /etc/hosts and "
     "/etc/resolv.conf in every run, and would make them in your directory; mount what you need below /etc"},
    {"tool: x\nmounts: [{src: \"\", dst: /w}]\n", "t.yaml:2:16: mount 'src' is empty"},
    {"tool: x\nmounts: [{src: ~bob/x, dst: /w}]\n",
     "t.yaml:2:16: mount 'src' '~bob/x': only '~' and '~/' are expanded"},
    {"tool: x\nmounts: [{src: ., dst: /w, opts: \"ro,noexec\"}]\n",
     "t.yaml:2:34: 'opts': unknown mount option 'noexec' (coco knows ro, rw, z, Z and U)"},
    {"tool: x\nmounts: [{src: ., dst: /w, opts: \"ro,rw\"}]\n",
     "t.yaml:2:34: 'opts': mount options 'ro,rw' ask for both ro and rw"},
    {"tool: x\nmounts:\n  - {src: a, dst: /w}\n  - {src: b, dst: /w}\n", "t.yaml:4:5: two mounts on '/w'"},
    {"tool: x\nmounts: [\".:/workspace\"]\n", "t.yaml:2:10: 'mounts[0]' must be a map, not '.:/workspace'"},
    // env
    {"tool: x\nenv: {\"BAD-NAME\": 1}\n", "t.yaml:2:7: 'BAD-NAME' is not a valid environment variable name"},
    {"tool: x\nenv:\n  A: [1]\n", "t.yaml:3:6: env 'A' must be a string, number or boolean"},
    {"tool: x\nenv:\n  A:\n", "t.yaml:3:3: env 'A' must be a string, number or boolean"},
    {"tool: x\nenv_passthrough: [TERM, \"1X\"]\n",
     "t.yaml:2:25: '1X' is not a valid environment variable name"},
    // workdir, seccomp
    {"tool: x\nworkdir: src\n", "t.yaml:2:10: 'workdir': 'src' is not an absolute path"},
    {"tool: x\nworkdir: /workspace/\n",
     "t.yaml:2:10: 'workdir': '/workspace/' is not normalised (write '/workspace')"},
    {"tool: x\nseccomp: strict\n",
     "t.yaml:2:10: seccomp 'strict' is not 'default', 'unconfined' or an absolute (or ~/) path to a profile"},
    // limits
    {"tool: x\nlimits: 2G\n", "t.yaml:2:9: 'limits' must be a map, not '2G'"},
    {"tool: x\nlimits: {memroy: 2G}\n", "t.yaml:2:10: unknown key 'memroy' (did you mean 'memory'?)"},
    {"tool: x\nlimits: {disk: 2G}\n",
     "t.yaml:2:10: unknown key 'disk' (known keys: memory, pids, cpu, tmpfs)"},
    {"tool: x\nlimits:\n  memory: 2X\n",
     "t.yaml:3:11: 'memory': '2X' is not a size (write 512M, 2G, 1.5G, a number of bytes, or a share of the "
     "host's memory like 50%, or unlimited)"},
    {"tool: x\nlimits:\n  memory: 1M\n", "t.yaml:3:11: 'memory': '1M' is too small (at least 16 MiB)"},
    {"tool: x\nlimits:\n  memory: 150%\n",
     "t.yaml:3:11: 'memory': '150%': a share of memory is from 1% to 100%"},
    {"tool: x\nlimits:\n  memory: -1\n",
     "t.yaml:3:11: 'memory': '-1' is not a size (write 512M, 2G, 1.5G, a number of bytes, or a share of the "
     "host's memory like 50%, or unlimited)"},
    {"tool: x\nlimits:\n  tmpfs: unlimited\n",
     "t.yaml:3:10: 'tmpfs': 'unlimited' is not a size (write 512M, 2G, 1.5G, a number of bytes, or a share "
     "of "
     "the host's memory like 50%)"},
    {"tool: x\nlimits: {pids: 4}\n", "t.yaml:2:16: 'pids': '4' is too small (at least 8)"},
    {"tool: x\nlimits: {pids: 1.5}\n", "t.yaml:2:16: 'pids': '1.5' is not a whole number (or unlimited)"},
    {"tool: x\nlimits: {pids: [1]}\n", "t.yaml:2:16: 'pids' must be a string, not a list"},
    {"tool: x\nlimits: {cpu: 0}\n", "t.yaml:2:15: 'cpu': '0': CPUs are from 0.01 to 1024"},
    {"tool: x\nlimits: {cpu: 0.0001}\n",
     "t.yaml:2:15: 'cpu': '0.0001' is not a number of CPUs (like 2 or 0.5, or unlimited)"},
    {"tool: x\nlimits: {cpu: two}\n",
     "t.yaml:2:15: 'cpu': 'two' is not a number of CPUs (like 2 or 0.5, or unlimited)"},
    {"tool: x\nlimits:\n  pids: 100\n  pids: 200\n", "t.yaml:4:3: duplicate key 'pids' (first on line 3)"},
};

TEST(Loader, Limits) {
  ToolConfig c = parseOk("tool: x\nlimits:\n  memory: 1.5G\n  pids: 512\n  cpu: 0.5\n  tmpfs: 10%\n");
  ASSERT_TRUE(c.limits.memory && c.limits.pids && c.limits.cpuMillis && c.limits.tmpfs);
  EXPECT_EQ(c.limits.memory->bytes, 3ull << 29);
  EXPECT_EQ(*c.limits.pids, 512u);
  EXPECT_EQ(*c.limits.cpuMillis, 500u);
  EXPECT_EQ(c.limits.tmpfs->percent, 10u);
  c = parseOk(R"({"tool": "x", "limits": {"memory": "unlimited", "pids": "unlimited", "cpu": "unlimited"}})");
  EXPECT_TRUE(c.limits.memory->unlimited);
  EXPECT_EQ(*c.limits.pids, 0u);
  EXPECT_EQ(*c.limits.cpuMillis, 0u);
  EXPECT_FALSE(c.limits.tmpfs);
  c = parseOk("tool: x\nlimits: {memory: 1073741824}\n");
  EXPECT_EQ(c.limits.memory->bytes, 1ull << 30);
  c = parseOk("tool: x\n");  // absent: coco's defaults, resolved when a run is planned
  EXPECT_FALSE(c.limits.memory || c.limits.pids || c.limits.cpuMillis || c.limits.tmpfs);
}

TEST(Loader, BadInputIsReportedWithItsPosition) {
  for (const BadCase& c : kBadCases) EXPECT_EQ(parseError(c.text), c.message) << "input:\n" << c.text;
}

// F7: the address went to inet_pton as a C string, which ends at the NUL: the
// config was accepted and a podman argument was cut short. F5: a bracketed name
// passed validation and failed the gateway on every run.
TEST(Loader, PortsAndHostsTheGatewayCannotTakeAreRefused) {
  EXPECT_NE(parseError("{\"tool\": \"x\", \"ports\": [\"127.0.0.1\\u0000junk:8080:80\"]}")
                .find("t.yaml:1:25: 'ports[0]': bad port"),
            std::string::npos);
  EXPECT_NE(parseError("tool: x\nallowed_hosts: [\"[example.com]:443\"]\n").find("t.yaml:2:17: "),
            std::string::npos);
  EXPECT_EQ(parseOk("tool: x\nports: [\"[::1]:8080:80\"]\n").ports[0], (PublishedPort{"::1", 8080, 80}));
  EXPECT_EQ(parseOk("tool: x\nallowed_hosts: [192.0.2.7:8080, Example.ORG.]\n").allowedHosts,
            (std::vector<std::string>{"192.0.2.7:8080", "example.org"}));
}

// install_hosts opens hosts to the install only, so it goes with network: none;
// check replaces --version, and an empty list starts the tool with no arguments.
TEST(Loader, InstallHostsAndCheck) {
  ToolConfig c = parseOk("tool: x\nnetwork: none\ninstall_hosts: [Mirror.Example., \"192.0.2.7:8080\"]\n");
  EXPECT_EQ(c.network, NetworkMode::None);
  EXPECT_TRUE(c.allowedHosts.empty());
  EXPECT_EQ(c.installHosts, (std::vector<std::string>{"mirror.example", "192.0.2.7:8080"}));
  EXPECT_FALSE(c.check);
  EXPECT_EQ(*parseOk("tool: x\ncheck: [version]\n").check, std::vector<std::string>{"version"});
  EXPECT_TRUE(parseOk("tool: x\ncheck: []\n").check->empty());
  c = parseOk("{\"tool\": \"x\", \"allowed_hosts\": [\"a.example\"], \"install_hosts\": [\"b.example\"]}");
  EXPECT_EQ(c.network, NetworkMode::Allowlist);
  EXPECT_EQ(c.allowedHosts, std::vector<std::string>{"a.example"});
  EXPECT_EQ(c.installHosts, std::vector<std::string>{"b.example"});
}

// caches names the package caches the tool's runs keep, in file order.
TEST(Loader, Caches) {
  EXPECT_TRUE(parseOk("tool: x\n").caches.empty());
  EXPECT_EQ(parseOk("command: npm\ncaches: [npm, pnpm, yarn]\n").caches,
            (std::vector<std::string>{"npm", "pnpm", "yarn"}));
  EXPECT_EQ(parseOk("{\"tool\": \"pipx:black\", \"caches\": [\"pip\", \"uv\"]}").caches,
            (std::vector<std::string>{"pip", "uv"}));
}

// allow_home: false unless set; a seed config's podman relabel options load unchanged.
TEST(Loader, AllowHomeAndRelabelOptions) {
  EXPECT_FALSE(parseOk("tool: x\n").allowHome);
  EXPECT_TRUE(parseOk("tool: x\nallow_home: true\n").allowHome);
  EXPECT_FALSE(parseOk("{\"tool\": \"x\", \"allow_home\": false}").allowHome);
  ToolConfig c = parseOk(R"({"tool": "x", "mounts": [{"src": ".", "dst": "/workspace", "opts": "z"},
                                                   {"src": "~/.npmrc", "dst": "/root/.npmrc", "opts": "ro,Z"}]})");
  ASSERT_EQ(c.mounts.size(), 2u);
  EXPECT_FALSE(c.mounts[0].readOnly);
  EXPECT_EQ(c.mounts[0].relabel, "z");
  EXPECT_TRUE(c.mounts[1].readOnly);
  EXPECT_EQ(c.mounts[1].relabel, "Z");
}

TEST(Loader, BadNameIsReported) {
  auto config = parseConfig("tool: x\n", "/d/a b.json", "a b");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message(),
            "/d/a b.json: invalid tool name 'a b': use letters, digits and . _ + - (not first)");
}

TEST(Loader, LoadToolAndListTools) {
  TempDir tmp;
  ScopedEnv home("HOME", tmp.path());
  ScopedEnv data("XDG_DATA_HOME", tmp.sub("data"));
  auto paths = Paths::fromEnvironment();
  ASSERT_TRUE(paths.ok());
  EXPECT_TRUE(listTools(*paths).empty());  // no tools dir yet
  std::string dir = paths->toolsDir();
  ASSERT_TRUE(fs::makeDirs(dir).ok());
  ASSERT_TRUE(fs::writeFileAtomic(dir + "/eslint.json", kReadmeEslint).ok());
  ASSERT_TRUE(fs::writeFileAtomic(dir + "/black.yml", "tool: pipx:black\nnetwork: none\n").ok());
  ASSERT_TRUE(fs::writeFileAtomic(dir + "/broken.yaml", "tool: x\nnetwrok: none\n").ok());
  ASSERT_TRUE(fs::writeFileAtomic(dir + "/notes.txt", "not a config").ok());
  ASSERT_TRUE(fs::writeFileAtomic(dir + "/.hidden.json", "{}").ok());
  ASSERT_TRUE(fs::makeDirs(dir + "/adir.json").ok());

  EXPECT_EQ(listTools(*paths), (std::vector<std::string>{"black", "broken", "eslint"}));

  auto eslint = loadTool(*paths, "eslint");
  ASSERT_TRUE(eslint.ok()) << eslint.error().message();
  EXPECT_EQ(eslint->path, dir + "/eslint.json");
  EXPECT_EQ(eslint->command, "eslint");
  auto black = loadTool(*paths, "black");
  ASSERT_TRUE(black.ok());
  EXPECT_EQ(black->command, "black");

  auto broken = loadTool(*paths, "broken");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().message(),
            dir + "/broken.yaml:2:1: unknown key 'netwrok' (did you mean 'network'?)");

  EXPECT_EQ(loadTool(*paths, "../eslint").error().message(),
            "invalid tool name '../eslint': use letters, digits and . _ + - (not first)");
  // The CLI adds `coco get` to it only when the store has the name (cli/hints.cpp).
  EXPECT_EQ(loadTool(*paths, "missing").error().message(), "no tool named 'missing' in " + dir);
  EXPECT_EQ(loadTool(*paths, "missing").error().kind(), ErrorKind::NotConfigured);

  // A second file for the same name makes the name ambiguous, and listed once.
  ASSERT_TRUE(fs::writeFileAtomic(dir + "/eslint.yaml", "tool: npm:eslint\n").ok());
  EXPECT_EQ(listTools(*paths), (std::vector<std::string>{"black", "broken", "eslint"}));
  EXPECT_FALSE(loadTool(*paths, "eslint").ok());
}

TEST(Loader, LoadConfigNeedsAConfigExtension) {
  TempDir tmp;
  ASSERT_TRUE(fs::writeFileAtomic(tmp.sub("eslint.txt"), std::string(kReadmeEslint)).ok());
  EXPECT_EQ(loadConfig(tmp.sub("eslint.txt")).error().message(),
            tmp.sub("eslint.txt") + ": a tool config is named NAME.json, NAME.yaml or NAME.yml");
  auto missing = loadConfig(tmp.sub("nope.json"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ENOENT);
}

}  // namespace
}  // namespace coco::config
