// Compiling a profile into one BPF program with libseccomp; installing it without allocating.
#include "engine/seccomp.hpp"

#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <set>
#include <string_view>
#include <utility>

#include <fmt/ranges.h>

#include "engine/seccomp_eval.hpp"
#include "engine/seccomp_profile.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace coco::engine {
namespace {

// The override program's "no rule matched" action, rewritten into a jump to
// the main program after export. A profile may not use it in override rules.
constexpr uint32_t kChainMarker = SCMP_ACT_TRACE(0xC0C0);
// Other ABIs (x86/x32 on x86_64) have other syscall numbers: never let them in.
constexpr uint32_t kBadArchAction = SCMP_ACT_KILL_PROCESS;
// libseccomp's bound for native syscall numbers: above it are x32 calls and -1.
constexpr uint32_t kX32SyscallBit = 0x40000000;

// One libseccomp rule: a syscall number, an action and ANDed comparisons.
struct Entry {
  int nr = 0;
  uint32_t action = 0;
  std::vector<scmp_arg_cmp> conds;
  std::string label;  // profile entry and syscall name, for messages
};

struct Plan {
  std::vector<Entry> main;      // libseccomp semantics
  std::vector<Entry> override;  // conditional rules shadowed by an unconditional one
  int maxNr = -1;               // highest syscall number the profile names
};

scmp_arg_cmp toCmp(const SeccompArg& arg) { return scmp_arg_cmp{arg.index, arg.op, arg.value, arg.valueTwo}; }

// libseccomp cannot AND two comparisons of the same argument; like runc, such
// a rule becomes one rule per comparison (ORed).
std::vector<std::vector<scmp_arg_cmp>> conditionSets(const SeccompRule& rule) {
  std::set<unsigned> seen;
  bool repeated = false;
  for (const auto& arg : rule.args) repeated |= !seen.insert(arg.index).second;
  std::vector<std::vector<scmp_arg_cmp>> sets;
  if (!repeated) {
    sets.emplace_back();
    for (const auto& arg : rule.args) sets.back().push_back(toCmp(arg));
    return sets;
  }
  for (const auto& arg : rule.args) sets.push_back({toCmp(arg)});
  return sets;
}

// Calls newer than some libseccomp releases. Since Linux 5.1 (nr 424) new
// syscalls get the same number on every arch coco builds for (alpha and mips
// add an offset; they are not among them).
constexpr std::pair<std::string_view, int> kUnifiedSyscalls[] = {
    {"cachestat", 451},         {"fchmodat2", 452},         {"map_shadow_stack", 453}, {"futex_wake", 454},
    {"futex_wait", 455},        {"futex_requeue", 456},     {"statmount", 457},        {"listmount", 458},
    {"lsm_get_self_attr", 459}, {"lsm_set_self_attr", 460}, {"lsm_list_modules", 461}, {"mseal", 462},
    {"setxattrat", 463},        {"getxattrat", 464},        {"listxattrat", 465},      {"removexattrat", 466},
    {"open_tree_attr", 467},    {"file_getattr", 468},      {"file_setattr", 469},
};

bool unifiedNumbering(uint32_t arch) {
  switch (arch) {
    case SCMP_ARCH_X86_64:
    case SCMP_ARCH_X86:
    case SCMP_ARCH_AARCH64:
    case SCMP_ARCH_ARM:
    case SCMP_ARCH_RISCV64:
    case SCMP_ARCH_PPC64LE:
    case SCMP_ARCH_PPC64:
    case SCMP_ARCH_S390X:
      return true;
    default:
      return false;
  }
}

// Syscalls of other arches or kernels resolve to nothing (or to libseccomp's
// negative pseudo numbers) on this one: -1.
int resolveNative(const std::string& name) {
  int nr = seccomp_syscall_resolve_name(name.c_str());
  if (nr >= 0) return nr;
  if (!unifiedNumbering(seccomp_arch_native())) return -1;
  for (const auto& [known, number] : kUnifiedSyscalls) {
    if (known == name) return number;
  }
  return -1;
}

void addRule(Plan& plan, const SeccompRule& rule, const std::string& name, int nr) {
  for (auto& conds : conditionSets(rule)) {
    plan.main.push_back(Entry{nr, rule.action, std::move(conds), fmt::format("{}: {}", rule.label, name)});
  }
}

// Moves conditional rules of syscalls that also have an unconditional rule to
// the override program; libseccomp would otherwise drop them.
void splitOverrides(Plan& plan) {
  std::set<int> unconditional;
  for (const auto& e : plan.main) {
    if (e.conds.empty()) unconditional.insert(e.nr);
  }
  std::vector<Entry> main;
  for (auto& e : plan.main) {
    bool shadowed = !e.conds.empty() && unconditional.count(e.nr);
    (shadowed ? plan.override : main).push_back(std::move(e));
  }
  plan.main = std::move(main);
}

Plan planRules(const SeccompProfile& profile, const SeccompHost& host) {
  Plan plan;
  std::vector<std::string> unknown;
  for (const auto& rule : profile.rules) {
    bool applies = ruleApplies(rule, host);
    if (!applies) log::debug("seccomp: {}: includes/excludes do not match this host, skipped", rule.label);
    for (const auto& name : rule.names) {
      int nr = resolveNative(name);
      if (nr < 0 && applies) unknown.push_back(name);
      if (nr < 0) continue;
      plan.maxNr = std::max(plan.maxNr, nr);
      if (applies) addRule(plan, rule, name, nr);
    }
  }
  if (!unknown.empty()) log::debug("seccomp: not syscalls here, skipped: {}", fmt::join(unknown, " "));
  splitOverrides(plan);
  return plan;
}

using FilterCtx = std::unique_ptr<void, decltype(&seccomp_release)>;

Result<FilterCtx> newFilter(uint32_t defaultAction) {
  FilterCtx ctx(seccomp_init(defaultAction), &seccomp_release);
  if (!ctx) return Error::make("seccomp_init failed");
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, kBadArchAction);
  // The engine sets no_new_privs itself; the filter is only exported here.
  if (rc == 0) rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) return Error::withErrno(-rc, "seccomp_attr_set");
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 5)
  // A binary tree over syscall numbers (libseccomp 2.5+) rather than one
  // comparison per syscall in a row: at install time the kernel runs the
  // filter for every syscall number to fill its action cache (5.11+): up to
  // 346 instructions per number for the default profile as a chain, 46 as a
  // tree (bench/seccomp_bench). The tree is a little longer (453 against
  // 371 instructions; allowRunsBlock now takes most of it over) and is cached
  // (seccomp_cache). Before 2.5: the chain.
  if (int tree = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); tree < 0)
    log::debug("seccomp: no binary-tree optimisation in this libseccomp ({})", std::strerror(-tree));
