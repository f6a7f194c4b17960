// The data lookup of an installed coco never reaches into the source tree it was built from.
#include "util/data_dir.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "coco_config.h"

namespace coco {
namespace {

using Dirs = std::vector<std::string>;

// The attack: the compiled-in source root (e.g. /var/tmp/coco-tests/src) may be a
// path any local user can create, so a store config or seccomp profile planted
// there must never be read by the installed binary, not even as a fallback.
TEST(DataDir, InstalledBinaryReadsOnlyTheInstalledData) {
  for (const char* exe : {"/usr/bin/coco", "/usr/local/bin/coco", "/home/u/.local/bin/coco"})
    EXPECT_EQ(dataDirsFor(exe), Dirs{COCO_DATADIR}) << exe;
}

// A binary whose path cannot be read is treated as installed.
TEST(DataDir, UnknownExecutableReadsOnlyTheInstalledData) { EXPECT_EQ(dataDirsFor(""), Dirs{COCO_DATADIR}); }

// A directory whose name merely starts with the build root's is not the build tree.
TEST(DataDir, LookalikeOfTheBuildTreeIsNotIt) {
  std::string build = COCO_BUILD_ROOT;
  EXPECT_EQ(dataDirsFor(build + "-planted/src/coco"), Dirs{COCO_DATADIR});
  EXPECT_EQ(dataDirsFor(build), Dirs{COCO_DATADIR});
}

// The developer's binary reads its own source tree first (tests see the data they test).
TEST(DataDir, BuildTreeBinaryReadsItsSourceTreeFirst) {
  Dirs dirs = dataDirsFor(std::string(COCO_BUILD_ROOT) + "/src/coco");
  ASSERT_FALSE(dirs.empty());
  EXPECT_EQ(dirs.front(), COCO_SOURCE_ROOT);
}

}  // namespace
}  // namespace coco
