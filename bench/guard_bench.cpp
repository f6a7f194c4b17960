// Benchmark (not a test): what the workspace guard costs a run on a given tree (its host side
// only: the walk before the run, then the check after it, with and without the kept walk).
//
// usage: guard_bench DIR [RUNS]   (DIR is walked as a writable workspace; nothing in it changes)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/workspace_guard.hpp"
#include "util/temp_dir.hpp"

namespace {

double cpuMillis() {
  struct rusage r;
  ::getrusage(RUSAGE_SELF, &r);
  return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e3 + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e3;
}

double wallMillis() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [RUNS]\n", argv[0]);
    return 2;
  }
  int runs = argc > 2 ? std::atoi(argv[2]) : 3;
  coco::TempDir cache("coco-guard-bench");
  if (cache.path().empty()) {
    std::perror("mkdtemp");
    return 1;
  }
  coco::engine::GuardSpec spec;
  spec.cacheDir = cache.path();
  std::printf("%-22s %10s %10s %10s %10s\n", "run", "plan cpu", "plan wall", "check cpu", "check wall");
  for (int i = 0; i < runs; ++i) {
    coco::engine::WorkspaceGuard guard;
    std::vector<coco::engine::PlannedBind> binds;
    double c0 = cpuMillis(), w0 = wallMillis();
    auto planned = guard.addMount({argv[1], "/workspace", false, true}, spec, binds);
    double c1 = cpuMillis(), w1 = wallMillis();
    if (!planned) {
      std::fprintf(stderr, "%s\n", planned.error().describe().c_str());
      return 1;
    }
    guard.finish();
    double c2 = cpuMillis(), w2 = wallMillis();
    std::printf("%-22s %8.0fms %8.0fms %8.0fms %8.0fms\n",
                i == 0 ? "first (no kept walk)" : "again (kept walk)", c1 - c0, w1 - w0, c2 - c1, w2 - w1);
  }
  return 0;
}
