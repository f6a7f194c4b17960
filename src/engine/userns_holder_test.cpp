// Unit tests: the holder's record and /proc parsers, and every refusal that needs no user namespace
// (a record writable by others, in a directory writable by others, a symlink, garbage, a dead pid,
// a pid now run by another process, a process whose maps are not the plan's, another user's process).
#include "engine/userns_holder.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <chrono>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::engine {
namespace {

TEST(HolderRecord, RoundTrip) {
  auto r = parseHolderRecord(formatHolderRecord({4242, 123456789}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pid, 4242);
  EXPECT_EQ(r->startTime, 123456789u);
}

TEST(HolderRecord, RejectsAnythingElse) {
  for (std::string_view bad : {"", "4242 1", "4242\n", "4242 1 2\n", "-1 5\n", "0 5\n", "x 5\n", "4242 5x\n",
                               "4242 5\n\n", "99999999999 5\n", "4242 5\n6 7\n"})
    EXPECT_FALSE(parseHolderRecord(bad)) << "'" << bad << "'";
}

TEST(ParseStartTime, Field22AfterAnyComm) {
  std::string tail = " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21\n";
  EXPECT_EQ(parseStartTime("77 (sleep)" + tail), 987654u);
  EXPECT_EQ(parseStartTime("77 (a) 1 2 (b c)" + tail), 987654u);  // a comm holding ") " and blanks
  EXPECT_FALSE(parseStartTime("77 (sleep) S 1 2"));
  EXPECT_FALSE(parseStartTime("no parenthesis"));
}

TEST(ParseIdMapText, KernelFormat) {
  auto m = parseIdMapText("         0       1000          1\n         1     100000      65536\n");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0], (IdExtent{0, 1000, 1}));
  EXPECT_EQ((*m)[1], (IdExtent{1, 100000, 65536}));
  EXPECT_FALSE(parseIdMapText("0 1000\n"));
  EXPECT_FALSE(parseIdMapText("0 1000 1 4\n"));
  EXPECT_FALSE(parseIdMapText("0 -1 1\n"));
}

IdMapPlan subordinatePlan() {
  IdMapPlan plan;
  plan.uid = ::getuid();
  plan.gid = ::getgid();
  plan.subordinate = true;
  plan.uids = {100000, kSubIdCount};
  plan.gids = {200000, kSubIdCount};
  return plan;
}

TEST(HolderMaps, ExpectedAndNested) {
  IdMapPlan plan = subordinatePlan();
  EXPECT_EQ(expectedUidMap(plan), (std::vector<IdExtent>{{0, plan.uid, 1}, {1, 100000, kSubIdCount}}));
  EXPECT_EQ(expectedGidMap(plan), (std::vector<IdExtent>{{0, plan.gid, 1}, {1, 200000, kSubIdCount}}));
  EXPECT_EQ(nestedIdMapText(plan), "0 0 1\n1 1 65536\n");
  EXPECT_STREQ(holderRecordName(plan), "userns-holder");
  plan.subordinate = false;
  EXPECT_EQ(expectedUidMap(plan), (std::vector<IdExtent>{{0, plan.uid, 1}}));
  EXPECT_EQ(expectedGidMap(plan), (std::vector<IdExtent>{{0, plan.gid, 1}}));
  EXPECT_EQ(nestedIdMapText(plan), "0 0 1\n");
  EXPECT_STREQ(holderRecordName(plan), "userns-holder-single");
}

// A child of this test that sleeps until killed: a live process of this user, in this user namespace.
class Sleeper {
 public:
  Sleeper() {
    pid_ = ::fork();
    if (pid_ == 0) {
      for (;;) ::pause();
    }
  }
  ~Sleeper() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool alive() const { return pid_ > 0 && ::kill(pid_, 0) == 0; }
  pid_t pid() const { return pid_; }
  uint64_t startTime() const { return *parseStartTime(*fs::readFile(fmt::format("/proc/{}/stat", pid_))); }

 private:
  pid_t pid_ = -1;
};

class HolderRefusal : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0700), 0);
  }
  std::string record() const { return dir_.sub(kHolderRecordName); }
  void writeRecord(const std::string& text, mode_t mode = 0600, const char* name = kHolderRecordName) const {
    ASSERT_TRUE(fs::writeFileAtomic(dir_.sub(name), text, mode));
    ASSERT_EQ(::chmod(dir_.sub(name).c_str(), mode), 0);
  }
  // The reason openHolder gives; "" when it accepted the holder (a test failure here).
  std::string refusal() const {
    auto ns = openHolder(dir_.path(), subordinatePlan());
    return ns ? std::string() : ns.error().describe();
  }

  TempDir dir_{"coco-holder"};
};

