// Seccomp: compiles an OCI/Docker seccomp profile (JSON) into a BPF program
// with libseccomp, so the sandbox child only has to install it.
#pragma once

#include <linux/filter.h>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/seccomp_profile.hpp"
#include "util/result.hpp"

namespace coco::engine {

struct SeccompProgram {
  std::vector<sock_filter> filter;  // empty: unconfined
  sock_fprog fprog() const {
    return sock_fprog{static_cast<unsigned short>(filter.size()), const_cast<sock_filter*>(filter.data())};
  }
};

// Changes whenever the same profile would compile to a different program;
// caches of compiled programs must key on it.
inline constexpr int kSeccompCompilerRevision = 4;  // 3: binary-tree programs; 4: runs of allowed syscalls first

// A profile is read only up to this size (Docker's default profile is about 20 KB).
inline constexpr size_t kMaxProfileBytes = 1 << 20;

// Compiles the profile at `path` for the native architecture only: other ABIs
// (x86 and x32 on x86_64) are killed, since their syscall tables differ and
// cannot be filtered with the same rules. Semantics beyond libseccomp's:
//  - a rule with argument conditions overrides an unconditional rule for the
//    same syscall (libseccomp alone would drop it), so "allow ioctl" plus
//    "deny ioctl TIOCSTI" means what it says;
//  - when the default action denies, syscalls newer than any the profile names
//    fail with ENOSYS (as runc/crun do), so libc falls back to older calls;
//  - unknown syscall names are skipped (profiles list other kernels' calls).
// For SCMP_CMP_MASKED_EQ, "value" is the mask and "valueTwo" the datum, as in
// runc and crun. Rules that include or exclude on capabilities are judged
// against none: the tool runs without any.
Result<SeccompProgram> compileProfile(const std::string& path);
// The same for a profile already read; `path` only names it in errors.
Result<SeccompProgram> compileProfileText(std::string_view text, const std::string& path);

// The same, for a profile already parsed, judged against `host` (tests, fuzzing).
// `allowRuns` false: without the search over runs of plainly allowed syscalls
// that comes before libseccomp's code (the reference the tests compare with).
Result<SeccompProgram> compileProfile(const SeccompProfile& profile, const SeccompHost& host,
                                      bool allowRuns = true);

// Whether `program` ends the caller of the native call `nr` with `args` (kills it, or traps it,
// which kills a process without a SIGSYS handler), or cannot be judged: the calls coco makes
// under the tool's filter before the exec are made only where the filter answers them.
bool filterEnds(const SeccompProgram& program, int nr, const std::array<uint64_t, 6>& args);

// The most instructions one syscall can run through in `program` (the longest
// path from the first instruction to a return; classic BPF jumps only forward).
// What the kernel pays per syscall the action cache does not cover, and, for
// every syscall number, when it fills that cache at install time.
size_t longestPath(const std::vector<sock_filter>& program);

// Installs `prog` on the calling thread: async-signal-safe, no allocation, for
// the code between clone and execve. no_new_privs must already be set (or
// CAP_SYS_ADMIN held). Returns 0 or an errno.
int installProgramRaw(const sock_fprog* prog);

}  // namespace coco::engine
