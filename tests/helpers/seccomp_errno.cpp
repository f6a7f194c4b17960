// seccomp-errno SYSCALL=ERRNO... -- COMMAND [ARGS]: runs COMMAND under a seccomp
// filter that fails each named syscall with ERRNO (a number or ENOSYS, EPERM),
// as a container's profile or a restricting LSM would. Test-only.
#include <errno.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int errnoOf(const std::string& name) {
  if (name == "ENOSYS") return ENOSYS;
  if (name == "EPERM") return EPERM;
  if (name == "EACCES") return EACCES;
  return std::atoi(name.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return 125;
  int i = 1;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    std::string rule = argv[i];
    size_t eq = rule.find('=');
    int nr = seccomp_syscall_resolve_name(rule.substr(0, eq).c_str());
    if (eq == std::string::npos || nr == __NR_SCMP_ERROR ||
        seccomp_rule_add(ctx, SCMP_ACT_ERRNO(errnoOf(rule.substr(eq + 1))), nr, 0) != 0) {
      std::fprintf(stderr, "seccomp-errno: bad rule %s\n", argv[i]);
      return 125;
    }
  }
  if (i + 1 >= argc) {
    std::fprintf(stderr, "usage: seccomp-errno SYSCALL=ERRNO... -- COMMAND [ARGS]\n");
    return 125;
  }
  // An unprivileged process may load a filter only with no_new_privs (setuid helpers then gain nothing).
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || seccomp_load(ctx) != 0) {
    std::perror("seccomp-errno: loading the filter");
    return 125;
  }
  execvp(argv[i + 1], argv + i + 1);
  std::perror(argv[i + 1]);
  return 127;
}
