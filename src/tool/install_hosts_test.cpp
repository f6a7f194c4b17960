// Unit tests: package hosts from npm, apt, pip/uv, cargo and Go configuration fixtures.
#include "tool/install_hosts.hpp"
#include "tool/install_sources.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cstdlib>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::tool {
namespace {

// Invented names only: the tests must not spell a real registry or mirror.
class InstallHostsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = tmp_.path();
    src_.home = dir_ + "/home";
    src_.etcDir = dir_ + "/etc";
    ASSERT_TRUE(fs::makeDirs(src_.home));
    ASSERT_TRUE(fs::makeDirs(src_.etcDir));
  }

  void write(const std::string& rel, const std::string& text) {
    std::string path = dir_ + "/" + rel;
    ASSERT_TRUE(fs::makeDirs(path.substr(0, path.rfind('/'))));
    ASSERT_TRUE(fs::writeFileAtomic(path, text));
  }

  TempDir tmp_{"coco-hosts"};
  std::string dir_;
  HostConfigSource src_;
};

TEST(HostOfUrl, DropsSchemeDefaultPortsUserinfoAndPath) {
  EXPECT_EQ(hostOfUrl("https://registry.example.test/"), "registry.example.test");
  EXPECT_EQ(hostOfUrl("https://user:secret@Mirror.Example.test:443/debian"), "mirror.example.test");
  EXPECT_EQ(hostOfUrl("http://mirror.example.test:80"), "mirror.example.test");
  EXPECT_EQ(hostOfUrl("http://mirror.example.test:8080/x?y"), "mirror.example.test:8080");
  EXPECT_EQ(hostOfUrl("https://mirror.example.test:80/"), "mirror.example.test:80");
  EXPECT_EQ(hostOfUrl("sparse+https://index.example.test/"), "index.example.test");
}

TEST(HostOfUrl, RejectsWhatHasNoNameToAllow) {
  EXPECT_EQ(hostOfUrl("file:///srv/mirror"), "");
  EXPECT_EQ(hostOfUrl("cdrom:[Debian]/"), "");
  EXPECT_EQ(hostOfUrl("mirror.example.test"), "");
  EXPECT_EQ(hostOfUrl("https://[2001:db8::1]/"), "");
  EXPECT_EQ(hostOfUrl("https://"), "");
  EXPECT_EQ(hostOfUrl("https://host.example.test:80x/"), "");
}

TEST(NeedsForSpec, BackendPrefixes) {
  EXPECT_TRUE(needsForSpec("npm:eslint").npm);
  EXPECT_TRUE(needsForSpec("npm:@scope/pkg@1.2").npm);
  EXPECT_TRUE(needsForSpec("pipx:black").python);
  EXPECT_TRUE(needsForSpec("uv:ruff").python);
  EXPECT_TRUE(needsForSpec("cargo:ripgrep").cargo);
  EXPECT_TRUE(needsForSpec("go:golang.org/x/tools/gopls").go);
  auto core = needsForSpec("node@lts");
  EXPECT_FALSE(core.npm || core.python || core.cargo || core.go || core.apt);
}

TEST_F(InstallHostsTest, AptSourcesAsTheOverlayShowsThem) {
  write("lower/etc/apt/sources.list", "deb http://lower.example.test/debian trixie main\n");
  write("lower/etc/apt/sources.list.d/extra.sources", "Types: deb\nURIs: http://extra.example.test/d\n");
  write("lower/etc/apt/sources.list.d/gone.list", "deb http://gone.example.test/d x main\n");
  write("lower/etc/apt/sources.list.d/notes.txt", "deb http://ignored.example.test/d x main\n");
  write("upper/etc/apt/sources.list.d/extra.sources", "Types: deb\nURIs: http://upper.example.test/d\n");
  std::string whiteout = dir_ + "/upper/etc/apt/sources.list.d/gone.list";
  if (::mknod(whiteout.c_str(), S_IFCHR | 0600, makedev(0, 0)) != 0) GTEST_SKIP() << "mknod needs privileges";
  auto uris = aptUrisOfLayers({dir_ + "/upper", dir_ + "/lower"});
  EXPECT_EQ(uris, (std::vector<std::string>{"http://lower.example.test/debian", "http://upper.example.test/d"}));
}

TEST_F(InstallHostsTest, AptOpaqueDirectoryHidesLowerFiles) {
  write("lower/etc/apt/sources.list.d/a.list", "deb http://lower.example.test/d x main\n");
  write("upper/etc/apt/sources.list.d/b.list", "deb http://upper.example.test/d x main\n");
  std::string dir = dir_ + "/upper/etc/apt/sources.list.d";
  if (::setxattr(dir.c_str(), "user.overlay.opaque", "y", 1, 0) != 0) GTEST_SKIP() << "no user xattrs on /tmp";
  auto uris = aptUrisOfLayers({dir_ + "/upper", dir_ + "/lower"});
  EXPECT_EQ(uris, (std::vector<std::string>{"http://upper.example.test/d"}));
}