#endif
  return ctx;
}

Status addEntries(scmp_filter_ctx ctx, uint32_t defaultAction, const std::vector<Entry>& entries) {
  for (const auto& e : entries) {
    // libseccomp refuses rules that repeat the default action; they are no-ops.
    if (e.action == defaultAction) continue;
    if (e.action == kChainMarker)
      return Error::make("{}: SCMP_ACT_TRACE with errnoRet 49344 is reserved", e.label);
    int rc =
        seccomp_rule_add_array(ctx, e.action, e.nr, static_cast<unsigned>(e.conds.size()), e.conds.data());
    if (rc < 0) return Error::withErrno(-rc, fmt::format("{}: libseccomp refused the rule", e.label));
  }
  return okStatus();
}

Result<std::vector<sock_filter>> exportBpf(scmp_filter_ctx ctx) {
  UniqueFd fd(::memfd_create("coco-seccomp", MFD_CLOEXEC));
  if (!fd) return Error::fromErrno("memfd_create");
  int rc = seccomp_export_bpf(ctx, fd.get());
  if (rc < 0) return Error::withErrno(-rc, "seccomp_export_bpf");
  COCO_ASSIGN(std::string bytes, fs::readFile(fmt::format("/proc/self/fd/{}", fd.get())));
  if (bytes.size() % sizeof(sock_filter) != 0) return Error::make("seccomp_export_bpf: truncated program");
  std::vector<sock_filter> out(bytes.size() / sizeof(sock_filter));
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

Result<std::vector<sock_filter>> buildBpf(uint32_t defaultAction, const std::vector<Entry>& entries) {
  COCO_ASSIGN(FilterCtx ctx, newFilter(defaultAction));
  COCO_TRY(addEntries(ctx.get(), defaultAction, entries));
  return exportBpf(ctx.get());
}

// Native syscalls above the profile's highest fail with ENOSYS instead of the
// default errno: a newer libc then falls back (fchmodat2 -> fchmodat, ...).
std::vector<sock_filter> enosysPrefix(int maxNr) {
  uint32_t arch = seccomp_arch_native();
  std::vector<sock_filter> p = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, 4),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kX32SyscallBit, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(maxNr), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SCMP_ACT_ERRNO(ENOSYS)),
  };
  return p;
}

