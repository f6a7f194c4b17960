// The tool-config store: bundled configs and a remote store, copied into the tools dir.
#pragma once

#include <string>
#include <vector>

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

// One config a store offers, for `coco store` and "did you mean".
struct StoreEntry {
  std::string name;
  std::string description;  // one line: the tool spec and command ("npm:eslint"), or why it is unusable
  std::string source;       // the file or URL
};

// The sorted names of the configs (NAME.json/.yaml/.yml) in a bundled store directory.
std::vector<std::string> bundledNames(const std::string& storeDir);

// The bundled store's configs, each described from its content (an invalid one
// says so instead of failing the listing).
std::vector<StoreEntry> listBundled(const std::string& storeDir);

// A remote store's configs, from BASE/index.json: a JSON array of names or of
// {"name": ..., "description": ...} objects. A store without an index is an
// error of kind NotFound (the store can still be fetched from by name).
Result<std::vector<StoreEntry>> listRemote(std::string storeBase);

// The one-line description of a config: its tool spec (or the command it runs
// from the image), and the command when it differs from the name.
std::string describeEntry(const config::ToolConfig& config);

// Downloads url into memory (http, https and file URLs), failing on HTTP errors.
// Error code ENOENT means "not there" (404 or missing file), anything else a failure.
Result<std::string> download(const std::string& url);

}  // namespace coco::catalog