// An npm installed as npm installs itself: PREFIX/bin/{node,npm}, npm a symlink
// to PREFIX/lib/node_modules/npm/bin/npm-cli.js; its default registry in its sources.
class NpmFilesTest : public InstallHostsTest {
 protected:
  void SetUp() override {
    InstallHostsTest::SetUp();
    npm_ = dir_ + "/prefix/lib/node_modules/npm";
    write("prefix/lib/node_modules/npm/bin/npm-cli.js", "#!/usr/bin/env node\n");
    write("prefix/bin/node", "#!/bin/sh\n");
    for (const char* exe : {"prefix/lib/node_modules/npm/bin/npm-cli.js", "prefix/bin/node"})
      ASSERT_EQ(::chmod((dir_ + "/" + exe).c_str(), 0755), 0);
    ASSERT_EQ(::symlink("../lib/node_modules/npm/bin/npm-cli.js", (dir_ + "/prefix/bin/npm").c_str()), 0);
    write("prefix/lib/node_modules/npm/node_modules/@npmcli/config/lib/definitions/definitions.js",
          "  registry: new Definition('registry', {\n    default: 'https://default.example.test/',\n    type: url,\n");
    src_.env["PATH"] = "/nonexistent:" + dir_ + "/prefix/bin";
    src_.command = [this](const std::vector<std::string>& argv) -> std::optional<std::string> {
      asked_.push_back(argv.at(0));
      return "https://from-npm.example.test/";
    };
  }
  std::string npm_;
  std::vector<std::string> asked_;
};

TEST_F(NpmFilesTest, EachLayerOfNpmsConfigurationWithoutRunningNpm) {
  EXPECT_EQ(*npmRegistryUrl(src_), "https://default.example.test/");
  write("prefix/lib/node_modules/npm/npmrc", "registry=https://builtin.example.test/\n");
  EXPECT_EQ(*npmRegistryUrl(src_), "https://builtin.example.test/");
  write("prefix/etc/npmrc", "registry=https://global.example.test/\n");  // the prefix is node's ../..
  EXPECT_EQ(*npmRegistryUrl(src_), "https://global.example.test/");
  write("home/.npmrc", "registry=https://user.example.test/\n");
  EXPECT_EQ(*npmRegistryUrl(src_), "https://user.example.test/");
  src_.env["Npm_Config_Registry"] = "https://env.example.test/";  // npm takes any case
  EXPECT_EQ(*npmRegistryUrl(src_), "https://env.example.test/");
  EXPECT_TRUE(asked_.empty()) << "npm was run";
}

TEST_F(NpmFilesTest, TheFilesNpmIsToldToRead) {
  // Debian's npm: the builtin npmrc names the global file; a user file elsewhere; a prefix in the user's file.
  write("prefix/lib/node_modules/npm/npmrc", "globalconfig=" + dir_ + "/etc/npmrc\n");
  write("etc/npmrc", "registry=https://debian-global.example.test/\n");
  write("prefix/etc/npmrc", "registry=https://not-read.example.test/\n");
  EXPECT_EQ(*npmRegistryUrl(src_), "https://debian-global.example.test/");
  write("prefix/lib/node_modules/npm/npmrc", "");
  write("home/.npmrc", "prefix=" + dir_ + "/user-prefix\n");
  write("user-prefix/etc/npmrc", "registry=https://user-prefix.example.test/\n");
  EXPECT_EQ(*npmRegistryUrl(src_), "https://user-prefix.example.test/");
  write("elsewhere.npmrc", "registry=https://userconfig.example.test/\n");
  src_.env["NPM_CONFIG_USERCONFIG"] = dir_ + "/elsewhere.npmrc";
  EXPECT_EQ(*npmRegistryUrl(src_), "https://userconfig.example.test/");
  EXPECT_TRUE(asked_.empty()) << "npm was run";
}

TEST_F(NpmFilesTest, NpmIsAskedOnlyWhatItsFilesDoNotTell) {
  write("home/.npmrc", "registry=${CORP_REGISTRY}\n");  // npm expands it; coco does not guess
  EXPECT_EQ(*npmRegistryUrl(src_), "https://from-npm.example.test/");
  EXPECT_EQ(asked_, (std::vector<std::string>{"npm"}));
  write("home/.npmrc", "");
  ASSERT_TRUE(fs::removeTree(npm_ + "/node_modules"));  // an npm whose default is not where it was
  EXPECT_EQ(*npmRegistryUrl(src_), "https://from-npm.example.test/");
  EXPECT_EQ(asked_.size(), 2u);
}

// The files, read as above, give what this host's npm says (when npm is installed).
TEST(NpmRegistry, TheFilesGiveWhatTheHostsNpmSays) {
  auto src = HostConfigSource::fromProcess();
  auto npmSays = src.command({"npm", "config", "get", "registry"});
  if (!npmSays) GTEST_SKIP() << "npm is not installed on this host";
  src.command = nullptr;
  auto files = npmRegistryUrl(src);
  ASSERT_TRUE(files) << files.error().describe();
  EXPECT_EQ(*files, *npmSays);
}

TEST_F(InstallHostsTest, NpmRegistryWithoutNpmOnTheHost) {
  src_.command = [](const std::vector<std::string>&) { return std::optional<std::string>(); };
  EXPECT_FALSE(npmRegistryUrl(src_).ok());  // nothing configured: an error, never a built-in name
  write("etc/npmrc", "registry=https://global.example.test/\n");
  EXPECT_EQ(*npmRegistryUrl(src_), "https://global.example.test/");
  write("home/.npmrc", "; comment\nregistry = https://first.example.test/\nregistry=https://user.example.test/\n");
  EXPECT_EQ(*npmRegistryUrl(src_), "https://user.example.test/");
  src_.env["npm_config_registry"] = "https://env.example.test/";
  EXPECT_EQ(*npmRegistryUrl(src_), "https://env.example.test/");
}