TEST_F(HolderRefusal, NoRecord) { EXPECT_NE(refusal().find("open the record"), std::string::npos); }

TEST_F(HolderRefusal, Garbage) {
  writeRecord("hello\n");
  EXPECT_NE(refusal().find("not 'PID STARTTIME'"), std::string::npos) << refusal();
}

TEST_F(HolderRefusal, RecordWritableByOthers) {
  Sleeper s;
  writeRecord(formatHolderRecord({s.pid(), s.startTime()}), 0666);
  EXPECT_NE(refusal().find("the record is writable by others"), std::string::npos) << refusal();
  writeRecord(formatHolderRecord({s.pid(), s.startTime()}), 0620);
  EXPECT_NE(refusal().find("the record is writable by others"), std::string::npos) << refusal();
}

TEST_F(HolderRefusal, DirectoryWritableByOthers) {
  Sleeper s;
  writeRecord(formatHolderRecord({s.pid(), s.startTime()}));
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0770), 0);
  EXPECT_NE(refusal().find("directory is writable by others"), std::string::npos) << refusal();
}

TEST_F(HolderRefusal, RecordIsASymlink) {
  Sleeper s;
  std::string real = dir_.sub("elsewhere");
  ASSERT_TRUE(fs::writeFileAtomic(real, formatHolderRecord({s.pid(), s.startTime()}), 0600));
  ASSERT_EQ(::symlink(real.c_str(), record().c_str()), 0);
  EXPECT_NE(refusal().find("open the record"), std::string::npos) << refusal();
}

TEST_F(HolderRefusal, DeadPid) {
  Sleeper s;
  pid_t pid = s.pid();
  uint64_t start = s.startTime();
  s.stop();
  writeRecord(formatHolderRecord({pid, start}));
  EXPECT_NE(refusal().find("does not run"), std::string::npos) << refusal();
}

// The holder exited and nothing reaped it yet (its parent is the host's init): a zombie still
// answers kill(pid, 0) and shows its maps and credentials, but holds nothing; it is refused.
TEST_F(HolderRefusal, ExitedButNotYetReaped) {
  pid_t pid = ::fork();
  if (pid == 0) _exit(0);
  ASSERT_GT(pid, 0);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, pid, &info, WEXITED | WNOWAIT), 0);  // a zombie, left unreaped
  auto stat = fs::readFile(fmt::format("/proc/{}/stat", pid));
  ASSERT_TRUE(stat);
  writeRecord(formatHolderRecord({pid, *parseStartTime(*stat)}));
  EXPECT_NE(refusal().find("has exited"), std::string::npos) << refusal();
  ::waitpid(pid, nullptr, 0);
}

// The recorded pid runs, but it is another process than the one recorded (a reused pid).
TEST_F(HolderRefusal, PidReusedByAnotherProcess) {
  Sleeper s;
  writeRecord(formatHolderRecord({s.pid(), s.startTime() + 1}));
  EXPECT_NE(refusal().find("start time differs"), std::string::npos) << refusal();
  writeRecord(formatHolderRecord({s.pid(), s.startTime() - 1}));
  EXPECT_NE(refusal().find("start time differs"), std::string::npos) << refusal();
}

// The recorded process, this user's, but in no user namespace mapped as the plan says.
TEST_F(HolderRefusal, ProcessWithOtherMaps) {
  Sleeper s;
  writeRecord(formatHolderRecord({s.pid(), s.startTime()}));
  EXPECT_NE(refusal().find("its uid_map is not the expected one"), std::string::npos) << refusal();
}

// pid 1 is root's; run as root, the test makes a process of nobody's (65534).
TEST_F(HolderRefusal, AnotherUsersProcess) {
  pid_t other = 1, child = -1;
  if (::getuid() == 0) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    child = ::fork();
    if (child == 0) {
      ::close(p[0]);
      if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) _exit(1);
      (void)!::write(p[1], "r", 1);
      for (;;) ::pause();
    }
    ::close(p[1]);
    char c;
    ASSERT_EQ(::read(p[0], &c, 1), 1);
    ::close(p[0]);
    other = child;
  }
  uint64_t start = *parseStartTime(*fs::readFile(fmt::format("/proc/{}/stat", other)));
  writeRecord(formatHolderRecord({other, start}));
  std::string why = refusal();
  if (child > 0) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  }
  EXPECT_NE(why.find("not as this user"), std::string::npos) << why;
}

