// The default image, first-run installs, `coco rebuild` and `coco prune`.
#include "cli/cmd_image.hpp"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <memory>

#include <fmt/ranges.h>

#include "backend/backend.hpp"
#include "backend/container_image.hpp"
#include "cli/context.hpp"
#include "cli/parse.hpp"
#include "config/loader.hpp"
#include "image/digest.hpp"
#include "image/export.hpp"
#include "image/image.hpp"
#include "tool/plan.hpp"
#include "util/front.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace coco::cli {

namespace {

std::string envOr(const char* name, std::string fallback = {}) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

tool::SandboxRunner nativeRunner() {
  return [](const engine::RunSpec& spec) -> Result<int> {
    COCO_ASSIGN(auto backend, backend::makeBackend("native"));
    return backend->run(spec);
  };
}

NetworkMode installNetwork() {
  return envOr("COCO_INSTALL_NETWORK") == "host" ? NetworkMode::Host : NetworkMode::Allowlist;
}

std::string installSeccomp() {
  char cwd[PATH_MAX];
  auto path = tool::seccompProfilePath("default", ::getcwd(cwd, sizeof cwd) ? cwd : "/", envOr("HOME", "/"));
  return path ? *path : std::string();
}

std::string humanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

}  // namespace

tool::BaseImageOptions baseImageOptions() {
  tool::BaseImageOptions o;
  o.published = envOr("COCO_BASE_IMAGE");
  o.run = nativeRunner();
  o.network = installNetwork();
  o.seccompProfile = installSeccomp();
  return o;
}

tool::ToolLayerOptions toolLayerOptions() {
  tool::ToolLayerOptions o;
  o.run = nativeRunner();
  o.network = installNetwork();
  o.seccompProfile = installSeccomp();
  return o;
}

Result<Runtime> chooseRuntime(ImageUse use) {
  COCO_ASSIGN(std::string name, backend::runtimeName(envOr("COCO_RUNTIME")));
  std::string ref = envOr("COCO_IMAGE");
  if (name != "native") front::needFull("the " + name + " runtime");
  if (name != "native") {
    if (ref.empty()) ref = backend::kDefaultContainerImage;
    return Runtime{name, image::Image{ref, {}, {}, ""}};
  }
  if (ref.empty()) {
    COCO_ASSIGN(image::Image base, defaultNativeImage(use == ImageUse::Run));
    return Runtime{name, std::move(base)};
  }
  if (use == ImageUse::List) return Runtime{name, image::Image{ref, {}, {}, ""}};
  COCO_ASSIGN(image::Image resolved, image::resolve(ref));
  return Runtime{name, std::move(resolved)};
}

Result<image::Image> defaultNativeImage(bool build) {
  if (build) return tool::ensureBaseImage(baseImageOptions());
  COCO_ASSIGN(auto existing, tool::loadBaseImage(""));
  if (existing) return *existing;
  return image::Image{tool::kBaseImageName, {}, {}, ""};
}

Result<image::Image> containerToolBase(const Runtime& runtime) {
  COCO_ASSIGN(image::Image base, defaultNativeImage(false));
  std::string rebuild = fmt::format("'COCO_RUNTIME={} coco rebuild' imports it", runtime.name);
  if (base.layers.empty())
    return Error::make("there is no native base image to install on ({}'s image is made from it; {})",
                       runtime.name, rebuild);
  COCO_ASSIGN(std::string imported, backend::importedBaseId(runtime.name, runtime.image.reference));
  if (imported != backend::nativeBaseId(base.layers))
    return Error::make("{}'s image {} {} coco's native base image, on which tools are installed; {}",
                       runtime.name, runtime.image.reference,
                       imported.empty() ? "was not imported from" : "was imported from an older", rebuild);
  return base;
}

