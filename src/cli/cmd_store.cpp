// `coco store [--json]`: the configs `coco get` can copy, one line each.
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "catalog/catalog.hpp"
#include "cli/context.hpp"
#include "cli/parse.hpp"

namespace coco::cli {

int cmdStore(Context& ctx, const Args& args) {
  CLI::App app{
      "List the tool configs 'coco get' can copy: the bundled store, or COCO_STORE_BASE's (from its "
      "index.json) when that is set.",
      "coco store"};
  bool json = false;
  app.add_flag("--json", json, "print a JSON object: the store and its entries");
  if (auto code = parseCommand(app, args, ctx)) return *code;
  const char* base = std::getenv("COCO_STORE_BASE");
  std::string store = base && *base ? std::string(base) : catalog::bundledStoreDir();
  std::vector<catalog::StoreEntry> entries;
  if (base && *base) {
    auto remote = catalog::listRemote(store);
    if (!remote)
      return ctx.fail(remote.error(), remote.error().kind() == ErrorKind::NotFound
                                          ? "'coco get NAME' still fetches NAME.json from it by name"
                                          : std::string());
    entries = std::move(*remote);
  } else {
    entries = catalog::listBundled(store);
  }
  if (json) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& e : entries)
      list.push_back({{"name", e.name}, {"description", e.description}, {"source", e.source}});
    nlohmann::ordered_json out = {{"store", store}, {"remote", base && *base}, {"entries", std::move(list)}};
    ctx.out << out.dump(2) << "\n";
    return kExitOk;
  }
  if (entries.empty()) {
    ctx.err << "coco: the store " << store << " is empty\n";
    return kExitOk;
  }
  size_t width = 0;
  for (const auto& e : entries) width = std::max(width, e.name.size());
  for (const auto& e : entries)
    ctx.out << fmt::format("{:<{}}  {}\n", e.name, width, e.description.empty() ? "-" : e.description);
  ctx.err << "coco: from " << store << "; 'coco get NAME' copies one into your tools\n";
  return kExitOk;
}

}  // namespace coco::cli
