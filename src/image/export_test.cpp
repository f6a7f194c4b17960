// Unit tests for writing a layer on a runtime's image (exportLayerOnImage): a layer an untrusted
// install wrote is carried entry by entry, never read through.
#include "image/export.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "image/storage.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::image {
namespace {

using json = nlohmann::json;

struct TarEntry {
  mode_t type = 0;
  std::string data, symlink, hardlink;
  dev_t rdev = 0;
};
using Tar = std::map<std::string, TarEntry>;

// Every entry of a tar (gzip'd or not) held in memory.
Tar readTar(const std::string& bytes) {
  Tar out;
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_memory(a, bytes.data(), bytes.size()) != ARCHIVE_OK) {
    ADD_FAILURE() << archive_error_string(a);
    archive_read_free(a);
    return out;
  }
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    TarEntry t;
    t.type = archive_entry_filetype(e);
    if (const char* s = archive_entry_symlink(e)) t.symlink = s;
    if (const char* h = archive_entry_hardlink(e)) t.hardlink = h;
    t.rdev = archive_entry_rdev(e);
    char buf[4096];
    for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof buf)) > 0;)
      t.data.append(buf, static_cast<size_t>(n));
    out[archive_entry_pathname(e)] = t;
  }
  archive_read_free(a);
  return out;
}

class LayerOnImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    layer_ = tmp_.path() + "/layer";
    outside_ = tmp_.path() + "/outside";
    for (auto d : {layer_ + "/etc", layer_ + "/usr/bin", layer_ + "/usr/lib", layer_ + "/opt/opaque",
                   outside_ + "/dir"})
      ASSERT_TRUE(fs::makeDirs(d, 0755).ok());
    ASSERT_TRUE(fs::writeFileAtomic(outside_ + "/secret", "HOST-SECRET").ok());
    ASSERT_TRUE(fs::writeFileAtomic(outside_ + "/dir/inner", "HOST-DIR-FILE").ok());
    ASSERT_TRUE(fs::writeFileAtomic(outside_ + "/hard", "HARD-LINKED").ok());
    ASSERT_TRUE(fs::writeFileAtomic(layer_ + "/usr/bin/tool", "#!/bin/sh\n").ok());
    auto store = Storage::open(tmp_.path() + "/store");
    ASSERT_TRUE(store.ok()) << store.error().describe();
    in_.layerDir = layer_;
    in_.idMap = store->idMap();
    in_.baseDiffIds = {"sha256:" + std::string(64, 'a'), "sha256:" + std::string(64, 'b')};
    in_.baseConfig =
        R"({"Env": ["PATH=/usr/bin"], "WorkingDir": "/workspace", "Labels": {"coco.base": "B"}})";
    in_.labels = {{"coco.tool", "jq"}, {"coco.config-hash", "H"}};
    in_.reference = "localhost/coco-tool-jq:h-b";
  }

  // The archive's files, and the tool layer's entries read from its blob.
  void exportAndRead(Tar& outer, Tar& layer) {
    std::string file = tmp_.path() + "/image.tar";
    auto st = exportLayerOnImage(in_, file);
    ASSERT_TRUE(st.ok()) << st.error().describe();
    auto bytes = fs::readFile(file);
    ASSERT_TRUE(bytes.ok());
    outer = readTar(*bytes);
    ASSERT_TRUE(outer.count("manifest.json"));
    json docker = json::parse(outer["manifest.json"].data);
    std::string layerPath = docker[0]["Layers"].back();
    ASSERT_TRUE(outer.count(layerPath)) << layerPath;
    layer = readTar(outer[layerPath].data);
  }

  TempDir tmp_{"coco-export-test"};
  std::string layer_, outside_;
  LayerOnImage in_;
};

