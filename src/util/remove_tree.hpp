// rm -rf by descriptor: every directory opened by a single name from its parent, never by a
// path (a tree can be deeper than PATH_MAX), never through a symlink.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <string>

#include "util/unique_fd.hpp"

namespace coco::fs {

// lstat of `name` in `dirfd` through statx (no automount), and (`mountRoot`, when given) whether
// it is the root of another mount.
bool statAt(int dirfd, const std::string& name, struct stat& st, bool* mountRoot = nullptr);

// The directory `name` in `parent` given u+rwx and opened for reading, without following a
// symlink put in its place (the chmod goes through the descriptor). Invalid when that fails.
UniqueFd openUpDirectory(int parent, const std::string& name);

// Whether an entry about to be removed (its lstat) must stay, with the directories holding it.
using KeepEntry = std::function<bool(const struct stat&)>;

// removeAt's result when it left something in place.
inline constexpr int kRemoveLeftKept = -1;

// Removes `name` in `dirfd` and everything below it. Never follows a symlink, never climbs
// through "..", holds a bounded number of descriptors, and opens up directories without owner
// permissions. The root of another mount stays, and so does what `keep` (may be null) says.
// Returns 0 (also when `name` is missing), an errno, or kRemoveLeftKept; `failed` (when given)
// gets the path, relative to `dirfd`, of the entry the result is about.
int removeAt(int dirfd, const std::string& name, const KeepEntry& keep, std::string* failed = nullptr);

}  // namespace coco::fs
