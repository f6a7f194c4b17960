// Error and hint printing, exit-code mapping and the paths every command needs.
#include "cli/context.hpp"

#include "util/log.hpp"

namespace coco::cli {

int Context::fail(const Error& error, std::string_view hint) const { return fail(error.describe(), hint); }

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
