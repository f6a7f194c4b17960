// A classic BPF interpreter for seccomp programs (the tests, fuzzing, and filterEnds in
// seccomp.cpp), and the comparison of two programs' decisions over the inputs a profile can tell
// apart (tests, fuzzing).
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "engine/seccomp_profile.hpp"

namespace coco::engine::bpf {

// Runs `prog` as the kernel runs a seccomp filter; nullopt for an instruction
// outside what libseccomp and coco emit, a load past seccomp_data, or running
// off the end.
inline std::optional<uint32_t> run(const std::vector<sock_filter>& prog, const seccomp_data& data) {
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  uint32_t words[sizeof data / 4];
  std::memcpy(words, &data, sizeof data);
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const sock_filter& i = prog[pc];
    switch (i.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (i.k % 4 != 0 || i.k >= sizeof data) return std::nullopt;
        a = words[i.k / 4];
        break;
      case BPF_LD | BPF_IMM: a = i.k; break;
      case BPF_LDX | BPF_IMM: x = i.k; break;
      case BPF_LD | BPF_MEM: a = mem[i.k % BPF_MEMWORDS]; break;
      case BPF_LDX | BPF_MEM: x = mem[i.k % BPF_MEMWORDS]; break;
      case BPF_ST: mem[i.k % BPF_MEMWORDS] = a; break;
      case BPF_STX: mem[i.k % BPF_MEMWORDS] = x; break;
      case BPF_ALU | BPF_AND | BPF_K: a &= i.k; break;
      case BPF_ALU | BPF_OR | BPF_K: a |= i.k; break;
      case BPF_MISC | BPF_TAX: x = a; break;
      case BPF_MISC | BPF_TXA: a = x; break;
      case BPF_JMP | BPF_JA: pc += i.k; break;
      case BPF_JMP | BPF_JEQ | BPF_K: pc += a == i.k ? i.jt : i.jf; break;
      case BPF_JMP | BPF_JGT | BPF_K: pc += a > i.k ? i.jt : i.jf; break;
      case BPF_JMP | BPF_JGE | BPF_K: pc += a >= i.k ? i.jt : i.jf; break;
      case BPF_JMP | BPF_JSET | BPF_K: pc += (a & i.k) ? i.jt : i.jf; break;
      case BPF_JMP | BPF_JEQ | BPF_X: pc += a == x ? i.jt : i.jf; break;
      case BPF_JMP | BPF_JGT | BPF_X: pc += a > x ? i.jt : i.jf; break;
      case BPF_JMP | BPF_JGE | BPF_X: pc += a >= x ? i.jt : i.jf; break;
      case BPF_RET | BPF_K: return i.k;
      default: return std::nullopt;
    }
  }
  return std::nullopt;
}

// The first input on which `fast` and `reference` decide differently (or
// either fails to run), described; "" when none does. Inputs: every syscall
// number below `nrs` and the same with the x32 bit, -1, 2^31 and the edges of
// the x32 range; the native arch and two foreign ones; and the arguments all
// zero, then each value the profile compares with (and its neighbours) in
// each position (`thorough`), or the first few values in all six at once (for
// fuzzing, where each input must take milliseconds, not tens of them).
// `compared` counts the inputs.
inline std::string firstDifference(const SeccompProfile& profile, const std::vector<sock_filter>& fast,
                                   const std::vector<sock_filter>& reference, uint32_t nrs, bool thorough,
                                   size_t* compared = nullptr) {
  std::set<uint64_t> values = {0, 1, ~0ULL, 0xffffffffULL, 0x100000000ULL};
  for (const auto& rule : profile.rules)
    for (const auto& arg : rule.args)
      for (uint64_t v : {arg.value, arg.valueTwo, arg.value | arg.valueTwo}) values.insert({v, v + 1, v - 1});
  if (!thorough)
    while (values.size() > 8) values.erase(std::prev(values.end()));
  std::vector<uint32_t> numbers;
  for (uint32_t nr = 0; nr < nrs; ++nr) numbers.insert(numbers.end(), {nr, nr | 0x40000000});
  numbers.insert(numbers.end(), {0xffffffff, 0x80000000, 0x3fffffff, 0x7fffffff});
  for (uint32_t arch : {seccomp_arch_native(), uint32_t{SCMP_ARCH_X86}, uint32_t{SCMP_ARCH_AARCH64}}) {
    for (uint32_t nr : numbers) {
      seccomp_data base = {};
      base.nr = static_cast<int>(nr);
      base.arch = arch;
      std::vector<seccomp_data> cases = {base};
      for (uint64_t v : values) {
        if (thorough) {
          for (unsigned pos = 0; pos < 6; ++pos) {
            seccomp_data d = base;
            d.args[pos] = v;
            cases.push_back(d);
          }
        } else {
          seccomp_data d = base;
          for (auto& arg : d.args) arg = v;
          cases.push_back(d);
        }
      }
      for (const auto& d : cases) {
        if (compared) ++*compared;
        auto want = run(reference, d), got = run(fast, d);
        if (!want || !got || *want != *got)
          return fmt::format("syscall {:#x} arch {:#x} args {:#x} {:#x} {:#x} {:#x} {:#x} {:#x}: {} instead of {}",
                             nr, arch, d.args[0], d.args[1], d.args[2], d.args[3], d.args[4], d.args[5],
                             got ? fmt::format("{:#x}", *got) : "no decision",
                             want ? fmt::format("{:#x}", *want) : "no decision");
      }
    }
  }
  return "";
}

}  // namespace coco::engine::bpf
