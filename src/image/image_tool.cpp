// coco-image: a test-only front end to the image library (used by tests/image/*).
// Prints JSON so scripts can check results without the CLI.
#include <cstdio>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "image/export.hpp"
#include "image/image.hpp"
#include "util/log.hpp"

namespace {

int fail(const coco::Error& e) {
  std::fprintf(stderr, "coco-image: %s\n", e.describe().c_str());
  return 1;
}

int resolveCommand(const std::string& ref, bool pull) {
  coco::image::ResolveOptions o;
  o.pull = pull;
  auto image = coco::image::resolve(ref, o);
  if (!image) return fail(image.error());
  nlohmann::json env = nlohmann::json::array();
  for (const auto& [k, v] : image->env) env.push_back(k + "=" + v);
  nlohmann::json out = {{"reference", image->reference}, {"layers", image->layers}, {"env", env},
                        {"workdir", image->workdir},     {"cmd", image->cmd},       {"entrypoint", image->entrypoint}};
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

int listCommand() {
  auto images = coco::image::listImages();
  if (!images) return fail(images.error());
  for (const auto& r : *images) std::printf("%s\t%zu layers\t%llu bytes\n", r.name.c_str(), r.layers.size(),
                                            static_cast<unsigned long long>(r.size));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  coco::log::setDebug(std::getenv("COCO_DEBUG") != nullptr);
  std::string cmd = argc > 1 ? argv[1] : "";
  if ((cmd == "resolve" || cmd == "pull") && argc == 3) return resolveCommand(argv[2], cmd == "pull");
  if (cmd == "list" && argc == 2) return listCommand();
  if (cmd == "rm" && argc == 3) {
    auto st = coco::image::removeImage(argv[2]);
    return st ? 0 : fail(st.error());
  }
  if (cmd == "save" && argc == 4) {
    auto st = coco::image::exportOciLayout(argv[2], argv[3], {});
    return st ? 0 : fail(st.error());
  }
  if (cmd == "prune" && argc == 2) {
    auto r = coco::image::prune();
    if (!r) return fail(r.error());
    std::printf("removed %llu layers, %llu blobs\n", static_cast<unsigned long long>(r->layers),
                static_cast<unsigned long long>(r->blobs));
    return 0;
  }
  std::fprintf(stderr, "usage: coco-image resolve|pull REF | list | rm REF | save NAME DIR | prune\n");
  return 2;
}
