// Unit tests for layer unpacking: good layers, whiteouts, and malicious archives
// that must be refused without writing outside the layer.
#include "image/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "image/progress.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace coco::image {
namespace {

struct Entry {
  Entry(std::string n, mode_t t = AE_IFREG, std::string d = "", std::string l = "", mode_t p = 0644)
      : name(std::move(n)), type(t), data(std::move(d)), link(std::move(l)), perm(p) {}
  std::string name;
  mode_t type;
  std::string data;  // file content, or the symlink target
  std::string link;  // hardlink target
  mode_t perm;
  unsigned owner = 0;  // uid and gid
};

class UnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    base_ = tmp_.path();
    layer_ = base_ + "/store/layer";
    outside_ = base_ + "/outside";
    ASSERT_TRUE(fs::makeDirs(layer_).ok());
    ASSERT_TRUE(fs::makeDirs(outside_).ok());
    ASSERT_TRUE(fs::writeFileAtomic(outside_ + "/victim", "original").ok());
  }

  std::string writeTar(const std::vector<Entry>& entries, bool gzip = false) {
    std::string path = base_ + "/layer.tar" + (gzip ? ".gz" : "");
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gzip) archive_write_add_filter_gzip(a);
    archive_write_open_filename(a, path.c_str());
    for (const auto& e : entries) {
      struct archive_entry* ae = archive_entry_new();
      archive_entry_set_pathname(ae, e.name.c_str());
      archive_entry_set_filetype(ae, e.type);
      archive_entry_set_perm(ae, e.perm);
      archive_entry_set_uid(ae, e.owner);
      archive_entry_set_gid(ae, e.owner);
      if (e.type == AE_IFLNK) archive_entry_set_symlink(ae, e.data.c_str());
      if (!e.link.empty()) archive_entry_set_hardlink(ae, e.link.c_str());
      if (e.type == AE_IFCHR) archive_entry_set_rdev(ae, makedev(1, 3));
      bool hasData = e.type == AE_IFREG && !e.data.empty();
      archive_entry_set_size(ae, hasData ? static_cast<la_int64_t>(e.data.size()) : 0);
      archive_write_header(a, ae);
      if (hasData) archive_write_data(a, e.data.data(), e.data.size());
      archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
    return path;
  }

  Status unpack(const std::vector<Entry>& entries, bool gzip = false) {
    UnpackOptions o;
    return unpackArchive(writeTar(entries, gzip), layer_, o);
  }

  // Nothing outside the layer changed.
  void expectOutsideUntouched() {
    auto victim = fs::readFile(outside_ + "/victim");
    ASSERT_TRUE(victim.ok());
    EXPECT_EQ(*victim, "original");
    for (auto dir : {base_, outside_}) {
      EXPECT_FALSE(fs::exists(dir + "/evil")) << dir;
    }
    EXPECT_FALSE(fs::exists("/evil-coco-test"));
  }

  TempDir tmp_{"coco-unpack-test"};
  std::string base_, layer_, outside_;
};

