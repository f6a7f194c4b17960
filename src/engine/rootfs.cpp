// Child-side mount setup with the new mount API (open_tree, fsopen, move_mount,
// mount_setattr): every target is an fd reached without following symlinks, so a
// hostile image cannot redirect a mount outside the new root.
#include "engine/rootfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "engine/child_report.hpp"
#include "sys/beneath.hpp"
#include "sys/io.hpp"
#include "util/trace.hpp"

namespace coco::engine {

namespace {

// podman's masked and read-only /proc paths.
constexpr const char* kMaskedPaths[] = {
    "/proc/acpi",      "/proc/kcore",       "/proc/keys",        "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/proc/interrupts", "/proc/cmdline",  // the host kernel's command line
};
constexpr const char* kReadOnlyPaths[] = {
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};
constexpr const char* kDevices[] = {"null", "zero", "full", "random", "urandom", "tty"};

bool moveOnto(int tree, int target, const char* what) {
  if (::move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    return fail("move_mount", what);
  return true;
}

bool setAttrs(int tree, unsigned attrs, const char* what) {
  struct mount_attr attr = {};
  attr.attr_set = attrs;
  if (::mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
    return fail("mount_setattr", what);
  return true;
}

// Recursive bind of a host path (or an fd with path "") onto target.
bool bindOnto(int srcDir, const char* src, int target, unsigned attrs, const char* what) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | (src[0] ? 0 : AT_EMPTY_PATH);
  int tree = ::open_tree(srcDir, src, flags);
  if (tree < 0) return fail("open_tree", what);
  bool ok = setAttrs(tree, attrs, what) && moveOnto(tree, target, what);
  ::close(tree);
  return ok;
}

// A new file system instance (proc, tmpfs, devpts) mounted onto target.
bool mountNew(const char* type, const char* const* options, int target, unsigned attrs, const char* what) {
  int fsfd = ::fsopen(type, FSOPEN_CLOEXEC);
  if (fsfd < 0) return fail("fsopen", type);
  for (const char* const* o = options; o && o[0]; o += 2) {
    int rc = o[1] ? ::fsconfig(fsfd, FSCONFIG_SET_STRING, o[0], o[1], 0)
                  : ::fsconfig(fsfd, FSCONFIG_SET_FLAG, o[0], nullptr, 0);
    if (rc != 0) {
      ::close(fsfd);
      return fail("fsconfig", o[0]);
    }
  }
  if (::fsconfig(fsfd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    ::close(fsfd);
    return fail("creating a file system of type", type);
  }
  int mnt = ::fsmount(fsfd, FSMOUNT_CLOEXEC, attrs);
  ::close(fsfd);
  if (mnt < 0) return fail("fsmount", what);
  bool ok = moveOnto(mnt, target, what);
  ::close(mnt);
  return ok;
}

bool withTarget(int rootfd, const char* path, bool wantDir, bool create, int& fd) {
  fd = openBeneath(rootfd, path, (wantDir ? sys::kWantDir : 0) | (create ? sys::kCreate : 0));
  if (fd >= 0) return true;
  if (errno == ENOSYS) return fail("openat2 (Linux 5.6 or newer) is needed to open", path);
  return failTarget(errno == ELOOP ? "refusing to mount over a symlink or non-directory at" : "open", path);
}

// A directory of the scratch tmpfs with its mode (mountScratch clears the
// umask, which would trim 1777, while it makes them).
bool makeScratchDir(const char* path, mode_t mode) { return ::mkdir(path, mode) == 0 || fail("mkdir", path); }

// Layers (and a persistent upper's parent) bound under neutral names.
bool bindStaged(const ChildPlan& plan) {
  if (!makeScratchDir("l", 0700)) return false;
  for (const auto& b : plan.stagingBinds) {
    if (!makeScratchDir(b.dst.c_str(), 0700)) return false;
    int tree = ::open_tree(AT_FDCWD, b.src.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0) return fail("open_tree", b.src.c_str());
    bool ok = ::move_mount(tree, "", AT_FDCWD, b.dst.c_str(), MOVE_MOUNT_F_EMPTY_PATH) == 0 ||
              fail("move_mount", b.src.c_str());
    ::close(tree);
    if (!ok) return false;
  }
  return true;
}

// One tmpfs, bounded by the plan's size, holds the overlay's upper (unless it
// is persistent), /tmp and /dev/shm: their total is what the size says.
bool mountScratch(const ChildPlan& plan) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return fail("making / private");
  if (::mount("tmpfs", plan.stagingDir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, plan.scratchOptions.c_str()) != 0)
    return fail("mount tmpfs on", plan.stagingDir.c_str());
  // The overlay's options name paths relative to here.
  if (::chdir(plan.stagingDir.c_str()) != 0) return fail("chdir", plan.stagingDir.c_str());
  mode_t umask = ::umask(0);  // the tool inherits init's: the user's, given back below
  bool ok = makeScratchDir("root", 0755) && makeScratchDir("tmp", 01777) && makeScratchDir("shm", 01777) &&
            bindStaged(plan);
  if (ok && !plan.persistentUpper) ok = makeScratchDir("upper", 0755) && makeScratchDir("work", 0700);
  ::umask(umask);
  if (!ok) return false;
  if (::mount("overlay", "root", "overlay", MS_NOSUID | MS_NODEV, plan.overlayOptions.c_str()) != 0)
    return fail("mounting the overlay root file system (overlayfs with userxattr) with", plan.overlayOptions.c_str());
  return true;
}

// The source of a bind with an anchor: the part below it is resolved without
// following symlinks (a sandbox could have planted them there), here in the
// child too, so nothing can swap one in after the parent checked.
int openSource(const PlannedBind& b) {
  int anchor = ::open(b.anchor.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (anchor < 0) return -1;
  int fd = sys::openat2Beneath(anchor, b.rest.c_str(), O_PATH);
  ::close(anchor);
  if (fd >= 0) return fd;
  errno = -fd;
  return -1;
}

// A workspace-guard pin (workspace_guard.hpp): the entry mounted over itself, or the empty pin
// file over a symlink. Never creates anything: the entry must still be there.
bool mountGuardBind(const ChildPlan& plan, const PlannedBind& b, int rootfd) {
  int target = openBeneath(rootfd, b.dst.c_str(),
                           (b.isDir && b.guard == GuardBind::Self ? sys::kWantDir : 0) |
                               (b.guard == GuardBind::Pin ? sys::kSymlinkOk : 0));
  if (target < 0) return fail("workspace guard: open", b.dst.c_str());
  unsigned attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (b.readOnly ? MOUNT_ATTR_RDONLY : 0);
  bool ok = b.guard == GuardBind::Self
                ? bindOnto(target, "", target, attrs, b.dst.c_str())
                : bindOnto(AT_FDCWD, plan.pinFile.c_str(), target, attrs | MOUNT_ATTR_RDONLY, b.dst.c_str());
  ::close(target);
  return ok;
}

// A learn run's overlay over a read-only mount's source (BindMount::scratch):
// the source, opened as the bind would be, is its lower layer by descriptor.
bool mountLearnOverlay(const PlannedBind& b, int src, int target) {
  if (src == AT_FDCWD) {
    int fd = ::open(b.src.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail("open", b.src.c_str());
    bool ok = mountLearnOverlay(b, fd, target);
    ::close(fd);
    return ok;
  }
  char lower[64];
  std::snprintf(lower, sizeof lower, "/proc/self/fd/%d", src);
  const char* const opts[] = {"lowerdir", lower, "upperdir", b.scratchUpper.c_str(), "workdir",
                              b.scratchWork.c_str(), "userxattr", nullptr, nullptr, nullptr};
  return mountNew("overlay", opts, target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, b.src.c_str());
}

bool makePinFile(const ChildPlan& plan) {
  if (plan.pinFile.empty()) return true;
  int fd = ::open(plan.pinFile.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444);
  if (fd < 0) return fail("create", plan.pinFile.c_str());
  ::close(fd);
  return true;
}

bool mountBinds(const ChildPlan& plan, int rootfd) {
  if (!makePinFile(plan)) return false;
  for (const auto& b : plan.binds) {
    if (b.guard != GuardBind::None) {
      if (!mountGuardBind(plan, b, rootfd)) return false;
      continue;
    }
    int target;
    if (!withTarget(rootfd, b.dst.c_str(), b.isDir, true, target)) return false;
    unsigned attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (b.readOnly ? MOUNT_ATTR_RDONLY : 0);
    int src = AT_FDCWD;
    if (!b.anchor.empty() && (src = openSource(b)) < 0) {
      ::close(target);
      return fail("opening the mount source (no symbolic links below its anchor)", b.src.c_str());
    }
    bool ok = b.scratchUpper.empty() ? bindOnto(src, src == AT_FDCWD ? b.src.c_str() : "", target, attrs, b.src.c_str())
                                     : mountLearnOverlay(b, src, target);
    if (src != AT_FDCWD) ::close(src);
    ::close(target);
    if (!ok) return false;
  }
  for (const auto& dir : plan.mkdirs) {
    int fd;
    if (!withTarget(rootfd, dir.c_str(), true, true, fd)) return false;
    ::close(fd);
  }
  return true;
}

bool maskProc(int rootfd) {
  for (const char* path : kMaskedPaths) {
    int fd = openBeneath(rootfd, path, 0);
    if (fd < 0) continue;  // not on this kernel
    struct stat st;
    bool ok = ::fstat(fd, &st) == 0;
    if (ok && S_ISDIR(st.st_mode)) {
      const char* const opts[] = {"size", "0", nullptr, nullptr};
      ok = mountNew("tmpfs", opts, fd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                    path);
    } else if (ok) {
      ok = bindOnto(AT_FDCWD, "/dev/null", fd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, path);
    }
    ::close(fd);
    if (!ok) return false;
  }
  for (const char* path : kReadOnlyPaths) {
    int fd = openBeneath(rootfd, path, 0);
    if (fd < 0) continue;
    bool ok = bindOnto(fd, "", fd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, path);
    ::close(fd);
    if (!ok) return false;
  }
  return true;
}

bool mountProc(int rootfd) {
  int target;
  if (!withTarget(rootfd, "/proc", true, true, target)) return false;
  bool ok = mountNew("proc", nullptr, target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, "/proc");
  ::close(target);
  trace::point("rootfs-proc");
  ok = ok && maskProc(rootfd);
  trace::point("rootfs-proc-masked");
  return ok;
}

bool populateDev(const ChildPlan& plan, int devfd) {
  char src[32];
  for (const char* dev : kDevices) {
    FixedText(src, sizeof src) << "/dev/" << dev;
    // devfd is the tmpfs mounted just before: empty, so nothing to open beneath; O_EXCL|O_NOFOLLOW all the same.
    int target = ::openat(devfd, dev, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (target < 0) return fail("creating /dev/", dev);
    bool ok = bindOnto(AT_FDCWD, src, target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, src);
    ::close(target);
    if (!ok) return false;
  }
  // `max` 64: every devpts instance draws on one pool for the whole machine (kernel.pty.max less the
  // reserve, 3072 by default); without it one sandbox took them all from other sandboxes, other
  // users' containers and the user's own terminals.
  const char* const ptsOpts[] = {"newinstance", nullptr, "ptmxmode", "0666",  "mode",
                                 "0620",        "max",   "64",       nullptr, nullptr};
  int target = openBeneath(devfd, "pts", sys::kWantDir | sys::kCreate);
  if (target < 0) return fail("creating /dev/", "pts");
  bool ok = mountNew("devpts", ptsOpts, target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "pts");
  ::close(target);
  if (!ok) return false;
  target = openBeneath(devfd, "shm", sys::kWantDir | sys::kCreate);
  if (target < 0) return fail("creating /dev/", "shm");
  ok = bindOnto(AT_FDCWD, plan.scratchShm.c_str(), target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                "/dev/shm");
  ::close(target);
  if (!ok) return false;
  const char* links[][2] = {{"pts/ptmx", "ptmx"},           {"/proc/self/fd", "fd"},
                            {"/proc/self/fd/0", "stdin"},   {"/proc/self/fd/1", "stdout"},
                            {"/proc/self/fd/2", "stderr"},  {"/proc/kcore", "core"}};
  for (const auto& l : links)
    if (::symlinkat(l[0], devfd, l[1]) != 0 && errno != EEXIST) return fail("symlink /dev/", l[1]);
  return true;
}

bool mountDev(const ChildPlan& plan, int rootfd) {
  int target;
  if (!withTarget(rootfd, "/dev", true, true, target)) return false;
  // Its entries bounded as its size is: the tool may create files here, each costing the kernel
  // memory the size does not count.
  const char* const opts[] = {"mode", "0755", "size", "1m", "nr_inodes", "256", nullptr, nullptr};
  bool ok = mountNew("tmpfs", opts, target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "/dev");
  ::close(target);
  if (!ok) return false;
  int devfd = ::openat(rootfd, "dev", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (devfd < 0) return fail("open", "/dev");
  ok = populateDev(plan, devfd);
  ::close(devfd);
  return ok;
}

bool mountTmp(const ChildPlan& plan, int rootfd) {
  int target;
  if (!withTarget(rootfd, "/tmp", true, true, target)) return false;
  bool ok = bindOnto(AT_FDCWD, plan.scratchTmp.c_str(), target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "/tmp");
  ::close(target);
  return ok;
}

// Generated files live in the scratch tmpfs and are bound read-only over the
// image's, so they never land in a persistent layer.
bool installEtcFile(const ChildPlan& plan, int rootfd, const char* name, const std::string& text) {
  char src[PATH_MAX];
  FixedText(src, sizeof src) << plan.stagingDir.c_str() << "/" << name;
  int fd = ::open(src, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0 || sys::writeAll(fd, text.data(), text.size()) != 0) return fail("write", src);
  ::close(fd);
  int etc;
  if (!withTarget(rootfd, "/etc", true, true, etc)) return false;
  int target = openBeneath(etc, name, sys::kCreate);
  if (target < 0 && errno == ELOOP && ::unlinkat(etc, name, 0) == 0) target = openBeneath(etc, name, sys::kCreate);
  ::close(etc);
  if (target < 0) return fail("creating /etc/", name);
  bool ok = bindOnto(AT_FDCWD, src, target, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, name);
  ::close(target);
  return ok;
}

bool pivotInto(const ChildPlan& plan) {
  if (::chdir(plan.rootDir.c_str()) != 0) return fail("chdir", plan.rootDir.c_str());
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return fail("pivot_root into", plan.rootDir.c_str());
  if (::umount2(".", MNT_DETACH) != 0) return fail("detaching the old root");
  if (::chdir("/") != 0) return fail("chdir /");
  return true;
}

}  // namespace

int openBeneath(int rootfd, const char* path, unsigned options) {
  int fd = sys::openPathBeneath(rootfd, path, options);
  if (fd >= 0) return fd;
  errno = -fd;
  return -1;
}

bool setupRootfs(const ChildPlan& plan) {
  if (!mountScratch(plan)) return false;
  trace::point("rootfs-overlay");
  int rootfd = ::open(plan.rootDir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return fail("open", plan.rootDir.c_str());
  // The config's binds come after /proc, /dev and /tmp, so one that lands
  // below them (the X11 socket in /tmp) is not hidden by their new mounts.
  bool ok = mountProc(rootfd) && mountDev(plan, rootfd) && mountTmp(plan, rootfd);
  trace::point("rootfs-dev-tmp");
  ok = ok && mountBinds(plan, rootfd);
  trace::point("rootfs-binds");
  ok = ok && installEtcFile(plan, rootfd, "hostname", plan.hostnameFile) &&
       installEtcFile(plan, rootfd, "hosts", plan.hostsFile) && installEtcFile(plan, rootfd, "resolv.conf", plan.resolvFile);
  ::close(rootfd);
  trace::point("rootfs-etc");
  return ok && pivotInto(plan);
}

}  // namespace coco::engine
