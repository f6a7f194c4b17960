// Tests for which mount sources expose home, credentials, coco's files or runtime sockets, and which are
// explicit.
#include "tool/grants.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

namespace coco::tool {
namespace {

// Paths that do not exist, so only the lexical rules apply.
const GrantContext kCtx{
    "/nonexistent-coco/home/u/project",
    "/nonexistent-coco/home/u",
    "/nonexistent-coco/run/1000",
    {"/nonexistent-coco/home/u/.local/share/coco", "/nonexistent-coco/home/u/.cache/coco"}};
const std::string kHome = "/nonexistent-coco/home/u";

std::vector<MountGrant> grants(const std::string& written, const std::string& physical,
                               const GrantContext& ctx = kCtx) {
  return mountGrants(written, physical, ctx);
}

TEST(MountGrants, OrdinarySourcesExposeNothing) {
  EXPECT_TRUE(grants(".", kCtx.cwd).empty());
  EXPECT_TRUE(grants("~/.cache/eslint", kHome + "/.cache/eslint").empty());
  EXPECT_TRUE(grants("~/.sshfoo", kHome + "/.sshfoo").empty());
  EXPECT_TRUE(grants("/run/user-data", "/run/user-data").empty());
}

TEST(MountGrants, WrittenPathsAreExplicit) {
  for (auto [written, physical] : std::vector<std::pair<std::string, std::string>>{
           {"~/.ssh", kHome + "/.ssh"},
           {"~/.ssh/known_hosts", kHome + "/.ssh/known_hosts"},
           {kHome + "/.aws", kHome + "/.aws"},
           {"~/.config", kHome + "/.config"},  // above ~/.config/gcloud
           {"~/.netrc", kHome + "/.netrc"},
           {"~", kHome},
           {"/", "/"},
           {"/var/run/docker.sock", "/run/docker.sock"},
           {"~/.local/share/coco/tools", kHome + "/.local/share/coco/tools"},
       }) {
    auto g = grants(written, physical);
    ASSERT_FALSE(g.empty()) << written;
    for (const auto& one : g) EXPECT_TRUE(one.explicitGrant) << written << ": " << one.warning;
  }
}

TEST(MountGrants, ReachedThroughDotARelativePathOrASymlinkIsNot) {
  GrantContext inSsh = kCtx;
  inSsh.cwd = kHome + "/.ssh";
  GrantContext inHome = kCtx;
  inHome.cwd = kHome;
  GrantContext inStore = kCtx;
  inStore.cwd = kHome + "/.local/share/coco/tools";
  struct Case {
    std::string written, physical;
    const GrantContext& ctx;
    std::string says;
  };
  for (const auto& c : std::vector<Case>{
           {".", kHome + "/.ssh", inSsh, "credentials: ~/.ssh"},
           {"./build-cache", kHome + "/.ssh", kCtx, "credentials: ~/.ssh"},  // a symlink planted there
           {"~/keys", kHome + "/.ssh", kCtx, "credentials: ~/.ssh"},         // the user's own symlink
           {"..", kHome, kCtx, "home directory"},
           {".", kHome, inHome, "home directory (when run from"},
           {".", kHome + "/.local/share/coco/tools", inStore, "coco's own files"},
           {"./sock", "/run/docker.sock", kCtx, "container runtime socket"},
       }) {
    auto g = grants(c.written, c.physical, c.ctx);
    ASSERT_FALSE(g.empty()) << c.written << " -> " << c.physical;
    EXPECT_FALSE(g[0].explicitGrant) << c.written << " -> " << c.physical;
    EXPECT_NE(g[0].warning.find(c.says), std::string::npos) << g[0].warning;
  }
}

// A read-only mount of coco's own files cannot rewrite them: the words say what it does expose.
TEST(MountGrants, ReadOnlyMountOfCocosFilesSaysWhatItReads) {
  const std::string store = kHome + "/.local/share/coco/tools";
  auto writable = mountGrants(store, store, kCtx, false);
  auto readOnly = mountGrants(store, store, kCtx, true);
  ASSERT_EQ(writable.size(), 1u);
  ASSERT_EQ(readOnly.size(), 1u);
  EXPECT_NE(writable[0].warning.find("can rewrite other tools' configs"), std::string::npos) << writable[0].warning;
  EXPECT_EQ(readOnly[0].warning.find("rewrite"), std::string::npos) << readOnly[0].warning;
  EXPECT_NE(readOnly[0].warning.find("read-only: the tool reads other tools' configs"), std::string::npos)
      << readOnly[0].warning;
  EXPECT_TRUE(readOnly[0].explicitGrant) << "the config names the store itself";
}

TEST(MountGrants, CheckRefusesOnlyWhatIsNotNamed) {
  config::ToolConfig c;
  c.path = "/x/t.json";
  c.mounts = {{"~/.ssh", "/keys", true, 1}, {".", "/workspace", false, 2}};
  EXPECT_TRUE(checkMountGrants(c, kCtx).ok());
  GrantContext inSsh = kCtx;
  inSsh.cwd = kHome + "/.ssh";
  auto st = checkMountGrants(c, inSsh);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), EACCES);
  for (const char* needle :
       {"/x/t.json: mount . -> /workspace", "credentials: ~/.ssh", "write the path in the config"})
    EXPECT_NE(st.error().message().find(needle), std::string::npos) << st.error().message();
}

