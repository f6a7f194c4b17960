// What an overlay of image layers shows, read on the host beneath each layer.
#include "image/layer_lookup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <set>

#include "sys/beneath.hpp"
#include "sys/overlay.hpp"
#include "util/fs.hpp"
#include "util/unique_fd.hpp"

namespace coco::image {

std::map<std::string, LayerFile> mergedFiles(const std::vector<std::string>& layers, const std::string& relDir) {
  std::map<std::string, LayerFile> files;
  std::set<std::string> hidden;
  for (const auto& layer : layers) {
    UniqueFd root(::open(layer.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) continue;
    auto dir = sys::openBeneath(root.get(), relDir, O_RDONLY | O_DIRECTORY);
    if (!dir && dir.error().code() == ENOENT) continue;
    if (!dir) break;
    DIR* d = ::fdopendir(::dup(dir->get()));
    while (struct dirent* e = d ? ::readdir(d) : nullptr) {
      std::string n = e->d_name;
      struct stat st;
      if (n == "." || n == ".." || files.count(n) || hidden.count(n)) continue;
      if (::fstatat(dir->get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (sys::isWhiteout(st)) hidden.insert(n);
      else if (S_ISREG(st.st_mode))
        files.emplace(n, LayerFile{layer, fs::joinPath(relDir, n)});
    }
    if (d) ::closedir(d);
    if (sys::isOpaqueDir(dir->get())) break;
  }
  return files;
}

namespace {

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// The first `count` components as a path relative to a layer ("." for none).
std::string joinComponents(const std::vector<std::string>& parts, size_t count) {
  std::string s = count ? "" : ".";
  for (size_t i = 0; i < count; ++i) s += (i ? "/" : "") + parts[i];
  return s;
}

// Whether the layer makes any of the first `count` directories of parts opaque (hiding the layers below).
bool anyOpaque(int root, const std::vector<std::string>& parts, size_t count) {
  for (size_t i = 0; i <= count; ++i) {
    auto dir = sys::openBeneath(root, joinComponents(parts, i), O_RDONLY | O_DIRECTORY);
    if (dir && sys::isOpaqueDir(dir->get())) return true;
  }
  return false;
}

struct Entry {
  std::string layer;
  struct stat st;
};

// The topmost entry at rel (its parent directories all real directories in
// the layers consulted), following the overlay's rules; nullopt when none is
// shown.
std::optional<Entry> mergedEntry(const std::vector<std::string>& layers, const std::vector<std::string>& parts,
                                 size_t count) {
  std::string parent = joinComponents(parts, count - 1);
  const std::string& name = parts[count - 1];
  for (const auto& layer : layers) {
    UniqueFd root(::open(layer.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return std::nullopt;
    auto dir = sys::openBeneath(root.get(), parent, O_RDONLY | O_DIRECTORY);
    if (!dir) {
      if (dir.error().code() == ENOENT) continue;
      return std::nullopt;  // something else than a directory hides the layers below
    }
    struct stat st;
    if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
      return sys::isWhiteout(st) ? std::nullopt : std::optional(Entry{layer, st});
    if (anyOpaque(root.get(), parts, count - 1)) return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::string> readLinkIn(const std::string& layer, const std::string& rel) {
  UniqueFd root(::open(layer.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return std::nullopt;
  auto link = sys::openBeneath(root.get(), rel, O_PATH | O_NOFOLLOW);
  if (!link) return std::nullopt;
  char target[4096];
  ssize_t n = ::readlinkat(link->get(), "", target, sizeof target);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof target) return std::nullopt;
  return std::string(target, static_cast<size_t>(n));
}

}  // namespace

std::optional<struct stat> mergedStat(const std::vector<std::string>& layers, const std::string& rel) {
  std::vector<std::string> parts;
  for (auto& c : components(rel))
    if (c == "..")
      return std::nullopt;
    else if (c != ".")
      parts.push_back(std::move(c));
  if (parts.empty()) return std::nullopt;
  for (size_t k = 1; k < parts.size(); ++k) {
    auto dir = mergedEntry(layers, parts, k);
    if (!dir || !S_ISDIR(dir->st.st_mode)) return std::nullopt;
  }
  auto entry = mergedEntry(layers, parts, parts.size());
  if (!entry) return std::nullopt;
  return entry->st;
}

std::optional<ResolvedFile> resolveRegularFile(const std::vector<std::string>& layers, const std::string& path) {
  // Each step resolves one component; a symlink's target (in the sandbox's root) replaces the prefix.
  std::vector<std::string> parts;
  for (auto& c : components(path))
    if (c == "..") return std::nullopt;
    else if (c != ".") parts.push_back(std::move(c));
  int links = 0;
  for (size_t k = 1; k <= parts.size(); ++k) {
    auto entry = mergedEntry(layers, parts, k);
    if (!entry) return std::nullopt;
    std::string rel = joinComponents(parts, k);
    if (S_ISLNK(entry->st.st_mode)) {
      auto target = readLinkIn(entry->layer, rel);
      if (!target || ++links > 40) return std::nullopt;
      // The base is resolved, so a leading "../" is exact (stopping at the root,
      // as in the sandbox); a ".." after an unresolved component is not: refused.
      std::vector<std::string> base(parts.begin(), parts.begin() + static_cast<long>(k - 1));
      if (target->front() == '/') base.clear();
      std::vector<std::string> next = components(*target);
      size_t up = 0;
      while (up < next.size() && next[up] == "..") {
        if (!base.empty()) base.pop_back();
        ++up;
      }
      for (size_t i = up; i < next.size(); ++i)
        if (next[i] == "..") return std::nullopt;
        else if (next[i] != ".") base.push_back(next[i]);
      base.insert(base.end(), parts.begin() + static_cast<long>(k), parts.end());
      parts = std::move(base);
      k = 0;
      continue;
    }
    if (k == parts.size()) {
      if (!S_ISREG(entry->st.st_mode)) return std::nullopt;
      return ResolvedFile{LayerFile{entry->layer, rel}, "/" + rel};
    }
    if (!S_ISDIR(entry->st.st_mode)) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace coco::image
