#include "engine/seccomp_cache.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "coco_config.h"
#include "util/fs.hpp"
#include "util/unique_fd.hpp"
#include "util/temp_dir.hpp"

namespace coco::engine {
namespace {

class SeccompCache : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = tmp_.path();
    cache_ = dir_ + "/coco/seccomp";
  }
  size_t entries() {
    std::error_code ec;
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(cache_, ec)) n += e.is_regular_file();
    return n;
  }
  TempDir tmp_{"coco-seccomp-cache"};
  std::string dir_, cache_;
};

TEST_F(SeccompCache, SecondCompileComesFromTheCacheAndMatches) {
  std::string profile = COCO_SOURCE_ROOT "/seccomp-profiles/default.json";
  auto first = compileProfileCached(profile, cache_);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_EQ(entries(), 1u);
  auto second = compileProfileCached(profile, cache_);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(first->filter.size(), second->filter.size());
  EXPECT_EQ(0, memcmp(first->filter.data(), second->filter.data(), first->filter.size() * sizeof(sock_filter)));
  EXPECT_EQ(entries(), 1u);
}

TEST_F(SeccompCache, ChangedProfileIsRecompiled) {
  std::string p = dir_ + "/p.json";
  ASSERT_TRUE(fs::writeFileAtomic(p, R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]})").ok());
  auto allowAll = compileProfileCached(p, cache_);
  ASSERT_TRUE(allowAll.ok());
  ASSERT_TRUE(fs::writeFileAtomic(p, R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
      {"names":["acct"],"action":"SCMP_ACT_ERRNO"}]})").ok());
  auto denyAcct = compileProfileCached(p, cache_);
  ASSERT_TRUE(denyAcct.ok());
  EXPECT_NE(allowAll->filter.size(), denyAcct->filter.size());
  EXPECT_EQ(entries(), 2u);
}

bool sameProgram(const SeccompProgram& a, const SeccompProgram& b) {
  return a.filter.size() == b.filter.size() &&
         std::memcmp(a.filter.data(), b.filter.data(), a.filter.size() * sizeof(sock_filter)) == 0;
}

// The profile is rewritten while coco reads it (a user editing it, two versions swapped by
// rename): whichever version a lookup read is the one it compiled and cached, under the
// identity of that very file. Taking the identity from another open than the read (or after
// it) would, sooner or later, cache one version's program under the other's identity.
TEST_F(SeccompCache, ProfileChangedDuringAMissCompilesAndCachesTheBytesOfTheKey) {
  const std::string a = R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]})";
  const std::string b = R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["acct"],"action":"SCMP_ACT_ERRNO"}]})";
  std::string fileA = dir_ + "/a.json", fileB = dir_ + "/b.json", p = dir_ + "/p.json";
  ASSERT_TRUE(fs::writeFileAtomic(fileA, a).ok());
  ASSERT_TRUE(fs::writeFileAtomic(fileB, b).ok());
  auto expectedA = compileProfile(fileA);
  auto expectedB = compileProfile(fileB);
  ASSERT_TRUE(expectedA.ok() && expectedB.ok());
  ASSERT_FALSE(sameProgram(*expectedA, *expectedB));
  ASSERT_TRUE(fs::writeFileAtomic(p, a).ok());
  std::atomic<bool> stop{false};
  std::thread swap([&] {
    for (bool useB = true; !stop; useB = !useB) (void)fs::writeFileAtomic(p, useB ? b : a);
  });
  struct Join {  // on every way out, a failed ASSERT included
    std::atomic<bool>& stop;
    std::thread& t;
    ~Join() {
      stop = true;
      t.join();
    }
  } join{stop, swap};
  for (int i = 0; i < 200; ++i) {
    std::filesystem::remove_all(dir_ + "/coco/seccomp");  // every lookup a miss
    auto got = compileProfileCached(p, cache_);
    ASSERT_TRUE(got.ok()) << got.error().describe();
    ASSERT_TRUE(sameProgram(*got, *expectedA) || sameProgram(*got, *expectedB)) << "a program of neither version";
    // What this lookup cached, read back under each version's key.
    auto cachedA = compileProfileCached(fileA, cache_);
    auto cachedB = compileProfileCached(fileB, cache_);
    ASSERT_TRUE(cachedA.ok() && cachedB.ok());
    ASSERT_TRUE(sameProgram(*cachedA, *expectedA)) << "the cache holds another profile's program under A's key";
    ASSERT_TRUE(sameProgram(*cachedB, *expectedB)) << "the cache holds another profile's program under B's key";
  }
}