// Attack first: what an install planted in its layer (symlinks to host files and directories, a
// hard link to a host file, a whiteout, a fifo, a device node) becomes entries of the archive;
// nothing of the host is read through them, and the export does not block on the fifo.
TEST_F(LayerOnImageTest, PlantedLinksAndSpecialFilesAreCarriedNeverFollowed) {
  ASSERT_EQ(::symlink((outside_ + "/secret").c_str(), (layer_ + "/etc/abs-secret").c_str()), 0);
  ASSERT_EQ(::symlink("../../outside/secret", (layer_ + "/etc/rel-secret").c_str()), 0);
  ASSERT_EQ(::symlink((outside_ + "/dir").c_str(), (layer_ + "/usr/lib/dirlink").c_str()), 0);
  ASSERT_EQ(::link((outside_ + "/hard").c_str(), (layer_ + "/usr/bin/hard-out").c_str()), 0);
  ASSERT_EQ(::link((layer_ + "/usr/bin/tool").c_str(), (layer_ + "/usr/bin/tool-again").c_str()), 0);
  ASSERT_EQ(::mknod((layer_ + "/etc/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0) << strerror(errno);
  ASSERT_EQ(::mkfifo((layer_ + "/usr/lib/fifo").c_str(), 0644), 0);
  bool device = ::mknod((layer_ + "/etc/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
  if (!device)
    std::printf("[ note ] mknod of a device node: %s; that case is not covered here\n", strerror(errno));
  ASSERT_EQ(::setxattr((layer_ + "/opt/opaque").c_str(), "user.overlay.opaque", "y", 1, 0), 0)
      << strerror(errno);

  Tar outer, layer;
  exportAndRead(outer, layer);
  if (HasFatalFailure()) return;
  for (const auto& [name, e] : layer) {
    EXPECT_EQ(e.data.find("HOST-SECRET"), std::string::npos) << name << " carries the host file";
    EXPECT_EQ(e.data.find("HOST-DIR-FILE"), std::string::npos)
        << name << " carries the host directory's file";
    EXPECT_NE(e.type, AE_IFCHR) << name;
    EXPECT_NE(e.type, AE_IFBLK) << name;
  }
  EXPECT_EQ(layer["etc/abs-secret"].type, AE_IFLNK);
  EXPECT_EQ(layer["etc/abs-secret"].symlink, outside_ + "/secret");
  EXPECT_EQ(layer["etc/rel-secret"].symlink, "../../outside/secret");
  EXPECT_EQ(layer["usr/lib/dirlink"].type, AE_IFLNK);
  EXPECT_FALSE(layer.count("usr/lib/dirlink/inner")) << "walked into a symlinked directory";
  // A hard link to a host file is the layer's own file: its content, never a link out of the layer.
  EXPECT_EQ(layer["usr/bin/hard-out"].type, AE_IFREG);
  EXPECT_EQ(layer["usr/bin/hard-out"].hardlink, "");
  EXPECT_EQ(layer["usr/bin/hard-out"].data, "HARD-LINKED");
  // Links within the layer name an earlier entry of it.
  const auto& a = layer["usr/bin/tool"];
  const auto& b = layer["usr/bin/tool-again"];
  EXPECT_TRUE((a.hardlink == "usr/bin/tool-again" && b.data == "#!/bin/sh\n") ||
              (b.hardlink == "usr/bin/tool" && a.data == "#!/bin/sh\n"))
      << a.hardlink << " / " << b.hardlink;
  EXPECT_TRUE(layer.count("etc/.wh.gone")) << "the whiteout as an OCI whiteout";
  EXPECT_FALSE(layer.count("etc/gone"));
  EXPECT_TRUE(layer.count("opt/opaque/.wh..wh..opq"));
  EXPECT_EQ(layer["usr/lib/fifo"].type, AE_IFIFO);
  EXPECT_FALSE(layer.count("etc/null")) << "device nodes are left out";
}

// The archive is what both runtimes load: an OCI layout naming the image, docker's manifest.json,
// the config with the base's layers, its environment and the labels, and no blob but the layer's.
TEST_F(LayerOnImageTest, ArchiveNamesTheBaseLayersAndCarriesOnlyTheNewOne) {
  Tar outer, layer;
  exportAndRead(outer, layer);
  if (HasFatalFailure()) return;
  json index = json::parse(outer["index.json"].data);
  EXPECT_EQ(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], in_.reference);
  json docker = json::parse(outer["manifest.json"].data);
  EXPECT_EQ(docker[0]["RepoTags"][0], in_.reference);
  ASSERT_EQ(docker[0]["Layers"].size(), 3u);
  EXPECT_EQ(docker[0]["Layers"][0], "blobs/sha256/" + std::string(64, 'a'));
  EXPECT_FALSE(outer.count(docker[0]["Layers"][0].get<std::string>())) << "a base layer was written";
  json config = json::parse(outer[docker[0]["Config"].get<std::string>()].data);
  ASSERT_EQ(config["rootfs"]["diff_ids"].size(), 3u);
  EXPECT_EQ(config["rootfs"]["diff_ids"][1], in_.baseDiffIds[1]);
  EXPECT_EQ(config["history"].size(), 3u);
  EXPECT_EQ(config["config"]["Env"][0], "PATH=/usr/bin");
  EXPECT_EQ(config["config"]["WorkingDir"], "/workspace");
  EXPECT_EQ(config["config"]["Labels"]["coco.base"], "B");
  EXPECT_EQ(config["config"]["Labels"]["coco.tool"], "jq");
  EXPECT_EQ(config["config"]["Labels"]["coco.config-hash"], "H");
  size_t blobs = 0;
  for (const auto& [name, e] : outer) blobs += name.rfind("blobs/sha256/", 0) == 0 && e.type == AE_IFREG;
  EXPECT_EQ(blobs, 3u) << "the layer, the config and the manifest";
  EXPECT_EQ(layer["usr/bin/tool"].data, "#!/bin/sh\n");
}

TEST_F(LayerOnImageTest, RefusesAnExistingFileAndABadConfig) {
  std::string file = tmp_.path() + "/exists.tar";
  ASSERT_TRUE(fs::writeFileAtomic(file, "x").ok());
  EXPECT_FALSE(exportLayerOnImage(in_, file).ok());
  in_.baseConfig = "[1, 2]";
  auto st = exportLayerOnImage(in_, tmp_.path() + "/bad.tar");
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(fs::exists(tmp_.path() + "/bad.tar"));
}

}  // namespace
}  // namespace coco::image
