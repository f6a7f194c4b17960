// Layer archives, unpacked for real into a directory of a per-process temp dir
// whose sibling "sentinel" must stay exactly as it was: nothing an archive
// holds (symlinks, hardlinks, whiteouts, "..") may reach outside its layer.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "fuzz_support.hpp"
#include "image/unpack.hpp"
#include "util/fs.hpp"

namespace {

using namespace coco;

std::string gDir, gSentinelBefore, gCwd;

std::string currentDir() {
  char buf[PATH_MAX];
  return ::getcwd(buf, sizeof buf) ? buf : "";
}

// Every entry under `path`: name, type, mode, and content or link target.
std::string describeTree(const std::string& path, const std::string& rel = "") {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return rel + " missing\n";
  std::string out = rel + " " + std::to_string(st.st_mode) + " " + std::to_string(st.st_size);
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX] = {};
    out += std::string(" -> ") + (::readlink(path.c_str(), target, sizeof target - 1) > 0 ? target : "?");
  } else if (S_ISREG(st.st_mode)) {
    auto text = fs::readFile(path);
    out += " " + (text ? *text : std::string("unreadable"));
  }
  out += "\n";
  if (S_ISDIR(st.st_mode)) {
    auto names = fs::listDir(path);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) out += describeTree(path + "/" + n, rel + "/" + n);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gDir = fuzz::processTempDir("coco-fuzz-unpack");
  std::string s = gDir + "/sentinel";
  FUZZ_CHECK(fs::makeDirs(s + "/dir").ok(), s);
  FUZZ_CHECK(fs::writeFileAtomic(s + "/keep", "untouched").ok(), s);
  FUZZ_CHECK(fs::writeFileAtomic(s + "/dir/victim", "original").ok(), s);
  FUZZ_CHECK(::symlink("keep", (s + "/link").c_str()) == 0, s);
  gSentinelBefore = describeTree(s);
  gCwd = currentDir();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string archive = gDir + "/in.tar", layer = gDir + "/layer";
  FUZZ_CHECK(fuzz::writeFile(archive, std::string_view(reinterpret_cast<const char*>(data), size)), archive);
  FUZZ_CHECK(::mkdir(layer.c_str(), 0755) == 0, layer);
  image::UnpackOptions options;
  options.whiteouts = size % 2 == 0;  // layer mode and plain mode, both reachable
  auto st = image::unpackArchive(archive, layer, options);
  if (!st) FUZZ_CHECK(!st.error().message().empty(), "");
  auto names = fs::listDir(gDir);
  std::sort(names.begin(), names.end());
  FUZZ_CHECK((names == std::vector<std::string>{"in.tar", "layer", "sentinel"}), "something appeared next to the layer");
  FUZZ_CHECK(describeTree(gDir + "/sentinel") == gSentinelBefore, "the sentinel changed");
  FUZZ_CHECK(currentDir() == gCwd, "the working directory changed");
  FUZZ_CHECK(fs::removeTree(layer).ok(), layer);
  return 0;
}
