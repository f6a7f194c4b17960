// Error and hint printing, exit-code mapping and the paths every command needs.
#include "cli/context.hpp"

#include "cli/hints.hpp"
#include "util/log.hpp"

namespace coco::cli {

int Context::fail(const Error& error, std::string_view hint) const {
  // The errno of a failure the message already states is noise, except when debugging.
  std::string message = log::debugEnabled() ? error.describe() : error.userMessage();
  // A stop signal keeps its 128+N on every command (a sandbox's setup ended by Ctrl-C during
  // a rebuild, an install); 126 and 127 are a tool's, which only `run` gives (exitCodeFor).
  int code = error.exitCode() > 128 ? error.exitCode() : kExitCocoError;
  if (!hint.empty()) {
    fail(message, hint);
    return code;
  }
  // Only name suggestions read the tools dir and the store (a remote one is a download).
  bool names = error.kind() == ErrorKind::NotConfigured || error.kind() == ErrorKind::StoreMiss;
  fail(message, hintFor(error, names ? HintSources::fromProcess() : HintSources{}));
  return code;
}

int Context::fail(std::string_view message, std::string_view hint) const {
  log::clearLiveLine();
  err << "coco: error: " << message << "\n";
  if (!hint.empty()) err << "coco: hint: " << hint << "\n";
  return kExitCocoError;
}

bool isQuietOption(std::string_view arg) { return arg == "--quiet" || arg == "-q"; }

Result<config::Paths> Context::paths() const { return config::Paths::fromEnvironment(); }

int exitCodeFor(const Result<int>& status) {
  // The engine marks "cannot invoke" (126) and "not found" (127) on the Error.
  if (!status) return status.error().exitCode() ? status.error().exitCode() : kExitCocoError;
  if (*status < 0 || *status > 255) return kExitCocoError;
  return *status;
}

}  // namespace coco::cli
