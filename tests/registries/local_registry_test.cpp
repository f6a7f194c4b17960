// Real installs of pipx, go and cargo tools through mise from registries this test serves on loopback.
//
// What runs for real: coco's install path (tool::ensureToolLayer: the install
// hosts coco derives from the host's PIP_INDEX_URL / GOPROXY /
// CARGO_REGISTRIES_*, the install sandbox, its gateway, the commit) and the
// installed tool's run (tool::prepareRun). The registries are HTTPS servers
// (tests/registries/serve.py) with a test CA that reaches the sandbox as the
// host's CA bundle (SSL_CERT_FILE), under names a DNS stub of this test answers
// with 127.0.0.1; the gateway may connect to them because the runner creates
// the NetworkSession with the tests' allowLocalDestinations switch, the only
// thing here that differs from `coco run`. Everything else the gateway decides
// as it does for users: a name outside the install's hosts is refused.
//
// Debian packages (golang-go, cargo) come from the image's apt mirror. The base
// image is the e2e tests' (COCO_TEST_E2E_STORE, built or pulled when missing).
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "config/loader.hpp"
#include "engine/engine.hpp"
#include "harness.hpp"
#include "image/progress.hpp"
#include "image/userns.hpp"
#include "net/network_session.hpp"
#include "net_test_support.hpp"
#include "tool/base_image.hpp"
#include "tool/plan.hpp"
#include "tool/tool_layer.hpp"
#include "util/fd_limit.hpp"