TEST_F(InstallHostsTest, PythonIndexesFromVariablesAndPipConf) {
  src_.env["PIP_INDEX_URL"] = "https://pip.example.test/simple";
  src_.env["UV_INDEX"] = "internal=https://uv.example.test:8443/simple other=https://uv2.example.test/";
  write("home/.config/pip/pip.conf",
        "[global]\nindex-url = https://conf.example.test/simple\n"
        "extra-index-url =\n    https://extra1.example.test/\n    https://extra2.example.test/\ntimeout = 5\n");
  auto urls = pythonIndexUrls(src_);
  EXPECT_EQ(urls, (std::vector<std::string>{"https://pip.example.test/simple", "https://uv.example.test:8443/simple",
                                            "https://uv2.example.test/", "https://conf.example.test/simple",
                                            "https://extra1.example.test/", "https://extra2.example.test/"}));
}

TEST_F(InstallHostsTest, PythonDefaultComesFromPipItself) {
  src_.command = [](const std::vector<std::string>& argv) -> std::optional<std::string> {
    if (argv[0] == "python3") return "https://pypi.example.test/simple\nhttps://files.example.test";
    return std::nullopt;
  };
  EXPECT_EQ(pythonIndexUrls(src_),
            (std::vector<std::string>{"https://pypi.example.test/simple", "https://files.example.test"}));
}

TEST_F(InstallHostsTest, CargoAndGo) {
  src_.env["CARGO_REGISTRIES_MINE_INDEX"] = "sparse+https://crates.example.test/index/";
  write("home/.cargo/config.toml", "[registries.other]\nindex = \"https://other.example.test/git\"\n");
  EXPECT_EQ(cargoIndexUrls(src_), (std::vector<std::string>{"sparse+https://crates.example.test/index/",
                                                            "https://other.example.test/git"}));
  src_.env["GOPROXY"] = "https://proxy.example.test,direct|https://fallback.example.test";
  src_.env["GOSUMDB"] = "sum.example.test+abc";
  EXPECT_EQ(goProxyUrls(src_), (std::vector<std::string>{"https://proxy.example.test", "https://fallback.example.test",
                                                         "https://sum.example.test"}));
  src_.env["GOSUMDB"] = "off";
  src_.env["GOPROXY"] = "off";
  EXPECT_TRUE(goProxyUrls(src_).empty());
}

TEST_F(InstallHostsTest, InstallHostsCombinesAndReportsUnknown) {
  src_.command = [](const std::vector<std::string>& argv) -> std::optional<std::string> {
    if (argv[0] == "npm") return "https://npm.example.test:4873/";
    return std::nullopt;
  };
  write("img/etc/apt/sources.list", "deb http://deb.example.test/debian trixie main\n");
  src_.env["CARGO_REGISTRIES_MINE_INDEX"] = "sparse+https://crates.example.test/index/";
  InstallNeeds needs;
  needs.npm = needs.apt = true;
  auto r = installHosts(needs, src_, {dir_ + "/img"});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->hosts, (std::vector<std::string>{"deb.example.test", "npm.example.test:4873"}));
  EXPECT_TRUE(r->unknown.empty());
  ASSERT_EQ(r->env.size(), 1u);  // CARGO_REGISTRIES_* only for a cargo install
  EXPECT_EQ(r->env[0], (std::pair<std::string, std::string>{"NPM_CONFIG_REGISTRY", "https://npm.example.test:4873/"}));
  // An image without apt sources: apt is what coco cannot tell.
  r = installHosts(needs, src_, {dir_ + "/none"});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->unknown, (std::vector<std::string>{"apt"}));
  needs.cargo = true;
  r = installHosts(needs, src_, {dir_ + "/img"});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(std::find(r->hosts.begin(), r->hosts.end(), "crates.example.test") != r->hosts.end());
  EXPECT_TRUE(std::find(r->hosts.begin(), r->hosts.end(), "index.crates.io") != r->hosts.end());
  EXPECT_EQ(r->env.back(), (std::pair<std::string, std::string>{"CARGO_REGISTRIES_MINE_INDEX",
                                                                "sparse+https://crates.example.test/index/"}));
  // The host's mise installs crates from the registry it names: so does the install's.
  src_.env["MISE_CARGO_REGISTRY_NAME"] = "mine";
  r = installHosts(needs, src_, {dir_ + "/img"});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->env.back(), (std::pair<std::string, std::string>{"MISE_CARGO_REGISTRY_NAME", "mine"}));
  needs.cargo = false;
  r = installHosts(needs, src_, {dir_ + "/img"});
  for (const auto& kv : r->env) EXPECT_NE(kv.first, "MISE_CARGO_REGISTRY_NAME");
}

