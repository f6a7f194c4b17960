// Fetching tool configs from the bundled or a remote store into the tools dir.
#include "catalog/catalog.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

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
  return Error::withErrno(ENOENT, fmt::format("no config named '{}' in the store {}", name, dir))
      .withKind(ErrorKind::StoreMiss, name);
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
  return Error::withErrno(ENOENT, fmt::format("no config named '{}' in the store {}", name, base))
      .withKind(ErrorKind::StoreMiss, name);
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

std::vector<std::string> bundledNames(const std::string& storeDir) {
  std::set<std::string> names;
  for (const auto& file : fs::listDir(storeDir))
    for (std::string_view ext : kExtensions)
      if (file.size() > ext.size() && file.ends_with(ext)) {
        std::string name = file.substr(0, file.size() - ext.size());
        if (config::isValidToolName(name) && !fs::isDirectory(fs::joinPath(storeDir, file)))
          names.insert(name);
      }
  return {names.begin(), names.end()};
}

std::string describeEntry(const config::ToolConfig& config) {
  std::string text = config.tool ? *config.tool : fmt::format("runs {} from the image", config.command);
  if (config.tool && config.command != config.name) text += fmt::format(", runs {}", config.command);
  return text;
}

std::vector<StoreEntry> listBundled(const std::string& storeDir) {
  std::vector<StoreEntry> entries;
  for (const auto& name : bundledNames(storeDir)) {
    auto fetched = fetchBundled(storeDir, name);
    if (!fetched) {
      entries.push_back({name, "unreadable: " + fetched.error().describe(), fs::joinPath(storeDir, name)});
      continue;
    }
    auto parsed = config::parseConfig(fetched->text, fetched->source, name);
    entries.push_back(
        {name, parsed ? describeEntry(*parsed) : "invalid: " + parsed.error().describe(), fetched->source});
  }
  return entries;
}

Result<std::vector<StoreEntry>> listRemote(std::string storeBase) {
  while (!storeBase.empty() && storeBase.back() == '/') storeBase.pop_back();
  std::string url = storeBase + "/index.json";
  auto text = download(url);
  if (!text) {
    if (text.error().code() != ENOENT) return std::move(text).error();
    return Error::withErrno(ENOENT, fmt::format("the store {} has no index.json to list", storeBase))
        .withKind(ErrorKind::NotFound, url);
  }
  std::vector<StoreEntry> entries;
  auto index = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!index.is_array()) return Error::make("{}: not a JSON array of names", url);
  for (const auto& item : index) {
    const auto* name = item.is_string()                            ? &item
                       : item.is_object() && item.contains("name") ? &item["name"]
                                                                   : nullptr;
    if (!name || !name->is_string() || !config::isValidToolName(name->get<std::string>()))
      return Error::make("{}: an entry is not a valid tool name: {}", url, item.dump().substr(0, 80));
    std::string description;
    if (item.is_object()) {
      auto d = item.find("description");
      if (d != item.end() && d->is_string()) description = d->get<std::string>();
    }
    // One line each: a description cannot reshape the listing.
    for (char& c : description)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    entries.push_back(
        {name->get<std::string>(), description, storeBase + "/" + name->get<std::string>() + ".json"});
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return entries;
}

Result<GetResult> get(const std::string& name, const config::Paths& paths, const GetOptions& options) {
  if (!config::isValidToolName(name))
    return Error::make("'{}' is not a valid tool name (letters, digits and ._+- only, no '/' or '..')", name);
  std::string toolsDir = paths.toolsDir();
  auto existing = existingConfigs(toolsDir, name);
  if (!existing.empty() && !options.force)
    return Error::withErrno(EEXIST, fmt::format("{} already exists", existing.front()))
        .withKind(ErrorKind::Exists, existing.front());

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
