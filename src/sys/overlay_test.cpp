#include "sys/overlay.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "util/temp_dir.hpp"
#include "util/unique_fd.hpp"

namespace coco::sys {
namespace {

TEST(Overlay, WhiteoutIsTheZeroZeroCharDevice) {
  struct stat st = {};
  st.st_mode = S_IFCHR;
  st.st_rdev = 0;
  EXPECT_TRUE(isWhiteout(st));
  st.st_rdev = ::makedev(1, 3);  // /dev/null
  EXPECT_FALSE(isWhiteout(st));
  st.st_mode = S_IFREG;
  st.st_rdev = 0;
  EXPECT_FALSE(isWhiteout(st));
}

// mknod of a 0/0 device and user.* xattrs need a file system and a user that
// allow them (tmpfs in a user namespace does); the layer code runs there.
TEST(Overlay, MakesWhatItRecognises) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  UniqueFd fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_FALSE(isOpaqueDir(fd.get()));
  int rc = makeOpaque(fd.get());
  if (rc == -ENOTSUP || rc == -EPERM) GTEST_SKIP() << "no user xattrs on /tmp here";
  ASSERT_EQ(rc, 0);
  EXPECT_TRUE(isOpaqueDir(fd.get()));
  // The kernel reads exactly "y"; anything else is not opaque.
  ASSERT_EQ(::fsetxattr(fd.get(), kOpaqueXattr, "yes", 3, 0), 0);
  EXPECT_FALSE(isOpaqueDir(fd.get()));
  rc = makeWhiteout(fd.get(), "gone");
  if (rc == -EPERM) return;  // mknod of a device needs CAP_MKNOD in the file system's user namespace
  ASSERT_EQ(rc, 0);
  struct stat st;
  ASSERT_EQ(::fstatat(fd.get(), "gone", &st, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_TRUE(isWhiteout(st));
}

TEST(Overlay, ArchiveNames) {
  EXPECT_EQ(kOpaqueMarker.substr(0, kAufsMetaPrefix.size()), kAufsMetaPrefix);
  EXPECT_EQ(kAufsMetaPrefix.substr(0, kWhiteoutPrefix.size()), kWhiteoutPrefix);
}

}  // namespace
}  // namespace coco::sys
