// Landlock: the rules from a RunSpec (parent, before clone) and their
// enforcement in the tool process (child, no allocation).
#include "engine/landlock.hpp"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "engine/child_report.hpp"
#include "engine/rootfs.hpp"
#include "util/fs.hpp"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

namespace coco::engine {

namespace {

// The access rights, spelled here because older kernel headers lack the later ones.
constexpr uint64_t kExecute = 1ULL << 0;
constexpr uint64_t kWriteFile = 1ULL << 1;
constexpr uint64_t kReadFile = 1ULL << 2;
constexpr uint64_t kReadDir = 1ULL << 3;
constexpr uint64_t kRemoveDir = 1ULL << 4;
constexpr uint64_t kRemoveFile = 1ULL << 5;
constexpr uint64_t kMakeDir = 1ULL << 7;
constexpr uint64_t kMakeReg = 1ULL << 8;
constexpr uint64_t kMakeSock = 1ULL << 9;
constexpr uint64_t kMakeFifo = 1ULL << 10;
constexpr uint64_t kMakeSym = 1ULL << 12;
constexpr uint64_t kAbi1 = (1ULL << 13) - 1;              // execute .. make_sym
constexpr uint64_t kRefer = 1ULL << 13;                   // ABI 2
constexpr uint64_t kTruncate = 1ULL << 14;                // ABI 3
constexpr uint64_t kIoctlDev = 1ULL << 15;                // ABI 5
constexpr uint64_t kScopeAbstractUnixSocket = 1ULL << 0;  // ABI 6
constexpr uint64_t kScopeSignal = 1ULL << 1;              // ABI 6

constexpr uint64_t kRead = kExecute | kReadFile | kReadDir;
// Every change to a tree but device nodes, which nothing in the sandbox may
// make (its mounts are nodev and it has no CAP_MKNOD).
constexpr uint64_t kWrite = kWriteFile | kRemoveDir | kRemoveFile | kMakeDir | kMakeReg | kMakeSock |
                            kMakeFifo | kMakeSym | kRefer | kTruncate;
// What a rule on something other than a directory may hold.
constexpr uint64_t kFileRights = kExecute | kWriteFile | kReadFile | kTruncate | kIoctlDev;

// struct landlock_ruleset_attr as of ABI 6. Older kernels accept the larger
// struct as long as the fields they do not know are zero.
struct RulesetAttr {
  uint64_t handledAccessFs;
  uint64_t handledAccessNet;
  uint64_t scoped;
};

uint64_t handledFor(int abi) {
  uint64_t rights = kAbi1;
  if (abi >= 2) rights |= kRefer;
  if (abi >= 3) rights |= kTruncate;
  if (abi >= 5) rights |= kIoctlDev;
  return rights;
}

bool isTopLevel(const std::string& path) { return path.size() > 1 && path.find('/', 1) == std::string::npos; }

bool beneath(const std::string& path, const std::string& dir) {
  return path == dir ||
         (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

// The sandbox's own writable places, unless a read-only config mount covers one.
void addScratch(const RunSpec& spec, LandlockPlan& plan, const std::string& path, uint64_t access) {
  for (const auto& m : spec.mounts)
    if (m.readOnly && beneath(path, fs::normalize(m.dst))) return;
  plan.rules.push_back({path, access & plan.handledFs});
}

std::string rightsText(uint64_t access) {
  std::string text;
  auto add = [&](const char* word) { text += text.empty() ? word : std::string(", ") + word; };
  if ((access & kRead) == kRead) add("read, execute");
  if ((access & kMakeReg) != 0)
    add("write");
  else if ((access & kWriteFile) != 0)
    add("write files");
  if ((access & kIoctlDev) != 0) add("device ioctls");
  return text;
}

// ---- the child's half: no allocation from here on ----

// internalOk: an fd of a kernel-internal file system (an anonymous pipe, a
// socket), which Landlock never restricts and takes no rule for (EBADFD).
bool addRule(int ruleset, int fd, uint64_t access, const char* what, bool internalOk = false) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return fail("stat for a Landlock rule:", what);
  if (!S_ISDIR(st.st_mode)) access &= kFileRights;
  if (access == 0) return true;
  struct landlock_path_beneath_attr attr = {};
  attr.allowed_access = access;
  attr.parent_fd = fd;
  if (::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) == 0) return true;
  return (internalOk && errno == EBADFD) || fail("landlock_add_rule", what);
}

// A path that is not there gets no rule: nothing to grant.
bool addPathRule(int ruleset, int rootfd, const LandlockRule& rule) {
  int fd = openBeneath(rootfd, rule.path.c_str(), 0);
  if (fd < 0) return errno == ENOENT || fail("open for a Landlock rule:", rule.path.c_str());
  bool ok = addRule(ruleset, fd, rule.access, rule.path.c_str());
  ::close(fd);
  return ok;
}

struct LinuxDirent64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

bool skipTopLevel(const LandlockPlan& plan, const char* name) {
  // /proc and /dev have narrower rules of their own.
  for (const char* own : {".", "..", "proc", "dev"})
    if (std::strcmp(name, own) == 0) return true;
  for (const auto& ro : plan.readOnlyTopLevel)
    if (ro == name) return true;
  return false;
}

// Directories and files only: a symlink at the top (/bin -> usr/bin) is
// written through what it points to.
bool addTopLevelEntry(int ruleset, int dirfd, const LandlockPlan& plan, const char* name) {
  int fd = ::openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail("open for a Landlock rule: /", name);
  struct stat st;
  bool ok = ::fstat(fd, &st) == 0 || fail("stat for a Landlock rule: /", name);
  if (ok && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
    ok = addRule(ruleset, fd, plan.topLevelAccess, name);
  ::close(fd);
  return ok;
}

bool addTopLevelRules(int ruleset, const LandlockPlan& plan) {
  int dirfd = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return fail("open", "/");
  alignas(8) char buf[4096];
  bool ok = true;
  for (long n; ok && (n = ::syscall(SYS_getdents64, dirfd, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      ok = fail("getdents64", "/");
      break;
    }
    for (long off = 0; ok && off < n;) {
      auto* entry = reinterpret_cast<LinuxDirent64*>(buf + off);
      off += entry->reclen;
      if (!skipTopLevel(plan, entry->name)) ok = addTopLevelEntry(ruleset, dirfd, plan, entry->name);
    }
  }
  ::close(dirfd);
  return ok;
}

// The tool's stdio may be host files, FIFOs or a terminal (`coco run tool
// >out`), outside every rule; reopening one by name (/dev/stdout,
// /proc/self/fd/1) gives what the descriptor already gives, no more. Pipes
// and sockets need no rule (Landlock leaves kernel-internal files alone).
bool addStdioRules(int ruleset, uint64_t handled) {
  for (int fd = 0; fd < 3; ++fd) {
    int flags = ::fcntl(fd, F_GETFL);
    struct stat st;
    // A directory (`coco run tool <~`) gets no rule: its tree stays shut.
    if (flags < 0 || ::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) continue;
    int mode = flags & O_ACCMODE;
    uint64_t access = 0;
    if (mode == O_RDONLY || mode == O_RDWR) access |= kReadFile;
    if (mode == O_WRONLY || mode == O_RDWR) access |= kWriteFile | kTruncate;
    if (!addRule(ruleset, fd, access & handled, "the tool's standard input or output", true)) return false;
  }
  return true;
}

bool addRules(int ruleset, const LandlockPlan& plan) {
  int rootfd = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return fail("open", "/");
  bool ok = true;
  for (const auto& rule : plan.rules) ok = ok && addPathRule(ruleset, rootfd, rule);
  ::close(rootfd);
  return ok && (plan.readOnlyTopLevel.empty() || addTopLevelRules(ruleset, plan)) &&
         addStdioRules(ruleset, plan.handledFs);
}

}  // namespace

int landlockAbi() {
  static const int abi = [] {
    long v = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return v < 0 ? 0 : static_cast<int>(v);
  }();
  return abi;
}

LandlockPlan planLandlock(const RunSpec& spec, int abi) {
  LandlockPlan plan;
  if (abi <= 0) return plan;
  plan.abi = abi;
  plan.handledFs = handledFor(abi);
  if (abi >= 6) plan.scoped = kScopeAbstractUnixSocket | kScopeSignal;
  uint64_t write = kWrite & plan.handledFs;
  for (const auto& m : spec.mounts) {
    std::string dst = fs::normalize(m.dst);
    if (m.readOnly && isTopLevel(dst)) plan.readOnlyTopLevel.push_back(dst.substr(1));
  }
  bool rootWritable = plan.readOnlyTopLevel.empty();
  plan.rules.push_back({"/", kRead | (rootWritable ? write : 0)});
  if (!rootWritable) plan.topLevelAccess = write;
  addScratch(spec, plan, "/proc", kWriteFile);  // /proc/self/..., uid_map of a nested namespace
  addScratch(spec, plan, "/dev", kWriteFile | kTruncate | kIoctlDev);
  addScratch(spec, plan, "/dev/shm", write);
  addScratch(spec, plan, "/tmp", write);
  for (const auto& m : spec.mounts)
    if (!m.readOnly) plan.rules.push_back({fs::normalize(m.dst), write});
  return plan;
}

std::vector<std::string> describeLandlock(const LandlockPlan& plan) {
  std::vector<std::string> lines;
  for (const auto& rule : plan.rules)
    lines.push_back(fmt::format("{}: {}", rule.path, rightsText(rule.access)));
  if (!plan.readOnlyTopLevel.empty()) {
    std::string except;
    for (const auto& name : plan.readOnlyTopLevel) except += (except.empty() ? "/" : ", /") + name;
    lines.push_back(
        fmt::format("every other entry of / but {}: {}", except, rightsText(plan.topLevelAccess)));
  }
  return lines;
}

std::vector<std::string> landlockScopes(const LandlockPlan& plan) {
  std::vector<std::string> scopes;
  if (plan.scoped & kScopeAbstractUnixSocket) scopes.push_back("abstract-unix-socket");
  if (plan.scoped & kScopeSignal) scopes.push_back("signal");
  return scopes;
}

bool applyLandlock(const LandlockPlan& plan) {
  if (plan.abi <= 0) return true;
  RulesetAttr attr = {plan.handledFs, 0, plan.scoped};
  int ruleset = static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0));
  if (ruleset < 0) return fail("landlock_create_ruleset");
  bool ok = addRules(ruleset, plan) &&
            (::syscall(SYS_landlock_restrict_self, ruleset, 0) == 0 || fail("landlock_restrict_self"));
  ::close(ruleset);
  return ok;
}

}  // namespace coco::engine
