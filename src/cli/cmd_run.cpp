// `coco run [--dry-run] <tool> [args...]` and symlink invocation.
#include <limits.h>
#include <unistd.h>

#include <optional>

#include "backend/backend.hpp"
#include "backend/container_image.hpp"
#include "cli/cmd_image.hpp"
#include "cli/context.hpp"
#include "cli/run_warnings.hpp"
#include "config/loader.hpp"
#include "engine/landlock.hpp"
#include "image/image.hpp"
#include "image/storage.hpp"
#include "tool/plan.hpp"
#include "tool/x11.hpp"
#include "util/front.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"
#include "util/trace.hpp"

namespace coco::cli {

Result<int> learnRun(Context& ctx, const config::ToolConfig& config, engine::RunSpec spec);  // cmd_learn.cpp

namespace {

// `run`'s own options stop at the tool name: everything after it is the tool's,
// even `--help`, so this is a loop rather than a CLI11 parser.
struct RunArgs {
  bool dryRun = false;
  bool learn = false;  // --learn
  bool help = false;
  bool allowHome = false;  // --allow-home
  std::string configFile;  // --config FILE
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
    else if (a == "--learn") r.learn = true;
    else if (a == "--allow-home")
      r.allowHome = true;
    else if (isQuietOption(a)) log::setQuiet(true);
    else if (a == "-h" || a == "--help") r.help = true;
    else if (a == "--config" && i + 1 < args.size()) r.configFile = args[++i];
    else if (a.rfind("--config=", 0) == 0) r.configFile = a.substr(9);
    else if (a == "--config") return Error::make("run: --config needs a file");
    else return Error::make("run: unknown option '{}'", a);
  }
  if (i < args.size()) r.tool = args[i++];
  r.toolArgs.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  if (r.tool.empty() && !r.help) return Error::make("run: missing tool name");
  if (r.learn && (r.dryRun || !r.configFile.empty()))
    return Error::make("run: --learn goes with neither --dry-run nor --config (it learns for a configured tool)");
  return r;
}

constexpr const char* kRunUsage =
    "Usage: coco run [--dry-run | --learn] [--allow-home] [--quiet] [--config FILE] <tool> [args...]\n"
    "\n"
    "Runs a configured tool in its sandbox; args are passed to it unchanged.\n"
    "  --dry-run       print the resolved run plan as JSON instead of running\n"
    "  --learn         run with full outbound network, recording every host the tool looks up or\n"
    "                  connects to and every write to a read-only mount (kept apart, discarded);\n"
    "                  then print a suggested config ('coco learn --apply <tool>' writes it)\n"
    "  --allow-home    let a writable mount expose your home directory (or / or a directory above\n"
    "                  home) for this run; without it such a run is refused\n"
    "  -q, --quiet     print only errors and the tool's own output (no install progress)\n"
    "  --config FILE   use this config file (e.g. a CI policy kept in the repository)\n"
    "                  instead of the configured tool; <tool> names it (the default command)\n";

// The config of `name`: the configured tool's, or with --config that file's.
// A --config run keeps its tool layer under a name of its own (NAME+config-HASH
// of the file's path), so a repository's config never replaces the layer of
// the user's tool of the same name.
Result<config::ToolConfig> configFor(Context& ctx, const std::string& name, const std::string& configFile) {
  if (configFile.empty()) {
    COCO_ASSIGN(auto paths, ctx.paths());
    return config::loadTool(paths, name);
  }
  char cwd[PATH_MAX];
  if (configFile[0] != '/' && !::getcwd(cwd, sizeof cwd)) return Error::fromErrno("the current directory");
  std::string path = fs::normalize(configFile[0] == '/' ? configFile : fs::joinPath(cwd, configFile));
  COCO_ASSIGN(config::ToolConfig config, config::loadConfigFileAs(path, name));
  config.name = name + "+config-" + sha256Hex(path).substr(0, 12);  // no libcrypto: the front serves it
  return config;
}

// `coco up` links NAME to coco: started as anything but coco, the run took no coco options.
bool startedThroughLink(const Context& ctx) {
  size_t slash = ctx.argv0.find_last_of('/');
  std::string self = slash == std::string::npos ? ctx.argv0 : ctx.argv0.substr(slash + 1);
  return !self.empty() && self != "coco";
}

// On stderr only, so the tool's stdout stays its own.
void warnBeforeRun(std::ostream& err, const config::ToolConfig& config, const tool::RunContext& run,
                   bool native, bool dryRun) {
  if (::geteuid() == 0)
    err << "coco: warning: coco runs as root: the sandbox's root is the real root (uid 0 is mapped to 0), so "
           "whatever the tool may write it writes as root; run coco as your own user\n";
  // The host's display changes between runs: said every time.
  if (config.x11)
    for (const auto& w : tool::x11Warnings(run.hostEnv, run.home)) err << "coco: warning: " << w << "\n";
  if (dryRun) return;
  auto env = run.hostEnv;
  env["HOME"] = run.home;
  warnOncePerConfig(err, stateDir(env), config, configWarnings(config, warningContext(run), native));
}

// Podman and docker: a tool layer binds cannot show runs in an image of the tool's own, made on
// its first such run (and after a change of its config, base or install) and reused after. A
// failure is kept in `failed`, as an install's is: no hint to check the config.
tool::RunContext::LayerImageFn toolImageMaker(Context& ctx, const Runtime& runtime,
                                              const config::ToolConfig& config,
                                              const image::Image& installBase, std::optional<Error>& failed) {
  return [&ctx, &runtime, &config, &installBase, &failed](const tool::ToolLayer& layer,
                                                          const Error& refused) -> Result<std::string> {
    log::debug("{}'s layer cannot be bound into the container ({}): it goes in an image", config.name,
               refused.describe());
    bool made = false;
    auto reference = [&]() -> Result<std::string> {
      COCO_ASSIGN(auto paths, ctx.paths());
      COCO_ASSIGN(std::string root, image::Storage::defaultRoot());
      COCO_ASSIGN(image::Storage store, image::Storage::open(root));
      return backend::ensureToolImage(
          {runtime.name, runtime.image.reference, backend::nativeBaseId(installBase.layers), config.name,
           config.hash, layer.dir, layer.installed, store.idMap(),
           fs::joinPath(paths.cacheHome, "coco/tool-image")},
          made);
    }();
    if (!reference) failed = reference.error();
    if (made && !log::quietEnabled())
      ctx.err << "coco: " << config.name << " runs in " << runtime.name << "'s image " << *reference
              << " (its install on the base image; binds cannot show it)\n";
    return reference;
  };
}

}  // namespace