// F4: an image's apt sources (or a project's .npmrc, through the host's npm)
// named link-local, private, loopback and unspecified addresses, and each one
// joined the install sandbox's allowlist.
TEST_F(InstallHostsTest, NonPublicLiteralsNeverJoinTheAllowlist) {
  src_.command = [](const std::vector<std::string>& argv) -> std::optional<std::string> {
    if (argv[0] == "npm") return "http://169.254.169.254:80/latest/";
    return std::nullopt;
  };
  write("img/etc/apt/sources.list",
        "deb http://169.254.169.254/latest stable main\n"
        "deb http://10.0.0.1:8080/debian stable main\n"
        "deb http://0.0.0.0:2375/ stable main\n"
        "deb http://127.0.0.1/debian stable main\n"
        "deb http://100.64.1.1/debian stable main\n"
        "deb http://192.168.1.1:3142/debian stable main\n"
        "deb http://224.0.0.1/debian stable main\n"
        "deb http://198.18.0.1/debian stable main\n"
        "deb http://192.0.2.10/debian stable main\n"
        "deb http://deb.example.test/debian stable main\n");
  write("img/etc/apt/sources.list.d/lan.sources", "Types: deb\nURIs: http://172.16.5.5/debian\n");
  InstallNeeds needs;
  needs.npm = needs.apt = true;
  auto r = installHosts(needs, src_, {dir_ + "/img"});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->hosts, (std::vector<std::string>{"192.0.2.10", "deb.example.test"}));
  for (const auto& h : r->hosts) EXPECT_EQ(refusedDerivedHost(h), nullptr) << h;
}

TEST(InstallHosts, RefusedDerivedHosts) {
  EXPECT_STREQ(refusedDerivedHost("169.254.169.254"), "cloud metadata");
  EXPECT_STREQ(refusedDerivedHost("169.254.1.1"), "link-local");
  EXPECT_STREQ(refusedDerivedHost("100.64.0.1"), "shared (CGNAT)");
  EXPECT_STREQ(refusedDerivedHost("10.0.0.1:8080"), "private");
  EXPECT_STREQ(refusedDerivedHost("127.0.0.1"), "loopback");
  EXPECT_STREQ(refusedDerivedHost("0.0.0.0:2375"), "unspecified");
  EXPECT_STREQ(refusedDerivedHost("[::1]:80"), "not a host name");
  EXPECT_EQ(refusedDerivedHost("192.0.2.10"), nullptr);
  EXPECT_EQ(refusedDerivedHost("mirror.example.test:8080"), nullptr);
  EXPECT_EQ(hostOfUrl("http://host.example.test:0/"), "");
  EXPECT_EQ(hostOfUrl("http://a_b.example.test/"), "a_b.example.test");
  EXPECT_EQ(hostOfUrl("http://-bad.example.test/"), "");
  EXPECT_EQ(hostOfUrl("http://127.1/"), "");
}

TEST_F(InstallHostsTest, InstallHostsFailsWithoutAnNpmRegistry) {
  src_.command = [](const std::vector<std::string>&) { return std::optional<std::string>(); };
  InstallNeeds needs;
  needs.npm = true;
  auto r = installHosts(needs, src_, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("npm registry"), std::string::npos);
  src_.env["NPM_CONFIG_REGISTRY"] = "ftp://npm.example.test/";
  EXPECT_FALSE(installHosts(needs, src_, {}).ok());
}

TEST(InstallHosts, RealCommandRunner) {
  auto src = HostConfigSource::fromProcess();
  ASSERT_TRUE(src.command);
  EXPECT_EQ(src.command({"sh", "-c", "echo '  hi  '"}).value_or("?"), "hi");
  EXPECT_FALSE(src.command({"sh", "-c", "exit 3"}).has_value());
  EXPECT_FALSE(src.command({"/nonexistent/coco-no-such-command"}).has_value());
}

// A sandbox with the workspace writable plants files the host helpers would
// read from their working directory: they run from "/", whatever coco's is.
TEST(InstallHosts, HostHelpersDoNotRunFromTheWorkspace) {
  char tmpl[] = "/tmp/coco-planted-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string ws = tmpl;
  std::string marker = ws + "/PWNED";
  ASSERT_TRUE(fs::makeDirs(ws + "/pip"));
  ASSERT_TRUE(fs::writeFileAtomic(ws + "/pip/__init__.py", "open('" + marker + "', 'w').write('x')\n"));
  ASSERT_TRUE(fs::writeFileAtomic(ws + "/.npmrc", "registry=https://planted.example.test/\n"));
  char old[4096];
  ASSERT_NE(::getcwd(old, sizeof old), nullptr);
  ASSERT_EQ(::chdir(ws.c_str()), 0);
  auto src = HostConfigSource::fromProcess();
  auto cwd = src.command({"pwd"});
  src.env.clear();
  src.home = ws + "/nohome";
  auto pypi = pythonIndexUrls(src);
  auto npm = npmRegistryUrl(src);
  ASSERT_EQ(::chdir(old), 0);
  EXPECT_EQ(cwd.value_or("?"), "/");
  EXPECT_FALSE(fs::exists(marker)) << "python3 imported the workspace's pip package";
  if (npm) {
    EXPECT_EQ(npm->find("planted.example.test"), std::string::npos) << *npm;
  }
  (void)pypi;
  (void)fs::removeTree(ws);
}


// The download table (install_sources.cpp): every row, every backend, every override.

std::vector<std::string> rowsOf(std::string_view spec) { return needsForSpec(spec).sources; }

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::string envOf(const InstallHosts& h, const std::string& name) {
  for (const auto& [k, v] : h.env)
    if (k == name) return v;
  return "<unset>";
}

TEST(DownloadTable, EveryRowHoldsPublicNamesAndSaysWhereItComesFrom) {
  ASSERT_GE(downloadSources().size(), 20u);
  for (const auto& row : downloadSources()) {
    EXPECT_FALSE(row.hosts.empty()) << row.name;
    EXPECT_GT(row.from.size(), 10u) << row.name;
    EXPECT_EQ(downloadSource(row.name), &row);
    for (auto h : row.hosts) {
      EXPECT_EQ(refusedDerivedHost(h), nullptr) << h;
      EXPECT_EQ(hostOfUrl("https://" + std::string(h) + "/"), h) << "not in the allowlist's grammar: " << h;
    }
  }
  EXPECT_EQ(downloadSource("no-such-row"), nullptr);
}

