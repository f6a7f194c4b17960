// Test helpers for config/: a temporary directory (util/temp_dir.hpp) and scoped environment variables.
#pragma once

#include <stdlib.h>

#include <optional>
#include <string>

#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::config::testing {

using coco::TempDir;

// Sets (or unsets, with nullopt) a variable for one test and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace coco::config::testing
