// Bringing a large file into the page cache by a sequential read, so it arrives in large folios.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace coco::sys {

// How many bytes of the file open at `fd` the page cache holds (cachestat, Linux 6.5); nullopt
// where the kernel has no cachestat.
std::optional<uint64_t> cachedBytes(int fd);

// When the regular file at `path` (no symlink followed at its last component) is at most
// `maxBytes` long and not wholly in the page cache, reads it from start to end, and returns true.
// A sequential read makes the kernel's readahead fill the cache in large folios; an exec's page
// faults, which fill it otherwise, leave small ones. Measured with node's 126 MB binary on this
// machine (AMD EPYC, Linux 6.18, ext4): a start took 0.90x the time from a file read in first,
// against one exec'd first (bench section of README, stop 39). A file already cached, too large,
// unreadable, of another type or a kernel without cachestat: nothing is read, false.
bool readIntoPageCache(const std::string& path, uint64_t maxBytes);

}  // namespace coco::sys
