// A tool layer as read-only binds over the image it was installed on (podman, docker).
#include "tool/layer_binds.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "image/layer_lookup.hpp"
#include "sys/beneath.hpp"
#include "sys/overlay.hpp"
#include "util/fs.hpp"
#include "util/unique_fd.hpp"

namespace coco::tool {

namespace {

struct Walk {
  int root;  // the layer directory
  const std::string& layerDir;
  const std::vector<std::string>& base;
  std::vector<engine::BindMount> binds;
};

Error cannotBind(const std::string& rel, const std::string& why) {
  return Error::make(
      "the tool layer {} /{}, which a read-only bind into a podman/docker container cannot show; "
      "use COCO_RUNTIME=native for this tool",
      why, rel);
}

Status addBind(Walk& w, const std::string& rel) {
  if (w.binds.size() >= kMaxLayerBinds)
    return Error::make(
        "the tool layer changes more than {} paths of the base image (/{} and others), too many to bind into "
        "a podman/docker container one by one; use COCO_RUNTIME=native for this tool",
        kMaxLayerBinds, rel);
  w.binds.push_back({fs::joinPath(w.layerDir, rel), "/" + rel, true});
  return {};
}

std::vector<std::string> entries(int dirFd) {
  std::vector<std::string> names;
  DIR* d = ::fdopendir(::dup(dirFd));
  while (struct dirent* e = d ? ::readdir(d) : nullptr)
    if (std::string n = e->d_name; n != "." && n != "..") names.push_back(std::move(n));
  if (d) ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Status walk(Walk& w, const std::string& rel);

Status visit(Walk& w, int dirFd, const std::string& name, const std::string& rel) {
  struct stat st;
  if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return Error::fromErrno("stat {}/{}", w.layerDir, rel);
  auto below = image::mergedStat(w.base, rel);
  if (sys::isWhiteout(st)) return below ? cannotBind(rel, "removes") : Status();
  if (S_ISDIR(st.st_mode)) {
    if (!below) return addBind(w, rel);
    if (!S_ISDIR(below->st_mode)) return cannotBind(rel, "puts a directory over the base image's file");
    auto dir = sys::openBeneath(w.root, rel, O_RDONLY | O_DIRECTORY);
    if (!dir) return std::move(dir).error();
    // Opaque: the layer's directory replaces the base's, as a bind does.
    if (sys::isOpaqueDir(dir->get())) return addBind(w, rel);
    return walk(w, rel);
  }
  if (S_ISREG(st.st_mode)) {
    if (below && S_ISDIR(below->st_mode))
      return cannotBind(rel, "puts a file over the base image's directory");
    return addBind(w, rel);
  }
  if (S_ISLNK(st.st_mode)) return cannotBind(rel, "adds the symbolic link");
  return cannotBind(rel, "adds the special file");
}

Status walk(Walk& w, const std::string& rel) {
  auto dir = sys::openBeneath(w.root, rel.empty() ? "." : rel, O_RDONLY | O_DIRECTORY);
  if (!dir) return std::move(dir).error();
  for (const auto& name : entries(dir->get()))
    COCO_TRY(visit(w, dir->get(), name, rel.empty() ? name : rel + "/" + name));
  return {};
}

}  // namespace

Result<std::vector<engine::BindMount>> layerBinds(const std::string& layerDir,
                                                  const std::vector<std::string>& baseLayers) {
  UniqueFd root(::open(layerDir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return Error::fromErrno("open {}", layerDir);
  Walk w{root.get(), layerDir, baseLayers, {}};
  COCO_TRY(walk(w, ""));
  return std::move(w.binds);
}

}  // namespace coco::tool
