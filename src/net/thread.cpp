// pthread wrappers that return errors instead of throwing.
#include "net/thread.hpp"

#include <pthread.h>

#include <memory>

namespace coco::net {

namespace {

void* trampoline(void* arg) {
  std::unique_ptr<std::function<void()>> fn(static_cast<std::function<void()>*>(arg));
  (*fn)();
  return nullptr;
}

Status create(pthread_t& handle, std::function<void()> fn, bool detached) {
  auto* boxed = new std::function<void()>(std::move(fn));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  if (detached) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  // DNS and resolve workers need little stack; 256 KiB keeps many of them cheap.
  pthread_attr_setstacksize(&attr, 256 * 1024);
  int rc = pthread_create(&handle, &attr, trampoline, boxed);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    delete boxed;
    return Error::withErrno(rc, "pthread_create");
  }
  return okStatus();
}

}  // namespace

Status spawnDetached(std::function<void()> fn) {
  pthread_t handle;
  return create(handle, std::move(fn), true);
}

JoinableThread::~JoinableThread() { join(); }

Status JoinableThread::start(std::function<void()> fn) {
  pthread_t handle;
  COCO_TRY(create(handle, std::move(fn), false));
  handle_ = handle;
  started_ = true;
  return okStatus();
}

void JoinableThread::join() {
  if (!started_) return;
  pthread_join(handle_, nullptr);
  started_ = false;
}

}  // namespace coco::net