namespace {

using namespace coco;
using net::testing::FdCapture;
namespace stdfs = std::filesystem;

// Names the DNS stub (LocalDns) answers with 127.0.0.1.
constexpr const char* kPypiName = "pypi.allowed.test";
constexpr const char* kGoproxyName = "goproxy.allowed.test";
constexpr const char* kCratesName = "crates.allowed.test";
// Where a package tries to go besides its registry; never one of the install's hosts.
constexpr const char* kElsewhere = "elsewhere.allowed.test";

// What the installed tools print (tests/registries/make_registries.py).
constexpr const char* kPipGreeting = "cocohello 1.0.0 from the local simple index";
constexpr const char* kGoGreeting = "cocohello 1.0.0 from the local GOPROXY";
constexpr const char* kCargoGreeting = "cocohello 1.0.0 from the local cargo registry";

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string helper(const std::string& name) { return envOr("COCO_TEST_REGISTRY_HELPERS", "") + "/" + name; }

// Runs a program to its end; true when it exited 0.
bool runTool(const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// One registry: serve.py over HTTPS (plain HTTP without tlsDir) on a free loopback port, stopped with the object.
class Registry {
 public:
  Registry(const std::string& root, const std::string& tlsDir) : root_(root) {
    stdfs::create_directories(root);
    std::string portFile = root + ".port";
    log_ = root + ".log";
    stdfs::remove(portFile);
    pid_ = fork();
    if (pid_ == 0) {
      if (tlsDir.empty())
        execlp("python3", "python3", helper("serve.py").c_str(), root.c_str(), portFile.c_str(), log_.c_str(), nullptr);
      else
        execlp("python3", "python3", helper("serve.py").c_str(), root.c_str(), portFile.c_str(), log_.c_str(),
               (tlsDir + "/server.pem").c_str(), (tlsDir + "/server.key").c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200 && !stdfs::exists(portFile); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    port_ = slurp(portFile);
    EXPECT_FALSE(port_.empty()) << "serve.py did not start for " << root;
  }
  ~Registry() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  const std::string& root() const { return root_; }
  const std::string& port() const { return port_; }
  std::string url(const char* name) const { return "https://" + std::string(name) + ":" + port_; }
  // "HOST:PORT PATH" per request.
  std::string requests() const { return slurp(log_); }

 private:
  std::string root_, log_, port_;
  pid_t pid_ = -1;
};

// pipx's shared libraries: pipx installs `pip >= 23.1` into them from the
// index (pipx's shared_libs.py), so a mirror serves pip too. The base image's
// own pip wheel (Debian's python3-pip-whl, which python3-venv needs) is that pip.
std::string imagePipWheel(const image::Image& base) {
  for (const auto& layer : base.layers) {
    std::error_code ec;
    for (const auto& e : stdfs::directory_iterator(layer + "/usr/share/python-wheels", ec))
      if (e.path().filename().string().starts_with("pip-") && e.path().extension() == ".whl") return e.path();
  }
  return "";
}

// The resolver the gateway asks (COCO_DNS_UPSTREAM): *.allowed.test is
// 127.0.0.1, everything else (the image's apt mirror) goes on to the host's
// resolver; every name asked is logged.
class LocalDns : public net::testing::LoggingDnsServer {
 public:
  LocalDns()
      : LoggingDnsServer([resolver = hostResolver()](const net::dns::Query& q, std::span<const uint8_t> packet) {
          return q.question.name.ends_with(".allowed.test")
                     ? net::dns::buildResponse(q, net::dns::Rcode::NoError, {htonl(INADDR_LOOPBACK)}, 60)
                     : forward(resolver, packet);
        }) {}

 private:
  static std::string hostResolver() {
    std::istringstream conf(slurp("/etc/resolv.conf"));
    for (std::string word, address; conf >> word;)
      if (word == "nameserver" && conf >> address) return address;
    return "";
  }

  static std::vector<uint8_t> forward(const std::string& resolver, std::span<const uint8_t> packet) {
    UniqueFd up(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(53);
    if (::inet_pton(AF_INET, resolver.c_str(), &sa.sin_addr) != 1) return {};
    net::testing::setTimeouts(up.get(), 5);
    if (::sendto(up.get(), packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return {};
    std::vector<uint8_t> reply(1500);
    ssize_t n = ::recv(up.get(), reply.data(), reply.size(), 0);
    reply.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return reply;
  }
};

struct Installed {
  Result<std::optional<tool::ToolLayer>> layer;
  std::string err;  // what coco printed during the install (the gateway's notices) and its error
  double secs = 0;
};

class LocalRegistry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    store_ = envOr("COCO_TEST_E2E_STORE", envOr("HOME", "/tmp") + "/.local/share/coco-e2e-test");
    work_ = store_ + "-registries";
    (void)image::removeTreeAsOwner(image::hostIdMaps(), work_);
    stdfs::create_directories(work_);
    tls_ = work_ + "/tls";
    if (!runTool({"python3", helper("make_registries.py"), "tls", tls_, kPypiName, kGoproxyName, kCratesName,
                  kElsewhere})) {
      setupError_ = "make_registries.py tls failed (openssl)";
      return;
    }
    // The host's CA bundle as a corporate proxy's users have it: the system's plus one more CA.
    std::ofstream(work_ + "/ca-bundle.crt") << slurp("/etc/ssl/certs/ca-certificates.crt") << slurp(tls_ + "/ca.pem");
  }
  static void TearDownTestSuite() { (void)image::removeTreeAsOwner(image::hostIdMaps(), work_); }

  void SetUp() override {
    COCO_REQUIRE_SANDBOX();
    ASSERT_EQ(setupError_, "");
    ensureBase();
    ::setenv("COCO_DNS_UPSTREAM", ("127.0.0.1:" + std::to_string(dns_.port())).c_str(), 1);
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = work_ + "/" + name;
    stdfs::create_directories(dir_ + "/home");
  }
  void TearDown() override {
    ::unsetenv("COCO_DNS_UPSTREAM");
    if (!dir_.empty()) (void)image::removeTreeAsOwner(image::hostIdMaps(), dir_);
  }

  // Download caches of these installs. apt's archives and lists stay between
  // tests and runs (golang-go and cargo are large); pip's, Go's and cargo's are
  // emptied before each install, so what is installed comes from this run's registry.
  static std::string cacheRoot() { return store_ + "-registries-cache"; }

  static tool::SandboxRunner plainRunner() {
    return [](const engine::RunSpec& spec) -> Result<int> {
      COCO_ASSIGN(auto network, net::NetworkSession::create(spec));
      return engine::run(spec, network->hooks());
    };
  }

  static std::string seccomp() {
    auto path = tool::seccompProfilePath("default", "/", envOr("HOME", "/"));
    return path ? *path : std::string();
  }

  // The e2e tests' base image: built once, or pulled from COCO_BASE_IMAGE (run-all publishes one for coco-nosub).
  void ensureBase() {
    if (!baseError_.empty()) GTEST_SKIP() << baseError_;
    if (base_) return;
    tool::BaseImageOptions o;
    o.storageRoot = store_;
    o.published = envOr("COCO_BASE_IMAGE", "");
    o.runtimeDir = envOr("COCO_TEST_RUNTIME_DIR", "");
    o.run = plainRunner();
    o.progress = image::noProgress();
    o.seccompProfile = seccomp();
    auto start = std::chrono::steady_clock::now();
    auto base = tool::ensureBaseImage(o);
    if (!base && o.published.empty() && envOr("COCO_TEST_IDMAP", "") == "single") {
      // As in the e2e tests: bootstrapping Debian needs a subuid range this user lacks.
      baseError_ = "no base image: none published (COCO_BASE_IMAGE) and this user cannot bootstrap one: " +
                   base.error().describe();
      GTEST_SKIP() << baseError_;
    }
    ASSERT_TRUE(base) << base.error().describe();
    std::printf("[ timing ] base image ready: %.1fs\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    base_ = std::move(*base);
  }

  config::ToolConfig toolConfig(const std::string& name, const std::string& yaml) {
    auto c = config::parseConfig(yaml, dir_ + "/" + name + ".yaml", name);
    EXPECT_TRUE(c) << c.error().describe();
    return c ? *c : config::ToolConfig{};
  }

  // An install as `coco run` makes it on first run, with the host environment
  // `hostEnv` (on top of this process's) and the local-destination switch on.
  Installed install(const config::ToolConfig& config, const std::map<std::string, std::string>& hostEnv) {
    for (const char* kind : {"pip", "uv", "go", "cargo"})  // downloads must come from this run's registry
      (void)image::removeTreeAsOwner(image::hostIdMaps(), cacheRoot() + "/" + kind);
    tool::ToolLayerOptions o;
    o.storageRoot = dir_ + "/store";
    o.cacheRoot = cacheRoot();
    o.progress = image::noProgress();
    o.seccompProfile = seccomp();
    o.host = tool::HostConfigSource::fromProcess();
    o.host.home = dir_ + "/home";  // no pip.conf or cargo config of the test user's
    o.host.etcDir = dir_ + "/home";
    o.host.env["SSL_CERT_FILE"] = work_ + "/ca-bundle.crt";
    for (const auto& [k, v] : hostEnv) o.host.env[k] = v;
    o.run = [](const engine::RunSpec& spec) -> Result<int> {
      COCO_ASSIGN(auto network, net::NetworkSession::create(spec, /*allowLocalDestinations=*/true));
      return engine::run(spec, network->hooks());
    };
    auto start = std::chrono::steady_clock::now();
    FdCapture err(STDERR_FILENO);
    Installed r{tool::ensureToolLayer(config, *base_, o), "", 0};
    r.err = err.finish();
    r.secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!r.layer) r.err += "\n" + r.layer.error().describe();
    std::printf("[ timing ] install of %s: %.1fs\n", config.name.c_str(), r.secs);
    return r;
  }

  // The installed tool run as `coco run NAME ARGS` runs it; returns {status, stdout}.
  std::pair<int, std::string> run(const config::ToolConfig& config, const tool::ToolLayer& layer,
                                  const std::vector<std::string>& args) {
    auto ctx = tool::contextFromProcess();
    EXPECT_TRUE(ctx) << ctx.error().describe();
    if (!ctx) return {-1, ""};
    ctx->cwd = dir_ + "/home";
    auto spec = tool::prepareRun(config, args, *ctx, *base_, [&] { return std::optional<tool::ToolLayer>(layer); });
    EXPECT_TRUE(spec) << spec.error().describe();
    if (!spec) return {-1, ""};
    auto session = net::NetworkSession::create(*spec);
    EXPECT_TRUE(session) << session.error().describe();
    if (!session) return {-1, ""};
    FdCapture out(STDOUT_FILENO);
    auto rc = engine::run(*spec, (*session)->hooks());
    std::string text = out.finish();
    EXPECT_TRUE(rc) << rc.error().describe();
    return {rc ? *rc : -1, text};
  }

  void make(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"python3", helper("make_registries.py")};
    argv.insert(argv.end(), args.begin(), args.end());
    ASSERT_TRUE(runTool(argv)) << "make_registries.py " << args.at(0) << " failed";
  }

  // The simple index of the pipx tests, with pip for pipx's shared libraries.
  void makeIndex(const Registry& index, const Registry& decoy) {
    std::string pip = imagePipWheel(*base_);
    ASSERT_FALSE(pip.empty()) << "the base image has no pip wheel in /usr/share/python-wheels";
    make({"pypi", index.root(), decoy.root(), decoy.url(kElsewhere), pip});
  }

  // The cocohello crate came from `crates` and the installed tool runs; returns its output.
  std::string expectCocohelloRuns(const config::ToolConfig& config, const Installed& r, const Registry& crates) {
    if (!r.layer || !r.layer->has_value()) {
      ADD_FAILURE() << "not installed: " << r.err;
      return "";
    }
    EXPECT_TRUE(contains(crates.requests(), std::string(kCratesName) + ":" + crates.port() + " /crates/cocohello-1.0.0.crate"))
        << crates.requests();
    auto [status, out] = run(config, **r.layer, {});
    EXPECT_EQ(status, 0);
    EXPECT_TRUE(out.starts_with(std::string(kCargoGreeting) + "\n")) << out;
    return out;
  }

  // The refusal of `name` as the gateway reports it, and the proof it was never resolved.
  void expectRefused(const Installed& r, const std::string& name) {
    EXPECT_TRUE(contains(r.err, "blocked lookup of " + name)) << r.err;
    EXPECT_FALSE(dns_.asked().count(name)) << "the gateway forwarded a denied name upstream";
  }

  static std::string store_, work_, tls_, setupError_, baseError_;
  static std::optional<image::Image> base_;
  LocalDns dns_;
  std::string dir_;
};

std::string LocalRegistry::store_, LocalRegistry::work_, LocalRegistry::tls_, LocalRegistry::setupError_,
    LocalRegistry::baseError_;
std::optional<image::Image> LocalRegistry::base_;

// mise's pipx backend sets PIP_INDEX_URL for pipx itself, from its own setting
// pipx.registry_url (src/backend/pipx.rs, get_index_url/pipx_cmd; default: PyPI),
// so coco passes the host's index to mise as MISE_PIPX_REGISTRY_URL too: the
// tests set only PIP_INDEX_URL, as a user would.
TEST_F(LocalRegistry, PipxToolFromALocalSimpleIndexInstallsAndRuns) {
  Registry index(dir_ + "/pypi", tls_), decoy(dir_ + "/decoy", tls_);
  makeIndex(index, decoy);
  auto config = toolConfig("cocohello-pipx", "tool: pipx:cocohello@1.0.0\ncommand: cocohello\nnetwork: none\n");
  auto r = install(config, {{"PIP_INDEX_URL", index.url(kPypiName) + "/simple"}});
  ASSERT_TRUE(r.layer) << r.err << "\nthe index was asked:\n" << index.requests();
  ASSERT_TRUE(r.layer->has_value());
  EXPECT_EQ((*r.layer)->version, "1.0.0");
  std::string asked = index.requests();
  EXPECT_TRUE(contains(asked, std::string(kPypiName) + ":" + index.port() + " /simple/cocohello/")) << asked;
  EXPECT_TRUE(contains(asked, "/simple/cocohello/cocohello-1.0.0-py3-none-any.whl")) << asked;
  EXPECT_TRUE(dns_.asked().count(kPypiName)) << "the registry's name was not resolved through the DNS stub";
  auto [status, out] = run(config, **r.layer, {});
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, std::string(kPipGreeting) + "\n");
}

// The index lists cocodecoy's wheel on another host (a real server that would
// hand it out): the install phase may reach the index and nothing else.
TEST_F(LocalRegistry, PipxDownloadFromAnotherHostIsRefused) {
  Registry index(dir_ + "/pypi", tls_), decoy(dir_ + "/decoy", tls_);
  makeIndex(index, decoy);
  auto config = toolConfig("cocodecoy-pipx", "tool: pipx:cocodecoy@1.0.0\ncommand: cocodecoy\nnetwork: none\n");
  auto r = install(config, {{"PIP_INDEX_URL", index.url(kPypiName) + "/simple"}});
  EXPECT_FALSE(r.layer) << "installed a wheel from a host outside the install's hosts";
  EXPECT_TRUE(contains(index.requests(), "/simple/cocodecoy/")) << "pip never asked the index for cocodecoy: " << r.err
                                                                 << "\nthe index was asked:\n" << index.requests();
  expectRefused(r, kElsewhere);
  EXPECT_EQ(decoy.requests(), "");
}

constexpr const char* kGoConfig =
    "tool: go:example.coco/cocohello@1.0.0\ncommand: cocohello\nnetwork: none\n"
    "dependencies:\n  apt: [golang-go]\n";

TEST_F(LocalRegistry, GoToolFromALocalGoproxyInstallsAndRuns) {
  Registry proxy(dir_ + "/goproxy", tls_);
  make({"goproxy", proxy.root()});
  auto config = toolConfig("cocohello-go", kGoConfig);
  auto r = install(config, {{"GOPROXY", proxy.url(kGoproxyName)}, {"GOSUMDB", "off"}});
  ASSERT_TRUE(r.layer) << r.err;
  ASSERT_TRUE(r.layer->has_value());
  std::string asked = proxy.requests();
  EXPECT_TRUE(contains(asked, std::string(kGoproxyName) + ":" + proxy.port() + " /example.coco/cocohello/@v/v1.0.0.zip"))
      << asked;
  EXPECT_TRUE(dns_.asked().count(kGoproxyName));
  auto [status, out] = run(config, **r.layer, {});
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out, std::string(kGoGreeting) + "\n");
}

// A module the proxy does not have: with ",direct" go fetches it from its own
// host, which is not one of the install's hosts (coco derives none from "direct").
TEST_F(LocalRegistry, GoDirectFetchFromAnotherHostIsRefused) {
  Registry proxy(dir_ + "/goproxy", tls_);
  make({"goproxy", proxy.root()});
  auto config = toolConfig("cocodecoy-go",
                           "tool: go:" + std::string(kElsewhere) + "/cocodecoy@1.0.0\ncommand: cocodecoy\n"
                           "network: none\ndependencies:\n  apt: [golang-go]\n");
  auto r = install(config, {{"GOPROXY", proxy.url(kGoproxyName) + ",direct"}, {"GOSUMDB", "off"}});
  EXPECT_FALSE(r.layer) << "installed a module from a host outside the install's hosts";
  EXPECT_TRUE(contains(proxy.requests(), "/" + std::string(kElsewhere) + "/cocodecoy/@v/")) << proxy.requests();
  expectRefused(r, kElsewhere);
}

// mise's cargo backend runs `cargo install NAME@VERSION`, with
// `--registry=NAME` only from its own setting cargo.registry_name
// (src/backend/cargo.rs, execute_install_command); cargo reads the registry's
// index from CARGO_REGISTRIES_<NAME>_INDEX, which coco passes on; the host
// names that registry to mise in MISE_CARGO_REGISTRY_NAME, which coco passes on too.
// The crate's build script tries a host the install may not reach and a
// literal address; the tool prints what it saw.
TEST_F(LocalRegistry, CargoToolFromALocalSparseRegistryInstallsAndRuns) {
  // The decoy speaks plain HTTP, so the build script's request gets an answer if it ever arrives.
  Registry crates(dir_ + "/crates", tls_), decoy(dir_ + "/decoy", "");
  make({"cargo", crates.root(), crates.url(kCratesName), std::string(kElsewhere) + ":" + decoy.port()});
  auto config = toolConfig("cocohello-cargo",
                           "tool: cargo:cocohello@1.0.0\ncommand: cocohello\nnetwork: none\n"
                           "dependencies:\n  apt: [cargo]\n");
  auto r = install(config, {{"CARGO_REGISTRIES_COCO_INDEX", "sparse+" + crates.url(kCratesName) + "/index/"},
                           {"MISE_CARGO_REGISTRY_NAME", "coco"}});
  std::string out = expectCocohelloRuns(config, r, crates);
  EXPECT_TRUE(contains(out, "by name: lookup failed")) << out;
  EXPECT_TRUE(contains(out, "by address: ")) << out;
  EXPECT_FALSE(contains(out, "ANSWERED")) << out;
  expectRefused(r, kElsewhere);
  EXPECT_TRUE(contains(r.err, "blocked connection to 192.0.2.1:443")) << r.err;
  EXPECT_EQ(decoy.requests(), "");
}

// A host whose cargo replaces crates.io (`[source.crates-io] replace-with`, the
// usual corporate mirror) and names no registry to mise: `cargo install
// cocohello` inside the install asks crates.io, which only the config.toml coco
// writes for the install's cargo turns into this run's registry (cargo takes
// [source] tables from files only).
TEST_F(LocalRegistry, CargoToolThroughTheHostsCratesIoReplacementInstallsAndRuns) {
  Registry crates(dir_ + "/crates", tls_), decoy(dir_ + "/decoy", "");
  make({"cargo", crates.root(), crates.url(kCratesName), std::string(kElsewhere) + ":" + decoy.port()});
  stdfs::create_directories(dir_ + "/home/.cargo");
  std::ofstream(dir_ + "/home/.cargo/config.toml")
      << "[source.crates-io]\nreplace-with = \"corp\"\n\n[source.corp]\nregistry = \"sparse+"
      << crates.url(kCratesName) << "/index/\"\n";
  auto config = toolConfig("cocohello-replaced",
                           "tool: cargo:cocohello@1.0.0\ncommand: cocohello\nnetwork: none\n"
                           "dependencies:\n  apt: [cargo]\n");
  auto r = install(config, {});
  expectCocohelloRuns(config, r, crates);
}

}  // namespace
