// The podman/docker runtimes' image: coco's own native base image imported into the runtime's
// storage (`coco rebuild` under COCO_RUNTIME=podman or docker).
#include "backend/container_image.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "image/digest.hpp"
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

}  // namespace coco::backend