// A process mapped exactly as the single plan's holder (0 -> the user, in a user namespace of this
// user's, a child of this one), but in a pid namespace of its own, as every sandbox's process is (a
// run made without the holder has such maps): refused for its pid namespace.
TEST_F(HolderRefusal, AProcessOfAnotherPidNamespace) {
  IdMapPlan single = subordinatePlan();
  single.subordinate = false;
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t mid = ::fork();
  ASSERT_GE(mid, 0);
  if (mid == 0) {
    ::close(p[0]);
    auto put = [](const char* file, const std::string& text) {
      int fd = ::open(file, O_WRONLY | O_CLOEXEC);
      bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
      if (fd >= 0) ::close(fd);
      return ok;
    };
    if (::unshare(CLONE_NEWUSER | CLONE_NEWPID) != 0 ||
        !put("/proc/self/uid_map", fmt::format("0 {} 1\n", single.uid)) ||
        !put("/proc/self/setgroups", "deny") ||
        !put("/proc/self/gid_map", fmt::format("0 {} 1\n", single.gid)))
      _exit(1);
    pid_t inner = ::fork();  // pid 1 of the new pid namespace; `inner` is its pid out here
    if (inner == 0) {
      for (;;) ::pause();
    }
    (void)!::write(p[1], &inner, sizeof inner);
    ::waitpid(inner, nullptr, 0);
    _exit(0);
  }
  ::close(p[1]);
  pid_t inner = -1;
  bool got = ::read(p[0], &inner, sizeof inner) == sizeof inner;
  ::close(p[0]);
  std::string why;
  if (got) {
    writeRecord(
        formatHolderRecord({inner, *parseStartTime(*fs::readFile(fmt::format("/proc/{}/stat", inner)))}),
        0600, kSingleHolderRecordName);
    auto ns = openHolder(dir_.path(), single);
    why = ns ? std::string() : ns.error().describe();
    ::kill(inner, SIGKILL);
  }
  ::waitpid(mid, nullptr, 0);
  ASSERT_TRUE(got) << "no process in a pid namespace of its own";
  EXPECT_NE(why.find("in another pid namespace"), std::string::npos) << why;
}