TEST(CocoDirs, StorageCachesAndCocoStorage) {
  EXPECT_EQ(cocoDirs({}, "/h"),
            (std::vector<std::string>{"/h/.local/share/coco", "/h/.cache/coco", "/h/.local/state/coco"}));
  EXPECT_EQ(cocoDirs({{"XDG_DATA_HOME", "/d"},
                      {"XDG_CACHE_HOME", "rel"},
                      {"XDG_STATE_HOME", "/st"},
                      {"COCO_STORAGE", "/s/"}},
                     "/h"),
            (std::vector<std::string>{"/d/coco", "/h/.cache/coco", "/st/coco", "/s"}));
  // The runtime directory's, where the user-namespace holders' records are (a relative one is none).
  EXPECT_EQ(cocoDirs({{"XDG_RUNTIME_DIR", "/run/user/7/"}}, "/h"),
            (std::vector<std::string>{"/h/.local/share/coco", "/h/.cache/coco", "/h/.local/state/coco",
                                      "/run/user/7/coco"}));
  EXPECT_EQ(cocoDirs({{"XDG_RUNTIME_DIR", "run"}}, "/h").size(), 3u);
  // COCO_STORE is COCO_STORAGE's older name; the new one wins when both are set.
  EXPECT_EQ(
      cocoDirs({{"COCO_STORE", "/old"}}, "/h"),
      (std::vector<std::string>{"/h/.local/share/coco", "/h/.cache/coco", "/h/.local/state/coco", "/old"}));
  EXPECT_EQ(
      cocoDirs({{"COCO_STORE", "/old"}, {"COCO_STORAGE", "/new"}}, "/h"),
      (std::vector<std::string>{"/h/.local/share/coco", "/h/.cache/coco", "/h/.local/state/coco", "/new"}));
}

TEST(PhysicalPath, ResolvesWhatExistsAndKeepsTheRest) {
  EXPECT_EQ(physicalPath("/var/run/docker.sock"), "/run/docker.sock");
  EXPECT_EQ(physicalPath("/nonexistent-coco/a/../b"), "/nonexistent-coco/b");
  EXPECT_EQ(physicalPath("/proc/self/nonexistent-coco"),
            "/proc/" + std::to_string(::getpid()) + "/nonexistent-coco");
}

