// `coco run [--dry-run] <tool> [args...]` and symlink invocation.
#include <optional>

#include "backend/backend.hpp"
#include "cli/context.hpp"
#include "cli/cmd_image.hpp"
#include "config/loader.hpp"
#include "engine/landlock.hpp"
#include "image/image.hpp"
#include "tool/plan.hpp"

namespace coco::cli {

namespace {

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

  auto runtime = chooseRuntime(dryRun ? ImageUse::DryRun : ImageUse::Run);
  if (!runtime) return ctx.fail(runtime.error());
  auto backend = backend::makeBackend(runtime->name, {runtime->native() ? "" : runtime->image.reference,
                                                      config->podmanArgs});
  if (!backend) return ctx.fail(backend.error());
  auto runCtx = tool::contextFromProcess();
  if (!runCtx) return ctx.fail(runCtx.error());
  runCtx->createSources = !dryRun;
  // The tool's layer (installed on a first run) under the image; a dry run plans
  // without it, and podman and docker bring the tool in their own image.
  std::optional<Error> installError;
  tool::LayerSource layer;
  if (runtime->native() && !dryRun)
    layer = [&]() -> Result<std::optional<tool::ToolLayer>> {
      auto installed = tool::ensureToolLayer(*config, runtime->image, toolLayerOptions());
      if (!installed) installError = installed.error();
      return installed;
    };
  auto spec = tool::prepareRun(*config, toolArgs, *runCtx, runtime->image, layer);
  if (installError) {
    ctx.fail(*installError);
    return exitCodeFor(Result<int>(*installError));  // 130 for an install stopped by Ctrl-C
  }
  if (!spec) return ctx.fail(spec.error(), fmt::format("check {} ('coco show {}' explains it)", config->path, name));

  if (dryRun) {
    // Landlock is the native runtime's; podman and docker apply none of coco's.
    ctx.out << tool::planToJson(*spec, runtime->image.reference, runtime->native() ? engine::landlockAbi() : 0);
    return kExitOk;
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
