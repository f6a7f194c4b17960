// Install-phase sandboxes: the io directory, the CA bundle, the log, and a clean layer afterwards.
#include "tool/install_sandbox.hpp"

#include <pthread.h>
#include <signal.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <fstream>

#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

namespace coco::tool {

namespace {

// Without a terminal log (COCO_DEBUG) the install's chatter goes to io/log, so
// coco's own progress lines stay readable.
constexpr const char* kQuietWrapper = "exec >/.coco/log 2>&1; exec /bin/sh -eu /.coco/install.sh";

bool isOpaqueDir(const std::string& path) {
  char v[2] = {};
  return ::lgetxattr(path.c_str(), "user.overlay.opaque", v, sizeof v) > 0 && v[0] == 'y';
}

// A bind mount's target is created in the writable layer when the image lacks
// it; an empty leftover (and the empty parents made for it) is not the install's.
void removeMountTarget(const std::string& layerDir, const std::string& dst) {
  std::string rel = fs::normalize(dst);
  while (rel.size() > 1) {
    std::string path = layerDir + rel;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) break;
    bool emptyFile = S_ISREG(st.st_mode) && st.st_size == 0;
    if (S_ISDIR(st.st_mode) && (isOpaqueDir(path) || ::rmdir(path.c_str()) != 0)) break;
    if (emptyFile && ::unlink(path.c_str()) != 0) break;
    if (!S_ISDIR(st.st_mode) && !emptyFile) break;
    rel = rel.substr(0, rel.rfind('/'));
    if (rel.empty()) break;
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
  haveCa = false;
  if (auto ca = fs::readFile(kHostCaBundle)) {
    COCO_TRY(fs::writeFileAtomic(fs::joinPath(io, "ca-certificates.crt"), *ca, 0644));
    haveCa = true;
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
  spec.seccompProfile = job.seccompProfile;
  spec.guard.enabled = false;
  spec.hostname = "coco-install";
  return spec;
}

// The last non-empty line of a growing log (its final 4 KiB).
std::string lastLine(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  off_t from = size > 4096 ? size - 4096 : 0;
  char buf[4096];
  ssize_t n = ::pread(fd.get(), buf, sizeof buf, from);
  if (n <= 0) return {};
  std::string text(buf, static_cast<size_t>(n));
  size_t end = text.find_last_not_of(" \r\n\t");
  if (end == std::string::npos) return {};
  size_t start = text.find_last_of("\r\n", end);
  start = start == std::string::npos ? 0 : start + 1;
  std::string line = text.substr(start, end + 1 - start);
  return line.size() > 100 ? line.substr(0, 100) + "..." : line;
}

// While an install runs with its output in a log, one line every few seconds
// says what it is doing, so a long first run does not look stuck.
class LogHeartbeat {
 public:
  LogHeartbeat(std::string path, std::string name, image::ProgressFn progress)
      : path_(std::move(path)), name_(std::move(name)), progress_(std::move(progress)) {
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
    std::string shown;
    std::unique_lock<std::mutex> lock(mutex_);
    while (!cv_.wait_for(lock, std::chrono::seconds(10), [this] { return stop_; })) {
      std::string line = lastLine(path_);
      if (line.empty() || line == shown) continue;
      shown = line;
      progress_({image::ProgressEvent::Kind::Step, "", fmt::format("  {}: {}", name_, line), 0, 0});
    }
  }

  std::string path_, name_;
  image::ProgressFn progress_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::vector<std::pair<std::string, std::string>> caBundleEnv(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> env;
  for (const char* name : {"SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "PIP_CERT",
                           "CARGO_HTTP_CAINFO", "GIT_SSL_CAINFO", "CURL_CA_BUNDLE"})
    env.emplace_back(name, path);
  return env;
}

std::string tailOfFile(const std::string& path, size_t count) {
  std::ifstream in(path);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(line.size() > 300 ? line.substr(0, 300) + "..." : line);
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
  if (job.progress) job.progress({image::ProgressEvent::Kind::Step, "", job.title, 0, 0});
  std::string ioLog = fs::joinPath(r.ioDir, "log");
  Result<int> status = 0;
  {
    LogHeartbeat heartbeat(ioLog, job.name.empty() ? job.title : job.name, job.progress);
    status = job.run(installSpec(job, r.layerDir, r.ioDir, haveCa));
  }
  if (!job.logPath.empty() && fs::exists(ioLog)) {
    (void)fs::makeDirs(job.logPath.substr(0, job.logPath.rfind('/')), 0700);
    if (::rename(ioLog.c_str(), job.logPath.c_str()) != 0) log::debug("keeping {}: {}", ioLog, std::strerror(errno));
  }
  if (!status) return std::move(status).error().wrap(job.title);
  // Ctrl-C or a TERM reached the install (coco forwards them): say so, and exit as interrupted.
  if (*status == 128 + SIGINT || *status == 128 + SIGTERM || *status == 128 + SIGHUP)
    return Error::make("{} was interrupted ({}); nothing of it was kept, the next run installs again", job.title,
                       sigabbrev_np(*status - 128))
        .withExitCode(*status);
  if (*status != 0) {
    std::string tail = tailOfFile(job.logPath, 15);
    bool full = tail.find("ENOSPC") != std::string::npos || tail.find("No space left") != std::string::npos ||
                tail.find("no space left") != std::string::npos;
    return Error::make("{} failed (exit status {}{}); the last lines of {}:{}", job.title, *status,
                       full ? fmt::format("; out of disk space in {}", job.workDir.substr(0, job.workDir.rfind('/')))
                            : std::string(),
                       job.logPath, tail);
  }
  removeMountTarget(r.layerDir, kIoDir);
  for (const auto& m : job.mounts) removeMountTarget(r.layerDir, m.dst);
  return r;
}

}  // namespace coco::tool
