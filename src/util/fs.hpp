// Small file-system helpers shared by every layer.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace coco::fs {

// Reads a regular file (symlinks followed): a device, FIFO, socket or directory is an error
// (EINVAL) rather than an endless or blocking read.
Result<std::string> readFile(const std::string& path);
// readFile that stops with EFBIG past maxBytes, for files that should be small.
Result<std::string> readFileAtMost(const std::string& path, size_t maxBytes);
// What is left to read of `fd`, an open regular file whose fstat is `st` (its
// size sizes the string: no bounce buffer, no regrowth), EFBIG past maxBytes.
// `path` names it in errors.
Result<std::string> readOpenFile(int fd, const struct stat& st, size_t maxBytes, const std::string& path);

// Writes via a temporary file in the same directory, fsync and rename(2): readers
// see the old content or the new, never a half-written file.
Status writeFileAtomic(const std::string& path, std::string_view content, mode_t mode = 0644);

// mkdir -p; existing directories are fine.
Status makeDirs(const std::string& path, mode_t mode = 0755);

// rm -rf that never follows symlinks, opens up directories without owner permissions and
// leaves other mounts in place (an error naming them). Works below PATH_MAX's reach; an error
// names the entry that could not go. A missing path is nothing to do.
Status removeTree(const std::string& path);

bool exists(const std::string& path);

// The names in a directory, without "." and ".."; empty when it cannot be read.
std::vector<std::string> listDir(const std::string& dir);
bool isDirectory(const std::string& path);

// Lexical normalisation: "/a/./b//c/../d" -> "/a/b/d". Does not touch the disk.
std::string normalize(std::string_view path);

std::string joinPath(std::string_view a, std::string_view b);

// Whether `path` is `dir` or lies below it, comparing whole components ("/a/bc" is not below
// "/a/b"); both normalised and absolute. Everything lies below "/".
bool isAtOrBelow(std::string_view path, std::string_view dir);

}  // namespace coco::fs
