// Install-phase sandboxes: the io directory, the CA bundle, the log, and a clean layer afterwards.
#include "tool/install_sandbox.hpp"

#include <pthread.h>
#include <signal.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <sstream>
#include <thread>

#include "image/userns.hpp"
#include "sys/beneath.hpp"
#include "sys/overlay.hpp"
#include "tool/ca_bundle.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/status_line.hpp"
#include "util/terminal_text.hpp"
#include "util/unique_fd.hpp"

namespace coco::tool {

namespace {

// Without a terminal log (COCO_DEBUG) the install's chatter goes to io/log, so
// coco's own progress lines stay readable.
constexpr const char* kQuietWrapper = "exec >/.coco/log 2>&1; exec /bin/sh -eu /.coco/install.sh";

bool isOpaqueDir(int parentFd, const std::string& name) {
  auto dir = sys::openBeneath(parentFd, name, O_RDONLY | O_DIRECTORY);
  return !dir || sys::isOpaqueDir(dir->get());
}

// A bind mount's target is created in the writable layer when the image lacks
// it; an empty leftover (and the empty parents made for it) is not the install's.
// The install wrote the layer: its parents are opened without following
// symlinks, so a planted one cannot point the removal at a host path.
void removeMountTarget(const std::string& layerDir, const std::string& dst) {
  UniqueFd root(::open(layerDir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::string rel = fs::normalize(dst).substr(1);
  while (root && !rel.empty() && rel != ".") {
    size_t slash = rel.rfind('/');
    std::string parentRel = slash == std::string::npos ? "." : rel.substr(0, slash);
    std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
    auto parent = sys::openBeneath(root.get(), parentRel, O_RDONLY | O_DIRECTORY);
    struct stat st;
    if (!parent || ::fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) break;
    bool emptyFile = S_ISREG(st.st_mode) && st.st_size == 0;
    if (S_ISDIR(st.st_mode) &&
        (isOpaqueDir(parent->get(), name) || ::unlinkat(parent->get(), name.c_str(), AT_REMOVEDIR) != 0))
      break;
    if (emptyFile && ::unlinkat(parent->get(), name.c_str(), 0) != 0) break;
    if (!S_ISDIR(st.st_mode) && !emptyFile) break;
    if (slash == std::string::npos) break;
    rel = parentRel;
  }
}

Status writeIoFiles(const InstallJob& job, const std::string& io, bool& haveCa) {
  COCO_TRY(fs::makeDirs(io, 0700));
  COCO_TRY(fs::writeFileAtomic(fs::joinPath(io, "install.sh"), job.script, 0644));
  for (const auto& [name, content] : job.files) {
    std::string path = fs::joinPath(io, name);
    COCO_TRY(fs::makeDirs(path.substr(0, path.rfind('/'))));
    COCO_TRY(fs::writeFileAtomic(path, content, 0644));
  }
  // A copy, not a bind: the install may run update-ca-certificates, and a
  // bound file could not be replaced.
  haveCa = !job.caBundle.empty();
  if (haveCa) {
    COCO_ASSIGN(std::string ca, readCaBundle(job.caBundle));
    COCO_TRY(fs::writeFileAtomic(fs::joinPath(io, "ca-certificates.crt"), ca, 0644));
  }
  return {};
}

engine::RunSpec installSpec(const InstallJob& job, const std::string& layerDir, const std::string& io, bool haveCa) {
  engine::RunSpec spec;
  spec.toolName = job.name.empty() ? job.title : job.name;
  spec.layers = job.layers;
  spec.upperDir = layerDir;
  spec.installPhase = true;
  spec.mounts.push_back({io, kIoDir, false});
  spec.mounts.insert(spec.mounts.end(), job.mounts.begin(), job.mounts.end());
  spec.env = job.env;
  if (haveCa)
    for (auto& kv : caBundleEnv(kIoCaBundle)) spec.env.push_back(std::move(kv));
  if (log::debugEnabled()) spec.argv = {"/bin/sh", "-eu", "/.coco/install.sh"};
  else spec.argv = {"/bin/sh", "-c", kQuietWrapper};
  spec.workdir = "/";
  spec.network = job.network;
  spec.allowedHosts = job.allowedHosts;
  spec.derivedHosts = job.derivedHosts;
  spec.seccompProfile = job.seccompProfile;
  spec.guard.enabled = false;
  spec.hostname = "coco-install";
  spec.limits = job.limits;
  spec.hostSetup = job.hostSetup;
  return spec;
}

// The final `bytes` of a regular file: the install can replace its log with a
// symlink, a fifo or a device while it runs, so it is opened like any result.
std::string tailBytes(int dirFd, const std::string& name, size_t bytes) {
  auto fd = sys::openBeneath(dirFd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  struct stat st;
  if (!fd || ::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  off_t from = st.st_size > static_cast<off_t>(bytes) ? st.st_size - static_cast<off_t>(bytes) : 0;
  std::string text(bytes, '\0');
  ssize_t n = ::pread(fd->get(), text.data(), bytes, from);
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return text;
}

// The tool's first start, in the install's layer but without the io dir, so
// the package code it runs cannot touch what coco reads back; offline, and
// without the capabilities the install kept for apt.
engine::RunSpec smokeStartSpec(const InstallJob& job, const std::string& layerDir, const std::string& checkDir) {
  engine::RunSpec spec;
  spec.toolName = job.name.empty() ? job.title : job.name;
  spec.layers = job.layers;
  spec.upperDir = layerDir;
  spec.mounts = job.mounts;
  spec.mounts.push_back({checkDir, kCheckDir, false});
  spec.env = job.env;
  spec.argv = {"/bin/sh", "-c", job.smokeStart};
  spec.workdir = "/";
  spec.network = NetworkMode::None;
  spec.seccompProfile = job.seccompProfile;
  spec.guard.enabled = false;
  spec.hostname = "coco-install";
  spec.limits = job.limits;  // package code runs here too
  spec.hostSetup = job.hostSetup;
  return spec;
}

// Moves the install's log to where it is kept, if it is still a regular file.
void keepLog(const std::string& ioDir, const std::string& logPath) {
  UniqueFd dirFd(::open(ioDir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  struct stat st;
  if (logPath.empty() || !dirFd || ::fstatat(dirFd.get(), "log", &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  if (!S_ISREG(st.st_mode)) {
    log::warn("the install replaced its log with something that is not a file; not kept");
    ::unlink(logPath.c_str());  // an earlier install's log would pass for this one's
    return;
  }
  (void)fs::makeDirs(logPath.substr(0, logPath.rfind('/')), 0700);
  // rename(2) moves the entry itself and never follows a symlink.
  if (::renameat(dirFd.get(), "log", AT_FDCWD, logPath.c_str()) != 0)
    log::debug("keeping {}/log: {}", ioDir, std::strerror(errno));
}

bool isInterrupted(int status) {
  return status == 128 + SIGINT || status == 128 + SIGTERM || status == 128 + SIGHUP || status == 128 + SIGQUIT;
}

// Ctrl-C or a TERM reached the install (coco forwards them): say so, and exit as interrupted.
Error interrupted(const InstallJob& job, int status) {
  return Error::make("{} was interrupted ({}); nothing of it was kept, the next run installs again",
                     job.title, sigabbrev_np(status - 128))
      .withExitCode(status);
}

// The last non-empty line of a growing log (its final 4 KiB).
std::string lastLine(const std::string& dir, const std::string& name) {
  UniqueFd dirFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dirFd) return {};
  std::string text = tailBytes(dirFd.get(), name, 4096);
  size_t end = text.find_last_not_of(" \r\n\t");
  if (end == std::string::npos) return {};
  size_t start = text.find_last_of("\r\n", end);
  start = start == std::string::npos ? 0 : start + 1;
  return clipToColumns(std::string_view(text).substr(start, end + 1 - start), 300);
}

// While an install runs with its output in a log, the status line shows the
// log's last line (what mise or apt says it is doing), and the elapsed time
// moves every second, so a long first run does not look stuck.
class LogHeartbeat {
 public:
  LogHeartbeat(std::string ioDir, image::ProgressFn progress)
      : ioDir_(std::move(ioDir)), progress_(std::move(progress)) {
    if (progress_ && !log::debugEnabled()) {
      // With every signal blocked, so Ctrl-C reaches the thread that forwards it to the sandbox.
      sigset_t all, old;
      sigfillset(&all);
      pthread_sigmask(SIG_BLOCK, &all, &old);
      thread_ = std::thread([this] { loop(); });
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
  }
  ~LogHeartbeat() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; }))
      progress_({image::ProgressEvent::Kind::Status, "", lastLine(ioDir_, "log")});
  }

  std::string ioDir_;
  image::ProgressFn progress_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// A numbered step of the status line; without job.steps a line that stays.
void beginStep(const InstallJob& job, std::string title, unsigned step) {
  if (job.progress)
    job.progress({image::ProgressEvent::Kind::Step, "", std::move(title), 0, 0, job.steps ? step : 0, job.steps});
}

void endStep(const InstallJob& job, std::string text = "") {
  if (job.progress) job.progress({image::ProgressEvent::Kind::Done, "", std::move(text)});
}

// The tool's start after its install: an install whose tool cannot start
// (a missing install script's binary, a wrong architecture) is no install.
Status startOnce(const InstallJob& job, const InstallResult& r) {
  std::string checkDir = fs::joinPath(job.workDir, "check");
  COCO_TRY(fs::makeDirs(checkDir, 0700));
  beginStep(job,
            fmt::format("starting {} once ({})", job.name.empty() ? job.title : job.name,
                        job.smokeCommand.empty() ? job.smokeStart : job.smokeCommand),
            job.step + 1);
  auto status = job.run(smokeStartSpec(job, r.layerDir, checkDir));
  // The tool wrote this directory: its log is read like the install's (no
  // symlink followed, only the end of a regular file).
  std::string shown = tailOfFile(fs::joinPath(checkDir, "log"), 15);
  if (auto st = image::removeTreeAsOwner(image::hostIdMaps(), checkDir); !st) log::warn("{}", st.error().describe());
  if (!status && isInterrupted(status.error().exitCode())) return interrupted(job, status.error().exitCode());
  if (!status) return std::move(status).error().wrap(job.title + ": starting the tool once");
  if (isInterrupted(*status)) return interrupted(job, *status);
  if (*status == 0) {
    endStep(job);
    return {};
  }
  std::string how = *status == 124 ? fmt::format("did not finish within {} s", kSmokeStartSeconds)
                                   : fmt::format("exited with status {}", *status);
  return Error::make("{} failed: the tool does not start (`{}` {}); nothing of the install was kept. {}{}", job.title,
                     job.smokeCommand.empty() ? job.smokeStart : job.smokeCommand, how,
                     shown.empty() ? "It printed nothing." : "Its output:", shown);
}

}  // namespace

std::string tailOfFile(const std::string& path, size_t count) {
  std::string dir = path.substr(0, path.rfind('/') + 1);
  UniqueFd dirFd(::open(dir.empty() ? "." : dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::string text = dirFd ? tailBytes(dirFd.get(), path.substr(dir.size()), 64 << 10) : std::string();
  std::istringstream in(text);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // The install's output is the tool's: its escapes (OSC 52 writes the clipboard) shown, not sent.
    bool cut = line.size() > 300;
    if (cut) line.resize(300);
    last.push_back(printable(line) + (cut ? "..." : ""));
    if (last.size() > count) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += "\n  " + l;
  return out;
}

Result<InstallResult> runInstall(const InstallJob& job) {
  InstallResult r{fs::joinPath(job.workDir, "layer"), fs::joinPath(job.workDir, "io")};
  bool haveCa = false;
  COCO_TRY(writeIoFiles(job, r.ioDir, haveCa));
  COCO_TRY(fs::makeDirs(r.layerDir, 0755));
  beginStep(job, job.stepTitle.empty() ? job.title : job.stepTitle, job.step);
  Result<int> status = 0;
  {
    LogHeartbeat heartbeat(r.ioDir, job.progress);
    status = job.run(installSpec(job, r.layerDir, r.ioDir, haveCa));
  }
  keepLog(r.ioDir, job.logPath);
  // A stop signal during the sandbox's setup (the engine ends it with 128+N) is an interruption too.
  if (!status && isInterrupted(status.error().exitCode())) return interrupted(job, status.error().exitCode());
  if (!status) return std::move(status).error().wrap(job.title);
  if (isInterrupted(*status)) return interrupted(job, *status);
  if (*status != 0) {
    std::string tail = tailOfFile(job.logPath, 15);
    bool full = tail.find("ENOSPC") != std::string::npos || tail.find("No space left") != std::string::npos ||
                tail.find("no space left") != std::string::npos;
    return Error::make("{} failed (exit status {}{}); the last lines of {}:{}", job.title, *status,
                       full ? fmt::format("; out of disk space in {}", job.workDir.substr(0, job.workDir.rfind('/')))
                            : std::string(),
                       job.logPath, tail);
  }
  endStep(job, job.doneText);
  if (!job.smokeStart.empty()) COCO_TRY(startOnce(job, r));
  removeMountTarget(r.layerDir, kIoDir);
  removeMountTarget(r.layerDir, kCheckDir);
  for (const auto& m : job.mounts) removeMountTarget(r.layerDir, m.dst);
  return r;
}

}  // namespace coco::tool
