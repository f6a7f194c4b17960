// The OCI/Docker seccomp profile as validated data, and the includes/excludes test.
#pragma once

#include <seccomp.h>

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace coco::engine {

struct KernelVersion {
  int major = 0;
  int minor = 0;
  auto operator<=>(const KernelVersion&) const = default;
};

// "6.18.44-foo" -> {6, 18}; nullopt when it does not start with "N.N".
std::optional<KernelVersion> parseKernelVersion(std::string_view text);

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;     // the mask for SCMP_CMP_MASKED_EQ
  uint64_t valueTwo = 0;  // the datum for SCMP_CMP_MASKED_EQ
  scmp_compare op = SCMP_CMP_EQ;
};

struct SeccompCondition {
  std::vector<std::string> caps;
  std::vector<uint32_t> arches;  // libseccomp arch tokens
  std::optional<KernelVersion> minKernel;
};

struct SeccompRule {
  std::string label;  // "syscalls[3] (ioctl)", for messages
  std::vector<std::string> names;
  uint32_t action = SCMP_ACT_ALLOW;
  std::vector<SeccompArg> args;
  SeccompCondition includes;
  SeccompCondition excludes;
};

struct SeccompProfile {
  uint32_t defaultAction = SCMP_ACT_ALLOW;
  std::vector<SeccompRule> rules;
};

// Errors name `path` and, for syntax errors, the line and byte offset.
Result<SeccompProfile> parseProfile(std::string_view text, const std::string& path);

// What includes/excludes are judged against.
struct SeccompHost {
  uint32_t arch = 0;  // libseccomp token of the native arch
  KernelVersion kernel;
  std::vector<std::string> caps;
};

SeccompHost currentHost(std::vector<std::string> caps);

// Docker's semantics: every include must hold, no exclude may.
bool ruleApplies(const SeccompRule& rule, const SeccompHost& host);

}  // namespace coco::engine
