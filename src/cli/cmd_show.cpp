// `coco show <tool>`: what a configured tool is allowed to touch.
#include "cli/context.hpp"
#include "cli/parse.hpp"
#include "cli/show.hpp"
#include "config/loader.hpp"

namespace coco::cli {

int cmdShow(Context& ctx, const Args& args) {
  CLI::App app{"Show in plain words what a tool's config grants, and warn about risky grants.", "coco show"};
  std::string name;
  app.add_option("tool", name, "configured tool name")->required();
  if (auto code = parseCommand(app, args, ctx)) return *code;
  auto paths = ctx.paths();
  if (!paths) return ctx.fail(paths.error());
  auto config = config::loadTool(*paths, name);
  if (!config) return ctx.fail(config.error(), "'coco list' shows configured tools");
  ShowContext show = showContextFromProcess();
  show.install = installHostsView(*config);
  ctx.out << describeConfig(*config, show);
  return kExitOk;
}

}  // namespace coco::cli
