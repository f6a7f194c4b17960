// `coco show <tool> [--json]`: what a configured tool is allowed to touch.
#include "cli/context.hpp"
#include "cli/parse.hpp"
#include "cli/show.hpp"
#include "cli/show_json.hpp"
#include "config/loader.hpp"

namespace coco::cli {

int cmdShow(Context& ctx, const Args& args) {
  CLI::App app{"Show in plain words what a tool's config grants, and warn about risky grants.", "coco show"};
  std::string name;
  bool json = false;
  app.add_option("tool", name, "configured tool name")->required();
  app.add_flag("--json", json, "print the grants and warnings as a JSON object");
  if (auto code = parseCommand(app, args, ctx)) return *code;
  auto paths = ctx.paths();
  if (!paths) return ctx.fail(paths.error());
  auto config = config::loadTool(*paths, name);
  if (!config) return ctx.fail(config.error());  // the hint of its kind: a near name, the store, the file
  ShowContext show = showContextFromProcess();
  show.install = installHostsView(*config);
  ctx.out << (json ? configToJson(*config, show) : describeConfig(*config, show));
  return kExitOk;
}

}  // namespace coco::cli
