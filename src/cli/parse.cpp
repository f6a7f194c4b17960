// CLI11 reports through exceptions; this is the one place they are caught.
#include "cli/parse.hpp"

#include <algorithm>

namespace coco::cli {

std::optional<int> parseCommand(CLI::App& app, const Args& args, Context& ctx) {
  // CLI11's vector overload consumes arguments from the back.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    ctx.out << app.help();
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    return ctx.fail(fmt::format("{}: {}", app.get_name(), e.what()), fmt::format("'{} --help' shows its usage", app.get_name()));
  }
  return std::nullopt;
}

}  // namespace coco::cli
