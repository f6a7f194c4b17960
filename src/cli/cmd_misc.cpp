// `coco help`'s text, `coco version` and `coco system`.
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "backend/backend.hpp"
#include "cli/context.hpp"
#include "cli/parse.hpp"
#include "cli/version.h"
#include "coco_config.h"
#include "tool/base_image.hpp"
#include "tool/plan.hpp"

namespace coco::cli {

std::string usage() {
  return "Usage: coco [--quiet] <command> [args...]\n"
         "\n"
         "  -q, --quiet  print only errors and the tool's own output (no progress, notices or summaries)\n"
         "\n"
         "Commands:\n"
         "  run [--dry-run] <tool> [args...]  Run a tool in its sandbox (--dry-run: print the plan as JSON)\n"
         "  run --learn <tool> [args...]      Run it with full network, recording the hosts it reaches and\n"
         "                                    what it writes to read-only mounts; suggest a config\n"
         "  learn [--apply] <tool>            Show (--apply: write into the config) what --learn suggested\n"
         "  list [--json]                     List configured tools\n"
         "  show [--json] <tool>              Show what a tool's config grants, with warnings\n"
         "  get <name> [--force]              Copy a tool config from the store\n"
         "  store [--json]                    List the configs the store offers, one line each\n"
         "  up                                Link ~/.local/bin/<tool> to coco for every tool\n"
         "  down                              Remove those links\n"
         "  images [--json]                   List the images in your storage and the tool layers on each\n"
         "  image rm [--force] <name|id>      Remove an image (--force: also the tool layers built on it,\n"
         "                                    or the image runs use)\n"
         "  prune [--all]                     Remove download caches and outdated tool layers (--all: every\n"
         "                                    tool layer and unused images)\n"
         "  rebuild                           Build the base image again (Debian + node, npm, python3, "
         "mise)\n"
         "  save [-o DIR] [--tag T] [IMAGE]   Write an image (default: the base image) as an OCI layout,\n"
         "                                    for 'skopeo copy oci:DIR:T docker://...' and COCO_BASE_IMAGE\n"
         "  system stop                       Stop this user's user-namespace holders (started by runs; the\n"
         "                                    next run starts one again)\n"
         "  completion bash|zsh|fish          Print a shell completion script (eval it in your shell's rc "
         "file)\n"
         "  version [--json]                  Print coco's version, commit, runtime and base image (-V)\n"
         "  help [<command>]                  Print this help, or a command's own (same as <command> "
         "--help)\n"
         "\n"
         "Symlink invocation:\n"
         "  <tool> [args...]                  Same as 'coco run <tool> [args...]' (after 'coco up')\n"
         "\n"
         "Environment:\n"
         "  COCO_RUNTIME        native (default), podman or docker\n"
         "  COCO_IMAGE          image for the sandbox, e.g. rootfs:DIR (default: coco-base, built on first "
         "use)\n"
         "  COCO_BASE_IMAGE     a base image published with 'coco save' (pulled instead of built)\n"
         "  COCO_INSTALL_NETWORK  host: installs use the host's network instead of the registry allowlist\n"
         "  COCO_DEBUG          1 or true: debug output\n"
         "  COCO_ALLOW_NETWORK  1 or true: full network access whatever the config says\n"
         "  COCO_EXTRA_PORTS    more ports to publish, CSV of HOST:CONTAINER or ADDR:HOST:CONTAINER\n"
         "  COCO_STORE_BASE     URL of a remote store for 'coco get' ('coco store' lists its index.json)\n"
         "  COCO_STORAGE        where images and tool layers are kept (default: $XDG_DATA_HOME/coco)\n"
         "  COCO_USERNS         single: map only your own id, even with an /etc/subuid range\n"
         "  COCO_USERNS_HOLDER  0: runs do not use (or start) the user-namespace holder\n"
         "  COCO_USERNS_HOLDER_IDLE  seconds the holder waits for a run before it exits (default 600)\n"
         "\n"
         "Exit status: the tool's own; 125 when coco itself fails; 126/127 when the\n"
         "command cannot be run / is not found; 128+N when the tool dies of signal N.\n";
}

int cmdSystem(Context& ctx, const Args& args) {
  CLI::App app{"Manage coco's per-user background process.", "coco system"};
  app.require_subcommand(1);
  app.add_subcommand("stop", "stop the user-namespace holders (the next run starts one again)");
  if (auto code = parseCommand(app, args, ctx)) return *code;
  auto stopped = tool::stopUsernsHolder();
  if (!stopped) return ctx.fail(stopped.error());
  if (*stopped == 0)
    ctx.out << "no user-namespace holder was running\n";
  else if (*stopped == 1)
    ctx.out << "stopped the user-namespace holder\n";
  else
    ctx.out << "stopped the user-namespace holders (of the subuid range and of the single mapping)\n";
  return kExitOk;
}

namespace {

// What `coco version` reports besides the version: COCO_RUNTIME's runtime and
// the base image in the user's storage. Reading them builds and pulls nothing.
struct VersionFacts {
  std::string runtime;       // "native", "podman", "docker"
  std::string runtimeError;  // why COCO_RUNTIME was refused
  std::optional<tool::BaseImageInfo> base;
  std::string baseError;  // why the base image's record could not be read
};

VersionFacts versionFacts() {
  VersionFacts f;
  const char* value = std::getenv("COCO_RUNTIME");
  auto runtime = backend::runtimeName(value ? value : "");
  if (runtime)
    f.runtime = *runtime;
  else
    f.runtimeError = runtime.error().userMessage();
  // The build record alone is not the image: `coco image rm` may have removed it.
  auto image = tool::loadBaseImage("");
  auto info = tool::loadBaseInfo("");
  if (!image)
    f.baseError = image.error().describe();
  else if (!info)
    f.baseError = info.error().describe();
  else if (*image)
    f.base = *info;
  return f;
}

std::string versionJson(const VersionFacts& f) {
  using json = nlohmann::ordered_json;
  json base = nullptr;
  if (f.base) {
    base = {{"name", tool::kBaseImageName},
            {"from", f.base->from},
            {"built", f.base->built},
            {"published", f.base->published},
            {"versions", f.base->versions}};
  }
  json out = {{"version", COCO_VERSION},
              {"commit", COCO_GIT_COMMIT},
              {"runtime", f.runtimeError.empty() ? json(f.runtime) : json(nullptr)},
              {"base_image", std::move(base)}};
  if (!f.runtimeError.empty()) out["runtime_error"] = f.runtimeError;
  if (!f.baseError.empty()) out["base_image_error"] = f.baseError;
  return out.dump(2) + "\n";
}

std::string versionText(const VersionFacts& f) {
  std::string text = fmt::format("coco {}", COCO_VERSION);
  if (std::string_view commit = COCO_GIT_COMMIT; !commit.empty()) text += fmt::format(" (git {})", commit);
  text += fmt::format("\nruntime: {}\n", f.runtimeError.empty() ? f.runtime : f.runtimeError);
  if (!f.base) {
    text += f.baseError.empty()
                ? fmt::format("base image: none yet (the first run builds {})\n", tool::kBaseImageName)
                : fmt::format("base image: unreadable ({})\n", f.baseError);
    return text;
  }
  text += fmt::format("base image: {} {} {} {}\n", tool::kBaseImageName,
                      f.base->published ? "pulled from" : "built on", f.base->from, f.base->built);
  for (const auto& [name, version] : f.base->versions) text += fmt::format("  {} {}\n", name, version);
  return text;
}

}  // namespace

int cmdVersion(Context& ctx, const Args& args) {
  CLI::App app{
      "Print coco's version, the commit it was built from, the runtime and the base image's versions.",
      "coco version"};
  bool json = false;
  app.add_flag("--json", json, "print a JSON object: version, commit, runtime, base_image");
  if (auto code = parseCommand(app, args, ctx)) return *code;
  VersionFacts facts = versionFacts();
  ctx.out << (json ? versionJson(facts) : versionText(facts));
  return kExitOk;
}

}  // namespace coco::cli