TEST_F(UnpackTest, ExtractsFilesDirsLinks) {
  auto st = unpack({{"./usr/", AE_IFDIR, "", "", 0755},
                    {"./usr/bin/", AE_IFDIR, "", "", 0755},
                    {"./usr/bin/tool", AE_IFREG, "#!/bin/sh\n", "", 0755},
                    {"./usr/bin/alias", AE_IFLNK, "tool"},
                    {"./usr/bin/hard", AE_IFREG, "", "usr/bin/tool"},
                    {"etc/abs-link", AE_IFLNK, "/usr/bin/tool"},
                    {"dev/null", AE_IFCHR}},
                   true);
  ASSERT_TRUE(st.ok()) << st.error().describe();
  EXPECT_EQ(*fs::readFile(layer_ + "/usr/bin/tool"), "#!/bin/sh\n");
  struct stat a, b;
  ASSERT_EQ(::stat((layer_ + "/usr/bin/tool").c_str(), &a), 0);
  ASSERT_EQ(::stat((layer_ + "/usr/bin/hard").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode & 07777, 0755u);
  char target[64] = {};
  ASSERT_GT(::readlink((layer_ + "/etc/abs-link").c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "/usr/bin/tool");  // absolute symlinks are fine: they resolve inside the sandbox
  EXPECT_FALSE(fs::exists(layer_ + "/dev/null"));  // device nodes are skipped
}

TEST_F(UnpackTest, WhiteoutsBecomeOverlayWhiteouts) {
  auto st = unpack({{"etc/", AE_IFDIR, "", "", 0755},
                    {"etc/.wh.gone", AE_IFREG},
                    {"opaque/", AE_IFDIR, "", "", 0755},
                    {"opaque/.wh..wh..opq", AE_IFREG},
                    {"opaque/kept", AE_IFREG, "x"},
                    {"new/deep/.wh.old", AE_IFREG}});
  ASSERT_TRUE(st.ok()) << st.error().describe();
  struct stat s;
  ASSERT_EQ(::lstat((layer_ + "/etc/gone").c_str(), &s), 0);
  EXPECT_TRUE(S_ISCHR(s.st_mode));
  EXPECT_EQ(s.st_rdev, makedev(0, 0));
  EXPECT_FALSE(fs::exists(layer_ + "/etc/.wh.gone"));
  char value[4] = {};
  EXPECT_EQ(::getxattr((layer_ + "/opaque").c_str(), "user.overlay.opaque", value, sizeof value), 1);
  EXPECT_EQ(value[0], 'y');
  EXPECT_FALSE(fs::exists(layer_ + "/opaque/.wh..wh..opq"));
  EXPECT_TRUE(fs::exists(layer_ + "/opaque/kept"));
  ASSERT_EQ(::lstat((layer_ + "/new/deep/old").c_str(), &s), 0);
  EXPECT_TRUE(S_ISCHR(s.st_mode));
}

TEST_F(UnpackTest, PlainModeKeepsWhiteoutNames) {
  UnpackOptions o;
  o.whiteouts = false;
  ASSERT_TRUE(unpackArchive(writeTar({{".wh.file", AE_IFREG, "x"}}), layer_, o).ok());
  EXPECT_TRUE(fs::exists(layer_ + "/.wh.file"));
}

TEST_F(UnpackTest, RefusesDotDot) {
  auto st = unpack({{"ok", AE_IFREG, "x"}, {"../outside/evil", AE_IFREG, "pwned"}});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("../outside/evil"), std::string::npos) << st.error().message();
  EXPECT_FALSE(fs::exists(outside_ + "/evil"));
  expectOutsideUntouched();
}

TEST_F(UnpackTest, RefusesAbsolutePaths) {
  auto st = unpack({{"/evil-coco-test", AE_IFREG, "pwned"}});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("/evil-coco-test"), std::string::npos);
  expectOutsideUntouched();
}

TEST_F(UnpackTest, RefusesWritingThroughSymlinkToRoot) {
  auto st = unpack({{"root", AE_IFLNK, "/"}, {"root/evil-coco-test", AE_IFREG, "pwned"}});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("root/evil-coco-test"), std::string::npos) << st.error().message();
  expectOutsideUntouched();
}

TEST_F(UnpackTest, RefusesWritingThroughRelativeSymlinkOut) {
  auto st = unpack({{"up", AE_IFLNK, "../../outside"}, {"up/victim", AE_IFREG, "pwned"}});
  ASSERT_FALSE(st.ok());
  expectOutsideUntouched();
}

TEST_F(UnpackTest, RefusesHardlinkToHostFile) {
  auto abs = unpack({{"passwd", AE_IFREG, "", outside_ + "/victim"}});
  ASSERT_FALSE(abs.ok());
  EXPECT_NE(abs.error().message().find("passwd"), std::string::npos);
  auto rel = unpack({{"victim", AE_IFREG, "", "../../outside/victim"}});
  ASSERT_FALSE(rel.ok());
  auto viaLink = unpack({{"out", AE_IFLNK, outside_}, {"h", AE_IFREG, "", "out/victim"}});
  ASSERT_FALSE(viaLink.ok());
  struct stat s;
  ASSERT_EQ(::stat((outside_ + "/victim").c_str(), &s), 0);
  EXPECT_EQ(s.st_nlink, 1u);
  expectOutsideUntouched();
}

TEST_F(UnpackTest, HardlinkToSymlinkWithDataDoesNotWriteOutside) {
  auto st = unpack({{"s", AE_IFLNK, outside_ + "/victim"}, {"h", AE_IFREG, "pwned", "s"}});
  (void)st;  // refusing or linking the symlink itself are both fine; writing through is not
  expectOutsideUntouched();
}

