// Bringing a large file into the page cache by a sequential read, so it arrives in large folios.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace coco::sys {

// How many bytes of the file open at `fd`, of its `length` bytes from `offset` (0: to its end), the
// page cache holds (cachestat, Linux 6.5); nullopt (errno set) where the kernel has no cachestat
// or refuses it.
std::optional<uint64_t> cachedBytes(int fd, uint64_t offset = 0, uint64_t length = 0);

// Whether a file system of this statfs f_type keeps a file's pages in the page cache of the file
// itself, so that reading it in lasts: ext4, xfs and btrfs. Not overlayfs or FUSE (the pages
// belong to the file beneath, and cachestat on the upper file says none are cached, so every run
// would read it again), network file systems (a read of the whole file goes over the network), or
// tmpfs (always in memory).
bool keepsItsPageCache(int64_t fsType);

// How many of kCacheProbes pages, spread evenly over the first `size` bytes of the file open at
// `fd`, the page cache holds (a cachestat of one page each); -1 (errno set) where the kernel has
// no cachestat or refuses it. A cachestat of a whole file visits each of its pages: 0.25 ms for
// node's 126 MB here, at every run.
inline constexpr int kCacheProbes = 8;
int cachedProbes(int fd, uint64_t size);

// When the regular file `rel` beneath the directory `dir` (no symlink followed on the way, no `..`)
// is at most `maxBytes` long, on a file system that keepsItsPageCache, and the page cache holds
// none of its cachedProbes pages, reads it from start to end, and returns true. A sequential read
// makes the kernel's readahead fill the cache in large folios; an exec's page faults, which fill it
// otherwise, leave small ones. Measured with node's 126 MB binary (AMD EPYC, Linux 6.18, ext4): a
// start took 0.90x the time from a file read in first, against one exec'd first (README's benchmark
// section, stop 39). A file the cache holds part of is left as it is: the kernel pages out a
// file's cold pages one by one (memory pressure, or proactive reclaim such as DAMON's, which runs
// on this VM), and a read of the whole 126 MB for every run that finds a page missing cost ~30 ms
// each, where the exec's faults bring back only what the run touches. Anything else (cached in
// part, too large, unreadable, another type, a read error, a kernel without cachestat): false,
// and at most what was read before an error stays cached.
bool readIntoPageCache(const std::string& dir, const std::string& rel, uint64_t maxBytes);

// What rereadLargeExecutables reads: regular files with an execute bit of at least minBytes and at
// most maxBytes each, at most totalBytes in all.
struct RereadLimits {
  uint64_t minBytes = 8ull << 20;
  uint64_t maxBytes = 256ull << 20;
  uint64_t totalBytes = 1ull << 30;
};

// For a tree just written, synced and committed (a layer): drops every large executable beneath
// `dirFd` (symlinks not followed, no other file system entered, a hard-linked file once) from the
// page cache and reads it back from start to end, so that it stays cached in large folios rather
// than in the small ones its writer's write() sizes left. npm writes node's 126 MB in 16 KiB
// pieces: a start from that file took 1.11x the time from the same file dropped and read back
// (200 rounds, stop 40). Only on file systems that keepsItsPageCache; opened with O_NOATIME where
// the file is the caller's. A file that cannot be opened or dropped is left as it is; one whose
// read fails stays partly cached. Returns the bytes read back.
uint64_t rereadLargeExecutables(int dirFd, const RereadLimits& limits = {});

}  // namespace coco::sys
