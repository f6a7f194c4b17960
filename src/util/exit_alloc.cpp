// Ending a run without paying for its frees (util/exit_alloc.hpp).
#include "util/exit_alloc.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<bool> g_stopped{false};

}  // namespace

namespace coco::exit_alloc {

void stopFreeing() { g_stopped.store(true, std::memory_order_relaxed); }

bool freeing() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#else
  return !g_stopped.load(std::memory_order_relaxed);
#endif
}

}  // namespace coco::exit_alloc

// The replaceable deallocation functions ([new.delete.single]); libstdc++'s
// array, nothrow and sized forms come here. The aligned forms keep
// libstdc++'s. Sanitizer runtimes bring their own, which must see every free.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
void operator delete(void* p) noexcept {
  if (!g_stopped.load(std::memory_order_relaxed)) std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
#endif
