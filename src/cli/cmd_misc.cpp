// `coco help`, `coco version` and `coco system`.
#include "cli/context.hpp"
#include "cli/parse.hpp"
#include "cli/version.h"
#include "coco_config.h"
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
         "  list                              List configured tools\n"
         "  show <tool>                       Show what a tool's config grants, with warnings\n"
         "  get <name> [--force]              Copy a tool config from the store\n"
         "  up                                Link ~/.local/bin/<tool> to coco for every tool\n"
         "  down                              Remove those links\n"
         "  prune [--all]                     Remove download caches and outdated tool layers (--all: every\n"
         "                                    tool layer and unused images)\n"
         "  rebuild                           Build the base image again (Debian + node, npm, python3, mise)\n"
         "  save [-o DIR] [--tag T] [IMAGE]   Write an image (default: the base image) as an OCI layout,\n"
         "                                    for 'skopeo copy oci:DIR:T docker://...' and COCO_BASE_IMAGE\n"
         "  system stop                       Stop this user's user-namespace holder (started by runs; the\n"
         "                                    next run starts it again)\n"
         "  completion bash|zsh|fish          Print a shell completion script (eval it in your shell's rc file)\n"
         "  version                           Print coco's version\n"
         "  help                              Print this help\n"
         "\n"
         "Symlink invocation:\n"
         "  <tool> [args...]                  Same as 'coco run <tool> [args...]' (after 'coco up')\n"
         "\n"
         "Environment:\n"
         "  COCO_RUNTIME        native (default), podman or docker\n"
         "  COCO_IMAGE          image for the sandbox, e.g. rootfs:DIR (default: coco-base, built on first use)\n"
         "  COCO_BASE_IMAGE     a base image published with 'coco save' (pulled instead of built)\n"
         "  COCO_INSTALL_NETWORK  host: installs use the host's network instead of the registry allowlist\n"
         "  COCO_DEBUG          1 or true: debug output\n"
         "  COCO_ALLOW_NETWORK  1 or true: full network access whatever the config says\n"
         "  COCO_EXTRA_PORTS    more ports to publish, CSV of HOST:CONTAINER or ADDR:HOST:CONTAINER\n"
         "  COCO_STORE_BASE     URL of a remote store for 'coco get'\n"
         "  COCO_STORAGE        where images and tool layers are kept (default: $XDG_DATA_HOME/coco)\n"
         "  COCO_USERNS         single: map only your own id, even with an /etc/subuid range\n"
         "  COCO_USERNS_HOLDER  0: runs do not use (or start) the user-namespace holder\n"
         "\n"
         "Exit status: the tool's own; 125 when coco itself fails; 126/127 when the\n"
         "command cannot be run / is not found; 128+N when the tool dies of signal N.\n";
}

int cmdHelp(Context& ctx, const Args&) {
  ctx.out << usage();
  return kExitOk;
}

int cmdSystem(Context& ctx, const Args& args) {
  CLI::App app{"Manage coco's per-user background process.", "coco system"};
  app.require_subcommand(1);
  app.add_subcommand("stop", "stop the user-namespace holder (the next run starts it again)");
  if (auto code = parseCommand(app, args, ctx)) return *code;
  auto stopped = tool::stopUsernsHolder();
  if (!stopped) return ctx.fail(stopped.error());
  ctx.out << (*stopped ? "stopped the user-namespace holder\n" : "no user-namespace holder was running\n");
  return kExitOk;
}

int cmdVersion(Context& ctx, const Args& args) {
  CLI::App app{"Print coco's version.", "coco version"};
  if (auto code = parseCommand(app, args, ctx)) return *code;
  ctx.out << "coco " << COCO_VERSION;
  if (std::string_view commit = COCO_GIT_COMMIT; !commit.empty()) ctx.out << " (git " << commit << ")";
  ctx.out << "\n";
  return kExitOk;
}

}  // namespace coco::cli
