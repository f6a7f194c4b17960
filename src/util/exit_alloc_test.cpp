#include "util/exit_alloc.hpp"

#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <memory>

namespace coco::exit_alloc {
namespace {

// Sanitizer builds keep the sanitizer's operator delete, which must see every free.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kReplaced = false;
#else
constexpr bool kReplaced = true;
#endif

// What stopFreeing does cannot be undone, so each case runs in a death-test child.
TEST(ExitAlloc, StopFreeingIsSeenWhereDeleteIsCocos) {
  EXPECT_TRUE(freeing());
  EXPECT_EXIT(
      {
        stopFreeing();
        _exit(freeing() == !kReplaced ? 0 : 2);
      },
      testing::ExitedWithCode(0), "");
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
// Bytes malloc holds in mmap'd chunks: a 4 MiB block is one, and free unmaps it at once.
size_t mappedBytes() { return ::mallinfo2().hblkhd; }

int allocateAndDrop(bool stopFirst) {
  constexpr size_t kSize = 4 << 20;
  // Fixed, so the block is mmap'd whatever ran before in this process: glibc
  // raises its threshold past a large block freed earlier (fs_test reads 8 MiB).
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
  if (stopFirst) stopFreeing();
  size_t before = mappedBytes();
  auto block = std::make_unique<char[]>(kSize);
  block[kSize - 1] = 1;
  if (mappedBytes() < before + kSize) return 3;  // not the mmap'd chunk this test reads
  block.reset();
  return mappedBytes() < before + kSize ? 0 : 1;  // 0: returned to the allocator, 1: kept
}

TEST(ExitAlloc, DeleteFreesUntilStopped) {
  EXPECT_EXIT(_exit(allocateAndDrop(false)), testing::ExitedWithCode(0), "");
}

TEST(ExitAlloc, AfterStopFreeingDeleteKeepsTheMemory) {
  EXPECT_EXIT(_exit(allocateAndDrop(true)), testing::ExitedWithCode(1), "");
}
#endif

}  // namespace
}  // namespace coco::exit_alloc
