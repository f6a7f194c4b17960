// layerBinds: a tool layer shown over its base image by read-only binds, and what it refuses.
#include "tool/layer_binds.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "sys/overlay.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"
#include "util/unique_fd.hpp"

namespace coco::tool {
namespace {

class LayerBinds : public ::testing::Test {
 protected:
  std::string path(const std::string& l, const std::string& rel) { return tmp_.path() + "/" + l + "/" + rel; }
  void dir(const std::string& l, const std::string& rel) { ASSERT_TRUE(fs::makeDirs(path(l, rel))); }
  void file(const std::string& l, const std::string& rel) {
    std::string p = path(l, rel);
    ASSERT_TRUE(fs::makeDirs(p.substr(0, p.rfind('/'))));
    ASSERT_TRUE(fs::writeFileAtomic(p, "x"));
  }
  // What layerBinds gives for the tool layer over the base: "SRC-BELOW-TMP -> DST" lines, or the error.
  std::string binds() {
    auto r = layerBinds(path("tool", ""), {path("base", "")});
    if (!r) return "error: " + r.error().describe();
    std::string out;
    for (const auto& b : *r) {
      EXPECT_TRUE(b.readOnly) << b.dst;
      out += b.src.substr(tmp_.path().size() + 1) + " -> " + b.dst + "\n";
    }
    return out;
  }
  void SetUp() override {
    // As coco's base has them: /root/.local/share/mise with an entry, /usr/bin.
    file("base", "root/.local/share/mise/migrations");
    file("base", "usr/bin/env");
  }
  TempDir tmp_{"coco-layer-binds"};
};

TEST_F(LayerBinds, WhatTheBaseLacksIsBoundWholeAndSharedDirectoriesAreWalked) {
  // eslint's layer as mise leaves it.
  file("tool", "root/.config/mise/config.toml");
  file("tool", "root/.local/share/mise/installs/npm-eslint/10.15.0/bin/eslint");
  ASSERT_EQ(::symlink("./10.15.0", path("tool", "root/.local/share/mise/installs/npm-eslint/latest").c_str()),
            0);
  dir("tool", "root/.local/state/mise");
  file("tool", "usr/bin/env");  // a file over the base's file
  EXPECT_EQ(binds(),
            "tool/root/.config -> /root/.config\n"
            "tool/root/.local/share/mise/installs -> /root/.local/share/mise/installs\n"
            "tool/root/.local/state -> /root/.local/state\n"
            "tool/usr/bin/env -> /usr/bin/env\n");
}

TEST_F(LayerBinds, AnEmptyLayerBindsNothing) {
  dir("tool", "");
  EXPECT_EQ(binds(), "");
}

TEST_F(LayerBinds, RefusedWhatABindCannotShow) {
  // A symlink where a bind would go: the runtime would follow it on the host.
  file("tool", "root/.local/share/mise/x");
  ASSERT_EQ(::symlink("/etc", path("tool", "root/.local/share/mise/shims").c_str()), 0);
  EXPECT_NE(binds().find("error: the tool layer adds the symbolic link /root/.local/share/mise/shims"),
            std::string::npos)
      << binds();
  ASSERT_EQ(::unlink(path("tool", "root/.local/share/mise/shims").c_str()), 0);
  // A symlinked directory of the layer is not followed either.
  ASSERT_EQ(::symlink("/etc", path("tool", "usr").c_str()), 0);
  EXPECT_NE(binds().find("adds the symbolic link /usr"), std::string::npos) << binds();
  ASSERT_EQ(::unlink(path("tool", "usr").c_str()), 0);
  // A directory over the base's file, a file over the base's directory.
  dir("tool", "usr/bin/env");
  EXPECT_NE(binds().find("puts a directory over the base image's file /usr/bin/env"), std::string::npos)
      << binds();
  ASSERT_EQ(::rmdir(path("tool", "usr/bin/env").c_str()), 0);
  dir("base", "opt/d");
  file("tool", "opt/d");
  EXPECT_NE(binds().find("puts a file over the base image's directory /opt/d"), std::string::npos) << binds();
}

TEST_F(LayerBinds, WhiteoutsOfTheBaseAreRefusedOthersIgnored) {
  dir("tool", "usr/bin");
  UniqueFd d(::open(path("tool", "usr/bin").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (sys::makeWhiteout(d.get(), "gone") != 0)
    GTEST_SKIP() << "cannot make a whiteout (0/0 character device) here";
  EXPECT_EQ(binds(), "") << "a whiteout of nothing changes nothing";
  ASSERT_EQ(sys::makeWhiteout(d.get(), "env"), 0);
  EXPECT_NE(binds().find("error: the tool layer removes /usr/bin/env"), std::string::npos) << binds();
}

TEST_F(LayerBinds, AnOpaqueDirectoryReplacesTheBasesWhole) {
  file("tool", "root/.local/share/mise/new");
  if (::setxattr(path("tool", "root/.local/share/mise").c_str(), sys::kOpaqueXattr, "y", 1, 0) != 0)
    GTEST_SKIP() << "no user xattrs here";
  EXPECT_EQ(binds(), "tool/root/.local/share/mise -> /root/.local/share/mise\n");
}

TEST_F(LayerBinds, TooManyPathsAreRefused) {
  for (size_t i = 0; i <= kMaxLayerBinds; ++i) file("tool", "usr/bin/tool" + std::to_string(i));
  EXPECT_NE(binds().find("more than 64 paths"), std::string::npos) << binds();
}

}  // namespace
}  // namespace coco::tool