// Edited in place (the same inode), the file's mtime even put back as it was:
// its ctime moved, which no one can set, so the old program is not reused.
TEST_F(SeccompCache, AnEditInPlaceIsRecompiledWhateverItsMtime) {
  const std::string a = R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]})";
  const std::string b = R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]})";  // the same size
  std::string p = dir_ + "/p.json";
  ASSERT_TRUE(fs::writeFileAtomic(p, b).ok());
  auto expectedB = compileProfile(p);
  ASSERT_TRUE(fs::writeFileAtomic(p, a).ok());
  auto first = compileProfileCached(p, cache_);
  ASSERT_TRUE(first.ok() && expectedB.ok());
  ASSERT_FALSE(sameProgram(*first, *expectedB));
  struct stat before;
  ASSERT_EQ(::stat(p.c_str(), &before), 0);
  {
    UniqueFd fd(::open(p.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    ASSERT_TRUE(fd);
    ASSERT_EQ(::write(fd.get(), b.data(), b.size()), static_cast<ssize_t>(b.size()));
    const timespec times[2] = {before.st_atim, before.st_mtim};
    ASSERT_EQ(::futimens(fd.get(), times), 0);
  }
  struct stat after;
  ASSERT_EQ(::stat(p.c_str(), &after), 0);
  ASSERT_EQ(after.st_ino, before.st_ino);
  ASSERT_EQ(after.st_size, before.st_size);  // only the ctime tells
  auto edited = compileProfileCached(p, cache_);
  ASSERT_TRUE(edited.ok()) << edited.error().describe();
  EXPECT_TRUE(sameProgram(*edited, *expectedB)) << "the program of the file before the edit was reused";
}

// A damaged entry (cut short mid-instruction, or emptied) is compiled again, not used.
TEST_F(SeccompCache, ADamagedEntryIsCompiledAgain) {
  std::string profile = COCO_SOURCE_ROOT "/seccomp-profiles/default.json";
  auto first = compileProfileCached(profile, cache_);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  ASSERT_EQ(entries(), 1u);
  std::string entry = std::filesystem::directory_iterator(cache_)->path();
  auto whole = std::filesystem::file_size(entry);
  for (auto size : {whole - 3, whole - first->filter.size() * sizeof(sock_filter), decltype(whole){0}}) {
    std::filesystem::resize_file(entry, size);
    auto again = compileProfileCached(profile, cache_);
    ASSERT_TRUE(again.ok()) << again.error().describe();
    EXPECT_TRUE(sameProgram(*again, *first)) << "entry cut to " << size << " bytes";
  }
}

// The directory comes with the run (HostSetup::seccompCacheDir): none given, nothing is kept,
// whatever XDG_CACHE_HOME says.
TEST_F(SeccompCache, WithoutADirectoryNothingIsKept) {
  setenv("XDG_CACHE_HOME", dir_.c_str(), 1);
  auto program = compileProfileCached(COCO_SOURCE_ROOT "/seccomp-profiles/default.json", "");
  unsetenv("XDG_CACHE_HOME");
  ASSERT_TRUE(program.ok()) << program.error().describe();
  EXPECT_FALSE(program->filter.empty());
  EXPECT_FALSE(fs::exists(cache_));
}

TEST_F(SeccompCache, MissingProfileIsAnError) { EXPECT_FALSE(compileProfileCached(dir_ + "/none.json", cache_).ok()); }

}  // namespace
}  // namespace coco::engine