ToolStateView toolState(const config::Paths& paths, const std::string& name, const Runtime& runtime) {
  auto config = config::loadTool(paths, name);
  if (!config) return {"invalid", "", "invalid config ('coco show " + name + "' explains it)"};
  // Podman and docker run the tool layers coco installs on its native base (containerToolBase).
  image::Image base = runtime.image;
  if (!runtime.native()) {
    auto native = defaultNativeImage(false);
    base = native ? *native : image::Image{};
  }
  auto status = tool::toolStatus(*config, base);
  if (!status) return {"unknown", "", "unknown (" + status.error().describe() + ")"};
  std::string version = status->layer ? status->layer->version : "";
  std::string shown = version.empty() ? "" : " " + version;
  switch (status->state) {
    case tool::ToolState::NotNeeded:
      return {"not-needed", "", "nothing to install"};
    case tool::ToolState::NotInstalled:
      return {"not-installed", "", "not installed"};
    case tool::ToolState::Installed:
      return {"installed", version, "installed" + shown};
    case tool::ToolState::Outdated:
      return {"outdated", version, "outdated (installed" + shown + "; installs again on the next run)"};
  }
  return {"unknown", "", "unknown"};
}

std::string toolStateText(const config::Paths& paths, const std::string& name, const Runtime& runtime) {
  return toolState(paths, name, runtime).text;
}

namespace {

// `coco rebuild` under COCO_RUNTIME=podman or docker: coco's native base (built or pulled first
// when there is none), saved as an OCI layout and imported into the runtime's storage as the
// image runs use. No registry is needed, and both runtimes run what the native one runs.
Status rebuildContainerImage(const Runtime& runtime, Context& ctx) {
  auto options = baseImageOptions();
  COCO_ASSIGN(image::Image base, tool::ensureBaseImage(options));
  COCO_ASSIGN(auto paths, ctx.paths());
  std::string work = fs::joinPath(paths.cacheHome, fmt::format("coco/container-import.{}", ::getpid()));
  (void)fs::removeTree(work);
  COCO_TRY(fs::makeDirs(work, 0700));
  std::string baseId = backend::nativeBaseId(base.layers);
  auto done = [&]() -> Status {
    COCO_TRY(
        image::exportOciLayout(tool::kBaseImageName, fs::joinPath(work, backend::importedBaseDir(baseId)), {}));
    return backend::importBaseImage({runtime.name, runtime.image.reference, work, baseId});
  }();
  (void)fs::removeTree(work);
  COCO_TRY(done);
  if (!log::quietEnabled())
    ctx.out << "built " << runtime.image.reference << " for " << runtime.name << " from " << tool::kBaseImageName
            << " (coco's native base image, imported)\n";
  return {};
}

// Podman and docker: the tools' own images (backend::ensureToolImage) that no current config on
// the runtime's current image uses, or (all) every one. An image a container still runs is kept,
// with the runtime's reason.
void pruneToolImages(Context& ctx, const Runtime& runtime,
                     const std::vector<std::pair<std::string, std::string>>& current, bool all) {
  auto images = backend::listToolImages(runtime.name);
  if (!images) {
    ctx.err << "coco: warning: "
            << images.error().wrap(fmt::format("listing {}'s tool images", runtime.name)).describe() << "\n";
    return;
  }
  auto base = backend::importedBaseId(runtime.name, runtime.image.reference);
  size_t removed = 0;
  for (const auto& image : *images) {
    // An image without a name was replaced by a later one of the same tag (the layer installed again).
    bool inUse = !all && !image.reference.empty() && base && image.baseId == *base &&
                 std::find(current.begin(), current.end(), std::make_pair(image.tool, image.configHash)) !=
                     current.end();
    if (inUse) continue;
    const std::string& name = image.reference.empty() ? image.id : image.reference;
    if (auto st = backend::removeImage(runtime.name, name); !st) {
      ctx.err << "coco: warning: kept " << name << ": " << st.error().describe() << "\n";
      continue;
    }
    ++removed;
  }
  ctx.out << "removed " << runtime.name << " tool images: " << removed << "\n";
}

}  // namespace

