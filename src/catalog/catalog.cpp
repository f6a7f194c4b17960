// Fetching tool configs from the bundled or a remote store into the tools dir.
#include "catalog/catalog.hpp"

#include <unistd.h>

#include <array>
#include <cstdlib>
#include <utility>
#include <vector>

#include "config/loader.hpp"
#include "util/data_dir.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace coco::catalog {

namespace {

constexpr std::array<const char*, 3> kExtensions = {".json", ".yaml", ".yml"};

struct Fetched {
  std::string source;
  std::string extension;
  std::string text;
};

Result<Fetched> fetchBundled(const std::string& dir, const std::string& name) {
  for (const char* ext : kExtensions) {
    std::string path = fs::joinPath(dir, name + ext);
    if (!fs::exists(path)) continue;
    COCO_ASSIGN(std::string text, fs::readFile(path));
    return Fetched{path, ext, std::move(text)};
  }
  return Error::withErrno(ENOENT, fmt::format("no config named '{}' in the store {}", name, dir));
}

Result<Fetched> fetchRemote(std::string base, const std::string& name) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  // The remote store offers JSON first, like the original; YAML is the fallback.
  for (const char* ext : {".json", ".yaml"}) {
    std::string url = base + "/" + name + ext;
    auto text = download(url);
    if (text) return Fetched{url, ext, std::move(*text)};
    if (text.error().code() != ENOENT) return std::move(text).error();
    log::debug("store: {} not found", url);
  }
  return Error::withErrno(ENOENT, fmt::format("no config named '{}' in the store {}", name, base));
}

// Any NAME.{json,yaml,yml} already in the tools dir.
std::vector<std::string> existingConfigs(const std::string& toolsDir, const std::string& name) {
  std::vector<std::string> found;
  for (const char* ext : kExtensions) {
    std::string path = fs::joinPath(toolsDir, name + ext);
    if (fs::exists(path)) found.push_back(path);
  }
  return found;
}

}  // namespace

std::string bundledStoreDir() {
  if (const char* dir = std::getenv("COCO_STORE_DIR"); dir && *dir) return dir;
  std::string found = findDataPath("store");
  return found.empty() ? dataDirs().front() + "/store" : found;
}

Result<GetResult> get(const std::string& name, const config::Paths& paths, const GetOptions& options) {
  if (!config::isValidToolName(name))
    return Error::make("'{}' is not a valid tool name (letters, digits and ._+- only, no '/' or '..')", name);
  std::string toolsDir = paths.toolsDir();
  auto existing = existingConfigs(toolsDir, name);
  if (!existing.empty() && !options.force)
    return Error::withErrno(EEXIST, fmt::format("{} already exists (use --force to replace it)", existing.front()));

  auto fetched = options.storeBase.empty()
                     ? fetchBundled(options.storeDir.empty() ? bundledStoreDir() : options.storeDir, name)
                     : fetchRemote(options.storeBase, name);
  if (!fetched) return std::move(fetched).error();

  // Validate before anything touches the tools dir: a bad download is never saved.
  std::string target = fs::joinPath(toolsDir, name + fetched->extension);
  auto parsed = config::parseConfig(fetched->text, fetched->source, name);
  if (!parsed) return std::move(parsed).error().wrap("refusing to save an invalid config");

  COCO_TRY(fs::makeDirs(toolsDir));
  COCO_TRY(fs::writeFileAtomic(target, fetched->text));
  // A replaced config may have had another extension; two files for one name is an error.
  for (const auto& old : existing)
    if (old != target && ::unlink(old.c_str()) != 0) return Error::fromErrno("remove {}", old);

  parsed->path = target;
  return GetResult{target, fetched->source, std::move(*parsed)};
}

}  // namespace coco::catalog
