// The warnings a run prints once per config change, and the record that remembers them.
#include "cli/run_warnings.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/landlock.hpp"
#include "tool/grants.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"
#include "util/unique_fd.hpp"

namespace coco::cli {

namespace {

constexpr size_t kMaxRecordBytes = 256;

std::string recordPath(const std::string& stateDir, const std::string& tool) {
  return fs::joinPath(stateDir, "warned/" + tool);
}

}  // namespace

std::vector<std::string> configWarnings(const config::ToolConfig& config, const ShowContext& ctx,
                                        bool native) {
  std::vector<std::string> out = sandboxWarnings(config, ctx);
  if (native && !config.podmanArgs.empty())
    out.push_back(
        fmt::format("podman_args ({}) are ignored by the native runtime; they apply only with "
                    "COCO_RUNTIME=podman or docker",
                    fmt::join(config.podmanArgs, " ")));
  for (const auto& m : native ? config.mounts : std::vector<config::MountConfig>{}) {
    if (!m.relabel.empty())
      out.push_back(fmt::format("mount {}: podman's option {} is ignored by the native runtime, which "
                                "relabels and chowns nothing (it maps ids instead)",
                                m.dst, m.relabel));
  }
  return out;
}

ShowContext warningContext(const tool::RunContext& run) {
  ShowContext ctx;
  ctx.cwd = run.cwd;
  ctx.home = run.home;
  if (auto it = run.hostEnv.find("XDG_RUNTIME_DIR"); it != run.hostEnv.end()) ctx.xdgRuntimeDir = it->second;
  ctx.landlockAbi = engine::landlockAbi();
  ctx.cocoDirs = tool::cocoDirs(run.hostEnv, run.home);
  ctx.physical = run.physical;
  return ctx;
}

std::string stateDir(const std::map<std::string, std::string>& env) {
  auto get = [&](const char* name) {
    auto it = env.find(name);
    return it == env.end() || it->second.empty() || it->second.front() != '/' ? std::string() : it->second;
  };
  if (std::string state = get("XDG_STATE_HOME"); !state.empty()) return fs::joinPath(state, "coco");
  if (std::string home = get("HOME"); !home.empty()) return fs::joinPath(home, ".local/state/coco");
  return {};
}

std::string warnedDigest(const config::ToolConfig& config, const std::vector<std::string>& warnings) {
  std::string text = config.hash + "\n";
  for (const auto& w : warnings) text += w + "\n";
  return sha256Hex(text);
}

bool alreadyWarned(const std::string& stateDir, const std::string& tool, const std::string& digest) {
  if (stateDir.empty()) return false;
  UniqueFd fd(::open(recordPath(stateDir, tool).c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return false;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > static_cast<off_t>(kMaxRecordBytes))
    return false;
  char buf[kMaxRecordBytes];
  ssize_t n = ::pread(fd.get(), buf, sizeof buf, 0);
  if (n <= 0) return false;
  std::string got(buf, static_cast<size_t>(n));
  while (!got.empty() && got.back() == '\n') got.pop_back();
  return got == digest;
}

Status rememberWarned(const std::string& stateDir, const std::string& tool, const std::string& digest) {
  if (stateDir.empty()) return Error::make("no state directory (HOME is not an absolute path)");
  COCO_TRY(fs::makeDirs(fs::joinPath(stateDir, "warned"), 0700));
  return fs::writeFileAtomic(recordPath(stateDir, tool), digest + "\n", 0600);
}

void warnOncePerConfig(std::ostream& err, const std::string& stateDir, const config::ToolConfig& config,
                       const std::vector<std::string>& warnings) {
  if (warnings.empty()) return;
  std::string digest = warnedDigest(config, warnings);
  if (alreadyWarned(stateDir, config.name, digest)) return;
  for (const auto& w : warnings) err << "coco: warning: " << w << "\n";
  err << fmt::format("coco: note: these warnings show once per change of {} ('coco show {}' repeats them)\n",
                     config.path, config.name);
  (void)rememberWarned(stateDir, config.name, digest);
}

}  // namespace coco::cli
