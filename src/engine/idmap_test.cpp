#include "engine/idmap.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::engine {
namespace {

class SubIdFile : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = tmp_.path();
    file_ = dir_ + "/subuid";
  }
  void write(const std::string& text) { ASSERT_TRUE(fs::writeFileAtomic(file_, text).ok()); }
  TempDir tmp_{"coco-subid"};
  std::string dir_, file_;
};

TEST_F(SubIdFile, FindsByNameOrNumericId) {
  write("bob:200000:65536\nalice:100000:65536\n1005:300000:65536\n");
  auto byName = findSubIdRange(file_, "alice", 1001);
  ASSERT_TRUE(byName);
  EXPECT_EQ(byName->start, 100000u);
  EXPECT_EQ(byName->count, 65536u);
  auto byId = findSubIdRange(file_, "carol", 1005);
  ASSERT_TRUE(byId);
  EXPECT_EQ(byId->start, 300000u);
}

TEST_F(SubIdFile, LargerRangesAreCappedAtTheMappedSize) {
  write("alice:100000:1000000\n");
  EXPECT_EQ(findSubIdRange(file_, "alice", 1)->count, 65536u);
}

TEST_F(SubIdFile, MalformedAndForeignLinesAreSkipped) {
  write("alice\nalice:x:65536\nalice:100000:\nalice:100000:0\nalice:5:6:7\nmallory:1:65536\n# alice:1:2\n");
  EXPECT_FALSE(findSubIdRange(file_, "alice", 1001));
  EXPECT_FALSE(findSubIdRange(dir_ + "/missing", "alice", 1001));
}

TEST_F(SubIdFile, EmptyUserNameMatchesOnlyTheId) {
  write(":100000:65536\n1001:200000:65536\n");
  EXPECT_EQ(findSubIdRange(file_, "", 1001)->start, 200000u);
}

}  // namespace
}  // namespace coco::engine
