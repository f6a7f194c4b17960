// Seccomp: compiles an OCI/Docker seccomp profile (JSON) into a BPF program
// with libseccomp, so the sandbox child only has to install it.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "util/result.hpp"

namespace coco::engine {

struct SeccompProgram {
  std::vector<sock_filter> filter;  // empty: unconfined
  sock_fprog fprog() const {
    return sock_fprog{static_cast<unsigned short>(filter.size()), const_cast<sock_filter*>(filter.data())};
  }
};

// Compiles the profile at `path` for the native architecture.
Result<SeccompProgram> compileProfile(const std::string& path);

}  // namespace coco::engine
