// `coco list`, `coco get`, `coco up` and `coco down`.
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "backend/container_image.hpp"
#include "catalog/catalog.hpp"
#include "catalog/links.hpp"
#include "cli/cmd_image.hpp"
#include "cli/context.hpp"
#include "cli/parse.hpp"
#include "cli/show.hpp"
#include "config/loader.hpp"
#include "tool/base_image.hpp"
#include "util/front.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace coco::cli {

namespace {

using Action = catalog::LinkOutcome::Action;

// The front when this is coco-full of a pair: links run through it (util/front.hpp).
std::string selfPath() { return front::frontPath(); }

std::string binDir(const config::Paths& paths) { return fs::joinPath(paths.home, ".local/bin"); }

std::string describeOutcome(const catalog::LinkOutcome& o, const std::string& cocoPath) {
  switch (o.action) {
    case Action::Created:
      return fmt::format("{}: linked {} -> {}{}", o.name, o.path, cocoPath,
                         o.detail.empty() ? "" : "; " + o.detail);
    case Action::Updated: return fmt::format("{}: relinked {} -> {}", o.name, o.path, cocoPath);
    case Action::Unchanged: return fmt::format("{}: already linked", o.name);
    case Action::Skipped: return fmt::format("{}: skipped {}: {}", o.name, o.path, o.detail);
    case Action::Removed: return fmt::format("{}: removed {}", o.name, o.path);
    case Action::Absent: return fmt::format("{}: no link", o.name);
    case Action::Failed: break;
  }
  return fmt::format("{}: failed: {}", o.name, o.detail);
}

// One line per tool; a failed link makes the whole command fail, a skipped one does not.
int report(Context& ctx, const std::vector<catalog::LinkOutcome>& outcomes, const std::string& cocoPath) {
  int code = kExitOk;
  for (const auto& o : outcomes) {
    (o.action == Action::Failed ? ctx.err : ctx.out) << describeOutcome(o, cocoPath) << "\n";
    if (o.action == Action::Failed) code = kExitCocoError;
  }
  return code;
}

// $PATH's directories in order.
std::vector<std::string> searchPath() {
  const char* path = std::getenv("PATH");
  std::vector<std::string> dirs;
  std::string_view rest = path ? path : "";
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    dirs.emplace_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return dirs;
}

bool inPath(const std::string& dir) {
  for (const auto& d : searchPath())
    if (fs::normalize(d) == fs::normalize(dir)) return true;
  return false;
}

}  // namespace

int cmdList(Context& ctx, const Args& args) {
  CLI::App app{"List the configured tools with their install state, one per line.", "coco list"};
  bool json = false;
  app.add_flag("--json", json, "print a JSON object: the runtime, its image and each tool's state");
  if (auto code = parseCommand(app, args, ctx)) return *code;
  auto paths = ctx.paths();
  if (!paths) return ctx.fail(paths.error());
  // The runtime and image runs would use; nothing is built or pulled here.
  auto runtime = chooseRuntime(ImageUse::List);
  if (!runtime) return ctx.fail(runtime.error());
  auto tools = config::listTools(*paths);
  // Podman and docker: the tools' own images (a layer binds cannot show), one query for all.
  std::vector<backend::ToolImageEntry> images;
  if (!runtime->native())
    if (auto listed = backend::listToolImages(runtime->name)) images = std::move(*listed);
  auto imageOf = [&](const std::string& tool) -> std::string {
    auto config = config::loadTool(*paths, tool);
    for (const auto& i : images)
      if (config && i.tool == tool && i.configHash == config->hash && !i.reference.empty())
        return i.reference;
    return "";
  };
  if (json) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& t : tools) {
      ToolStateView s = toolState(*paths, t, *runtime);
      list.push_back({{"name", t}, {"state", s.state}, {"version", s.version}, {"summary", s.text}});
      if (std::string image = imageOf(t); !image.empty()) list.back()["image"] = image;
    }
    nlohmann::ordered_json out = {
        {"runtime", runtime->name}, {"image", runtime->image.reference}, {"tools", std::move(list)}};
    ctx.out << out.dump(2) << "\n";
  }
  size_t width = 0;
  for (const auto& t : tools) width = std::max(width, t.size());
  if (!json) {
    for (const auto& t : tools) {
      std::string image = imageOf(t);
      std::string shown = image.empty() ? "" : fmt::format(" ({} image {})", runtime->name, image);
      ctx.out << fmt::format("{:<{}}  {}{}\n", t, width, toolStateText(*paths, t, *runtime), shown);
    }
  }
  if (tools.empty()) ctx.err << "coco: no tools configured in " << paths->toolsDir() << "; try 'coco get eslint'\n";
  if (!runtime->native()) return kExitOk;  // the base image is the native runtime's
  if (auto outdated = tool::baseImageOutdated(""); outdated && *outdated)
    ctx.err << "coco: the base image was built by another version of coco (runtime/ changed); 'coco rebuild' "
               "updates it, and tools install again on their next run\n";
  return kExitOk;
}

