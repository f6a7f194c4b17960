// Refusing writable mounts of home (or above it) that the user has not confirmed.
#include "tool/home_guard.hpp"

#include <cerrno>

#include "config/paths.hpp"
#include "util/fs.hpp"

namespace coco::tool {

bool exposesHome(const std::string& physical, const std::string& home) {
  if (physical == "/") return true;
  if (home.empty()) return false;
  return fs::isAtOrBelow(physicalPath(home), physical) || fs::isAtOrBelow(fs::normalize(home), physical);
}

Status checkWritableHome(const config::ToolConfig& config, const GrantContext& ctx,
                         const HomeGuardOptions& options) {
  if (options.allowed || config.allowHome) return {};
  for (const auto& m : config.mounts) {
    if (m.readOnly) continue;
    std::string physical = physicalPathIn(ctx, config::expandSource(m.src, ctx.cwd, ctx.home));
    if (!exposesHome(physical, ctx.home)) continue;
    std::string what = physical == "/"                              ? "the whole host file system"
                       : physical == physicalPathIn(ctx, ctx.home) ? "your home directory"
                                                                    : "a directory above your home";
    std::string reached = m.src == "." ? fmt::format("'.' is {} because coco runs from there", physical)
                                       : fmt::format("{} is {}", m.src, physical);
    std::string allow = options.flagTaken
                            ? fmt::format(
                                  "run 'coco run --allow-home {} ...' to allow it once, or set "
                                  "'allow_home: true' in {} to allow it always",
                                  config.name, config.path)
                            : fmt::format(
                                  "set 'allow_home: true' in {} to allow it (a tool started through "
                                  "its link takes no coco options; 'coco run --allow-home {} ...' "
                                  "allows it once)",
                                  config.path, config.name);
    return Error::withErrno(
        EACCES,
        fmt::format("{}: mount {} -> {} is writable and exposes {} ({}): every file you own, your keys, "
                    "your shell's startup files and coco's own configs, writable by the tool; refused. "
                    "Run the tool from a project directory, or {}",
                    config.path, m.src, m.dst, what, reached, allow));
  }
  return {};
}

}  // namespace coco::tool
