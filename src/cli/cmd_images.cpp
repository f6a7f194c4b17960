// `coco images` and `coco image rm`: the images in the user's storage and the tool layers built on them.
#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "cli/cmd_image.hpp"
#include "cli/context.hpp"
#include "cli/parse.hpp"
#include "image/digest.hpp"
#include "image/image.hpp"
#include "image/reference.hpp"
#include "tool/tool_layer.hpp"

namespace coco::cli {

namespace {

constexpr size_t kShortId = 12;
constexpr size_t kMinIdPrefix = 4;

// An image's id: its config digest (what docker and podman show), else its
// manifest's, else its top layer's; hex only.
std::string imageId(const image::ImageRecord& r) {
  for (const std::string* d : {&r.configDigest, &r.manifestDigest})
    if (!d->empty()) return image::digestHex(*d);
  return tool::imageBaseId(r);
}

// The image runs would use (COCO_IMAGE, else coco-base), as a stored name.
std::string imageInUse() {
  auto runtime = chooseRuntime(ImageUse::List);
  if (!runtime || !runtime->native()) return {};
  const std::string& ref = runtime->image.reference;
  auto parsed = image::parseReference(ref);
  return parsed && parsed->kind != image::SourceKind::RootfsDir && ref != tool::kBaseImageName
             ? parsed->canonical()
             : ref;
}

std::vector<tool::InstalledLayer> layersOn(const image::ImageRecord& r,
                                           const std::vector<tool::InstalledLayer>& all) {
  std::vector<tool::InstalledLayer> on;
  std::string id = tool::imageBaseId(r);
  for (const auto& l : all)
    if (!id.empty() && l.layer.base == id) on.push_back(l);
  return on;
}

std::string toolNames(const std::vector<tool::InstalledLayer>& layers) {
  std::string names;
  for (const auto& l : layers) names += (names.empty() ? "" : ", ") + l.tool;
  return names;
}

std::string humanSize(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

bool isHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c));
  });
}

// The one stored image `what` names: a stored name, a reference to one, or an
// id prefix of at least kMinIdPrefix hex digits (an optional sha256: prefix).
Result<image::ImageRecord> findImage(const std::vector<image::ImageRecord>& images, const std::string& what) {
  for (const auto& r : images)
    if (r.name == what) return r;
  if (auto ref = image::parseReference(what); ref && (ref->path.empty() || ref->path.front() == '/'))
    for (const auto& r : images)
      if (r.name == ref->canonical()) return r;
  std::string prefix = what.starts_with("sha256:") ? what.substr(7) : what;
  std::vector<const image::ImageRecord*> matches;
  if (prefix.size() >= kMinIdPrefix && isHex(prefix))
    for (const auto& r : images)
      if (imageId(r).starts_with(prefix)) matches.push_back(&r);
  if (matches.size() == 1) return *matches.front();
  if (matches.size() > 1) {
    std::string names;
    for (const auto* r : matches)
      names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", r->name, imageId(*r).substr(0, kShortId));
    return Error::make("the id {} matches {} images: {}; give more of it or the name", what, matches.size(),
                       names);
  }
  return Error::withErrno(ENOENT, fmt::format("no image {} in the storage", what))
      .withKind(ErrorKind::NotFound, what);
}

int printImages(Context& ctx, const std::vector<image::ImageRecord>& images,
                const std::vector<tool::InstalledLayer>& layers, bool json) {
  std::string inUse = imageInUse();
  if (json) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& r : images) {
      auto tools = nlohmann::ordered_json::array();
      for (const auto& l : layersOn(r, layers))
        tools.push_back({{"tool", l.tool}, {"hash", l.layer.hash}, {"version", l.layer.version}});
      list.push_back({{"name", r.name},
                      {"id", imageId(r)},
                      {"size", r.size},
                      {"created", r.created},
                      {"in_use", r.name == inUse},
                      {"tool_layers", std::move(tools)}});
    }
    ctx.out << list.dump(2) << "\n";
    return kExitOk;
  }
  if (images.empty()) {
    ctx.err << "coco: no images in the storage yet (the first run builds " << tool::kBaseImageName << ")\n";
    return kExitOk;
  }
  size_t width = 4;
  for (const auto& r : images) width = std::max(width, r.name.size());
  ctx.out << fmt::format("{:<{}}  {:<12}  {:>10}  {:<20}  {}\n", "NAME", width, "ID", "SIZE", "CREATED",
                         "USED BY");
  for (const auto& r : images) {
    std::string used = toolNames(layersOn(r, layers));
    if (r.name == inUse) used = used.empty() ? "(runs use it)" : "(runs use it) " + used;
    ctx.out << fmt::format("{:<{}}  {:<12}  {:>10}  {:<20}  {}\n", r.name, width,
                           imageId(r).substr(0, kShortId), humanSize(r.size), r.created,
                           used.empty() ? "-" : used);
  }
  return kExitOk;
}

}  // namespace

int cmdImages(Context& ctx, const Args& args) {
  CLI::App app{
      "List the images in your storage: name, id, size, when stored, and the tool layers built on each.",
      "coco images"};
  bool json = false;
  app.add_flag("--json", json, "print a JSON array");
  if (auto code = parseCommand(app, args, ctx)) return *code;
  auto images = image::listImages();
  if (!images) return ctx.fail(images.error());
  std::sort(images->begin(), images->end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  auto layers = tool::listToolLayers("");
  if (!layers) return ctx.fail(layers.error());
  return printImages(ctx, *images, *layers, json);
}

int cmdImage(Context& ctx, const Args& args) {
  CLI::App app{"Manage the images in your storage.", "coco image"};
  app.require_subcommand(1);
  auto* rm = app.add_subcommand("rm", "remove one image (the tool layers built on it need --force)");
  std::string what;
  bool force = false;
  rm->add_option("image", what, "a name or id (prefix) as 'coco images' shows it")->required();
  rm->add_flag("-f,--force", force, "also remove the tool layers built on it, and the image runs use");
  if (auto code = parseCommand(app, args, ctx)) return *code;

  auto images = image::listImages();
  if (!images) return ctx.fail(images.error());
  auto record = findImage(*images, what);
  if (!record) return ctx.fail(record.error(), "'coco images' lists the stored images");
  auto all = tool::listToolLayers("");
  if (!all) return ctx.fail(all.error());
  auto on = layersOn(*record, *all);
  bool inUse = record->name == imageInUse();
  if (!force && inUse)
    return ctx.fail(
        fmt::format("runs use {} (COCO_IMAGE, or the default base image); not removed", record->name),
        "add --force to remove it anyway (the next run builds or pulls it again)");
  if (!force && !on.empty())
    return ctx.fail(fmt::format("tool layers are built on {}: {}; not removed", record->name, toolNames(on)),
                    "add --force to remove them with it (they install again on their next run)");
  for (const auto& l : on) {
    auto freed = tool::removeToolLayer("", l);
    if (!freed) return ctx.fail(freed.error().wrap("removing the tool layer of " + l.tool));
    ctx.out << fmt::format("removed the tool layer of {} ({})\n", l.tool, humanSize(*freed));
  }
  if (auto st = image::removeImage(record->name); !st) return ctx.fail(st.error());
  auto pruned = image::prune();
  if (!pruned)
    return ctx.fail(pruned.error().wrap(fmt::format("removed {}, but freeing its layers", record->name)));
  ctx.out << fmt::format("removed {} ({}; {} unused layers freed)\n", record->name,
                         imageId(*record).substr(0, kShortId), pruned->layers);
  return kExitOk;
}

}  // namespace coco::cli