TEST_F(UnpackTest, RefusesWhiteoutThroughSymlink) {
  auto st = unpack({{"out", AE_IFLNK, outside_}, {"out/.wh.victim", AE_IFREG}});
  ASSERT_FALSE(st.ok());
  expectOutsideUntouched();
}

// F1: the whiteout's parent directories were made with mkdirat(root, "a/b/..."),
// which follows a symlink the layer planted in any but the last component.
TEST_F(UnpackTest, WhiteoutParentsAreNotCreatedThroughSymlinks) {
  for (const std::string& target : {std::string("../../outside"), outside_}) {
    for (const char* marker : {"out/planted/deeper/.wh.x", "out/planted/.wh..wh..opq"}) {
      ASSERT_TRUE(fs::removeTree(layer_).ok());
      ASSERT_TRUE(fs::makeDirs(layer_).ok());
      auto st = unpack({{"out", AE_IFLNK, target}, {marker, AE_IFREG}});
      EXPECT_FALSE(st.ok()) << target << " " << marker;
      EXPECT_FALSE(fs::exists(outside_ + "/planted")) << target << " " << marker;
      expectOutsideUntouched();
    }
  }
}

// The first block of a GNU tar of one file whose name is over 100 characters:
// the "././@LongLink" header announcing the name, and then nothing.
std::string gnuLongNameHeaderOnly() {
  std::string b(512, '\0');
  auto put = [&](size_t offset, std::string_view v) { std::copy(v.begin(), v.end(), b.begin() + offset); };
  put(0, "././@LongLink");
  put(100, "0000644");
  put(108, "0000000");
  put(116, "0000000");
  put(124, "00000000227");  // 151 bytes of name, octal
  put(136, "00000000000");
  put(148, "        ");
  b[156] = 'L';
  put(257, "ustar  ");
  unsigned sum = 0;
  for (unsigned char c : b) sum += c;
  put(148, fmt::format("{:06o}", sum));
  b[154] = '\0';
  return b;
}

// F2: libarchive sets no error message for a long-name header without its
// body; formatting the null string threw past every handler (std::terminate).
TEST_F(UnpackTest, TruncatedLongNameHeaderIsAnError) {
  std::string path = base_ + "/long.tar";
  ASSERT_TRUE(fs::writeFileAtomic(path, gnuLongNameHeaderOnly()).ok());
  auto st = unpackArchive(path, layer_, UnpackOptions{});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("long.tar"), std::string::npos) << st.error().message();
}

TEST_F(UnpackTest, UnpacksInsideUserNamespace) {
  engine::IdMapPlan single;
  single.uid = ::getuid();
  single.gid = ::getgid();
  std::string tar = writeTar({{"etc/", AE_IFDIR}, {"etc/.wh.gone", AE_IFREG}, {"etc/file", AE_IFREG, "x"}});
  auto st = unpackLayer(single, tar, layer_);
  ASSERT_TRUE(st.ok()) << st.error().describe();
  struct stat s;
  ASSERT_EQ(::lstat((layer_ + "/etc/file").c_str(), &s), 0);
  EXPECT_EQ(s.st_uid, ::getuid());
  ASSERT_EQ(::lstat((layer_ + "/etc/gone").c_str(), &s), 0);
  EXPECT_TRUE(S_ISCHR(s.st_mode));
  auto bad = unpackLayer(single, writeTar({{"../evil", AE_IFREG, "x"}}), layer_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("../evil"), std::string::npos) << bad.error().message();
}

