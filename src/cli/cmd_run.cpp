// `coco run [--dry-run] <tool> [args...]` and symlink invocation.
#include <cstdlib>

#include "backend/backend.hpp"
#include "cli/context.hpp"
#include "cli/cmd_image.hpp"
#include "config/loader.hpp"
#include "engine/landlock.hpp"
#include "image/image.hpp"
#include "tool/plan.hpp"

namespace coco::cli {

namespace {

std::string envOr(const char* name, std::string fallback = {}) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// The native runtime needs an unpacked image; podman and docker bring their own,
// so for them only the reference is passed on.
// A dry run plans without building the default image.
Result<image::Image> chooseImage(std::string_view runtime, bool dryRun) {
  std::string ref = envOr("COCO_IMAGE");
  if (runtime == "podman" || runtime == "docker") {
    if (ref.empty()) ref = backend::kDefaultContainerImage;
    return image::Image{ref, {}, {}, ""};
  }
  if (ref.empty()) return defaultNativeImage(!dryRun);
  return image::resolve(ref);
}

bool isNative(std::string_view runtime) { return runtime != "podman" && runtime != "docker"; }

// `run`'s own options stop at the tool name: everything after it is the tool's,
// even `--help`, so this is a loop rather than a CLI11 parser.
struct RunArgs {
  bool dryRun = false;
  bool help = false;
  std::string tool;
  Args toolArgs;
};

Result<RunArgs> parseRunArgs(const Args& args) {
  RunArgs r;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.empty() || a[0] != '-') break;
    if (a == "--dry-run") r.dryRun = true;
    else if (a == "-h" || a == "--help") r.help = true;
    else return Error::make("run: unknown option '{}'", a);
  }
  if (i < args.size()) r.tool = args[i++];
  r.toolArgs.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  if (r.tool.empty() && !r.help) return Error::make("run: missing tool name");
  return r;
}

constexpr const char* kRunUsage =
    "Usage: coco run [--dry-run] <tool> [args...]\n"
    "\n"
    "Runs a configured tool in its sandbox; args are passed to it unchanged.\n"
    "  --dry-run   print the resolved run plan as JSON instead of running\n";

}  // namespace

int runTool(Context& ctx, const std::string& name, const Args& toolArgs, bool dryRun) {
  std::string listHint = fmt::format("'coco list' shows configured tools; 'coco get {}' fetches a config from the store",
                                     config::isValidToolName(name) ? name : "NAME");
  if (!config::isValidToolName(name)) return ctx.fail(fmt::format("'{}' is not a valid tool name", name), listHint);
  auto paths = ctx.paths();
  if (!paths) return ctx.fail(paths.error());
  auto config = config::loadTool(*paths, name);
  if (!config) return ctx.fail(config.error(), listHint);

  std::string runtime = envOr("COCO_RUNTIME", "native");
  auto backend = backend::makeBackend(runtime, {envOr("COCO_IMAGE"), config->podmanArgs});
  if (!backend) return ctx.fail(backend.error());
  auto image = chooseImage(runtime, dryRun);
  if (!image) return ctx.fail(image.error());
  auto runCtx = tool::contextFromProcess(*image);
  if (!runCtx) return ctx.fail(runCtx.error());
  runCtx->createSources = !dryRun;
  auto spec = tool::planRun(*config, toolArgs, *runCtx);
  if (!spec) return ctx.fail(spec.error(), fmt::format("check {} ('coco show {}' explains it)", config->path, name));

  if (dryRun) {
    // Landlock is the native runtime's; podman and docker apply none of coco's.
    ctx.out << tool::planToJson(*spec, image->reference, isNative(runtime) ? engine::landlockAbi() : 0);
    return kExitOk;
  }
  // The tool's layer (installed on first run) under the image; podman and docker
  // bring the tool in their own image.
  if (isNative(runtime))
    if (auto st = prepareToolLayer(*spec, *config, *image); !st) {
      ctx.fail(st.error());
      return exitCodeFor(Result<int>(st.error()));  // 130 for an install stopped by Ctrl-C
    }
  auto status = (*backend)->run(*spec);
  // 126/127 (cannot invoke, not found) are errors too, but the exit code is the command's.
  if (!status) ctx.fail(status.error().wrap(name));
  return exitCodeFor(status);
}

int cmdRun(Context& ctx, const Args& args) {
  auto parsed = parseRunArgs(args);
  if (!parsed) return ctx.fail(parsed.error(), "'coco run --help' shows its usage");
  if (parsed->help) {
    ctx.out << kRunUsage;
    return kExitOk;
  }
  return runTool(ctx, parsed->tool, parsed->toolArgs, parsed->dryRun);
}

}  // namespace coco::cli
