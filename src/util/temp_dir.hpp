// For tests: a fresh directory under /tmp, removed with all it holds when the
// owner goes away. path() is empty when it could not be made (assert on it).
#pragma once

#include <stdlib.h>

#include <string>
#include <string_view>

#include "util/fs.hpp"

namespace coco {

class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "coco-test") {
    std::string tmpl = "/tmp/" + std::string(prefix) + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    if (!path_.empty()) (void)fs::removeTree(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string sub(std::string_view rel) const { return fs::joinPath(path_, rel); }

 private:
  std::string path_;
};

}  // namespace coco