TEST(DownloadTable, CoreTools) {
  EXPECT_EQ(rowsOf("node@lts"), (std::vector<std::string>{"node-dist"}));
  EXPECT_EQ(rowsOf("core:node@22"), (std::vector<std::string>{"node-dist"}));
  EXPECT_EQ(rowsOf("python@3.12"),
            (std::vector<std::string>{"pyenv-repo", "github-downloads", "github-api", "sigstore", "mise-versions"}));
  EXPECT_EQ(rowsOf("go"), (std::vector<std::string>{"go-dist", "go-repo"}));
  EXPECT_EQ(rowsOf("rust"), (std::vector<std::string>{"rustup-init", "rust-dist", "github-api"}));
  EXPECT_EQ(rowsOf("java@21"), (std::vector<std::string>{"java-metadata", "java-openjdk", "github-downloads"}));
  EXPECT_EQ(rowsOf("bun"), (std::vector<std::string>{"github-api", "github-downloads"}));
  EXPECT_EQ(rowsOf("deno"), (std::vector<std::string>{"deno"}));
  EXPECT_EQ(rowsOf("ruby"), (std::vector<std::string>{"github-api", "github-downloads", "sigstore", "ruby-index"}));
  for (const char* core : {"node", "python", "go", "rust", "java", "bun", "deno", "ruby", "Node@lts"}) {
    auto n = needsForSpec(core);
    EXPECT_TRUE(n.unknown.empty()) << core;
    EXPECT_FALSE(n.npm || n.python || n.cargo || n.go || n.apt) << core;  // no package manager of their own
  }
}

TEST(DownloadTable, Backends) {
  std::vector<std::string> github = {"github-api", "github-downloads", "sigstore"};
  EXPECT_EQ(rowsOf("aqua:BurntSushi/ripgrep@14.1.0"), github);
  EXPECT_EQ(rowsOf("AQUA:sharkdp/fd"), github);
  EXPECT_EQ(rowsOf("github:typst/typst"), github);
  EXPECT_EQ(rowsOf("ubi:owner/repo[exe=x]"), (std::vector<std::string>{"github-api", "github-downloads"}));
  EXPECT_EQ(rowsOf("gitlab:group/project"), (std::vector<std::string>{"gitlab"}));
  EXPECT_EQ(rowsOf("forgejo:owner/repo"), (std::vector<std::string>{"forgejo"}));
  auto cargo = needsForSpec("cargo:tokei");
  EXPECT_TRUE(cargo.cargo);
  EXPECT_EQ(cargo.sources, (std::vector<std::string>{"crates", "github-api", "github-downloads"}));
  for (const char* py : {"pipx:black", "uv:ruff", "pip:httpie", "ubi-python:x"}) {
    EXPECT_TRUE(needsForSpec(py).python) << py;
    EXPECT_EQ(rowsOf(py), (std::vector<std::string>{"pypi"})) << py;
  }
  EXPECT_TRUE(needsForSpec("go:golang.org/x/tools/gopls@latest").go);
  EXPECT_EQ(rowsOf("go:golang.org/x/tools/gopls"), (std::vector<std::string>{"goproxy", "gosumdb"}));
  EXPECT_TRUE(needsForSpec("npm:@scope/pkg@1.2").npm);
  EXPECT_TRUE(rowsOf("npm:eslint").empty());  // the registry comes from npm's configuration
  for (const char* spec : {"npm:eslint", "aqua:x/y", "cargo:x", "go:x", "pipx:x", "ubi:x/y", "gitlab:x/y"})
    EXPECT_TRUE(needsForSpec(spec).unknown.empty()) << spec;
}

TEST(DownloadTable, BackendsCocoCannotTellAreUnknown) {
  for (const char* spec : {"asdf:mise-plugins/asdf-x", "vfox:x", "http:x", "spm:x", "core:cobol", ":x", "conda:x"}) {
    auto n = needsForSpec(spec);
    EXPECT_EQ(n.unknown, (std::vector<std::string>{spec})) << spec;
    EXPECT_TRUE(n.sources.empty()) << spec;
  }
}

TEST(DownloadTable, RegistryShortNames) {
  for (const auto& s : registryShortNames()) {
    auto d = downloadsForSpec(std::string(s.name) + "@latest");
    EXPECT_TRUE(d.known) << s.name;
    EXPECT_EQ(d.backend, s.backend) << s.name;
    EXPECT_FALSE(d.sources.empty()) << s.name;
  }
  EXPECT_EQ(rowsOf("ripgrep"), (std::vector<std::string>{"github-api", "github-downloads", "sigstore"}));
  EXPECT_EQ(rowsOf("rg"), rowsOf("ripgrep"));
  EXPECT_TRUE(needsForSpec("tokei").cargo);  // registry/tokei.toml lists cargo:tokei first
  // A registry name coco does not list: GitHub's hosts as the best guess, and said so.
  auto other = needsForSpec("kubectl@1.30");
  EXPECT_EQ(other.unknown, (std::vector<std::string>{"kubectl@1.30"}));
  EXPECT_EQ(other.sources, (std::vector<std::string>{"github-api", "github-downloads", "sigstore"}));
}

