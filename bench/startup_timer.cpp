// bench/startup's timing core: starts each contender as its user, round by round, and prints wall times.
//
// usage: startup_timer SPEC.json   (as root; bench/startup writes the spec)
// SPEC: {"rounds": N, "seed": S, "parallel": {"concurrency": 8, "starts": 32},
//        "contenders": [{"name", "uid", "gid", "argv": [...], "env": [...], "cwd", "kind":
//        "serial"|"parallel"}]}
// Output, one line per measurement (tab-separated):
//   serial NAME ROUND NANOSECONDS EXIT_STATUS
//   parallel NAME ROUND NANOSECONDS STARTS FAILED
// A start is timed from just before vfork to the return of wait4: the child only drops to the
// user with raw syscalls and execs, so the harness adds tens of microseconds, the same to every
// contender. Each round runs the serial contenders in a random order of its own (SPEC's
// "seed", default 1), then, after every serial round, the parallel ones in rounds of their own.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

struct Contender {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  bool parallel = false;
  std::string cwd;
  std::vector<std::string> argvStore, envStore;
  std::vector<char*> argv, envp;  // pointers into the stores, built before any vfork
};

int64_t nowNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Raw syscalls only: the vfork child shares the harness's memory.
pid_t spawn(const Contender& c, int devNull) {
  pid_t pid = vfork();
  if (pid != 0) return pid;
  ::syscall(SYS_setgroups, 0, nullptr);
  if (::syscall(SYS_setresgid, c.gid, c.gid, c.gid) != 0 ||
      ::syscall(SYS_setresuid, c.uid, c.uid, c.uid) != 0)
    _exit(120);
  for (int fd = 0; fd < 3; ++fd) ::dup2(devNull, fd);
  if (!c.cwd.empty() && ::chdir(c.cwd.c_str()) != 0) _exit(121);
  ::execve(c.argv[0], c.argv.data(), c.envp.data());
  _exit(122);
}

int waitStatus(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void timeSerial(const Contender& c, int round, int devNull) {
  int64_t t0 = nowNs();
  pid_t pid = spawn(c, devNull);
  int status = pid < 0 ? 255 : waitStatus(pid);
  int64_t t1 = nowNs();
  std::printf("serial\t%s\t%d\t%lld\t%d\n", c.name.c_str(), round, static_cast<long long>(t1 - t0), status);
}

// `starts` runs with `concurrency` in flight: a new one as soon as one ends.
void timeParallel(const Contender& c, int round, int devNull, int concurrency, int starts) {
  int started = 0, running = 0, failed = 0;
  int64_t t0 = nowNs();
  while (started < starts || running > 0) {
    while (running < concurrency && started < starts) {
      if (spawn(c, devNull) < 0)
        ++failed;
      else
        ++running;
      ++started;
    }
    int status = 0;
    if (::wait(&status) < 0) break;
    --running;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  int64_t t1 = nowNs();
  std::printf("parallel\t%s\t%d\t%lld\t%d\t%d\n", c.name.c_str(), round, static_cast<long long>(t1 - t0),
              starts, failed);
}

std::vector<Contender> readContenders(const nlohmann::json& spec) {
  std::vector<Contender> out;
  for (const auto& j : spec.at("contenders")) {
    Contender c;
    c.name = j.at("name").get<std::string>();
    c.uid = j.at("uid").get<uid_t>();
    c.gid = j.at("gid").get<gid_t>();
    c.parallel = j.value("kind", "serial") == "parallel";
    c.cwd = j.value("cwd", "");
    c.argvStore = j.at("argv").get<std::vector<std::string>>();
    c.envStore = j.at("env").get<std::vector<std::string>>();
    out.push_back(std::move(c));
  }
  for (auto& c : out) {
    c.argv = pointers(c.argvStore);
    c.envp = pointers(c.envStore);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: startup_timer SPEC.json\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  nlohmann::json spec = nlohmann::json::parse(in, nullptr, false);
  if (spec.is_discarded()) {
    std::fprintf(stderr, "startup_timer: %s is not JSON\n", argv[1]);
    return 2;
  }
  std::vector<Contender> contenders = readContenders(spec);
  int rounds = spec.value("rounds", 31);
  int concurrency = spec.value("/parallel/concurrency"_json_pointer, 8);
  int starts = spec.value("/parallel/starts"_json_pointer, 32);
  int devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  // Each round runs the contenders in an order of its own, drawn at random: a fixed order,
  // even rotated, puts the same contender after the same neighbour every round, and a start
  // pays for what its predecessor left the kernel to do (a network namespace's or a parallel
  // batch's teardown in kworkers, podman's cleanup). The parallel batches run in rounds of
  // their own after the serial ones, so their aftermath spoils no serial figure.
  std::mt19937 order(static_cast<unsigned>(spec.value("seed", 1)));
  std::vector<const Contender*> serial, parallel;
  for (const auto& c : contenders) (c.parallel ? parallel : serial).push_back(&c);
  for (int round = 0; round < rounds; ++round) {
    std::shuffle(serial.begin(), serial.end(), order);
    for (const Contender* c : serial) timeSerial(*c, round, devNull);
  }
  for (int round = 0; round < rounds; ++round) {
    std::shuffle(parallel.begin(), parallel.end(), order);
    for (const Contender* c : parallel) timeParallel(*c, round, devNull, concurrency, starts);
  }
  return 0;
}
