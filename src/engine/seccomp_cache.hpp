// A per-user cache of compiled seccomp programs: compiling the default profile
// with libseccomp costs a few milliseconds, a large share of sandbox start-up.
#pragma once

#include <string>

#include "engine/seccomp.hpp"
#include "util/result.hpp"

namespace coco::engine {

// Like compileProfile, but reuses a program compiled earlier from the same
// profile bytes on the same kernel and libseccomp. The cache entry stores the
// whole profile text and is used only when it matches byte for byte. Entries
// are kept in cacheDir (HostSetup::seccompCacheDir); "" compiles every time.
Result<SeccompProgram> compileProfileCached(const std::string& path, const std::string& cacheDir);

}  // namespace coco::engine