// A run's PhysicalPaths answers as physicalPath does, once per path: the run's warnings and checks
// share what it resolved. A context without one resolves every time.
TEST(PhysicalPaths, ResolvesAsPhysicalPathOncePerRun) {
  char tmpl[] = "/tmp/coco-grants-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl, link = dir + "/link";
  ASSERT_EQ(::mkdir((dir + "/a").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((dir + "/b").c_str(), 0700), 0);
  ASSERT_EQ(::symlink("a", link.c_str()), 0);
  GrantContext run = kCtx;
  run.physical = std::make_shared<PhysicalPaths>();
  GrantContext shared = run;  // a copy, as the warnings and the checks each make
  EXPECT_EQ(physicalPathIn(run, link + "/x"), physicalPath(link + "/x"));
  EXPECT_EQ(physicalPathIn(run, link + "/x"), dir + "/a/x");
  ASSERT_EQ(::unlink(link.c_str()), 0);
  ASSERT_EQ(::symlink("b", link.c_str()), 0);
  EXPECT_EQ(physicalPathIn(shared, link + "/x"), dir + "/a/x") << "resolved again within the run";
  EXPECT_EQ(physicalPathIn(kCtx, link + "/x"), dir + "/b/x");
  ::unlink(link.c_str());
  ::rmdir((dir + "/a").c_str());
  ::rmdir((dir + "/b").c_str());
  ::rmdir(dir.c_str());
}

// Resolved component by component from parents already known, every kind of path still gets
// physicalPath's answer: directories, files, missing paths and what lies below them, below a
// file, through relative and absolute symlinks, dangling ones, loops, and /var/run.
TEST(PhysicalPaths, EveryKindOfPathAsPhysicalPath) {
  char tmpl[] = "/tmp/coco-grants-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ASSERT_EQ(::mkdir((dir + "/a").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((dir + "/a/b").c_str(), 0700), 0);
  int fd = ::creat((dir + "/a/file").c_str(), 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ASSERT_EQ(::symlink("a", (dir + "/rel").c_str()), 0);
  ASSERT_EQ(::symlink((dir + "/a/b").c_str(), (dir + "/a/abs").c_str()), 0);
  ASSERT_EQ(::symlink("../a/b/../..", (dir + "/a/b/up").c_str()), 0);
  ASSERT_EQ(::symlink("nowhere", (dir + "/a/dangling").c_str()), 0);
  ASSERT_EQ(::symlink("loop2", (dir + "/loop1").c_str()), 0);
  ASSERT_EQ(::symlink("loop1", (dir + "/loop2").c_str()), 0);
  std::vector<std::string> paths;
  for (const char* rel : {"", "/a", "/a/b", "/a/file", "/a/file/x", "/a/missing", "/a/missing/deeper/still",
                          "/rel", "/rel/b", "/rel/b/x", "/a/abs", "/a/abs/x", "/a/b/up", "/a/b/up/a/b",
                          "/a/dangling", "/a/dangling/x", "/loop1", "/loop1/x", "/a/./b/../b", "/a//b/"})
    paths.push_back(dir + rel);
  for (const char* abs : {"/", "/var/run", "/var/run/docker.sock", "/run/user/0/x", "/proc/self/fd",
                          "/nonexistent-coco/a/../b"})
    paths.emplace_back(abs);
  // Each path asked first (parents resolved on the way) and again after all (from the memo).
  PhysicalPaths first;
  for (const auto& p : paths) EXPECT_EQ(first.resolve(p), physicalPath(p)) << p;
  PhysicalPaths deepestFirst;
  for (auto it = paths.rbegin(); it != paths.rend(); ++it)
    EXPECT_EQ(deepestFirst.resolve(*it), physicalPath(*it)) << *it;
  for (const auto& p : paths) EXPECT_EQ(first.resolve(p), physicalPath(p)) << p;
  ASSERT_EQ(std::system(("rm -rf " + dir).c_str()), 0);
}

}  // namespace
}  // namespace coco::tool