int cmdGet(Context& ctx, const Args& args) {
  CLI::App app{"Copy a tool config from the store (or COCO_STORE_BASE) into your tools dir.", "coco get"};
  std::string name;
  bool force = false;
  app.add_option("name", name, "tool name, e.g. eslint")->required();
  app.add_flag("-f,--force", force, "replace an existing config of that name");
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "print only errors");
  if (auto code = parseCommand(app, args, ctx)) return *code;
  if (quiet) log::setQuiet(true);
  auto paths = ctx.paths();
  if (!paths) return ctx.fail(paths.error());
  const char* base = std::getenv("COCO_STORE_BASE");
  catalog::GetOptions options{force, base ? base : "", ""};
  auto got = catalog::get(name, *paths, options);
  if (!got) {
    switch (got.error().kind()) {
      case ErrorKind::Exists:
        return ctx.fail(got.error(),
                        fmt::format("'coco show {}' shows the current one; add --force to replace it", name));
      case ErrorKind::ConfigFile:
        return ctx.fail(got.error(), "nothing was saved: the store's copy is invalid");
      default:
        return ctx.fail(got.error());  // a store miss: the names near it, or the store's names
    }
  }
  if (log::quietEnabled()) return kExitOk;
  ctx.out << "saved " << got->savedPath << " (from " << got->source << ")\n\n";
  ShowContext show = showContextFromProcess();
  show.install = installHostsView(got->config);
  ctx.out << describeConfig(got->config, show);
  return kExitOk;
}

int cmdUp(Context& ctx, const Args& args) {
  CLI::App app{"Link ~/.local/bin/NAME to coco for every configured tool.", "coco up"};
  bool force = false;
  app.add_flag("-f,--force", force, "link a tool even where its name is a command elsewhere in PATH");
  if (auto code = parseCommand(app, args, ctx)) return *code;
  auto paths = ctx.paths();
  if (!paths) return ctx.fail(paths.error());
  std::string coco = selfPath();
  auto outcomes = catalog::up(config::listTools(*paths), binDir(*paths), coco, {searchPath(), force});
  if (!outcomes) return ctx.fail(outcomes.error());
  if (outcomes->empty()) ctx.err << "coco: no tools configured; try 'coco get eslint' first\n";
  else if (!inPath(binDir(*paths))) ctx.err << "coco: note: " << binDir(*paths) << " is not in your PATH\n";
  return report(ctx, *outcomes, coco);
}

int cmdDown(Context& ctx, const Args& args) {
  CLI::App app{"Remove the ~/.local/bin links that point to coco.", "coco down"};
  if (auto code = parseCommand(app, args, ctx)) return *code;
  auto paths = ctx.paths();
  if (!paths) return ctx.fail(paths.error());
  std::string coco = selfPath();
  auto outcomes = catalog::down(config::listTools(*paths), binDir(*paths), coco);
  if (!outcomes) return ctx.fail(outcomes.error());
  return report(ctx, *outcomes, coco);
}

}  // namespace coco::cli