// The sandbox takes the single mapping when newuidmap or newgidmap fails; the
// unpacker must do the same and own every file by 0, as such a sandbox sees
// them (before, the unpack failed instead).
TEST_F(UnpackTest, FailingIdHelpersUnpackWithTheSingleMappingAsTheSandboxRuns) {
  std::string helper = base_ + "/failing-helper";
  ASSERT_TRUE(fs::writeFileAtomic(helper, "#!/bin/sh\nexit 1\n", 0755).ok());
  engine::IdMapPlan plan;
  plan.uid = ::getuid();
  plan.gid = ::getgid();
  plan.subordinate = true;
  plan.uids = plan.gids = {100000, engine::kSubIdCount};
  plan.newuidmap = plan.newgidmap = helper;
  Entry owned("etc/owned", AE_IFREG, "x");
  owned.owner = 100;
  auto st = unpackLayer(plan, writeTar({{"etc/", AE_IFDIR}, owned}), layer_);
  ASSERT_TRUE(st.ok()) << st.error().describe();
  struct stat s;
  ASSERT_EQ(::lstat((layer_ + "/etc/owned").c_str(), &s), 0);
  EXPECT_EQ(s.st_uid, ::getuid());
  EXPECT_EQ(s.st_gid, ::getgid());
}

// An unpack reports how far the child read the archive: counts that never go
// back, of the archive's size, ending at that size; drawn without a terminal
// they are plain lines (no \r, no escape sequence), as downloads' are.
TEST_F(UnpackTest, UnpackLayerReportsBytesUpToTheArchivesSize) {
  engine::IdMapPlan single;
  single.uid = ::getuid();
  single.gid = ::getgid();
  std::string big(32u << 20, '\0');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i / 4096);
  std::string tar = writeTar({{"etc/", AE_IFDIR}, {"etc/big", AE_IFREG, big}});
  struct stat st;
  ASSERT_EQ(::stat(tar.c_str(), &st), 0);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  std::vector<std::pair<uint64_t, uint64_t>> seen;
  std::string plain, live;
  std::chrono::steady_clock::time_point now{};
  auto toLog = statusLineProgress(
      Terminal{false, 0, false, false}, [&](std::string_view t) { plain += t; }, [&] { return now; });
  auto toTty = statusLineProgress(
      Terminal{true, 100, false, false}, [&](std::string_view t) { live += t; }, [&] { return now; });
  for (const auto& p : {toLog, toTty}) p({ProgressEvent::Kind::Step, "", "pulling test", 0, 0, 1, 1});
  auto record = [&](uint64_t done, uint64_t total) {
    seen.emplace_back(done, total);
    now += std::chrono::seconds(3);  // the plain log's 10 s between lines passes too
    for (const auto& p : {toLog, toTty}) p({ProgressEvent::Kind::Bytes, "3f2a1b", "unpacked", done, total});
  };
  auto ok = unpackLayer(single, tar, layer_, true, record, std::chrono::milliseconds(1));
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  ASSERT_GE(seen.size(), 2u);
  bool between = false;
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].second, size) << i;
    if (i > 0) {
      EXPECT_GE(seen[i].first, seen[i - 1].first) << i;
    }
    between = between || (seen[i].first > 0 && seen[i].first < size);
  }
  EXPECT_TRUE(between) << "no count between 0 and the size in " << seen.size() << " reports";
  EXPECT_EQ(seen.back().first, size);
  ASSERT_EQ(::lstat((layer_ + "/etc/big").c_str(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), big.size());
  EXPECT_EQ(plain.find('\r'), std::string::npos) << plain;
  EXPECT_EQ(plain.find('\033'), std::string::npos) << plain;
  EXPECT_NE(plain.find("3f2a1b unpacked "), std::string::npos) << plain;
  EXPECT_NE(live.find("\r\033[Kcoco: [1/1] 0:"), std::string::npos) << live;
  EXPECT_NE(live.find("3f2a1b unpacked "), std::string::npos) << live;
  // A refused archive does not report itself complete.
  seen.clear();
  std::string empty = base_ + "/fresh";
  ASSERT_TRUE(fs::makeDirs(empty).ok());
  auto bad = unpackLayer(single, writeTar({{"../evil", AE_IFREG, "x"}}), empty, true,
                         [&](uint64_t done, uint64_t total) { seen.emplace_back(done, total); });
  ASSERT_FALSE(bad.ok());
  for (const auto& [done, total] : seen) EXPECT_LT(done, total);
}

TEST_F(UnpackTest, RefusesCorruptArchive) {
  std::string path = base_ + "/bad.tar.gz";
  ASSERT_TRUE(fs::writeFileAtomic(path, std::string("\x1f\x8b\x08\x00garbage", 12)).ok());
  EXPECT_FALSE(unpackArchive(path, layer_, UnpackOptions{}).ok());
}

}  // namespace
}  // namespace coco::image