TEST(DownloadTable, NeedsForSpecsMergesWithoutRepeats) {
  auto n = needsForSpecs({"pipx:black", "uv", "aqua:x/y", "asdf:z"});
  EXPECT_TRUE(n.python);
  EXPECT_EQ(n.sources, (std::vector<std::string>{"pypi", "github-api", "github-downloads", "sigstore"}));
  EXPECT_EQ(n.unknown, (std::vector<std::string>{"asdf:z"}));
  EXPECT_TRUE(needsForSpecs({}).sources.empty());
}

class InstallSourcesTest : public InstallHostsTest {
 protected:
  void SetUp() override {
    InstallHostsTest::SetUp();
    src_.command = [](const std::vector<std::string>&) { return std::optional<std::string>(); };
  }
  InstallHosts hostsFor(std::initializer_list<const char*> specs) {
    auto r = installHosts(needsForSpecs(std::vector<std::string>(specs.begin(), specs.end())), src_, {});
    EXPECT_TRUE(r.ok()) << r.error().describe();
    return r.ok() ? *r : InstallHosts{};
  }
  using Hosts = std::vector<std::string>;
};

TEST_F(InstallSourcesTest, PublicDefaultsPerTool) {
  EXPECT_EQ(hostsFor({"node@lts"}).hosts, (Hosts{"nodejs.org"}));
  EXPECT_EQ(hostsFor({"ripgrep"}).hosts,
            (Hosts{"api.github.com", "github.com", "objects.githubusercontent.com",
                   "release-assets.githubusercontent.com", "tuf-repo-cdn.sigstore.dev", "tuf-repo.github.com"}));
  EXPECT_EQ(hostsFor({"go"}).hosts, (Hosts{"dl.google.com", "github.com"}));
  EXPECT_EQ(hostsFor({"rust"}).hosts, (Hosts{"api.github.com", "sh.rustup.rs", "static.rust-lang.org"}));
  EXPECT_EQ(hostsFor({"deno"}).hosts, (Hosts{"deno.com", "dl.deno.land"}));
  auto java = hostsFor({"java"}).hosts;
  EXPECT_TRUE(has(java, "mise-java.jdx.dev") && has(java, "download.java.net")) << java.size();
  EXPECT_TRUE(has(hostsFor({"python"}).hosts, "mise-versions.jdx.dev"));
  EXPECT_TRUE(has(hostsFor({"ruby"}).hosts, "cache.ruby-lang.org"));
  EXPECT_EQ(hostsFor({"gitlab:a/b"}).hosts, (Hosts{"gitlab.com"}));
  auto cargo = hostsFor({"cargo:tokei"});
  EXPECT_TRUE(has(cargo.hosts, "index.crates.io") && has(cargo.hosts, "static.crates.io") &&
              has(cargo.hosts, "crates.io") && has(cargo.hosts, "github.com"));
  EXPECT_TRUE(cargo.unknown.empty());
  EXPECT_EQ(hostsFor({"pipx:black"}).hosts, (Hosts{"files.pythonhosted.org", "pypi.org"}));
  EXPECT_EQ(hostsFor({"go:example.test/tool"}).hosts, (Hosts{"proxy.golang.org", "sum.golang.org"}));
  EXPECT_TRUE(hostsFor({"node@lts"}).env.empty());  // nothing configured, nothing passed
}

TEST_F(InstallSourcesTest, MiseMirrorSettingsReplaceTheirRow) {
  src_.env["MISE_NODE_MIRROR_URL"] = "https://node-mirror.example.test/dist/";
  auto node = hostsFor({"node@lts"});
  EXPECT_EQ(node.hosts, (Hosts{"node-mirror.example.test"}));
  EXPECT_EQ(envOf(node, "MISE_NODE_MIRROR_URL"), "https://node-mirror.example.test/dist/");
  src_.env.clear();
  src_.env["NODE_BUILD_MIRROR_URL"] = "http://nb.example.test:8080/";
  EXPECT_EQ(hostsFor({"node"}).hosts, (Hosts{"nb.example.test:8080"}));
  src_.env["MISE_GO_DOWNLOAD_MIRROR"] = "https://go-mirror.example.test/go";
  auto go = hostsFor({"go"});
  EXPECT_EQ(go.hosts, (Hosts{"github.com", "go-mirror.example.test"}));
  EXPECT_EQ(envOf(go, "MISE_GO_DOWNLOAD_MIRROR"), "https://go-mirror.example.test/go");
  EXPECT_EQ(envOf(go, "NODE_BUILD_MIRROR_URL"), "<unset>");  // only the rows the install uses
  src_.env["MISE_GO_REPO"] = "https://git.example.test/golang/go";
  EXPECT_EQ(hostsFor({"go"}).hosts, (Hosts{"git.example.test", "go-mirror.example.test"}));
  src_.env["RUSTUP_DIST_SERVER"] = "https://rust-mirror.example.test";
  src_.env["RUSTUP_UPDATE_ROOT"] = "https://rust-mirror.example.test/rustup";
  auto rust = hostsFor({"rust"});
  EXPECT_EQ(rust.hosts, (Hosts{"api.github.com", "rust-mirror.example.test", "sh.rustup.rs"}));
  EXPECT_EQ(envOf(rust, "RUSTUP_DIST_SERVER"), "https://rust-mirror.example.test");
  src_.env["MISE_PYENV_REPO"] = "https://git-mirror.example.test/pyenv.git";
  auto python = hostsFor({"python"});
  EXPECT_TRUE(has(python.hosts, "git-mirror.example.test"));
  EXPECT_EQ(envOf(python, "MISE_PYENV_REPO"), "https://git-mirror.example.test/pyenv.git");
}

