#include "sys/user.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace coco::sys {
namespace {

class PasswdFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coco-passwd-XXXXXX";
    int fd = ::mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    ::close(fd);
    path_ = tmpl;
  }
  void TearDown() override { ::unlink(path_.c_str()); }
  void write(const std::string& text) { std::ofstream(path_) << text; }
  std::string path_;
};

TEST_F(PasswdFile, FindsTheUidsNameAndHome) {
  write("root:x:0:0:root:/root:/bin/bash\nann:x:1000:1000:Ann,,,:/home/ann:/bin/bash\n");
  auto entry = passwdFileEntry(path_, 1000);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->name, "ann");
  EXPECT_EQ(entry->home, "/home/ann");
  EXPECT_EQ(passwdFileEntry(path_, 0)->home, "/root");
}

TEST_F(PasswdFile, AUidItDoesNotListHasNoEntry) {
  write("root:x:0:0:root:/root:/bin/bash\n");
  EXPECT_FALSE(passwdFileEntry(path_, 1234));
  EXPECT_FALSE(passwdFileEntry(path_ + ".missing", 0));
}

// A line it cannot parse is skipped, not taken for an entry, and the lines after it are read.
TEST_F(PasswdFile, SkipsBrokenLinesAndTakesTheFirstEntry) {
  write(
      "garbage\n:::\nbob:x:notanumber:1:::\nann:x:1000:1000::/home/ann:/bin/sh\n"
      "ann2:x:1000:1000::/home/other:/bin/sh\n");
  auto entry = passwdFileEntry(path_, 1000);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->name, "ann");
  EXPECT_EQ(entry->home, "/home/ann");
}

TEST_F(PasswdFile, AnEmptyHomeIsEmpty) {
  write("svc:x:998:998:::/usr/sbin/nologin\n");
  auto entry = passwdFileEntry(path_, 998);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->home, "");
}

// The first entry for the uid wins, as the name service's lookup has it, even one without a name
// (its caller in the front then hands over: idmap.cpp, nameOfUser).
TEST_F(PasswdFile, TheFirstEntryForTheUidWinsEvenANamelessOne) {
  write(":x:1000:1000::/home/empty:/bin/sh\nann:x:1000:1000::/home/ann:/bin/sh\n");
  auto entry = passwdFileEntry(path_, 1000);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->name, "");
  EXPECT_EQ(entry->home, "/home/empty");
}

// A line longer than the read's buffer ends the read: nothing after it is found (the front then
// asks coco-full), and nothing of the long line is taken.
TEST_F(PasswdFile, ALineLongerThanTheBufferEndsTheRead) {
  write("long:x:5:5:" + std::string(5000, 'g') + ":/home/long:/bin/sh\nann:x:1000:1000::/home/ann:/bin/sh\n");
  EXPECT_FALSE(passwdFileEntry(path_, 1000));
  EXPECT_FALSE(passwdFileEntry(path_, 5));
}

TEST(PasswdEntry, TheNameServiceKnowsRoot) {
  auto entry = passwdEntry(0);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->name, "root");
  EXPECT_FALSE(entry->home.empty());
}

}  // namespace
}  // namespace coco::sys
