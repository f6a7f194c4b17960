#include "engine/seccomp_cache.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

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

TEST_F(SeccompCache, MissingProfileIsAnError) { EXPECT_FALSE(compileProfileCached(dir_ + "/none.json").ok()); }

}  // namespace
}  // namespace coco::engine