// The syscalls whose every rule allows them without a condition, as runs of
// consecutive numbers; their rules leave the plan (a rule of one syscall never
// changes what libseccomp does for another).
std::vector<std::pair<uint32_t, uint32_t>> takePlainAllows(Plan& plan) {
  std::set<int> plain, other;
  for (const auto& e : plan.main) (e.conds.empty() && e.action == SCMP_ACT_ALLOW ? plain : other).insert(e.nr);
  for (const auto& e : plan.override) other.insert(e.nr);
  std::vector<std::pair<uint32_t, uint32_t>> runs;
  for (int nr : plain) {
    if (other.count(nr)) continue;
    auto n = static_cast<uint32_t>(nr);
    if (!runs.empty() && runs.back().second + 1 == n)
      runs.back().second = n;
    else
      runs.emplace_back(n, n);
  }
  std::erase_if(plan.main, [&](const Entry& e) { return plain.count(e.nr) && !other.count(e.nr); });
  return runs;
}

// Classic BPF built from its end: every jump goes forward, so each target is
// already placed when a jump to it is made. A target is named by its distance
// from the end of the block (0: the last instruction; kEnd: the first one after
// the block). Offsets past the 8-bit jt/jf go through a JA of their own.
class BackwardBpf {
 public:
  static constexpr long kEnd = -1;

  long emit(sock_filter ins) {
    code_.push_back(ins);
    return static_cast<long>(code_.size()) - 1;
  }
  long next() const { return static_cast<long>(code_.size()); }
  uint32_t offsetTo(long target) const { return static_cast<uint32_t>(next() - target - 1); }

  // A conditional jump; the instruction's own position once placed.
  long jump(uint16_t op, uint32_t k, long ifTrue, long ifFalse) {
    for (;;) {
      if (offsetTo(ifTrue) > 255)
        ifTrue = emit(BPF_JUMP(BPF_JMP | BPF_JA, offsetTo(ifTrue), 0, 0));
      else if (offsetTo(ifFalse) > 255)
        ifFalse = emit(BPF_JUMP(BPF_JMP | BPF_JA, offsetTo(ifFalse), 0, 0));
      else
        break;
    }
    return emit(BPF_JUMP(BPF_JMP | op | BPF_K, k, static_cast<uint8_t>(offsetTo(ifTrue)),
                         static_cast<uint8_t>(offsetTo(ifFalse))));
  }

  // A RET ALLOW within reach of the next jump (one is shared while it is).
  long allow() {
    if (allow_ == kNone || offsetTo(allow_) > 255) allow_ = emit(BPF_STMT(BPF_RET | BPF_K, SCMP_ACT_ALLOW));
    return allow_;
  }

  std::vector<sock_filter> program() const { return {code_.rbegin(), code_.rend()}; }

 private:
  static constexpr long kNone = -2;
  std::vector<sock_filter> code_;  // last instruction first
  long allow_ = kNone;
};

// A binary search over the runs' edges: segment k is [starts[k], starts[k+1]).
long searchTree(BackwardBpf& bpf, const std::vector<uint32_t>& starts, const std::vector<bool>& allowed, size_t lo,
                size_t hi) {
  if (lo == hi) return allowed[lo] ? bpf.allow() : BackwardBpf::kEnd;
  size_t mid = (lo + hi + 1) / 2;
  long above = searchTree(bpf, starts, allowed, mid, hi);
  long below = searchTree(bpf, starts, allowed, lo, mid - 1);
  return bpf.jump(BPF_JGE, starts[mid], above, below);
}

