#include "sys/lock_file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "util/temp_dir.hpp"

namespace coco::sys {
namespace {

TEST(LockFile, SaysWhyItWaitsOnlyWhenBusy) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string path = dir.sub("lock");
  int busyCalls = 0;
  auto first = lockExclusive(path, [&] { ++busyCalls; });
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_EQ(busyCalls, 0);
  std::atomic<bool> got{false};
  std::thread other([&] {
    auto second = lockExclusive(path, [&] { ++busyCalls; });  // a second open file description: flock blocks
    EXPECT_TRUE(second.ok());
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(got);
  first->reset();
  other.join();
  EXPECT_TRUE(got);
  EXPECT_EQ(busyCalls, 1);
}

TEST(LockFile, MissingDirectoryIsAnError) {
  auto r = lockExclusive("/nonexistent-coco-dir/lock");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ENOENT);
}

TEST(LockFile, TheWaitingNotice) {
  EXPECT_EQ(waitingFor("installing eslint"), "waiting for another coco installing eslint");
}

}  // namespace
}  // namespace coco::sys