TEST_F(InstallSourcesTest, PythonIndexesReplacePypiAndReachMisesPipxBackend) {
  src_.env["PIP_INDEX_URL"] = "https://pip.example.test/simple/";
  auto r = hostsFor({"pipx:black"});
  EXPECT_EQ(r.hosts, (Hosts{"pip.example.test"}));
  EXPECT_EQ(envOf(r, "PIP_INDEX_URL"), "https://pip.example.test/simple/");
  // mise's pipx backend overrides PIP_INDEX_URL with its own setting: it gets the host's index.
  EXPECT_EQ(envOf(r, "MISE_PIPX_REGISTRY_URL"), "https://pip.example.test/simple/{}/");
  src_.env["MISE_PIPX_REGISTRY_URL"] = "https://json.example.test/pypi/{}/json";
  r = hostsFor({"uv:ruff"});
  EXPECT_EQ(r.hosts, (Hosts{"json.example.test", "pip.example.test"}));
  EXPECT_EQ(envOf(r, "MISE_PIPX_REGISTRY_URL"), "https://json.example.test/pypi/{}/json");
  src_.env.clear();
  src_.env["UV_INDEX_URL"] = "https://devpi.example.test/root/pypi/+simple/";  // not a /simple URL mise would keep
  r = hostsFor({"pipx:black"});
  EXPECT_EQ(r.hosts, (Hosts{"devpi.example.test"}));
  EXPECT_EQ(envOf(r, "MISE_PIPX_REGISTRY_URL"), "<unset>");
}

TEST_F(InstallSourcesTest, CargoSourceReplacementReplacesCratesIo) {
  write("home/.cargo/config.toml",
        "[source.crates-io]\nreplace-with = \"corp\"\n\n[source.\"corp\"]\n"
        "registry = \"sparse+https://crates-mirror.example.test/index/\"\n");
  EXPECT_EQ(cargoCratesIoReplacement(src_), "sparse+https://crates-mirror.example.test/index/");
  auto r = hostsFor({"cargo:tokei"});
  EXPECT_TRUE(has(r.hosts, "crates-mirror.example.test"));
  EXPECT_FALSE(has(r.hosts, "index.crates.io") || has(r.hosts, "static.crates.io") || has(r.hosts, "crates.io"));
  // A chain (crates-io -> a -> b) ends at b's registry; a loop or a dangling name replaces nothing.
  write("home/.cargo/config.toml",
        "[source.crates-io]\nreplace-with = \"a\"\n[source.a]\nreplace-with = \"b\"\n"
        "[source.b]\nregistry = \"https://b.example.test/git\"\n");
  EXPECT_EQ(cargoCratesIoReplacement(src_), "https://b.example.test/git");
  write("home/.cargo/config.toml", "[source.crates-io]\nreplace-with = \"a\"\n[source.a]\nreplace-with = \"crates-io\"\n");
  EXPECT_EQ(cargoCratesIoReplacement(src_), "");
  write("home/.cargo/config.toml", "[source.crates-io]\nreplace-with = \"gone\"\n");
  EXPECT_EQ(cargoCratesIoReplacement(src_), "");
  EXPECT_TRUE(has(hostsFor({"cargo:x"}).hosts, "index.crates.io"));
}

// cargo takes [source] tables only from files: the install's cargo gets a
// config.toml with the host's replacement, or none.
TEST_F(InstallSourcesTest, CargoSourceReplacementIsWrittenForTheInstallsCargo) {
  EXPECT_EQ(hostsFor({"cargo:x"}).cargoConfig, "");
  write("home/.cargo/config.toml",
        "[source.crates-io]\nreplace-with = \"corp\"\n[source.corp]\n"
        "registry = \"sparse+https://crates-mirror.example.test/index/\"\n");
  EXPECT_EQ(hostsFor({"pipx:x"}).cargoConfig, "") << "only installs that use cargo get it";
  std::string text = hostsFor({"cargo:x"}).cargoConfig;
  EXPECT_NE(text.find("[source.crates-io]\nreplace-with = \"coco-host-replacement\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("[source.coco-host-replacement]\nregistry = \"sparse+https://crates-mirror.example.test/index/\"\n"),
            std::string::npos)
      << text;
  // $CARGO_HOME's configuration is cargo's, not ~/.cargo's.
  write("cargo-home/config.toml",
        "[source.crates-io]\nreplace-with = \"m\"\n[source.m]\nregistry = \"https://other.example.test/git\"\n");
  src_.env["CARGO_HOME"] = dir_ + "/cargo-home";
  auto r = hostsFor({"cargo:x"});
  EXPECT_NE(r.cargoConfig.find("registry = \"https://other.example.test/git\""), std::string::npos) << r.cargoConfig;
  EXPECT_TRUE(has(r.hosts, "other.example.test"));
  EXPECT_FALSE(has(r.hosts, "crates-mirror.example.test"));
  // A value that would break out of its TOML string is not written.
  for (const char* bad : {"https://x.example.test/\\\"\n[source.y]", "https://x.example.test/\\\\", "https://x.example.test/\tz"}) {
    write("cargo-home/config.toml",
          std::string("[source.crates-io]\nreplace-with = \"m\"\n[source.m]\nregistry = \"") + bad + "\"\n");
    EXPECT_EQ(hostsFor({"cargo:x"}).cargoConfig, "") << bad;
  }
}

