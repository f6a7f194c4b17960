// The user-namespace holder (engine/userns_holder.hpp): sandboxes made through it cannot see,
// signal, ptrace or setns into each other or the holder, nor reach each other's abstract sockets;
// a foreign or stale holder is refused and the run still works; `coco system stop` and
// COCO_USERNS_HOLDER=0. Its spare network namespaces: each sandbox gets one of its own, and one
// not of the holder's making is refused. Both mappings have a holder, each its own: with the
// single mapping (coco-nosub, COCO_USERNS=single) it maps 0 to the user alone.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>

#include <filesystem>
#include <optional>
#include <sstream>
#include <thread>

#include "harness.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace cocotest {
namespace {

constexpr const char* kUsed = "inside the user-namespace holder's";
constexpr const char* kStarted = "started the user-namespace holder";
constexpr const char* kSpare = "in a spare network namespace of the holder's";
// The holder's descriptors (userns_holder.cpp): /dev/null as 0-2, its own network namespace,
// then per kind (lo only, with the capture) the end runs take spares from and the end it
// queues them on.
constexpr int kHolderNet = 3;
constexpr int kHolderQueue[2] = {4, 6};
constexpr int kHolderRefill[2] = {5, 7};

// One of the holder's descriptors, through its pidfd (the test is the holder's user); -1 if not.
int holderFd(pid_t holder, int fd) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, holder, 0));
  if (pidfd < 0) return -1;
  int out = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  close(pidfd);
  return out;
}

// Takes one spare of a kind out of the holder's queue (without telling it): its descriptors.
std::vector<int> takeSpare(pid_t holder, bool capture) {
  std::vector<int> out;
  int queue = holderFd(holder, kHolderQueue[capture]);
  if (queue < 0) return out;
  char byte;
  char control[CMSG_SPACE(sizeof(int) * 4)];
  iovec iov{&byte, 1};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  if (recvmsg(queue, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) == 1) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      int* fds = reinterpret_cast<int*>(CMSG_DATA(c));
      for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i) out.push_back(fds[i]);
    }
  }
  close(queue);
  return out;
}

// Takes every spare of a kind out of the holder's queue (without telling it, so it makes no
// more): the next run of that kind finds none. Returns how many there were.
int drainSpares(pid_t holder, bool capture) {
  int taken = 0;
  for (std::vector<int> fds; !(fds = takeSpare(holder, capture)).empty(); ++taken)
    for (int fd : fds) close(fd);
  return taken;
}

// Waits (up to 20 s) until the holder has both queues full (two spares each) and so is idle:
// it makes more only when a run tells it that it took one.
bool holderSettled(pid_t holder) {
  for (auto waited = 0ms; waited < 20000ms; waited += 20ms) {
    bool full = true;
    for (int fd : kHolderQueue) {
      int queue = holderFd(holder, fd), bytes = -1;
      if (queue < 0 || ioctl(queue, SIOCINQ, &bytes) != 0) full = false;
      if (queue >= 0) close(queue);
      full = full && bytes == 2;
    }
    if (full) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// The inode of a namespace descriptor, as /proc's links show it: net:[INODE].
std::string nsName(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? "net:[" + std::to_string(st.st_ino) + "]" : "";
}

// Queues a spare of the test's making on the holder's queue, as if the holder had made it.
bool plantSpare(pid_t holder, bool capture, const std::vector<int>& fds) {
  int refill = holderFd(holder, kHolderRefill[capture]);
  if (refill < 0) return false;
  char byte = '+';
  char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  iovec iov{&byte, 1};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  bool ok = sendmsg(refill, &mh, 0) == 1;
  close(refill);
  return ok;
}

// A TCP listener on the host's 127.0.0.1 (port picked by the kernel), or -1.
int hostListener(uint16_t& port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, 8) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  port = ntohs(sa.sin_port);
  return fd;
}

std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exitCode) + "\n--- stdout ---\n" + r.out + "--- stderr ---\n" + r.err;
}

struct Record {
  pid_t pid = 0;
  unsigned long long start = 0;
};

std::optional<Record> parseRecord(const std::string& text) {
  std::istringstream in(text);
  Record r;
  if (!(in >> r.pid >> r.start)) return std::nullopt;
  return r;
}

unsigned long long startTimeOf(pid_t pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream in(stat.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && (in >> field); ++i) {
    if (i == 22) return std::stoull(field);
  }
  return 0;
}

// Running (not gone, not a zombie waiting for its reaper).
bool running(pid_t pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] != 'Z';
}

