// What an overlay of image layers shows, read on the host beneath each layer.
#include "image/layer_lookup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <set>

#include "sys/beneath.hpp"
#include "sys/overlay.hpp"
#include "util/unique_fd.hpp"

namespace coco::image {

namespace {

// A path's non-empty components, "." and ".." included.
std::vector<std::string> split(const std::string& path) {
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

// A path asked for, as components without "."; nullopt when one is "..".
std::optional<std::deque<std::string>> components(const std::string& path) {
  std::deque<std::string> out;
  for (auto& c : split(path))
    if (c == "..")
      return std::nullopt;
    else if (c != ".")
      out.push_back(std::move(c));
  return out;
}

std::string joinComponents(const std::vector<std::string>& dir, const std::string& name) {
  std::string s;
  for (const auto& c : dir) s += c + "/";
  return s + name;
}

// One directory of the overlay: each layer's directory merged into it, topmost
// first, down to the first opaque one or to a layer with something else there
// (either hides the layers below). Each fd is opened in the one above it, one
// component at a time, so nothing a layer holds can lead the kernel through a
// symlink.
struct LayerDir {
  size_t layer;
  UniqueFd fd;
};
using MergedDir = std::vector<LayerDir>;

// What a directory of the overlay shows at one name: the topmost layer's entry.
struct Entry {
  size_t layer;
  int parentFd;    // that layer's directory holding it, owned by the MergedDir looked in
  struct stat st;  // its lstat, when it is not a directory opened by step()
  MergedDir dir;   // a directory opened by step(): the layers merged into it
};

// The overlay's root; nullopt when a layer's root cannot be opened.
std::optional<MergedDir> openRoot(const std::vector<std::string>& layers) {
  MergedDir root;
  for (size_t i = 0; i < layers.size(); ++i) {
    UniqueFd fd(::open(layers[i].c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));  // the caller's own path
    if (!fd) return std::nullopt;
    bool opaque = sys::isOpaqueDir(fd.get());
    root.push_back({i, std::move(fd)});
    if (opaque) break;
  }
  return root;
}

// The lstat of what layer `d` has at `name`, as the topmost entry: nullopt for a
// whiteout, or when it cannot be read.
std::optional<Entry> entryIn(const LayerDir& d, const std::string& name) {
  struct stat st;
  if (::fstatat(d.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || sys::isWhiteout(st))
    return std::nullopt;
  return Entry{d.layer, d.fd.get(), st, {}};
}

// The topmost entry at `name` in dir, looked at and not opened: nullopt when
// there is none, it is a whiteout, or a layer cannot be read.
std::optional<Entry> topEntry(const MergedDir& dir, const std::string& name) {
  for (const auto& d : dir) {
    struct stat st;
    if (::fstatat(d.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
      return sys::isWhiteout(st) ? std::nullopt : std::optional(Entry{d.layer, d.fd.get(), st, {}});
    if (errno != ENOENT) return std::nullopt;
  }
  return std::nullopt;
}

// As topEntry, but a directory is opened in each layer that merges into it (entry.dir), for the walk to go
// on. A directory is tried first: on the way to a file, entries are mostly directories or missing, one call.
std::optional<Entry> step(const MergedDir& dir, const std::string& name) {
  std::optional<Entry> top;
  for (const auto& d : dir) {
    int fd = sys::openat2Beneath(d.fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd == -ENOENT) continue;
    if (fd < 0) {
      // ENOTDIR: a file, a device, a whiteout; ELOOP: a symlink. Anything else cannot be read.
      if (fd != -ENOTDIR && fd != -ELOOP) return std::nullopt;
      if (top) break;  // below a directory it hides the layers below
      return entryIn(d, name);
    }
    UniqueFd sub(fd);
    bool opaque = sys::isOpaqueDir(fd);
    if (!top) top = Entry{d.layer, d.fd.get(), {}, {}};
    top->dir.push_back({d.layer, std::move(sub)});
    if (opaque) break;
  }
  return top;
}

// The directory the overlay shows at `at` below the root: nullopt when it shows
// something else on the way, or nothing. `at` empty: an empty MergedDir (the root is the caller's).
std::optional<MergedDir> descend(const MergedDir& root, const std::vector<std::string>& at) {
  MergedDir here;
  for (size_t i = 0; i < at.size(); ++i) {
    auto e = step(i ? here : root, at[i]);
    if (!e || e->dir.empty()) return std::nullopt;
    here = std::move(e->dir);
  }
  return here;
}

std::optional<std::string> readLinkAt(int dirFd, const std::string& name) {
  char target[4096];
  ssize_t n = ::readlinkat(dirFd, name.c_str(), target, sizeof target);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof target) return std::nullopt;
  return std::string(target, static_cast<size_t>(n));
}

// Puts a symlink's target in its place: `at` (the resolved directory holding
// it) becomes the directory the target starts from, the target's components go
// first in `todo`. `at` is resolved, so a leading "../" is exact (stopping at
// the root, as in the sandbox); a ".." after any other component is not: false.
bool retarget(const std::string& target, std::vector<std::string>& at, std::deque<std::string>& todo) {
  if (target.front() == '/') at.clear();
  std::vector<std::string> next = split(target);
  size_t up = 0;
  for (; up < next.size() && next[up] == ".."; ++up)
    if (!at.empty()) at.pop_back();
  for (size_t i = next.size(); i > up; --i)
    if (next[i - 1] == "..")
      return false;
    else if (next[i - 1] != ".")
      todo.push_front(next[i - 1]);
  return true;
}

}  // namespace

std::map<std::string, LayerFile> mergedFiles(const std::vector<std::string>& layers,
                                             const std::string& relDir) {
  std::map<std::string, LayerFile> files;
  auto parts = components(relDir);
  auto root = openRoot(layers);
  if (!parts || !root) return files;
  std::vector<std::string> at(parts->begin(), parts->end());
  auto dir = at.empty() ? std::move(root) : descend(*root, at);
  if (!dir) return files;
  std::string prefix = joinComponents(at, "");
  std::set<std::string> shown;  // by a layer above: a file, a whiteout, anything else
  for (auto& d : *dir) {
    int fd = d.fd.release();
    DIR* stream = ::fdopendir(fd);
    if (!stream) {
      ::close(fd);
      continue;
    }
    std::set<std::string> here;
    while (struct dirent* e = ::readdir(stream)) {
      std::string n = e->d_name;
      struct stat st;
      if (n == "." || n == ".." || shown.count(n)) continue;
      if (::fstatat(fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      here.insert(n);
      if (S_ISREG(st.st_mode)) files.emplace(n, LayerFile{layers[d.layer], prefix + n});
    }
    ::closedir(stream);
    shown.insert(here.begin(), here.end());
  }
  return files;
}

std::optional<struct stat> mergedStat(const std::vector<std::string>& layers, const std::string& rel) {
  auto parts = components(rel);
  if (!parts || parts->empty()) return std::nullopt;
  std::string name = parts->back();
  std::vector<std::string> at(parts->begin(), parts->end() - 1);
  auto root = openRoot(layers);
  if (!root) return std::nullopt;
  auto dir = descend(*root, at);
  if (!dir) return std::nullopt;
  auto entry = topEntry(at.empty() ? *root : *dir, name);
  if (!entry) return std::nullopt;
  return entry->st;
}

std::optional<ResolvedFile> resolveRegularFile(const std::vector<std::string>& layers,
                                               const std::string& path, std::vector<std::string>* through) {
  // One walk down the overlay, a component at a time; a symlink's target (in the
  // sandbox's root) is put in its place.
  auto todo = components(path);
  auto root = openRoot(layers);
  if (!todo || !root) return std::nullopt;
  std::vector<std::string> at;  // the directory the walk is in, resolved
  MergedDir here;               // its layers' directories (the root's while `at` is empty)
  int links = 0;
  while (!todo->empty()) {
    std::string name = std::move(todo->front());
    todo->pop_front();
    const MergedDir& dir = at.empty() ? *root : here;
    auto entry = todo->empty() ? topEntry(dir, name) : step(dir, name);
    if (!entry) return std::nullopt;
    if (!entry->dir.empty()) {
      at.push_back(std::move(name));
      here = std::move(entry->dir);
      if (through) {
        std::string entered = joinComponents(at, "");
        entered.pop_back();  // a directory's components end with '/'
        through->push_back("/" + entered);
      }
    } else if (S_ISLNK(entry->st.st_mode)) {
      auto target = readLinkAt(entry->parentFd, name);
      if (!target || ++links > 40) return std::nullopt;
      size_t depth = at.size();
      if (!retarget(*target, at, *todo)) return std::nullopt;
      if ((*target)[0] == '/' || at.size() < depth) {
        auto base = descend(*root, at);  // the new base is a prefix of the resolved path
        if (!base) return std::nullopt;
        here = std::move(*base);
      }
    } else {
      if (!todo->empty() || !S_ISREG(entry->st.st_mode)) return std::nullopt;
      std::string rel = joinComponents(at, name);
      return ResolvedFile{LayerFile{layers[entry->layer], rel}, "/" + rel};
    }
  }
  return std::nullopt;
}

}  // namespace coco::image