TEST_F(InstallSourcesTest, GoProxyReplacesTheDefaults) {
  src_.env["GOPROXY"] = "https://goproxy.example.test,direct";
  auto r = hostsFor({"go:example.test/tool"});
  EXPECT_EQ(r.hosts, (Hosts{"goproxy.example.test", "sum.golang.org"}));
  EXPECT_EQ(envOf(r, "GOPROXY"), "https://goproxy.example.test,direct");
  src_.env["GOSUMDB"] = "off";
  EXPECT_EQ(hostsFor({"go:example.test/tool"}).hosts, (Hosts{"goproxy.example.test"}));
  // `go env` on the host answers for a variable the environment does not set.
  src_.env.clear();
  src_.command = [](const std::vector<std::string>& argv) -> std::optional<std::string> {
    if (argv.size() == 3 && argv[0] == "go" && argv[2] == "GOPROXY") return "https://from-go-env.example.test";
    return std::nullopt;
  };
  EXPECT_EQ(hostsFor({"go:x"}).hosts, (Hosts{"from-go-env.example.test", "sum.golang.org"}));
}

TEST_F(InstallSourcesTest, HttpsProxyIsTheOneHostButForNoProxy) {
  src_.env["NPM_CONFIG_REGISTRY"] = "https://npm.example.test/";
  src_.env["HTTPS_PROXY"] = "http://proxy.example.test:3128";
  src_.env["NO_PROXY"] = "localhost, .npm.example.test";
  auto r = hostsFor({"npm:eslint", "ripgrep", "node@lts"});
  EXPECT_EQ(r.hosts, (Hosts{"npm.example.test", "proxy.example.test:3128"}));
  EXPECT_EQ(envOf(r, "HTTPS_PROXY"), "http://proxy.example.test:3128");
  EXPECT_EQ(envOf(r, "NO_PROXY"), "localhost, .npm.example.test");
  src_.env.erase("HTTPS_PROXY");
  src_.env.erase("NO_PROXY");
  src_.env["https_proxy"] = "proxy2.example.test:8080";  // no scheme: an http proxy, as curl reads it
  EXPECT_EQ(hostsFor({"node@lts"}).hosts, (Hosts{"proxy2.example.test:8080"}));
  src_.env.erase("https_proxy");
  src_.env["ALL_PROXY"] = "http://all.example.test:3128";
  EXPECT_EQ(hostsFor({"node@lts"}).hosts, (Hosts{"all.example.test:3128"}));
  src_.env.erase("ALL_PROXY");
  // An http-only proxy carries plain-http downloads; https ones still go direct.
  src_.env["http_proxy"] = "http://plain.example.test:3128";
  r = hostsFor({"node@lts"});
  EXPECT_EQ(r.hosts, (Hosts{"nodejs.org", "plain.example.test:3128"}));
  EXPECT_EQ(envOf(r, "http_proxy"), "http://plain.example.test:3128");
}

TEST_F(InstallSourcesTest, BadMirrorsAndProxiesAreRefused) {
  // Not http(s): the mirror is used (mise inside will fail on it), the public default is not.
  src_.env["MISE_NODE_MIRROR_URL"] = "ftp://node-mirror.example.test/";
  EXPECT_TRUE(hostsFor({"node@lts"}).hosts.empty());
  // Addresses that are not on the internet, from configuration, never join the allowlist.
  for (const char* url : {"http://169.254.169.254/latest/", "http://127.0.0.1:8080/", "http://10.1.2.3/",
                          "http://[::1]/", "http://0.0.0.0/"}) {
    src_.env["MISE_NODE_MIRROR_URL"] = url;
    EXPECT_TRUE(hostsFor({"node@lts"}).hosts.empty()) << url;
    src_.env.erase("MISE_NODE_MIRROR_URL");
    src_.env["MISE_GO_DOWNLOAD_MIRROR"] = url;
    EXPECT_EQ(hostsFor({"go"}).hosts, (Hosts{"github.com"})) << url;
    src_.env.erase("MISE_GO_DOWNLOAD_MIRROR");
    src_.env["HTTPS_PROXY"] = url;
    EXPECT_TRUE(hostsFor({"ripgrep"}).hosts.empty()) << url;
    src_.env.erase("HTTPS_PROXY");
    src_.env["PIP_INDEX_URL"] = std::string(url) + "simple";
    EXPECT_TRUE(hostsFor({"pipx:black"}).hosts.empty()) << url;
    src_.env.erase("PIP_INDEX_URL");
  }
  // A proxy the gateway cannot name: the downloads would go to it, so nothing else is opened.
  src_.env["HTTPS_PROXY"] = "socks5://proxy.example.test:1080";
  EXPECT_TRUE(hostsFor({"node@lts", "ripgrep"}).hosts.empty());
  EXPECT_EQ(envOf(hostsFor({"node@lts"}), "HTTPS_PROXY"), "socks5://proxy.example.test:1080");
}

TEST_F(InstallSourcesTest, UnknownSpecsAreReported) {
  auto r = hostsFor({"asdf:x/y", "kubectl"});
  EXPECT_EQ(r.unknown, (std::vector<std::string>{"asdf:x/y", "kubectl"}));
  EXPECT_TRUE(has(r.hosts, "github.com"));  // the registry name's best guess
}
}  // namespace
}  // namespace coco::tool
