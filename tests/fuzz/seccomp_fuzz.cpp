// Seccomp profiles (OCI/Docker JSON, users bring their own): parse and compile
// to BPF; the program is one the kernel would load (jumps in range, every path
// ends in a return, at most BPF_MAXINSNS instructions), and it decides every
// syscall as libseccomp's program alone does (the search over runs of allowed
// syscalls that comes first changes no decision).
#include <linux/filter.h>

#include "engine/seccomp.hpp"
#include "engine/seccomp_eval.hpp"
#include "engine/seccomp_profile.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace coco::engine;

void checkBpf(const std::vector<sock_filter>& p) {
  FUZZ_CHECK(!p.empty() && p.size() <= BPF_MAXINSNS, std::to_string(p.size()));
  for (size_t i = 0; i < p.size(); ++i) {
    const sock_filter& ins = p[i];
    size_t left = p.size() - i - 1;
    if (BPF_CLASS(ins.code) != BPF_JMP) continue;
    if (BPF_OP(ins.code) == BPF_JA) {
      FUZZ_CHECK(ins.k < left, "ja out of range at " + std::to_string(i));
    } else {
      FUZZ_CHECK(ins.jt < left && ins.jf < left, "jump out of range at " + std::to_string(i));
    }
  }
  FUZZ_CHECK(BPF_CLASS(p.back().code) == BPF_RET, "the program does not end in a return");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The last byte picks the host, so profiles from the tree are seeds as they are.
  uint8_t flags = size ? data[size - 1] : 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto profile = parseProfile(text, "fuzz.json");
  if (!profile) {
    FUZZ_CHECK(profile.error().message().starts_with("seccomp profile fuzz.json"), profile.error().message());
    return 0;
  }
  SeccompHost host = currentHost(flags & 1 ? std::vector<std::string>{"CAP_SYS_ADMIN", "CAP_CHOWN"}
                                           : std::vector<std::string>{});
  if (flags & 2) host.kernel = {3, 10};
  auto program = compileProfile(*profile, host);
  if (!program) return 0;
  checkBpf(program->filter);
  // Without the search the program can only be longer: past the kernel's limit, there is nothing to compare.
  auto reference = compileProfile(*profile, host, false);
  if (!reference) {
    FUZZ_CHECK(reference.error().message().find("more than the kernel's") != std::string::npos,
               reference.error().message());
    return 0;
  }
  std::string difference = bpf::firstDifference(*profile, program->filter, reference->filter, 512, false);
  FUZZ_CHECK(difference.empty(), difference);
  return 0;
}
