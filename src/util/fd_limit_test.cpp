// Raising the descriptor limit, in forked children (the limit is the whole process's).
#include "util/fd_limit.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace coco {
namespace {

// Runs `body` in a forked child with the limit (soft, hard); its exit status is what failed (0: nothing).
int withLimit(rlim_t soft, rlim_t hard, int (*body)()) {
  pid_t pid = ::fork();
  if (pid == 0) {
    struct rlimit limit = {soft, hard};
    ::_exit(::setrlimit(RLIMIT_NOFILE, &limit) != 0 ? 100 : body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

rlim_t softLimit() {
  struct rlimit limit;
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

int raisesAndKeepsTheStartingOne() {
  if (startingFdLimit() != 64) return 1;  // before raising: the current one
  raiseFdLimit();
  if (softLimit() != 512) return 2;
  if (startingFdLimit() != 64) return 3;
  raiseFdLimit();  // once: the first starting limit stays
  return startingFdLimit() == 64 ? 0 : 4;
}

int nothingToRaise() {
  raiseFdLimit();
  return softLimit() == 256 && startingFdLimit() == 256 ? 0 : 1;
}

TEST(FdLimit, RaisedToTheHardLimitAndTheStartingOneKept) {
  EXPECT_EQ(withLimit(64, 512, raisesAndKeepsTheStartingOne), 0);
}

TEST(FdLimit, NothingToRaise) { EXPECT_EQ(withLimit(256, 256, nothingToRaise), 0); }

}  // namespace
}  // namespace coco