int cmdRebuild(Context& ctx, const Args& args) {
  CLI::App app{"Build the base image (Debian + runtime/setup.sh: node, npm, python3, git, mise) from scratch "
               "(with COCO_BASE_IMAGE: pull that published base image again).",
               "coco rebuild"};
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "print only errors (no progress)");
  if (auto code = parseCommand(app, args, ctx)) return *code;
  if (quiet) log::setQuiet(true);
  auto runtime = chooseRuntime(ImageUse::List);
  if (!runtime) return ctx.fail(runtime.error());
  if (!runtime->native()) {
    if (auto st = rebuildContainerImage(*runtime, ctx); !st)
      return ctx.fail(st.error(), fmt::format("'COCO_DEBUG=1 coco rebuild' shows what {} did", runtime->name));
    return kExitOk;
  }
  auto options = baseImageOptions();
  auto image = tool::buildBaseImage(options);
  if (!image)
    return ctx.fail(image.error(), options.published.empty()
                                       ? "'COCO_DEBUG=1 coco rebuild' shows the setup's output as it runs"
                                       : "COCO_BASE_IMAGE names the base image to pull; unset it to build one here");
  if (log::quietEnabled()) return kExitOk;
  auto info = tool::loadBaseInfo("");
  ctx.out << (options.published.empty() ? "built " : "pulled ") << tool::kBaseImageName;
  if (info && *info) {
    ctx.out << " on " << (*info)->from;
    for (const auto& [k, v] : (*info)->versions) ctx.out << ", " << k << " " << v;
  }
  ctx.out << "\ntool layers built on the previous base image are installed again on their next run\n";
  return kExitOk;
}

int cmdSave(Context& ctx, const Args& args) {
  CLI::App app{"Write an image from the store as an OCI image layout (push it with skopeo; pull it elsewhere with "
               "COCO_BASE_IMAGE).",
               "coco save"};
  std::string name = tool::kBaseImageName, dir;
  image::ExportOptions options;
  app.add_option("image", name, "the image to save (default: coco-base)");
  app.add_option("-o,--output", dir, "the directory to create (default: ./NAME.oci)");
  app.add_option("-t,--tag", options.tag, "the tag in the layout's index (default: latest)");
  if (auto code = parseCommand(app, args, ctx)) return *code;
  if (dir.empty()) dir = image::escapeName(name) + ".oci";
  if (name == tool::kBaseImageName) {
    auto base = tool::loadBaseImage("");
    if (!base) return ctx.fail(base.error());
    if (!*base) return ctx.fail("there is no base image to save", "'coco rebuild' builds it");
  }
  if (auto st = image::exportOciLayout(name, dir, options); !st) return ctx.fail(st.error());
  ctx.out << "push it with: skopeo copy oci:" << dir << ":" << options.tag << " docker://REGISTRY/NAME:TAG\n";
  return kExitOk;
}

int cmdPrune(Context& ctx, const Args& args) {
  CLI::App app{
      "Remove coco's download caches and outdated tool layers (under podman or docker also the tools' "
      "images no current config uses); with --all also every tool layer and tool image, the caches tools "
      "keep between runs (`caches`) and unused images.",
      "coco prune"};
  bool all = false;
  app.add_flag("-a,--all", all, "also remove every tool layer, the tools' kept caches and the images no record uses");
  if (auto code = parseCommand(app, args, ctx)) return *code;
  auto caches = tool::removeCaches("");
  if (!caches) return ctx.fail(caches.error());
  ctx.out << "removed download caches: " << humanBytes(*caches) << "\n";
  auto runtime = chooseRuntime(ImageUse::List);
  if (!runtime) return ctx.fail(runtime.error());
  auto paths = ctx.paths();
  if (!paths) return ctx.fail(paths.error());
  std::vector<std::pair<std::string, std::string>> current;
  for (const auto& name : config::listTools(*paths))
    if (auto c = config::loadTool(*paths, name)) current.emplace_back(name, c->hash);
  if (!runtime->native()) pruneToolImages(ctx, *runtime, current, all);
  if (!all) {
    // Layers of configs that changed or were removed are no use to anyone.
    auto stale = tool::removeToolLayers("", current, true);
    if (!stale) return ctx.fail(stale.error());
    ctx.out << "removed outdated tool layers: " << humanBytes(*stale) << "\n";
    return kExitOk;
  }
  auto layers = tool::removeToolLayers("", {}, false);
  if (!layers) return ctx.fail(layers.error());
  ctx.out << "removed tool layers: " << humanBytes(*layers) << "\n";
  auto kept = tool::removeCaches(tool::runCacheRoot(*paths));
  if (!kept) return ctx.fail(kept.error());
  ctx.out << "removed the tools' kept caches: " << humanBytes(*kept) << "\n";
  auto images = image::prune();
  if (!images) return ctx.fail(images.error());
  ctx.out << "removed unused image layers: " << images->layers << ", blobs: " << images->blobs << "\n";
  return kExitOk;
}

}  // namespace coco::cli
