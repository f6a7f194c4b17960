// Unit tests: package hosts from npm, apt, pip/uv, cargo and Go configuration fixtures.
#include "tool/install_hosts.hpp"

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

TEST_F(InstallHostsTest, NpmRegistryFromTheCommandFirst) {
  src_.command = [](const std::vector<std::string>& argv) -> std::optional<std::string> {
    std::vector<std::string> lookup = {"npm", "config", "get", "registry", "--logs-max=0"};
    if (argv.size() == 6 && std::equal(lookup.begin(), lookup.end(), argv.begin()) &&
        argv[5].rfind("--cache=/tmp/coco-npm-", 0) == 0 && fs::isDirectory(argv[5].substr(8)))
      return "https://npm.example.test/";
    return std::nullopt;
  };
  src_.env["NPM_CONFIG_REGISTRY"] = "https://env.example.test/";
  EXPECT_EQ(*npmRegistryUrl(src_), "https://npm.example.test/");
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
  InstallNeeds needs;
  needs.npm = needs.apt = needs.cargo = true;
  auto r = installHosts(needs, src_, {dir_ + "/img"});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->hosts, (std::vector<std::string>{"deb.example.test", "npm.example.test:4873"}));
  EXPECT_EQ(r->unknown, (std::vector<std::string>{"cargo"}));
  ASSERT_EQ(r->env.size(), 1u);
  EXPECT_EQ(r->env[0], (std::pair<std::string, std::string>{"NPM_CONFIG_REGISTRY", "https://npm.example.test:4873/"}));
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

}  // namespace
}  // namespace coco::tool
