// Times installing a compiled seccomp profile, as the sandbox's tool process does before execve.
//
// usage: seccomp_bench PROFILE.json [RUNS]
// Prints the program's size, its longest path and the median (p10, p90) time of the
// seccomp(2) call, each run in a fresh child (a filter cannot be taken off again).
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "engine/seccomp.hpp"

namespace {

int64_t nowNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// One install in a child; -1 when it failed.
int64_t timeInstall(const coco::engine::SeccompProgram& program) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    sock_fprog prog = program.fprog();
    int64_t took = -1;
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) {
      int64_t t0 = nowNs();
      if (coco::engine::installProgramRaw(&prog) == 0) took = nowNs() - t0;
    }
    (void)!::write(fds[1], &took, sizeof took);
    _exit(0);
  }
  ::close(fds[1]);
  int64_t took = -1;
  if (::read(fds[0], &took, sizeof took) != sizeof took) took = -1;
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  return took;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: seccomp_bench PROFILE.json [RUNS]\n");
    return 2;
  }
  int runs = argc > 2 ? std::atoi(argv[2]) : 201;
  auto program = coco::engine::compileProfile(argv[1]);
  if (!program) {
    std::fprintf(stderr, "seccomp_bench: %s\n", program.error().describe().c_str());
    return 1;
  }
  std::vector<int64_t> times;
  for (int i = 0; i < runs; ++i) {
    int64_t t = timeInstall(*program);
    if (t < 0) {
      std::fprintf(stderr, "seccomp_bench: installing the program failed\n");
      return 1;
    }
    times.push_back(t);
  }
  std::sort(times.begin(), times.end());
  auto at = [&](double p) {
    return static_cast<double>(times[static_cast<size_t>(p * (times.size() - 1))]) / 1000;
  };
  std::printf(
      "%zu instructions, at most %zu per syscall; install median %.1f us (p10 %.1f, p90 %.1f), %d runs\n",
      program->filter.size(), coco::engine::longestPath(program->filter), at(0.5), at(0.1), at(0.9), runs);
  return 0;
}
