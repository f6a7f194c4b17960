// Dispatch: symlink invocation, the command table, COCO_DEBUG and process glue.
#include "cli/cli.hpp"

#include <cstdlib>
#include <iostream>
#include <string_view>

#include "cli/context.hpp"
#include "tool/plan.hpp"
#include "util/fd_limit.hpp"
#include "util/log.hpp"
#include "util/trace.hpp"

namespace coco::cli {

namespace {

constexpr std::string_view kSelfName = "coco";

struct Command {
  std::string_view name;
  int (*handler)(Context&, const Args&);
};

constexpr Command kCommands[] = {
    {"run", cmdRun},         {"list", cmdList},   {"get", cmdGet},
    {"up", cmdUp},           {"down", cmdDown},   {"show", cmdShow},
    {"prune", cmdPrune},     {"rebuild", cmdRebuild}, {"save", cmdSave},
    {"system", cmdSystem},   {"learn", cmdLearn},
    {"version", cmdVersion}, {"completion", cmdCompletion},
    {"--version", cmdVersion}, {"help", cmdHelp}, {"--help", cmdHelp},
    {"-h", cmdHelp},
};

std::string baseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const char* debug = std::getenv("COCO_DEBUG");
  log::setDebug(debug && tool::isTrue(debug));
  log::setQuiet(false);
  Context ctx{out, err, args.empty() ? std::string(kSelfName) : args[0]};

  // `coco up` links ~/.local/bin/NAME to coco: invoked as NAME, run that tool.
  std::string self = baseName(ctx.argv0);
  if (!self.empty() && self != kSelfName) return runTool(ctx, self, Args(args.begin() + 1, args.end()), false);

  // Global options come before the command: `coco --quiet run eslint .`.
  size_t at = 1;
  for (; at < args.size() && isQuietOption(args[at]); ++at) log::setQuiet(true);
  if (args.size() < at + 1) {
    err << usage();
    return kExitCocoError;
  }
  Args rest(args.begin() + static_cast<std::ptrdiff_t>(at) + 1, args.end());
  for (const auto& command : kCommands)
    if (command.name == args[at]) return command.handler(ctx, rest);
  return ctx.fail(fmt::format("unknown command '{}'", args[at]), "'coco help' lists the commands");
}

int main(int argc, char** argv) {
  trace::point("main");
  raiseFdLimit();
  std::vector<std::string> args(argv, argv + argc);
  int code = run(args, std::cout, std::cerr);
  std::cout.flush();
  return code;
}

}  // namespace coco::cli