// Native syscalls in `runs` are allowed before libseccomp's code runs; every
// other call goes on to it. libseccomp gives every allowed syscall a comparison
// of its own (the default profile: 333 of its 453 instructions); a search over
// the runs' edges needs one per edge, and the kernel's time to install a
// filter (checking, converting, JIT-compiling and running it for every syscall
// number) goes with its length.
std::vector<sock_filter> allowRunsBlock(const std::vector<std::pair<uint32_t, uint32_t>>& runs) {
  if (runs.empty()) return {};
  std::vector<uint32_t> starts;
  std::vector<bool> allowed;
  uint32_t from = 0;
  for (auto [first, last] : runs) {
    if (first > from) {
      starts.push_back(from);
      allowed.push_back(false);
    }
    starts.push_back(first);
    allowed.push_back(true);
    from = last + 1;
  }
  starts.push_back(from);
  allowed.push_back(false);
  BackwardBpf bpf;
  long tree = searchTree(bpf, starts, allowed, 0, starts.size() - 1);
  bpf.jump(BPF_JGE, kX32SyscallBit, BackwardBpf::kEnd, tree);
  long nr = bpf.emit(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  bpf.jump(BPF_JEQ, seccomp_arch_native(), nr, BackwardBpf::kEnd);
  bpf.emit(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  return bpf.program();
}

// The override program falls through to the main one where it found no rule.
void chainInto(std::vector<sock_filter>& program) {
  for (size_t i = 0; i < program.size(); ++i) {
    sock_filter& ins = program[i];
    if (ins.code == (BPF_RET | BPF_K) && ins.k == kChainMarker) {
      ins = BPF_JUMP(BPF_JMP | BPF_JA, static_cast<uint32_t>(program.size() - i - 1), 0, 0);
    }
  }
}

bool defaultDenies(uint32_t action) { return action != SCMP_ACT_ALLOW && action != SCMP_ACT_LOG; }

Result<SeccompProgram> compile(const SeccompProfile& profile, const SeccompHost& host, bool allowRuns) {
  Plan plan = planRules(profile, host);
  SeccompProgram program;
  if (defaultDenies(profile.defaultAction) && plan.maxNr >= 0) program.filter = enosysPrefix(plan.maxNr);
  if (defaultDenies(profile.defaultAction) && allowRuns) {
    auto block = allowRunsBlock(takePlainAllows(plan));
    program.filter.insert(program.filter.end(), block.begin(), block.end());
  }
  if (!plan.override.empty()) {
    COCO_ASSIGN(auto override, buildBpf(kChainMarker, plan.override));
    chainInto(override);
    program.filter.insert(program.filter.end(), override.begin(), override.end());
  }
  COCO_ASSIGN(auto main, buildBpf(profile.defaultAction, plan.main));
  program.filter.insert(program.filter.end(), main.begin(), main.end());
  if (program.filter.size() > BPF_MAXINSNS)
    return Error::make("the program has {} instructions, more than the kernel's {}", program.filter.size(),
                       BPF_MAXINSNS);
  log::debug("seccomp: {} rules, {} override rules, {} BPF instructions, at most {} per syscall",
             plan.main.size(), plan.override.size(), program.filter.size(), longestPath(program.filter));
  return program;
}

}  // namespace

Result<SeccompProgram> compileProfile(const std::string& path) {
  auto text = fs::readFileAtMost(path, kMaxProfileBytes);
  if (!text) return std::move(text).error().wrap("reading seccomp profile");
  return compileProfileText(*text, path);
}

Result<SeccompProgram> compileProfileText(std::string_view text, const std::string& path) {
  COCO_ASSIGN(SeccompProfile profile, parseProfile(text, path));
  auto program = compile(profile, currentHost({}), true);
  if (!program) return std::move(program).error().wrap(fmt::format("seccomp profile {}", path));
  return program;
}

Result<SeccompProgram> compileProfile(const SeccompProfile& profile, const SeccompHost& host, bool allowRuns) {
  return compile(profile, host, allowRuns);
}

bool filterEnds(const SeccompProgram& program, int nr, const std::array<uint64_t, 6>& args) {
  if (program.filter.empty()) return false;
  seccomp_data data{};
  data.nr = nr;
  data.arch = seccomp_arch_native();
  std::copy(args.begin(), args.end(), data.args);
  std::optional<uint32_t> ret = bpf::run(program.filter, data);
  if (!ret) return true;
  uint32_t action = *ret & SECCOMP_RET_ACTION_FULL;
  return action == SECCOMP_RET_KILL_PROCESS || action == SECCOMP_RET_KILL_THREAD ||
         action == SECCOMP_RET_TRAP;
}

size_t longestPath(const std::vector<sock_filter>& program) {
  // From the end: an instruction's path is itself plus its longest successor's.
  std::vector<size_t> path(program.size() + 1, 0);
  for (size_t i = program.size(); i-- > 0;) {
    const sock_filter& ins = program[i];
    auto at = [&](size_t offset) { return path[std::min(i + 1 + offset, program.size())]; };
    size_t next = 0;
    if (BPF_CLASS(ins.code) == BPF_RET)
      next = 0;
    else if (BPF_CLASS(ins.code) == BPF_JMP && BPF_OP(ins.code) == BPF_JA)
      next = at(ins.k);
    else if (BPF_CLASS(ins.code) == BPF_JMP)
      next = std::max(at(ins.jt), at(ins.jf));
    else
      next = at(0);
    path[i] = 1 + next;
  }
  return path[0];
}

int installProgramRaw(const sock_fprog* prog) {
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) == 0) return 0;
  if (errno != ENOSYS) return errno;
  // Kernels before 3.17 only have the prctl form.
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) == 0) return 0;
  return errno;
}

}  // namespace coco::engine
