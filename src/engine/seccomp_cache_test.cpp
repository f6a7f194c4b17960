#include "engine/seccomp_cache.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include "coco_config.h"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::engine {
namespace {

class SeccompCache : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = tmp_.path();
    setenv("XDG_CACHE_HOME", dir_.c_str(), 1);
  }
  size_t entries() {
    std::error_code ec;
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(dir_ + "/coco/seccomp", ec)) n += e.is_regular_file();
    return n;
  }
  TempDir tmp_{"coco-seccomp-cache"};
  std::string dir_;
};

TEST_F(SeccompCache, SecondCompileComesFromTheCacheAndMatches) {
  std::string profile = COCO_SOURCE_ROOT "/seccomp-profiles/default.json";
  auto first = compileProfileCached(profile);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_EQ(entries(), 1u);
  auto second = compileProfileCached(profile);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(first->filter.size(), second->filter.size());
  EXPECT_EQ(0, memcmp(first->filter.data(), second->filter.data(), first->filter.size() * sizeof(sock_filter)));
  EXPECT_EQ(entries(), 1u);
}

TEST_F(SeccompCache, ChangedProfileIsRecompiled) {
  std::string p = dir_ + "/p.json";
  ASSERT_TRUE(fs::writeFileAtomic(p, R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]})").ok());
  auto allowAll = compileProfileCached(p);
  ASSERT_TRUE(allowAll.ok());
  ASSERT_TRUE(fs::writeFileAtomic(p, R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
      {"names":["acct"],"action":"SCMP_ACT_ERRNO"}]})").ok());
  auto denyAcct = compileProfileCached(p);
  ASSERT_TRUE(denyAcct.ok());
  EXPECT_NE(allowAll->filter.size(), denyAcct->filter.size());
  EXPECT_EQ(entries(), 2u);
}

bool sameProgram(const SeccompProgram& a, const SeccompProgram& b) {
  return a.filter.size() == b.filter.size() &&
         std::memcmp(a.filter.data(), b.filter.data(), a.filter.size() * sizeof(sock_filter)) == 0;
}

// The profile changes between the read that makes the cache key and the
// compile: a FIFO in place of the cache entry holds the lookup until the file
// has been rewritten. Read twice, B's program was returned and cached under A's key.
TEST_F(SeccompCache, ProfileChangedDuringAMissCompilesAndCachesTheBytesOfTheKey) {
  const std::string a = R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]})";
  const std::string b = R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["acct"],"action":"SCMP_ACT_ERRNO"}]})";
  std::string fileA = dir_ + "/a.json", p = dir_ + "/p.json";
  ASSERT_TRUE(fs::writeFileAtomic(fileA, a).ok());
  auto expected = compileProfile(fileA);
  ASSERT_TRUE(expected.ok());
  // Where A's entry goes: make it once, then swap it for a FIFO.
  ASSERT_TRUE(compileProfileCached(fileA).ok());
  std::string entry;
  for (auto& e : std::filesystem::directory_iterator(dir_ + "/coco/seccomp")) entry = e.path();
  ASSERT_FALSE(entry.empty());
  ASSERT_EQ(::unlink(entry.c_str()), 0);
  ASSERT_EQ(::mkfifo(entry.c_str(), 0600), 0);
  ASSERT_TRUE(fs::writeFileAtomic(p, a).ok());
  std::thread swap([&] {
    int fd = ::open(entry.c_str(), O_WRONLY | O_CLOEXEC);  // returns once the lookup opened the entry
    (void)fs::writeFileAtomic(p, b);
    if (fd >= 0) ::close(fd);  // an empty entry: a miss
  });
  auto got = compileProfileCached(p);
  swap.join();
  ASSERT_TRUE(got.ok()) << got.error().describe();
  EXPECT_TRUE(sameProgram(*got, *expected)) << "compiled other bytes than the key's";
  auto again = compileProfileCached(fileA);  // A's key: from the cache now
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(sameProgram(*again, *expected)) << "the cache holds another profile's program under A's key";
}

TEST_F(SeccompCache, MissingProfileIsAnError) { EXPECT_FALSE(compileProfileCached(dir_ + "/none.json").ok()); }

}  // namespace
}  // namespace coco::engine
