// Threads without exceptions: pthread_create reports failure as a value, where
// std::thread would throw.
#pragma once

#include <pthread.h>

#include <functional>

#include "util/result.hpp"

namespace coco::net {

// Runs fn on a detached thread.
Status spawnDetached(std::function<void()> fn);

// A joinable thread; join() must be called when start() succeeded.
class JoinableThread {
 public:
  JoinableThread() = default;
  JoinableThread(const JoinableThread&) = delete;
  JoinableThread& operator=(const JoinableThread&) = delete;
  ~JoinableThread();

  Status start(std::function<void()> fn);
  void join();
  bool running() const { return started_; }

 private:
  pthread_t handle_{};
  bool started_ = false;
};

}  // namespace coco::net