bool stopsWithin(pid_t pid, std::chrono::milliseconds limit) {
  for (auto waited = 0ms; waited < limit; waited += 20ms) {
    if (!running(pid)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return !running(pid);
}

// A process of this test's: in this user namespace, or in one of its own mapping `inside` to the
// user (0: as the single mapping does; and then, with `ownNetns`, a network namespace of its own);
// named `comm` when given. It pauses until killed.
class Fake {
 public:
  Fake(bool ownUserns, const std::string& comm = "", bool ownNetns = false, unsigned inside = 0) {
    int p[2];
    if (pipe(p) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(p[0]);
      if (ownUserns) {
        std::string uid = std::to_string(inside) + " " + std::to_string(getuid()) + " 1\n",
                    gid = std::to_string(inside) + " " + std::to_string(getgid()) + " 1\n";
        if (unshare(CLONE_NEWUSER | (ownNetns ? CLONE_NEWNET : 0)) != 0) _exit(1);
        writeFile("/proc/self/setgroups", "deny");
        writeFile("/proc/self/uid_map", uid);
        writeFile("/proc/self/gid_map", gid);
      }
      if (!comm.empty()) prctl(PR_SET_NAME, comm.c_str(), 0, 0, 0);
      (void)!write(p[1], "r", 1);
      for (;;) pause();
    }
    close(p[1]);
    char c;
    ready_ = read(p[0], &c, 1) == 1;
    close(p[0]);
  }
  ~Fake() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }
  // Alive, as its parent (this test) sees it: a dead child is a zombie until waited for.
  bool alive() const { return running(pid_); }

 private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

// Joins `pid`'s user namespace (the holder's owner may) and sets that namespace's
// user.max_user_namespaces to `value` (a namespace's own limits are written from inside it, with
// CAP_SYS_RESOURCE there). Returns the value read back, or what failed.
std::string limitUserNamespacesIn(pid_t pid, int value) {
  return inChild([&]() -> std::string {
    int user = open(("/proc/" + std::to_string(pid) + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC);
    if (user < 0) return "open the holder's user namespace";
    if (setns(user, CLONE_NEWUSER) != 0) return std::string("setns user: ") + strerror(errno);
    const char* limit = "/proc/sys/user/max_user_namespaces";
    int fd = open(limit, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return std::string("open for writing: ") + strerror(errno);
    std::string text = std::to_string(value) + "\n";
    if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      return std::string("write: ") + strerror(errno);
    close(fd);
    return readFile(limit);
  });
}

// Joins `pid`'s user and network namespaces (the holder's owner may) and asks netfilter for chain
// `out` of table `ip coco-hold`. Returns "found", "no such chain", or what failed.
std::string holdChainIn(pid_t pid) {
  return inChild([&]() -> std::string {
    std::string ns = "/proc/" + std::to_string(pid) + "/ns/";
    int user = open((ns + "user").c_str(), O_RDONLY | O_CLOEXEC);
    int net = open((ns + "net").c_str(), O_RDONLY | O_CLOEXEC);
    if (user < 0 || net < 0) return "open the holder's namespaces";
    if (setns(user, CLONE_NEWUSER) != 0) return "setns user";
    if (setns(net, CLONE_NEWNET) != 0) return "setns net";
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0) return "netlink socket";
    alignas(nlmsghdr) char buf[8192] = {};
    auto* h = reinterpret_cast<nlmsghdr*>(buf);
    h->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    h->nlmsg_seq = 1;
    auto* g = static_cast<nfgenmsg*>(NLMSG_DATA(h));
    g->nfgen_family = NFPROTO_IPV4;
    g->version = NFNETLINK_V0;
    size_t len = NLMSG_LENGTH(sizeof(nfgenmsg));
    auto put = [&](uint16_t type, const char* value) {
      auto* a = reinterpret_cast<nlattr*>(buf + NLMSG_ALIGN(len));
      a->nla_type = type;
      a->nla_len = static_cast<uint16_t>(NLA_HDRLEN + strlen(value) + 1);
      memcpy(reinterpret_cast<char*>(a) + NLA_HDRLEN, value, strlen(value) + 1);
      len = NLMSG_ALIGN(len) + NLA_ALIGN(a->nla_len);
    };
    put(NFTA_CHAIN_TABLE, "coco-hold");
    put(NFTA_CHAIN_NAME, "out");
    h->nlmsg_len = static_cast<uint32_t>(len);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd, buf, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) return "send";
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < static_cast<ssize_t>(NLMSG_HDRLEN)) return "no answer";
    if (h->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN)) return "found";
    if (h->nlmsg_type == NLMSG_ERROR && static_cast<nlmsgerr*>(NLMSG_DATA(h))->error == -ENOENT)
      return "no such chain";
    return "an unexpected answer";
  });
}

class HolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    COCO_REQUIRE_SANDBOX();
    ASSERT_EQ(chmod(runtime_.path().c_str(), 0700), 0);
    env_.writeTool("probe", probeTool(R"("mounts": [{"src": ".", "dst": "/workspace"}])"));
  }
  void TearDown() override { env_.run({"system", "stop"}, options()); }

  // Every run here has its own runtime directory (the holder's place) and debug output.
  RunOptions options(const EnvList& extra = {}) const {
    RunOptions o;
    o.env = {{"XDG_RUNTIME_DIR", runtime_.path()}, {"COCO_DEBUG", "1"}};
    o.env.insert(o.env.end(), extra.begin(), extra.end());
    return o;
  }
  RunResult probe(const std::vector<std::string>& args, const EnvList& extra = {}) const {
    std::vector<std::string> all = {"run", "probe"};
    all.insert(all.end(), args.begin(), args.end());
    return env_.run(all, options(extra));
  }
  std::string holderDir() const { return runtime_.path() + "/coco"; }
  // Each mapping's holder has a record of its own.
  std::string recordPath() const {
    return holderDir() + (subordinate() ? "/userns-holder" : "/userns-holder-single");
  }
  std::optional<Record> record() const { return parseRecord(readFile(recordPath())); }
  // Over whatever record was there: its holder is stopped first, or it would be left running.
  void writeRecord(pid_t pid, unsigned long long start, mode_t mode = 0600) const {
    env_.run({"system", "stop"}, options());
    fs::create_directories(holderDir());
    chmod(holderDir().c_str(), 0700);
    writeFile(recordPath(), std::to_string(pid) + " " + std::to_string(start) + "\n");
    chmod(recordPath().c_str(), mode);
  }
  // Whether this user's runs get the subordinate mapping (and so the holder); asserted
  // against the runner's COCO_TEST_IDMAP when it says.
  bool subordinate() const {
    if (!subordinate_) {
      RunResult r = env_.run({"run", "probe", "exit", "0"}, options({{"COCO_USERNS_HOLDER", "0"}}));
      EXPECT_EQ(r.exitCode, 0) << describe(r);
      subordinate_ = contains(r.err, "subordinate-range id mapping");
      const char* mode = getenv("COCO_TEST_IDMAP");
      if (mode && std::string(mode) == "subuid") {
        EXPECT_TRUE(*subordinate_) << r.err;
      }
      if (mode && std::string(mode) == "single") {
        EXPECT_FALSE(*subordinate_) << r.err;
      }
    }
    return *subordinate_;
  }

  Env env_;
  TempDir runtime_{"coco-holder-run"};
  mutable std::optional<bool> subordinate_;
};

