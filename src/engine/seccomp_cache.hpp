// A per-user cache of compiled seccomp programs: compiling the default profile
// with libseccomp costs a few milliseconds, a large share of sandbox start-up.
#pragma once

#include <string>

#include "engine/seccomp.hpp"
#include "util/result.hpp"

namespace coco::engine {

// Like compileProfile, but reuses a program compiled earlier from the same
// profile file on the same kernel and libseccomp: the entry names the file's
// identity (device, inode, size, mtime, ctime, taken before it was read), and
// is used only while that identity is the file's. Entries are kept in cacheDir
// (HostSetup::seccompCacheDir); "" compiles every time.
Result<SeccompProgram> compileProfileCached(const std::string& path, const std::string& cacheDir);

}  // namespace coco::engine
