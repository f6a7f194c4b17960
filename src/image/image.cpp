// Resolution of image references; only rootfs:DIR so far.
#include "image/image.hpp"

#include "util/fs.hpp"

namespace coco::image {

namespace {
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

Result<Image> resolve(const std::string& reference) {
  constexpr std::string_view kRootfs = "rootfs:";
  if (reference.rfind(kRootfs, 0) == 0) {
    std::string dir = reference.substr(kRootfs.size());
    if (dir.empty() || dir.front() != '/') return Error::make("image {}: rootfs: needs an absolute directory", reference);
    if (!fs::isDirectory(dir)) return Error::withErrno(ENOENT, fmt::format("image {}: no such directory", reference));
    return Image{reference, {fs::normalize(dir)}, {{"PATH", kDefaultPath}}, ""};
  }
  return Error::make("image {}: unsupported reference (use rootfs:DIR)", reference);
}

}  // namespace coco::image
