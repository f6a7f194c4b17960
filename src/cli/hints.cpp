// Hints by error kind: did-you-mean over tool and store names, the variable or file to fix.
#include "cli/hints.hpp"

#include <algorithm>
#include <cstdlib>

#include "catalog/catalog.hpp"
#include "cli/suggest.hpp"
#include "config/loader.hpp"

namespace coco::cli {

namespace {

constexpr size_t kListedStoreNames = 40;

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string notConfiguredHint(const std::string& name, const HintSources& s) {
  if (auto near = closest(name, s.tools); !near.empty())
    return fmt::format("{} ('coco list' shows the configured tools)", didYouMean(near));
  if (contains(s.store, name)) return fmt::format("'coco get {}' copies its config from the store", name);
  if (auto near = closest(name, s.store); !near.empty())
    return fmt::format("no configured tool is close; the store has {} ('coco get NAME' copies one)",
                       quotedOrList(near));
  return "'coco list' shows the configured tools; 'coco store' lists what 'coco get' can copy";
}

std::string storeMissHint(const std::string& name, const HintSources& s) {
  if (auto near = closest(name, s.store); !near.empty()) return didYouMean(near);
  if (s.store.empty())
    return s.remoteStore ? "'coco store' lists the remote store when it has an index.json"
                         : "the store is empty";
  return storeNamesHint(s.store);
}

}  // namespace

HintSources HintSources::fromProcess() {
  HintSources s;
  if (auto paths = config::Paths::fromEnvironment()) s.tools = config::listTools(*paths);
  const char* base = std::getenv("COCO_STORE_BASE");
  s.remoteStore = base && *base;
  if (!s.remoteStore) {
    s.store = catalog::bundledNames(catalog::bundledStoreDir());
  } else if (auto remote = catalog::listRemote(base)) {
    for (const auto& e : *remote) s.store.push_back(e.name);
  }
  return s;
}

std::string storeNamesHint(const std::vector<std::string>& names) {
  if (names.size() > kListedStoreNames)
    return fmt::format("the store has {} configs; 'coco store' lists them", names.size());
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return fmt::format("the store has: {} ('coco store' describes them)", list);
}

std::string hintFor(const Error& error, const HintSources& sources) {
  switch (error.kind()) {
    case ErrorKind::NotConfigured:
      return notConfiguredHint(error.subject(), sources);
    case ErrorKind::StoreMiss:
      return storeMissHint(error.subject(), sources);
    case ErrorKind::EnvVar:
      return fmt::format("{} is set in your environment: fix or unset it ('coco help' describes it)",
                         error.subject());
    case ErrorKind::ConfigFile:
      return fmt::format("the error is in {}: fix it there", error.subject());
    case ErrorKind::NotFound:
    case ErrorKind::Exists:
    case ErrorKind::Other:
      break;
  }
  return {};
}

}  // namespace coco::cli
