// What every command gets: the output streams and the error/hint printing rules.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/exit_codes.hpp"
#include "config/paths.hpp"
#include "util/result.hpp"

namespace coco::cli {

struct Context {
  std::ostream& out;
  std::ostream& err;
  std::string argv0;

  // Prints "coco: error: MESSAGE" and "coco: hint: HINT"; returns 125, or an Error's
  // 128+N when a stop signal ended it. Without a hint, an Error gets the one of its
  // kind (cli/hints.hpp); its errno tail is left out where the message already
  // states it, unless COCO_DEBUG is on.
  int fail(const Error& error, std::string_view hint = {}) const;
  int fail(std::string_view message, std::string_view hint = {}) const;

  // The XDG paths from the environment (HOME, XDG_DATA_HOME, ...).
  Result<config::Paths> paths() const;
};

using Args = std::vector<std::string>;

// One function per command; args are what follows the command name.
int cmdRun(Context& ctx, const Args& args);
int cmdList(Context& ctx, const Args& args);
int cmdGet(Context& ctx, const Args& args);
int cmdUp(Context& ctx, const Args& args);
int cmdDown(Context& ctx, const Args& args);
int cmdShow(Context& ctx, const Args& args);
int cmdPrune(Context& ctx, const Args& args);
int cmdRebuild(Context& ctx, const Args& args);
int cmdSave(Context& ctx, const Args& args);
int cmdSystem(Context& ctx, const Args& args);
int cmdVersion(Context& ctx, const Args& args);
int cmdCompletion(Context& ctx, const Args& args);
int cmdHelp(Context& ctx, const Args& args);  // `coco help [COMMAND]`
int cmdStore(Context& ctx, const Args& args);
int cmdImages(Context& ctx, const Args& args);
int cmdImage(Context& ctx, const Args& args);  // `coco image rm`

// The commands `coco help` lists, in its order (completion and "did you mean" use them).
const std::vector<std::string>& commandNames();
int cmdLearn(Context& ctx, const Args& args);  // `coco learn [--apply] TOOL`

// Runs a configured tool: the shared path of `coco run` and symlink invocation.
// allowHome: `coco run --allow-home` (tool/home_guard.hpp).
int runTool(Context& ctx, const std::string& name, const Args& toolArgs, bool dryRun,
            const std::string& configFile = "", bool allowHome = false, bool learn = false);

// --quiet or -q: only errors (and warnings) and the tool's own output; coco's
// progress, notices and summaries are not printed. Global, and an option of run,
// get and rebuild.
bool isQuietOption(std::string_view arg);

// The usage text `coco help` prints.
std::string usage();

}  // namespace coco::cli
