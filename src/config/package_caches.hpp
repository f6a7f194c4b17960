// The package managers' download caches: what each is called and where it lives
// inside a sandbox (HOME=/root, no variable moving it). Installs share them
// between tools (tool/tool_layer.cpp); a config's `caches` keeps some of them
// for that tool's runs, in a host directory of that tool's own (tool/plan.cpp).
#pragma once

#include <array>
#include <string_view>

namespace coco::config {

struct PackageCache {
  std::string_view kind;  // the name in `caches` and the host directory's name
  std::string_view dst;   // inside the sandbox
  bool forRuns;           // may be named in `caches`
};

inline constexpr PackageCache kMiseCache{"mise", "/root/.cache/mise", false};
inline constexpr PackageCache kNpmCache{"npm", "/root/.npm", true};
inline constexpr PackageCache kAptArchives{"apt-archives", "/var/cache/apt/archives", false};
inline constexpr PackageCache kAptLists{"apt-lists", "/var/lib/apt/lists", false};
inline constexpr PackageCache kPipCache{"pip", "/root/.cache/pip", true};
inline constexpr PackageCache kUvCache{"uv", "/root/.cache/uv", true};
inline constexpr PackageCache kCargoCache{"cargo", "/root/.cargo/registry", true};  // CARGO_HOME's registry/
inline constexpr PackageCache kGoCache{"go", "/root/go/pkg/mod", true};             // GOMODCACHE's default
inline constexpr PackageCache kYarnCache{"yarn", "/root/.cache/yarn", true};        // yarn 1
inline constexpr PackageCache kPnpmStore{"pnpm", "/root/.local/share/pnpm/store", true};

inline constexpr std::array kPackageCaches = {kMiseCache, kNpmCache, kAptArchives, kAptLists, kPipCache,
                                              kUvCache,   kCargoCache, kGoCache,   kYarnCache, kPnpmStore};

// The cache `caches` may name by that kind, or nullptr.
constexpr const PackageCache* runCache(std::string_view kind) {
  for (const auto& c : kPackageCaches)
    if (c.forRuns && c.kind == kind) return &c;
  return nullptr;
}

}  // namespace coco::config