TEST_F(HolderTest, RunsMakeTheirUserNamespaceInsideTheHolders) {
  bool sub = subordinate();
  RunResult first = probe({"id"});
  ASSERT_EQ(first.exitCode, 0) << describe(first);
  EXPECT_TRUE(contains(first.err, kStarted)) << first.err;
  EXPECT_TRUE(contains(first.err, kUsed)) << first.err;
  EXPECT_TRUE(contains(first.err, sub ? "subordinate-range id mapping" : "single-id id mapping"))
      << first.err;
  // Inside, the maps read relative to the parent namespace, the holder's: every id to itself.
  if (sub) {
    EXPECT_TRUE(contains(
        first.out, "uid_map:\n         0          0          1\n         1          1      65536\ngid_map:"))
        << first.out;
    EXPECT_TRUE(contains(first.out, "setgroups: allow")) << first.out;
  } else {
    // Only 0 is mapped, and no process in the sandbox may drop or add groups (the holder's
    // setgroups "deny" is inherited), as without the holder.
    EXPECT_TRUE(contains(first.out,
                         "uid_map:\n         0          0          1\ngid_map:\n"
                         "         0          0          1\nsetgroups: deny"))
        << first.out;
  }
  auto rec = record();
  ASSERT_TRUE(rec) << readFile(recordPath());
  struct stat st;
  ASSERT_EQ(stat(recordPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u) << "the record is the user's alone";
  std::string proc = "/proc/" + std::to_string(rec->pid);
  EXPECT_EQ(readFile(proc + "/comm"), "coco-userns\n");
  std::string cmdline = readFile(proc + "/cmdline");
  EXPECT_TRUE(cmdline.starts_with(std::string("coco-userns\0", 12))) << cmdline;
  EXPECT_FALSE(contains(cmdline, "probe")) << "not the command line of the coco that started it";
  EXPECT_FALSE(contains(readFile(proc + "/environ"), kSecretValue)) << "nor its environment";
  EXPECT_EQ(startTimeOf(rec->pid), rec->start);
  // Nothing of the coco that started it: its network namespace and the spares' two queues. While
  // it makes spares (right after it settled, and 20 ms after a run took one) it also holds each
  // spare's descriptors for a moment; what it keeps is what it holds once that is done.
  const std::vector<std::string> queues = {"0 /dev/null", "1 /dev/null", "2 /dev/null", "3 net:",
                                           "4 socket:",   "5 socket:",   "6 socket:",   "7 socket:"};
  std::vector<std::string> kept;
  for (int tries = 0; tries < 100 && kept != queues; ++tries) {
    if (tries) usleep(50'000);
    kept.clear();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(proc + "/fd", ec)) {
      std::string target = fs::read_symlink(e.path(), ec).string();
      kept.push_back(e.path().filename().string() + " " + target.substr(0, target.find('[')));
    }
    std::sort(kept.begin(), kept.end());
  }
  EXPECT_EQ(kept, queues) << "the holder keeps only its queues";
  EXPECT_EQ(fs::read_symlink(proc + "/cwd"), "/");
  std::string uid = std::to_string(getuid());
  EXPECT_TRUE(
      contains(readFile(proc + "/status"), "Uid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid + "\n"));
  EXPECT_TRUE(contains(readFile(proc + "/uid_map"), "         0 " + std::string(10 - uid.size(), ' ') + uid))
      << readFile(proc + "/uid_map");
  EXPECT_EQ(readFile(proc + "/setgroups"), sub ? "allow\n" : "deny\n");

  RunResult second = probe({"exit", "0"});
  ASSERT_EQ(second.exitCode, 0) << describe(second);
  EXPECT_TRUE(contains(second.err, kUsed)) << second.err;
  EXPECT_FALSE(contains(second.err, kStarted)) << "one holder serves every run\n" << second.err;
  EXPECT_EQ(record()->pid, rec->pid);
}

// Two sandboxes at once: the second gets the first's host pids (and the holder's) through the
// shared workspace and tries every way to touch them, and the first's abstract socket.
TEST_F(HolderTest, SandboxesCannotSeeSignalPtraceOrJoinEachOther) {
  bool sub = subordinate();
  std::string tag = "@coco-holder-test-" + std::to_string(getpid());
  Child a = env_.spawn({"run", "probe", "listen-unix", tag, "30"}, options());
  ASSERT_TRUE(waitForOutput(a, "listening\n", 60s)) << a.out << a.err;
  EXPECT_TRUE(contains(a.err, kUsed)) << a.err;
  EXPECT_TRUE(contains(a.err, sub ? "subordinate-range id mapping" : "single-id id mapping")) << a.err;
  std::vector<pid_t> pids = processesWithTag(tag);
  ASSERT_GE(pids.size(), 2u) << "coco and the tool at least";
  std::string list;
  for (pid_t p : pids) list += std::to_string(p) + "\n";
  auto rec = record();
  ASSERT_TRUE(rec) << "the holder's record";
  list += std::to_string(rec->pid) + "\n";
  writeFile(env_.workdir() + "/pids", list);

  RunResult reach = probe({"reach", "/workspace/pids"});
  ASSERT_EQ(reach.exitCode, 0) << describe(reach);
  EXPECT_TRUE(contains(reach.err, kUsed)) << reach.err;
  size_t attempts = 0;
  for (const auto& line : lines(reach.out)) {
    if (line.find(": ") == std::string::npos) continue;
    ++attempts;
    EXPECT_TRUE(contains(line, ": denied ESRCH") || contains(line, ": denied ENOENT")) << line;
  }
  EXPECT_GE(attempts, 10 * pids.size()) << reach.out;

  RunResult connect = probe({"connect-unix", tag});
  EXPECT_TRUE(contains(connect.out, "denied ECONNREFUSED")) << describe(connect);
  RunResult control = probe({"abstract-self"});
  EXPECT_EQ(control.out, "ok\n") << "a sandbox's own abstract socket works\n" << describe(control);

  RunResult seen = probe({"pids"});
  ASSERT_EQ(seen.exitCode, 0) << describe(seen);
  EXPECT_LE(lines(seen.out).size(), 2u) << "only its own init and tool\n" << seen.out;

  for (pid_t p : pids) EXPECT_TRUE(running(p)) << "pid " << p << " of the first sandbox";
  EXPECT_TRUE(running(rec->pid)) << "the holder";
  kill(a.pid, SIGTERM);
  finish(a, 30s);
}

TEST_F(HolderTest, TheHolderIsInvisibleInside) {
  ASSERT_EQ(probe({"exit", "0"}).exitCode, 0);
  auto rec = record();
  ASSERT_TRUE(rec);
  RunResult ls = probe({"ls", "/proc"});
  ASSERT_EQ(ls.exitCode, 0) << describe(ls);
  for (const auto& entry : lines(ls.out)) EXPECT_NE(entry, std::to_string(rec->pid));
  writeFile(env_.workdir() + "/pids", std::to_string(rec->pid) + "\n");
  RunResult reach = probe({"reach", "/workspace/pids"});
  ASSERT_EQ(reach.exitCode, 0) << describe(reach);
  EXPECT_TRUE(contains(reach.out, "reached for 1 pids")) << reach.out;
  EXPECT_FALSE(contains(reach.out, ": ok")) << reach.out;
  EXPECT_TRUE(running(rec->pid));
}

// Each record below is refused, the run works, and a holder of coco's own replaces it.
TEST_F(HolderTest, AForeignOrStaleHolderIsRefusedAndTheRunStillWorks) {
  bool sub = subordinate();
  auto check = [&](const std::string& what, const std::string& reason) {
    std::string before = readFile(recordPath());
    RunResult r = probe({"exit", "0"});
    EXPECT_EQ(r.exitCode, 0) << what << "\n" << describe(r);
    EXPECT_TRUE(contains(r.err, reason)) << what << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, kStarted)) << what << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, kUsed)) << what << "\n" << r.err;
    auto now = record();
    ASSERT_TRUE(now) << what;
    EXPECT_NE(readFile(recordPath()), before) << what;
    EXPECT_EQ(readFile("/proc/" + std::to_string(now->pid) + "/comm"), "coco-userns\n") << what;
  };

  if (getuid() != 0) {
    writeRecord(1, startTimeOf(1));
    check("another user's process (pid 1)", "not as this user");
  }
  // Maps that are not this mapping's: the single mapping's under a subordinate plan, and 1 -> the
  // user under the single plan.
  const unsigned otherInside = sub ? 0 : 1;
  {
    Fake other(true, "", false, otherInside);
    ASSERT_TRUE(other.ready());
    writeRecord(other.pid(), startTimeOf(other.pid()));
    check("a process of the user's with other maps", "its uid_map is not the expected one");
    EXPECT_TRUE(other.alive()) << "no holder: left alone";
  }
  {
    Fake stale(true, "coco-userns", false, otherInside);
    ASSERT_TRUE(stale.ready());
    writeRecord(stale.pid(), startTimeOf(stale.pid()));
    check("a holder with stale maps", "its uid_map is not the expected one");
    EXPECT_TRUE(stopsWithin(stale.pid(), 2000ms)) << "a stale holder of the user's is stopped";
  }
  {
    // A sandbox made without the holder: its user namespace is a child of the user's, mapped as the
    // holder's is, so only its pid namespace tells it from a holder. Adopted, it would be the
    // parent of the next sandboxes' user namespaces, with every capability over them.
    std::string tag = "coco-holder-fake-" + std::to_string(getpid());
    Child sandbox =
        env_.spawn({"run", "probe", "signal-wait", "60", tag}, options({{"COCO_USERNS_HOLDER", "0"}}));
    ASSERT_TRUE(waitForOutput(sandbox, "ready\n", 60s)) << sandbox.out << sandbox.err;
    pid_t tool = -1;
    for (pid_t p : processesWithTag(tag))
      if (readFile("/proc/" + std::to_string(p) + "/comm") == "probe\n") tool = p;
    ASSERT_GT(tool, 0) << "the sandbox's tool";
    std::string hostMaps = readFile("/proc/self/uid_map");
    EXPECT_NE(readFile("/proc/" + std::to_string(tool) + "/uid_map"), hostMaps)
        << "in a user namespace of its own";
    writeRecord(tool, startTimeOf(tool));
    check("a sandbox's process", "in another pid namespace");
    EXPECT_TRUE(running(tool)) << "no holder: left alone";
    kill(sandbox.pid, SIGTERM);
    finish(sandbox, 30s);
  }
  {
    Fake reused(false, "coco-userns");
    ASSERT_TRUE(reused.ready());
    writeRecord(reused.pid(), startTimeOf(reused.pid()) + 1);
    check("a pid now run by another process", "start time differs");
    EXPECT_TRUE(reused.alive()) << "not the recorded process: left alone";
  }
  {
    Fake any(false);
    ASSERT_TRUE(any.ready());
    writeRecord(any.pid(), startTimeOf(any.pid()), 0666);
    check("a record writable by others", "the record is writable by others");
    EXPECT_TRUE(any.alive());
  }
  struct stat st;
  ASSERT_EQ(stat(recordPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u) << "coco's own record replaced the one others could write";
}