int runTool(Context& ctx, const std::string& name, const Args& toolArgs, bool dryRun, const std::string& configFile,
            bool allowHome, bool learn) {
  if (!config::isValidToolName(name))
    return ctx.fail(fmt::format("'{}' is not a valid tool name", name),
                    "'coco list' shows the configured tools");
  auto config = configFor(ctx, name, configFile);
  if (!config) return ctx.fail(config.error());  // the hint of its kind: a near name, the store, the file
  trace::point("config-loaded");

  auto runtime = chooseRuntime(dryRun ? ImageUse::DryRun : ImageUse::Run);
  if (!runtime) return ctx.fail(runtime.error());
  if (learn) front::needFull("learn mode");
  if (learn && !runtime->native())
    return ctx.fail(fmt::format("--learn needs the native runtime (COCO_RUNTIME is {}): only coco's gateway "
                                "sees a tool's lookups and connections",
                                runtime->name));
  auto backend = backend::makeBackend(runtime->name, {runtime->native() ? "" : runtime->image.reference,
                                                      config->podmanArgs, nullptr});
  if (!backend) return ctx.fail(backend.error());
  trace::point("runtime-chosen");
  auto runCtx = tool::contextFromProcess();
  if (!runCtx) return ctx.fail(runCtx.error());
  trace::point("context-read");
  runCtx->createSources = !dryRun;
  runCtx->allowHome = allowHome;
  // A learn run has the full network (tool/learn.hpp), planned as such: the CA bundle comes with it.
  runCtx->allowNetwork = runCtx->allowNetwork || learn;
  runCtx->viaLink = startedThroughLink(ctx);
  // An install starts from coco-full, before the warnings (which it prints): util/front.hpp.
  if (front::active() && runtime->native() && !dryRun) {
    if (tool::needsLayer(*config)) {
      auto status = tool::toolStatus(*config, runtime->image, "");
      if (!status || status->state != tool::ToolState::Installed) front::handOff("installing the tool");
    }
    if (tool::idMapsNeedNameService(*runCtx)) front::handOff("looking the user up");
  }
  warnBeforeRun(ctx.err, *config, *runCtx, runtime->native(), dryRun);
  trace::point("warnings-checked");
  // The tool's layer (installed on a first run) under the image; a dry run plans
  // without it. Podman and docker run coco's native base, imported: the layer is
  // installed on that base as for the native runtime and bound over their image.
  std::optional<Error> installError;
  tool::LayerSource layer;
  image::Image installBase = runtime->image;
  if (!runtime->native() && !dryRun && tool::needsLayer(*config)) {
    auto base = containerToolBase(*runtime);
    if (!base) return ctx.fail(base.error().wrap(fmt::format("installing {} for {}", name, runtime->name)));
    installBase = std::move(*base);
    runCtx->bindLayerOver = installBase.layers;
    runCtx->layerImage = toolImageMaker(ctx, *runtime, *config, installBase, installError);
  }
  if (!dryRun && (runtime->native() || !runCtx->bindLayerOver.empty()))
    layer = [&]() -> Result<std::optional<tool::ToolLayer>> {
      auto installed = tool::ensureToolLayer(*config, installBase, toolLayerOptions());
      if (!installed) installError = installed.error();
      return installed;
    };
  auto spec = tool::prepareRun(*config, toolArgs, *runCtx, runtime->image, layer);
  trace::point("run-prepared");
  if (installError) {
    ctx.fail(*installError);
    return exitCodeFor(Result<int>(*installError));  // 130 for an install stopped by Ctrl-C
  }
  // An error of a known kind (a variable, a file) gets that kind's hint; the
  // plan's other refusals come from what the config asks for.
  if (!spec && spec.error().kind() != ErrorKind::Other) return ctx.fail(spec.error());
  if (!spec)
    return ctx.fail(spec.error(), configFile.empty()
                                      ? fmt::format("check {} ('coco show {}' explains it)", config->path, name)
                                      : fmt::format("check {}", config->path));

  if (dryRun) {
    // Landlock is the native runtime's; podman and docker apply none of coco's.
    ctx.out << tool::planToJson(*spec, runtime->image.reference, runtime->native() ? engine::landlockAbi() : 0);
    return kExitOk;
  }
  front::settle();                      // the run starts: nothing hands over from here (util/front.hpp)
  spec->hostSetup.exitsAfter = !learn;  // only the exit code and messages follow the run
  std::optional<engine::RunSpec> learned;  // learn mode takes the spec; a 127's hint reads it after
  if (learn) learned = *spec;
  auto status = learn ? learnRun(ctx, *config, std::move(*spec)) : (*backend)->run(*spec);
  // 126/127 (cannot invoke, not found) are errors too, but the exit code is the command's.
  if (!status) {
    std::string hint;
    if (status.error().exitCode() == 127) hint = tool::mountHidingPath(*config, learned ? *learned : *spec);
    ctx.fail(status.error().wrap(name), hint);
  }
  return exitCodeFor(status);
}

int cmdRun(Context& ctx, const Args& args) {
  auto parsed = parseRunArgs(args);
  if (!parsed) return ctx.fail(parsed.error(), "'coco run --help' shows its usage");
  if (parsed->help) {
    ctx.out << kRunUsage;
    return kExitOk;
  }
  return runTool(ctx, parsed->tool, parsed->toolArgs, parsed->dryRun, parsed->configFile, parsed->allowHome,
                 parsed->learn);
}

}  // namespace coco::cli