// A child of this test in a user namespace of its own that waits until killed; the test writes its maps.
class Unshared {
 public:
  Unshared() {
    int p[2];
    if (::pipe(p) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(p[0]);
      char ok = ::unshare(CLONE_NEWUSER) == 0 ? '+' : '-';
      (void)!::write(p[1], &ok, 1);
      for (;;) ::pause();
    }
    ::close(p[1]);
    char ok = 0;
    ready_ = pid_ > 0 && ::read(p[0], &ok, 1) == 1 && ok == '+';
    ::close(p[0]);
  }
  ~Unshared() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool write(const char* file, const std::string& text) const {
    int fd = ::open(fmt::format("/proc/{}/{}", pid_, file).c_str(), O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (fd >= 0) ::close(fd);
    return ok;
  }
  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

// A sandbox's setgroups is its holder's: a holder mapped as the plan says but with setgroups the
// other way is refused (the single mapping's sandboxes must not get "allow"; the subordinate
// mapping's init calls setgroups). Only a privileged writer maps a namespace with setgroups "allow"
// and one id, so this runs as root; the control (the single mapping as coco makes it) is accepted.
TEST_F(HolderRefusal, SetgroupsOtherThanTheMappingsIsRefused) {
  if (::getuid() != 0)
    GTEST_SKIP() << "needs root: only a privileged writer can map one id with setgroups allowed";
  IdMapPlan sub = subordinatePlan(), single = subordinatePlan();
  single.subordinate = false;
  auto openAs = [&](const Unshared& u, const IdMapPlan& plan) {
    writeRecord(
        formatHolderRecord({u.pid(), *parseStartTime(*fs::readFile(fmt::format("/proc/{}/stat", u.pid())))}),
        0600, holderRecordName(plan));
    auto ns = openHolder(dir_.path(), plan);
    return ns ? std::string() : ns.error().describe();
  };
  {
    Unshared u;
    ASSERT_TRUE(u.ready());
    ASSERT_TRUE(u.write("setgroups", "deny") && u.write("uid_map", "0 0 1\n") &&
                u.write("gid_map", "0 0 1\n"));
    EXPECT_EQ(openAs(u, single), "") << "the single mapping as coco makes it";
  }
  {
    Unshared u;
    ASSERT_TRUE(u.ready());
    ASSERT_TRUE(u.write("uid_map", "0 0 1\n") && u.write("gid_map", "0 0 1\n"));
    EXPECT_NE(openAs(u, single).find("its setgroups is not 'deny'"), std::string::npos) << openAs(u, single);
  }
  {
    Unshared u;
    ASSERT_TRUE(u.ready());
    ASSERT_TRUE(u.write("setgroups", "deny") && u.write("uid_map", "0 0 1\n1 100000 65536\n") &&
                u.write("gid_map", "0 0 1\n1 200000 65536\n"));
    EXPECT_NE(openAs(u, sub).find("its setgroups is not 'allow'"), std::string::npos) << openAs(u, sub);
  }
}

// One holder per mapping: a holder of the single mapping, started for real (coco writes its maps),
// serves the single plan from its own record and never the subordinate plan, whose record is another
// file; a record of the subordinate plan's naming it is refused for its maps. stop stops it.
TEST_F(HolderRefusal, EachMappingHasAHolderOfItsOwn) {
  IdMapPlan single = subordinatePlan();
  single.subordinate = false;
  auto started = startHolder(dir_.path(), single, 30);
  ASSERT_TRUE(started) << started.error().describe();
  ASSERT_TRUE(fs::exists(dir_.sub(kSingleHolderRecordName)));
  EXPECT_FALSE(fs::exists(record()));
  auto ns = openHolder(dir_.path(), single);
  ASSERT_TRUE(ns) << ns.error().describe();
  EXPECT_NE(refusal().find("open the record"), std::string::npos) << refusal();
  auto text = fs::readFile(dir_.sub(kSingleHolderRecordName));
  ASSERT_TRUE(text);
  writeRecord(*text);
  EXPECT_NE(refusal().find("its uid_map is not the expected one"), std::string::npos) << refusal();
  ASSERT_EQ(::unlink(record().c_str()), 0);  // so that stop finds the holder under its own record
  auto holder = parseHolderRecord(*text);
  ASSERT_TRUE(holder);
  auto stopped = stopHolder(dir_.path());
  ASSERT_TRUE(stopped) << stopped.error().describe();
  EXPECT_EQ(*stopped, 1U);
  EXPECT_FALSE(fs::exists(dir_.sub(kSingleHolderRecordName)));
  EXPECT_FALSE(fs::exists(record()));
  // Gone, or a zombie until its reaper (the host's init) gets to it.
  auto running = [&] {
    auto stat = fs::readFile(fmt::format("/proc/{}/stat", holder->pid));
    if (!stat) return false;
    size_t paren = stat->rfind(')');
    return paren == std::string::npos || paren + 2 >= stat->size() || (*stat)[paren + 2] != 'Z';
  };
  for (int i = 0; i < 200 && running(); ++i) ::usleep(10000);
  EXPECT_FALSE(running()) << "the holder still runs";
}

// A holder that ends between its go byte and its answer (here in its setup) fails its start, and
// leaves no record behind: the run that started it takes the path without a holder.
TEST_F(HolderRefusal, AHolderThatEndsBeforeItSettlesFailsItsStart) {
  IdMapPlan single = subordinatePlan();
  single.subordinate = false;
  auto started = startHolder(dir_.path(), single, 30, [] {
    ::_exit(0);
    return 0;
  });
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().describe().find("the holder ended as it started"), std::string::npos)
      << started.error().describe();
  EXPECT_FALSE(fs::exists(dir_.sub(kSingleHolderRecordName)));
}

// One that never answers (stuck in its setup) is given up on after a while, killed, and its record removed.
TEST_F(HolderRefusal, AHolderThatNeverSettlesIsGivenUpOn) {
  IdMapPlan single = subordinatePlan();
  single.subordinate = false;
  auto t0 = std::chrono::steady_clock::now();
  auto started = startHolder(dir_.path(), single, 30, [] {
    ::pause();
    return 0;
  });
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().describe().find("did not settle"), std::string::npos)
      << started.error().describe();
  EXPECT_LT(waited, std::chrono::seconds(30));
  EXPECT_FALSE(fs::exists(dir_.sub(kSingleHolderRecordName)));
}

// stop kills only this user's holder as recorded: a process of the user's that is no holder survives.
TEST_F(HolderRefusal, StopSparesWhatIsNoHolder) {
  Sleeper s;
  writeRecord(formatHolderRecord({s.pid(), s.startTime()}));
  auto stopped = stopHolder(dir_.path());
  ASSERT_TRUE(stopped) << stopped.error().describe();
  EXPECT_FALSE(*stopped);
  EXPECT_TRUE(s.alive());
  EXPECT_FALSE(fs::exists(record()));
}

TEST_F(HolderRefusal, StopWithoutRecordOrDirectory) {
  auto stopped = stopHolder(dir_.sub("missing"));
  ASSERT_TRUE(stopped);
  EXPECT_FALSE(*stopped);
  stopped = stopHolder(dir_.path());
  ASSERT_TRUE(stopped);
  EXPECT_FALSE(*stopped);
}

}  // namespace
}  // namespace coco::engine