// A directory others may write is no place for the record: today's path, and no holder is started there.
// When the clone through the holder fails, the run starts as without a holder: init in a user
// namespace of its own, mapped as that path maps it (without a range init writes its own maps, which
// the holder's path had taken from the plan and must give back). The failure is real: the holder's
// user namespace may hold no more user namespaces, and each sandbox's is made inside it.
TEST_F(HolderTest, AFailedCloneThroughTheHolderFallsBackToANamespaceOfItsOwn) {
  bool sub = subordinate();
  RunResult first = probe({"exit", "0"});
  ASSERT_EQ(first.exitCode, 0) << describe(first);
  auto rec = record();
  ASSERT_TRUE(rec) << first.err;
  ASSERT_EQ(limitUserNamespacesIn(rec->pid, 0), "0\n");

  RunResult r = probe({"id"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, "starting the sandbox through the user-namespace holder: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "; without it")) << r.err;
  EXPECT_FALSE(contains(r.err, kUsed)) << r.err;
  EXPECT_FALSE(contains(r.err, kSpare)) << "a spare's namespace belongs to the holder's\n" << r.err;
  EXPECT_TRUE(contains(r.err, sub ? "subordinate-range id mapping" : "single-id id mapping")) << r.err;
  // Relative to the namespace coco runs in, not the holder's: 0 is the user.
  std::string uid = std::to_string(getuid()), gid = std::to_string(getgid());
  EXPECT_TRUE(
      contains(r.out, "uid_map:\n         0 " + std::string(10 - uid.size(), ' ') + uid + "          1\n"))
      << r.out;
  EXPECT_TRUE(
      contains(r.out, "gid_map:\n         0 " + std::string(10 - gid.size(), ' ') + gid + "          1\n"))
      << r.out;
  EXPECT_TRUE(contains(r.out, sub ? "setgroups: allow" : "setgroups: deny")) << r.out;
  EXPECT_TRUE(running(rec->pid)) << "the holder stays; the next run tries it again";
  EXPECT_EQ(record()->pid, rec->pid);
}

TEST_F(HolderTest, ADirectoryWritableByOthersIsRefused) {
  bool sub = subordinate();
  fs::create_directories(holderDir());
  ASSERT_EQ(chmod(holderDir().c_str(), 0770), 0);
  RunResult r = probe({"exit", "0"});
  EXPECT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_FALSE(contains(r.err, kUsed)) << r.err;
  EXPECT_FALSE(fs::exists(recordPath()));
  EXPECT_TRUE(contains(r.err, "directory is writable by others")) << r.err;
  EXPECT_TRUE(contains(r.err, sub ? "subordinate-range id mapping" : "single-id id mapping")) << r.err;
}

TEST_F(HolderTest, SystemStopAndTheSwitch) {
  bool sub = subordinate();
  ASSERT_EQ(probe({"exit", "0"}).exitCode, 0);
  auto rec = record();
  ASSERT_TRUE(rec);
  RunResult stop = env_.run({"system", "stop"}, options());
  EXPECT_EQ(stop.exitCode, 0) << describe(stop);
  EXPECT_EQ(stop.out, "stopped the user-namespace holder\n");
  EXPECT_TRUE(stopsWithin(rec->pid, 2000ms));
  EXPECT_FALSE(fs::exists(recordPath()));

  RunResult off = probe({"id"}, {{"COCO_USERNS_HOLDER", "0"}});
  EXPECT_EQ(off.exitCode, 0) << describe(off);
  EXPECT_FALSE(contains(off.err, kUsed)) << off.err;
  EXPECT_FALSE(fs::exists(recordPath())) << "COCO_USERNS_HOLDER=0 starts none";
  EXPECT_TRUE(contains(off.err, sub ? "subordinate-range id mapping" : "single-id id mapping")) << off.err;
  RunResult again = env_.run({"system", "stop"}, options());
  EXPECT_EQ(again.out, "no user-namespace holder was running\n") << describe(again);
}

// The holder is not forever: with no run for COCO_USERNS_HOLDER_IDLE seconds it exits by itself,
// and the next run starts another.
TEST_F(HolderTest, AnIdleHolderExitsAndTheNextRunStartsAnother) {
  subordinate();  // checked against the runner's mode while no holder runs
  const EnvList idle = {{"COCO_USERNS_HOLDER_IDLE", "2"}};
  RunResult first = probe({"exit", "0"}, idle);
  ASSERT_EQ(first.exitCode, 0) << describe(first);
  auto rec = record();
  ASSERT_TRUE(rec) << first.err;
  EXPECT_TRUE(stopsWithin(rec->pid, 15000ms)) << "a holder idle for 2 s still runs after 15 s";
  RunResult next = probe({"exit", "0"}, idle);
  ASSERT_EQ(next.exitCode, 0) << describe(next);
  EXPECT_TRUE(contains(next.err, kStarted)) << next.err;
  EXPECT_TRUE(contains(next.err, kUsed)) << next.err;
  ASSERT_TRUE(record());
  EXPECT_NE(record()->pid, rec->pid);
}

// Every run that uses the holder starts its idle clock again; a holder whose record is replaced
// (another holder's) exits.
TEST_F(HolderTest, AHolderInUseStaysAndOneWhoseRecordIsReplacedExits) {
  subordinate();  // checked against the runner's mode while no holder runs
  const EnvList idle = {{"COCO_USERNS_HOLDER_IDLE", "4"}};
  RunResult first = probe({"exit", "0"}, idle);
  ASSERT_EQ(first.exitCode, 0) << describe(first);
  auto rec = record();
  ASSERT_TRUE(rec) << first.err;
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < 7s) {
    std::this_thread::sleep_for(1s);
    RunResult r = probe({"exit", "0"}, idle);
    ASSERT_EQ(r.exitCode, 0) << describe(r);
    EXPECT_TRUE(contains(r.err, kUsed)) << r.err;
    EXPECT_FALSE(contains(r.err, kStarted)) << "the holder in use stopped\n" << r.err;
  }
  EXPECT_TRUE(running(rec->pid)) << "used every second, the holder outlived its 4 s idle time";
  EXPECT_EQ(record()->pid, rec->pid);

  // The same text in a new file renamed over it: another record, as far as the holder knows.
  std::string text = readFile(recordPath());
  writeFile(recordPath() + ".new", text);
  ASSERT_EQ(chmod((recordPath() + ".new").c_str(), 0600), 0);
  ASSERT_EQ(rename((recordPath() + ".new").c_str(), recordPath().c_str()), 0);
  EXPECT_TRUE(stopsWithin(rec->pid, 15000ms)) << "a holder whose record was replaced still runs";
}

// The holder sits in a network namespace of its own with a nat chain on output (no rules), so
// that netfilter's hooks stay registered between runs (net::holdNatHooks): not the host's
// namespace, and one where nothing of a sandbox's runs.
TEST_F(HolderTest, TheHolderKeepsANatChainInANetworkNamespaceOfItsOwn) {
  subordinate();  // checked against the runner's mode while no holder runs
  RunResult r = probe({"exit", "0"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  auto rec = record();
  ASSERT_TRUE(rec);
  // The holder makes it on its own once released, while the run that started it goes on.
  // While it makes spares it is in each for a moment (they have no such chain): asked again then.
  std::string holderNet, ownNet = fs::read_symlink("/proc/self/ns/net"), chain;
  for (auto waited = 0ms; waited < 5000ms; waited += 20ms) {
    holderNet = fs::read_symlink("/proc/" + std::to_string(rec->pid) + "/ns/net");
    if (holderNet != ownNet && (chain = holdChainIn(rec->pid)) == "found") break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(holderNet, ownNet) << "not the host's network namespace";
  EXPECT_EQ(chain, "found");
  // The control: the same question of a fresh network namespace, which has no such chain.
  Fake plain(true, "", true);
  ASSERT_TRUE(plain.ready());
  EXPECT_EQ(holdChainIn(plain.pid()), "no such chain");
}

// The holder's spares: runs of both kinds go into one once the holder has made them, each its
// own: runs at once, as many as the holder queues, are in different namespaces (compared while
// all are alive), none the holder's own, and none reaches another's loopback.
TEST_F(HolderTest, EachSandboxGetsASpareNetworkNamespaceOfItsOwn) {
  subordinate();  // checked against the runner's mode while no holder runs
  env_.writeTool("probenet", R"({"command": "probe", "allowed_hosts": ["example.test"]})");
  RunResult first = env_.run({"run", "probenet", "netns"}, options());
  ASSERT_EQ(first.exitCode, 0) << describe(first);
  EXPECT_FALSE(contains(first.err, kSpare)) << "the run that starts the holder makes its own\n" << first.err;
  auto rec = record();
  ASSERT_TRUE(rec);
  int home = holderFd(rec->pid, kHolderNet);
  ASSERT_GE(home, 0);
  std::string holderNet = nsName(home);
  close(home);
  for (const char* tool : {"probe", "probenet"}) {
    SCOPED_TRACE(tool);
    ASSERT_TRUE(holderSettled(rec->pid)) << "the holder's queues never filled";
    // Two at once: each holds its namespace while the test compares them.
    Child a = env_.spawn({"run", tool, "netns", "30"}, options());
    Child b = env_.spawn({"run", tool, "netns", "30"}, options());
    ASSERT_TRUE(waitForOutput(a, "]\n", 60s)) << a.out << a.err;
    ASSERT_TRUE(waitForOutput(b, "]\n", 60s)) << b.out << b.err;
    EXPECT_TRUE(contains(a.err, kSpare)) << a.err;
    EXPECT_TRUE(contains(b.err, kSpare)) << b.err;
    EXPECT_NE(a.out, b.out) << "one namespace given to two runs";
    EXPECT_NE(a.out, holderNet + "\n") << "the holder's own namespace given out";
    EXPECT_NE(b.out, holderNet + "\n") << "the holder's own namespace given out";
    kill(a.pid, SIGTERM);
    kill(b.pid, SIGTERM);
    finish(a, 30s);
    finish(b, 30s);
    // One listens on its loopback; another, in a spare too, cannot reach it.
    ASSERT_TRUE(holderSettled(rec->pid));
    Child listener = env_.spawn({"run", tool, "listen-tcp", "4719", "30"}, options());
    ASSERT_TRUE(waitForOutput(listener, "listening\n", 60s)) << listener.out << listener.err;
    RunResult reach = env_.run({"run", tool, "connect", "127.0.0.1", "4719"}, options());
    EXPECT_EQ(reach.out, "denied ECONNREFUSED\n") << describe(reach);
    EXPECT_TRUE(contains(reach.err, kSpare)) << reach.err;
    kill(listener.pid, SIGTERM);
    finish(listener, 30s);
    EXPECT_TRUE(contains(listener.err, kSpare)) << listener.err;
  }
}

// In a spare the network works as in a namespace of the sandbox's own: the gateway gets the
// connection the redirect sends to the spare's relay listener (a literal address outside the
// list: blocked, with its notice), and a published port reaches the tool's listener inside.
TEST_F(HolderTest, InASpareTheGatewayServesTheRelayAndPublishedPorts) {
  subordinate();  // checked against the runner's mode while no holder runs
  env_.writeTool("probenet", R"({"command": "probe", "allowed_hosts": ["example.test"]})");
  RunResult first = env_.run({"run", "probenet", "exit", "0"}, options());
  ASSERT_EQ(first.exitCode, 0) << describe(first);
  auto rec = record();
  ASSERT_TRUE(rec);
  ASSERT_TRUE(holderSettled(rec->pid));
  RunResult blocked = env_.run({"run", "probenet", "connect", "192.0.2.1", "443"}, options());
  EXPECT_TRUE(contains(blocked.err, kSpare)) << blocked.err;
  EXPECT_TRUE(contains(blocked.err, "blocked connection to 192.0.2.1:443")) << describe(blocked);

  uint16_t port = 0;
  int free = hostListener(port);
  ASSERT_GE(free, 0);
  close(free);  // a free port, published by the run below
  env_.writeTool("probeport", R"({"command": "probe", "network": "none", "ports": ["127.0.0.1:)" +
                                  std::to_string(port) + R"(:8080"]})");
  Child c = env_.spawn({"run", "probeport", "listen-tcp", "8080", "30"}, options());
  ASSERT_TRUE(waitForOutput(c, "listening\n", 60s)) << c.out << c.err;
  EXPECT_TRUE(contains(c.err, kSpare)) << c.err;
  int conn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  EXPECT_EQ(connect(conn, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << strerror(errno);
  EXPECT_TRUE(waitForOutput(c, "accepted\n", 30s)) << "the published port never reached the tool\n"
                                                   << c.out << c.err;
  close(conn);
  kill(c.pid, SIGTERM);
  finish(c, 30s);
}

// A spare the holder did not make is refused: here another sandbox's network namespace (owned by
// that sandbox's user namespace, which the kernel would let coco's helper join), and listeners of
// the host's namespace with a real spare's. The run then makes its own and works.
TEST_F(HolderTest, ASpareNotOfTheHoldersMakingIsRefused) {
  subordinate();  // checked against the runner's mode while no holder runs
  RunResult first = probe({"exit", "0"});
  ASSERT_EQ(first.exitCode, 0) << describe(first);
  auto rec = record();
  ASSERT_TRUE(rec);
  ASSERT_TRUE(holderSettled(rec->pid)) << "the holder's queues never filled";
  ASSERT_EQ(drainSpares(rec->pid, false), 2) << "the holder queues two of each kind";
  // A sandbox without a spare: a network namespace of its own user namespace's.
  std::string tag = std::to_string(20000 + getpid() % 20000);
  Child a = env_.spawn({"run", "probe", "listen-tcp", tag, "30"}, options());
  ASSERT_TRUE(waitForOutput(a, "listening\n", 60s)) << a.out << a.err;
  EXPECT_FALSE(contains(a.err, kSpare)) << a.err;
  int otherNet = -1;
  for (pid_t p : processesWithTag("listen-tcp " + tag)) {
    std::string comm = readFile("/proc/" + std::to_string(p) + "/comm");
    if (comm != "probe\n") continue;
    otherNet = open(("/proc/" + std::to_string(p) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
  }
  ASSERT_GE(otherNet, 0) << "the first sandbox's tool";
  // That run found none and asked for more: once the holder has refilled, emptied again.
  ASSERT_TRUE(holderSettled(rec->pid));
  ASSERT_EQ(drainSpares(rec->pid, false), 2);
  ASSERT_TRUE(plantSpare(rec->pid, false, {otherNet}));
  close(otherNet);
  RunResult b = probe({"connect", "127.0.0.1", tag});
  EXPECT_EQ(b.out, "denied ECONNREFUSED\n") << "the run joined the other sandbox's namespace\n"
                                            << describe(b);
  EXPECT_TRUE(contains(b.err, "the spare network namespace is not the holder's")) << b.err;
  EXPECT_FALSE(contains(b.err, kSpare)) << b.err;
  kill(a.pid, SIGTERM);
  finish(a, 30s);

  // The capture kind: a real spare's namespace with a listener of the host's for its relay.
  env_.writeTool("probenet", R"({"command": "probe", "allowed_hosts": ["example.test"]})");
  uint16_t port = 0;
  int host = hostListener(port);
  ASSERT_GE(host, 0);
  // A real capture spare: its namespace and DNS sockets, the host's listener for its relay. The
  // holder's refill after the run above is over by then, and it makes no more until told again.
  ASSERT_TRUE(holderSettled(rec->pid));
  std::vector<int> real = takeSpare(rec->pid, true);
  ASSERT_EQ(real.size(), 4u) << "a capture spare is its namespace and three listeners";
  ASSERT_EQ(drainSpares(rec->pid, true), 1);
  ASSERT_TRUE(plantSpare(rec->pid, true, {real[0], host, real[2], real[3]}));
  for (int fd : real) close(fd);
  RunResult c = env_.run({"run", "probenet", "exit", "0"}, options());
  EXPECT_EQ(c.exitCode, 0) << describe(c);
  EXPECT_TRUE(contains(c.err, "spare network namespace is refused")) << c.err;
  EXPECT_FALSE(contains(c.err, kSpare)) << c.err;
  // The gateway never served the host's listener: a connection to it is only queued, never taken.
  struct pollfd p = {host, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0) << "nothing connected to the host listener";
  int probeConn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  ASSERT_EQ(connect(probeConn, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  int accepted = accept4(host, nullptr, nullptr, SOCK_NONBLOCK);
  EXPECT_GE(accepted, 0) << "still the test's listener, not taken over";
  if (accepted >= 0) close(accepted);
  close(probeConn);
  close(host);
}

// Spares come only from a holder that runs the same coco binary: one an older coco started (left
// running across an upgrade) may set its namespaces up otherwise. Its user namespace still serves.
TEST_F(HolderTest, AHolderOfAnotherCocoBinaryGivesNoSpares) {
  subordinate();  // checked against the runner's mode while no holder runs
  TempDir other("coco-other-build");
  std::string copy = other / "coco";
  fs::copy_file(env_.coco(), copy);
  ASSERT_EQ(chmod(other.path().c_str(), 0755), 0);
  ASSERT_EQ(chmod(copy.c_str(), 0755), 0);
  // The copy starts the holder: run through a wrapper that execs it in place of env_.coco().
  RunOptions viaCopy = options();
  viaCopy.wrapper = {"/bin/sh", "-c", "shift; exec " + shellQuote(copy) + " \"$@\"", "sh"};
  RunResult started = env_.run({"run", "probe", "exit", "0"}, viaCopy);
  ASSERT_EQ(started.exitCode, 0) << describe(started);
  EXPECT_TRUE(contains(started.err, kStarted)) << started.err;
  auto rec = record();
  ASSERT_TRUE(rec);
  ASSERT_TRUE(holderSettled(rec->pid)) << "the copy's holder keeps spares";
  RunResult r = probe({"exit", "0"});
  ASSERT_EQ(r.exitCode, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, kUsed)) << r.err;
  EXPECT_TRUE(contains(r.err, "the user-namespace holder runs another coco binary: no spares from it"))
      << r.err;
  EXPECT_FALSE(contains(r.err, kSpare)) << r.err;
  EXPECT_EQ(record()->pid, rec->pid) << "the holder is kept";
}

// Each mapping has a holder of its own: a user with a subuid range who runs with COCO_USERNS=single
// too gets a second holder (mapped 0 -> the user alone) beside the first, and runs of either kind do
// not replace the other's; `coco system stop` stops both. A user without a range has the one.
TEST_F(HolderTest, EachMappingHasAHolderOfItsOwn) {
  bool sub = subordinate();
  const std::string subRecord = holderDir() + "/userns-holder",
                    singleRecord = holderDir() + "/userns-holder-single";
  RunResult plain = probe({"exit", "0"});
  ASSERT_EQ(plain.exitCode, 0) << describe(plain);
  RunResult single = probe({"id"}, {{"COCO_USERNS", "single"}});
  ASSERT_EQ(single.exitCode, 0) << describe(single);
  EXPECT_TRUE(contains(single.err, "single-id id mapping")) << single.err;
  EXPECT_TRUE(contains(single.err, kUsed)) << single.err;
  EXPECT_TRUE(contains(single.out, "uid_map:\n         0          0          1\ngid_map:")) << single.out;
  EXPECT_EQ(fs::exists(subRecord), sub);
  auto singleHolder = parseRecord(readFile(singleRecord));
  ASSERT_TRUE(singleHolder) << "the single mapping's record";
  std::optional<Record> subHolder;
  if (sub) {
    EXPECT_TRUE(contains(single.err, kStarted)) << "a holder of the single mapping's own\n" << single.err;
    subHolder = parseRecord(readFile(subRecord));
    ASSERT_TRUE(subHolder);
    EXPECT_NE(subHolder->pid, singleHolder->pid);
    std::string maps = readFile("/proc/" + std::to_string(singleHolder->pid) + "/uid_map");
    EXPECT_EQ(lines(maps).size(), 1u) << "0 -> the user alone\n" << maps;
    RunResult again = probe({"exit", "0"});
    ASSERT_EQ(again.exitCode, 0) << describe(again);
    EXPECT_FALSE(contains(again.err, kStarted)) << "the subordinate holder was replaced\n" << again.err;
    EXPECT_TRUE(running(singleHolder->pid)) << "the single mapping's holder was replaced";
  }
  RunResult singleAgain = probe({"exit", "0"}, {{"COCO_USERNS", "single"}});
  ASSERT_EQ(singleAgain.exitCode, 0) << describe(singleAgain);
  EXPECT_FALSE(contains(singleAgain.err, kStarted)) << singleAgain.err;
  EXPECT_TRUE(contains(singleAgain.err, kUsed)) << singleAgain.err;
  if (subHolder) {
    EXPECT_TRUE(running(subHolder->pid));
  }

  RunResult stop = env_.run({"system", "stop"}, options());
  EXPECT_EQ(stop.out,
            sub ? "stopped the user-namespace holders (of the subuid range and of the single mapping)\n"
                : "stopped the user-namespace holder\n")
      << describe(stop);
  EXPECT_TRUE(stopsWithin(singleHolder->pid, 2000ms));
  if (subHolder) {
    EXPECT_TRUE(stopsWithin(subHolder->pid, 2000ms));
  }
  EXPECT_FALSE(fs::exists(subRecord));
  EXPECT_FALSE(fs::exists(singleRecord));
}

}  // namespace
}  // namespace cocotest
