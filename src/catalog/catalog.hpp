// The tool-config store: bundled configs and a remote store, copied into the tools dir.
#pragma once

#include <string>

#include "config/paths.hpp"
#include "config/tool_config.hpp"
#include "util/result.hpp"

namespace coco::catalog {

struct GetOptions {
  bool force = false;     // replace an existing config of that name
  std::string storeBase;  // COCO_STORE_BASE: download BASE/NAME.json (or .yaml) instead
  std::string storeDir;   // the bundled store; empty = bundledStoreDir()
};

struct GetResult {
  std::string savedPath;  // the file now in the tools dir
  std::string source;     // where it came from (file or URL)
  config::ToolConfig config;
};

// COCO_STORE_DIR, else the installed share/coco/store, else the source tree's
// store/ (running from the build tree).
std::string bundledStoreDir();

// Fetches NAME's config, validates it and only then saves it atomically.
Result<GetResult> get(const std::string& name, const config::Paths& paths, const GetOptions& options);

// Downloads url into memory (http, https and file URLs), failing on HTTP errors.
// Error code ENOENT means "not there" (404 or missing file), anything else a failure.
Result<std::string> download(const std::string& url);

}  // namespace coco::catalog
