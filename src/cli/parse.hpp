// Running one command's CLI11 parser with coco's output and exit-code rules.
#pragma once

#include <optional>

#include <CLI/CLI.hpp>

#include "cli/context.hpp"

namespace coco::cli {

// Parses args (in order) with app. Returns nullopt when the command should go on,
// else the exit code to return: 0 after printing --help, 125 after a usage error.
std::optional<int> parseCommand(CLI::App& app, const Args& args, Context& ctx);

}  // namespace coco::cli
