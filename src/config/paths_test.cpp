#include "config/paths.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <vector>

#include "config/test_support.hpp"
#include "util/fs.hpp"

namespace coco::config {
namespace {

using testing::ScopedEnv;
using testing::TempDir;

TEST(Paths, DefaultsUnderHome) {
  ScopedEnv home("HOME", "/home/ann/");
  ScopedEnv data("XDG_DATA_HOME", std::nullopt);
  ScopedEnv config("XDG_CONFIG_HOME", std::nullopt);
  ScopedEnv cache("XDG_CACHE_HOME", std::nullopt);
  auto paths = Paths::fromEnvironment();
  ASSERT_TRUE(paths.ok()) << paths.error().message();
  EXPECT_EQ(paths->home, "/home/ann");
  EXPECT_EQ(paths->dataHome, "/home/ann/.local/share");
  EXPECT_EQ(paths->configHome, "/home/ann/.config");
  EXPECT_EQ(paths->cacheHome, "/home/ann/.cache");
  EXPECT_EQ(paths->toolsDir(), "/home/ann/.local/share/coco/tools");
}

TEST(Paths, XdgVariablesWin) {
  ScopedEnv home("HOME", "/home/ann");
  ScopedEnv data("XDG_DATA_HOME", "/data//x/");
  ScopedEnv config("XDG_CONFIG_HOME", "/cfg");
  ScopedEnv cache("XDG_CACHE_HOME", "/var/cache/ann");
  auto paths = Paths::fromEnvironment();
  ASSERT_TRUE(paths.ok());
  EXPECT_EQ(paths->dataHome, "/data/x");
  EXPECT_EQ(paths->configHome, "/cfg");
  EXPECT_EQ(paths->cacheHome, "/var/cache/ann");
  EXPECT_EQ(paths->toolsDir(), "/data/x/coco/tools");
}

TEST(Paths, RelativeAndEmptyXdgValuesAreIgnored) {
  ScopedEnv home("HOME", "/home/ann");
  ScopedEnv data("XDG_DATA_HOME", "relative/data");
  ScopedEnv config("XDG_CONFIG_HOME", "");
  ScopedEnv cache("XDG_CACHE_HOME", "~/.cache");
  auto paths = Paths::fromEnvironment();
  ASSERT_TRUE(paths.ok());
  EXPECT_EQ(paths->dataHome, "/home/ann/.local/share");
  EXPECT_EQ(paths->configHome, "/home/ann/.config");
  EXPECT_EQ(paths->cacheHome, "/home/ann/.cache");
}

TEST(Paths, HomeMustBeSetAndAbsolute) {
  {
    ScopedEnv home("HOME", std::nullopt);
    auto paths = Paths::fromEnvironment();
    ASSERT_FALSE(paths.ok());
    EXPECT_EQ(paths.error().message(),
              "HOME is not set, and your password database entry gives no absolute home: set HOME to your "
              "home directory");
  }
  {
    ScopedEnv home("HOME", "");
    EXPECT_EQ(Paths::fromEnvironment().error().message(),
              "HOME is not set, and your password database entry gives no absolute home: set HOME to your "
              "home directory");
  }
  {
    ScopedEnv home("HOME", "home/ann");
    EXPECT_EQ(Paths::fromEnvironment().error().message(), "HOME is not an absolute path: 'home/ann'");
  }
}

// The rules engine/child_plan.cpp (staging) and engine/seccomp_cache.cpp (cache) applied to the
// process environment before the directories travelled in the RunSpec, kept here to show the
// same directories are chosen.
std::string oldStaging(const std::map<std::string, std::string>& env) {
  auto get = [&](const char* k) { return env.count(k) ? env.at(k).c_str() : nullptr; };
  if (const char* rt = get("XDG_RUNTIME_DIR"); rt && rt[0] == '/' && fs::isDirectory(rt))
    return std::string(rt) + "/coco/staging";
  if (const char* cache = get("XDG_CACHE_HOME"); cache && cache[0] == '/') return std::string(cache) + "/coco/staging";
  if (const char* home = get("HOME"); home && home[0] == '/') return std::string(home) + "/.cache/coco/staging";
  return "";
}

std::string oldSeccompCache(const std::map<std::string, std::string>& env) {
  auto get = [&](const char* k) { return env.count(k) ? env.at(k).c_str() : nullptr; };
  if (const char* c = get("XDG_CACHE_HOME"); c && c[0] == '/') return std::string(c) + "/coco/seccomp";
  if (const char* h = get("HOME"); h && h[0] == '/') return std::string(h) + "/.cache/coco/seccomp";
  return "";
}

TEST(EngineDirs, TheSameDirectoriesAsTheEngineChoseFromItsEnvironment) {
  TempDir tmp;
  std::string runtime = tmp.path() + "/run", home = tmp.path() + "/home", cache = tmp.path() + "/cache";
  ASSERT_TRUE(fs::makeDirs(runtime).ok());
  std::vector<std::optional<std::string>> runtimes = {std::nullopt, runtime, tmp.path() + "/missing", "run", ""};
  std::vector<std::optional<std::string>> caches = {std::nullopt, cache, "cache", ""};
  std::vector<std::optional<std::string>> homes = {std::nullopt, home, "home", ""};
  int cases = 0;
  for (const auto& r : runtimes)
    for (const auto& c : caches)
      for (const auto& h : homes) {
        std::map<std::string, std::string> env = {{"PATH", "/bin"}};
        if (r) env["XDG_RUNTIME_DIR"] = *r;
        if (c) env["XDG_CACHE_HOME"] = *c;
        if (h) env["HOME"] = *h;
        EngineDirs dirs = engineDirs(env);
        std::string where = fmt::format("runtime {} cache {} home {}", r.value_or("<unset>"), c.value_or("<unset>"),
                                        h.value_or("<unset>"));
        EXPECT_EQ(dirs.staging, oldStaging(env)) << where;
        EXPECT_EQ(dirs.seccompCache, oldSeccompCache(env)) << where;
        ++cases;
      }
  EXPECT_EQ(cases, 80);
  std::map<std::string, std::string> all = {{"XDG_RUNTIME_DIR", runtime}, {"XDG_CACHE_HOME", cache}, {"HOME", home}};
  EXPECT_EQ(engineDirs(all).staging, runtime + "/coco/staging");
  EXPECT_EQ(engineDirs(all).seccompCache, cache + "/coco/seccomp");
  EXPECT_EQ(engineDirs({{"HOME", home}}).staging, home + "/.cache/coco/staging");
  EXPECT_EQ(engineDirs({}).staging, "");
}

// The holder's record is in the runtime directory only when that is this user's own directory.
TEST(EngineDirs, HolderInTheUsersOwnRuntimeDirectoryElseTheCache) {
  TempDir tmp;
  std::string runtime = tmp.path() + "/run", cache = tmp.path() + "/cache";
  ASSERT_TRUE(fs::makeDirs(runtime).ok());
  EXPECT_EQ(engineDirs({{"XDG_RUNTIME_DIR", runtime}, {"XDG_CACHE_HOME", cache}}).holder, runtime + "/coco");
  EXPECT_EQ(engineDirs({{"XDG_RUNTIME_DIR", tmp.path() + "/missing"}, {"XDG_CACHE_HOME", cache}}).holder,
            cache + "/coco");
  EXPECT_EQ(engineDirs({{"XDG_RUNTIME_DIR", "run"}, {"XDG_CACHE_HOME", cache}}).holder, cache + "/coco");
  if (::getuid() != 0) {
    // "/" is root's: not this user's runtime directory.
    EXPECT_EQ(engineDirs({{"XDG_RUNTIME_DIR", "/"}, {"XDG_CACHE_HOME", cache}}).holder, cache + "/coco");
  }
  EXPECT_EQ(engineDirs({}).holder, "");
}

TEST(Paths, ToolNames) {
  for (const char* good : {"eslint", "golangci-lint", "python3", "g++", "a.b_c", "X", "0day", "tool.v2+x-y"})
    EXPECT_TRUE(isValidToolName(good)) << good;
  for (const char* bad : {"", ".", "..", ".hidden", "-x", "_x", "+x", "a/b", "../x", "a b", "a\nb", "é",
                          "a:b", "a*", "a\\b", "~x", "a$b"})
    EXPECT_FALSE(isValidToolName(bad)) << bad;
}

TEST(Paths, ExpandSource) {
  const std::string cwd = "/home/ann/project", home = "/home/ann";
  EXPECT_EQ(expandSource(".", cwd, home), "/home/ann/project");
  EXPECT_EQ(expandSource("./", cwd, home), "/home/ann/project");
  EXPECT_EQ(expandSource("~", cwd, home), "/home/ann");
  EXPECT_EQ(expandSource("~/", cwd, home), "/home/ann");
  EXPECT_EQ(expandSource("~/.config/claude", cwd, home), "/home/ann/.config/claude");
  EXPECT_EQ(expandSource("~/a/../b", cwd, home), "/home/ann/b");
  EXPECT_EQ(expandSource("src", cwd, home), "/home/ann/project/src");
  EXPECT_EQ(expandSource("./src//lib/", cwd, home), "/home/ann/project/src/lib");
  EXPECT_EQ(expandSource("..", cwd, home), "/home/ann");
  EXPECT_EQ(expandSource("../../..", cwd, home), "/");
  EXPECT_EQ(expandSource("/etc/ssl/certs/", cwd, home), "/etc/ssl/certs");
  EXPECT_EQ(expandSource("/a/./b/../c", cwd, home), "/a/c");
  // "~user" is not expanded; the parser refuses it before it gets here.
  EXPECT_EQ(expandSource("~bob", cwd, home), "/home/ann/project/~bob");
}

TEST(Paths, EnsureSourceCreatesUnderHomeAndCwd) {
  TempDir tmp;
  std::string home = tmp.sub("home"), cwd = tmp.sub("work");
  ASSERT_TRUE(fs::makeDirs(home).ok());
  ASSERT_TRUE(fs::makeDirs(cwd).ok());
  ASSERT_TRUE(ensureSource(home + "/.config/claude", cwd, home).ok());
  EXPECT_TRUE(fs::isDirectory(home + "/.config/claude"));
  ASSERT_TRUE(ensureSource(cwd + "/out/deep", cwd, home).ok());
  EXPECT_TRUE(fs::isDirectory(cwd + "/out/deep"));
  // Existing paths, files included, are left alone.
  ASSERT_TRUE(fs::writeFileAtomic(cwd + "/file", "x").ok());
  EXPECT_TRUE(ensureSource(cwd + "/file", cwd, home).ok());
  EXPECT_EQ(*fs::readFile(cwd + "/file"), "x");
}

TEST(Paths, EnsureSourceRefusesElsewhere) {
  TempDir tmp;
  std::string home = tmp.sub("home"), cwd = tmp.sub("work");
  ASSERT_TRUE(fs::makeDirs(home).ok());
  ASSERT_TRUE(fs::makeDirs(cwd).ok());
  for (const std::string& outside : {tmp.sub("other/dir"), tmp.sub("home2"), tmp.sub("workx/y")}) {
    auto status = ensureSource(outside, cwd, home);
    ASSERT_FALSE(status.ok()) << outside;
    EXPECT_EQ(
        status.error().message(),
        "mount source " + outside +
            " does not exist and lies outside your home and the current directory, so coco does not create "
            "it; create it first");
    EXPECT_FALSE(fs::exists(outside));
  }
  // Existing paths outside are fine: they need no creating.
  EXPECT_TRUE(ensureSource(tmp.path(), cwd, home).ok());
}

TEST(Paths, FindToolFile) {
  TempDir tmp;
  std::string dir = tmp.path();
  auto none = findToolFile(dir, "eslint");
  ASSERT_FALSE(none.ok());
  // Whether `coco get` can help depends on the store: cli/ picks that hint by the kind.
  EXPECT_EQ(none.error().message(), "no tool named 'eslint' in " + dir);
  EXPECT_EQ(none.error().kind(), ErrorKind::NotConfigured);
  EXPECT_EQ(none.error().subject(), "eslint");

  ASSERT_TRUE(fs::writeFileAtomic(dir + "/eslint.yml", "tool: npm:eslint\n").ok());
  EXPECT_EQ(*findToolFile(dir, "eslint"), dir + "/eslint.yml");

  ASSERT_TRUE(fs::writeFileAtomic(dir + "/eslint.json", "{}").ok());
  auto two = findToolFile(dir, "eslint");
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().message(),
            "tool 'eslint' has two configs, " + dir + "/eslint.json and " + dir + "/eslint.yml; remove one");

  // A directory with a config's name is not a config.
  ASSERT_TRUE(fs::makeDirs(dir + "/rg.yaml").ok());
  EXPECT_FALSE(findToolFile(dir, "rg").ok());
}

TEST(Paths, FindToolFileRefusesBadNames) {
  TempDir tmp;
  ASSERT_TRUE(fs::writeFileAtomic(tmp.sub("x.json"), "{}").ok());
  for (const char* bad : {"../x", "a/b", "", ".x"}) {
    auto found = findToolFile(tmp.sub("sub"), bad);
    ASSERT_FALSE(found.ok());
    EXPECT_EQ(found.error().message(),
              fmt::format("invalid tool name '{}': use letters, digits and . _ + - (not first)", bad));
  }
}

}  // namespace
}  // namespace coco::config
