// The podman/docker runtimes' image: coco's own native base image imported into the runtime's
// storage (`coco rebuild` under COCO_RUNTIME=podman or docker).
#include "backend/container_image.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

#include "image/digest.hpp"
#include "image/export.hpp"
#include "sys/process.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace coco::backend {

namespace {

// Runs a runtime command, its output captured; its last line on success.
Result<std::string> runCaptured(const std::vector<std::string>& argv, const std::string& cwd = "") {
  log::debug("running {}", fmt::join(argv, " "));
  COCO_ASSIGN(auto done, sys::run({.argv = argv,
                                   .cwd = cwd,
                                   .in = sys::Stdio::Null,
                                   .out = sys::Stdio::Capture,
                                   .err = sys::Stdio::Capture}));
  std::string out = done.output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  if (done.exitCode != 0)
    return Error::make("{} failed (exit {}): {}", fmt::join(argv.begin(), argv.begin() + 2, " "),
                       done.exitCode, out);
  size_t nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

// Into the runtime's storage; what a FROM line can name.
Result<std::string> loadLayout(const ImageImport& in) {
  std::string dir = importedBaseDir(in.baseId);
  if (in.runtime == "podman") return runCaptured({"podman", "pull", "-q", "oci:" + dir}, in.workDir);
  // A docker archive, which every docker loads (skopeo's docker-daemon transport ignores
  // DOCKER_HOST; the docker CLI honours it).
  std::string name = "localhost/" + dir + ":latest";
  COCO_TRY(runCaptured({"skopeo", "--insecure-policy", "copy", "-q", "oci:" + dir + ":latest",
                        "docker-archive:" + dir + ".tar:" + name},
                       in.workDir));
  COCO_TRY(runCaptured({"docker", "load", "-q", "-i", dir + ".tar"}, in.workDir));
  return name;
}

}  // namespace

std::string nativeBaseId(const std::vector<std::string>& layers) {
  return image::digestHex(image::sha256Digest(fmt::format("{}", fmt::join(layers, "\n"))));
}

Result<std::string> importedBaseId(const std::string& runtime, const std::string& image) {
  auto label =
      runCaptured({runtime, "image", "inspect", "--format", "{{index .Config.Labels \"coco.base\"}}", image});
  if (!label)
    return std::move(label).error().wrap(
        fmt::format("{} has no image {} ('COCO_RUNTIME={} coco rebuild' makes it)", runtime, image, runtime));
  // Go templates print a missing label as "<no value>".
  return *label == "<no value>" ? std::string() : *label;
}

std::string importedBaseDir(const std::string& baseId) { return "coco-native-base-" + baseId.substr(0, 12); }

std::string importContainerfile(const std::string& from, const std::string& baseId) {
  return fmt::format(
      "# Made by `coco rebuild`: coco's native base image, imported.\n"
      "FROM {}\n"
      "LABEL coco.base=\"{}\"\n"
      "COPY workspace /workspace\n"
      "WORKDIR /workspace\n",
      from, baseId);
}

Status importBaseImage(const ImageImport& in) {
  COCO_ASSIGN(std::string from, loadLayout(in));
  std::string file = fs::joinPath(in.workDir, "Containerfile");
  COCO_TRY(fs::writeFileAtomic(file, importContainerfile(from, in.baseId)));
  std::string context = fs::joinPath(in.workDir, "context");
  // An empty directory copied to /workspace: WORKDIR alone does not create it in podman's build.
  COCO_TRY(fs::makeDirs(fs::joinPath(context, "workspace"), 0755));
  std::vector<std::string> build = {in.runtime, "build", "-q", "-t", in.target, "-f", file};
  if (in.runtime == "podman") build.insert(build.begin() + 2, {"--network", "none"});
  build.push_back(context);
  COCO_TRY(runCaptured(build));
  return {};
}

std::string toolImageReference(const std::string& tool, const std::string& configHash,
                               const std::string& baseId) {
  std::string name;
  for (char c : tool) {
    auto u = static_cast<unsigned char>(c);
    name += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '-';
  }
  return fmt::format("localhost/coco-tool-{}:{}-{}", name, configHash.substr(0, 12), baseId.substr(0, 12));
}

namespace {

std::string labelFormat(const char* label) {
  return fmt::format("{{{{index .Config.Labels \"{}\"}}}}", label);
}

// The labels of an image the runtime holds, tab-separated in one line; nullopt when it has no such image.
std::optional<std::string> imageLabels(const std::string& runtime, const std::string& image,
                                       const std::vector<const char*>& labels) {
  std::string format;
  for (const char* l : labels) format += (format.empty() ? "" : "\t") + labelFormat(l);
  auto value = runCaptured({runtime, "image", "inspect", "--format", format, image});
  if (!value) return std::nullopt;
  return *value;
}

// What the per-tool image takes from the runtime's image: its layers (diff ids) and config.
Status readBaseImage(const std::string& runtime, const std::string& image, image::LayerOnImage& out) {
  COCO_ASSIGN(auto done, sys::run({.argv = {runtime, "image", "inspect", image},
                                   .in = sys::Stdio::Null,
                                   .out = sys::Stdio::Capture,
                                   .err = sys::Stdio::Null}));
  if (done.exitCode != 0)
    return Error::make("{} image inspect {} failed (exit {})", runtime, image, done.exitCode);
  auto all = nlohmann::json::parse(done.output, nullptr, false);
  if (all.is_discarded() || !all.is_array() || all.empty() || !all[0].is_object())
    return Error::make("{} image inspect {}: not the JSON it gives", runtime, image);
  const auto& info = all[0];
  auto layers = info.value("/RootFS/Layers"_json_pointer, nlohmann::json::array());
  for (const auto& l : layers)
    if (l.is_string()) out.baseDiffIds.push_back(l.get<std::string>());
  if (out.baseDiffIds.empty() || out.baseDiffIds.size() != layers.size())
    return Error::make("{} image inspect {}: no layers", runtime, image);
  out.baseConfig = info.value("Config", nlohmann::json::object()).dump();
  return {};
}

Status loadToolImage(const ToolImage& in, const std::string& reference) {
  image::LayerOnImage layer{in.layerDir, in.idMap, {}, "", {}, reference};
  COCO_TRY(readBaseImage(in.runtime, in.baseImage, layer));
  layer.labels = {{kToolLabel, in.tool},
                  {kConfigHashLabel, in.configHash},
                  {kBaseLabel, in.baseId},
                  {kLayerLabel, in.layerStamp}};
  // A directory of this run's own, made fresh (mkdtemp): whatever already stands at a
  // predictable name in the cache (a symlink a sandbox given ~/.cache planted) is never
  // written through.
  COCO_TRY(fs::makeDirs(in.workDir.substr(0, in.workDir.rfind('/')), 0700));
  std::string dir = in.workDir + ".XXXXXX";
  if (!::mkdtemp(dir.data())) return Error::fromErrno("mkdtemp {}", dir);
  std::string file = fs::joinPath(dir, "tool-image.tar");
  auto start = std::chrono::steady_clock::now();
  Status st = image::exportLayerOnImage(layer, file);
  auto written = std::chrono::steady_clock::now();
  if (st) {
    auto loaded = runCaptured({in.runtime, "load", "-q", "-i", file});
    if (!loaded) st = std::move(loaded).error();
  }
  log::debug("tool image {}: written in {:.1f} s, loaded in {:.1f} s", reference,
             std::chrono::duration<double>(written - start).count(),
             std::chrono::duration<double>(std::chrono::steady_clock::now() - written).count());
  (void)fs::removeTree(dir);
  return st;
}

}  // namespace

Result<std::string> ensureToolImage(const ToolImage& in, bool& made) {
  std::string reference = toolImageReference(in.tool, in.configHash, in.baseId);
  made = false;
  // Held already, made from this very install of the layer (one inspect: a warm run's only cost).
  auto held = imageLabels(in.runtime, reference, {kToolLabel, kConfigHashLabel, kBaseLabel, kLayerLabel});
  if (held && *held == fmt::format("{}\t{}\t{}\t{}", in.tool, in.configHash, in.baseId, in.layerStamp))
    return reference;
  auto loaded = loadToolImage(in, reference);
  if (!loaded) return std::move(loaded).error().wrap(fmt::format("making {}'s image {}", in.tool, reference));
  made = true;
  return reference;
}

Result<std::vector<ToolImageEntry>> listToolImages(const std::string& runtime) {
  COCO_ASSIGN(std::string ids, runCaptured({runtime, "images", "-a", "--no-trunc", "--filter",
                                            std::string("label=") + kToolLabel, "--format", "{{.ID}}"}));
  std::vector<ToolImageEntry> out;
  std::vector<std::string> seen;
  size_t at = 0;
  while (at < ids.size()) {
    size_t nl = ids.find('\n', at);
    std::string id = ids.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    at = nl == std::string::npos ? ids.size() : nl + 1;
    if (id.empty() || std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
    seen.push_back(id);
    // One inspect per image: the runtime prints the labels in a line of its own for each.
    std::string format =
        fmt::format("{}\t{}\t{}\t{{{{range .RepoTags}}}}{{{{.}}}} {{{{end}}}}", labelFormat(kToolLabel),
                    labelFormat(kConfigHashLabel), labelFormat(kBaseLabel));
    auto line = runCaptured({runtime, "image", "inspect", "--format", format, id});
    if (!line) continue;  // removed meanwhile
    std::vector<std::string> f;
    for (size_t s = 0;;) {
      size_t t = line->find('\t', s);
      f.push_back(line->substr(s, t == std::string::npos ? std::string::npos : t - s));
      if (t == std::string::npos) break;
      s = t + 1;
    }
    if (f.size() != 4) continue;
    std::string first = f[3].substr(0, f[3].find(' '));
    out.push_back({id, first, f[0], f[1], f[2]});
  }
  return out;
}

Status removeImage(const std::string& runtime, const std::string& image) {
  COCO_TRY(runCaptured({runtime, "rmi", image}));
  return {};
}

}  // namespace coco::backend
