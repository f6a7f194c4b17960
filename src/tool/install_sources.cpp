// The download table: public hosts per mise backend and core tool, and the short names of mise's registry.
//
// Sources are paths in github.com/jdx/mise (read at 2026.8.10; the base image
// runs 2026.9.15) unless said otherwise.
#include "tool/install_sources.hpp"

#include <algorithm>
#include <cctype>

namespace coco::tool {

namespace {

// Rows used by several backends.
constexpr std::string_view kGithubApi = "github-api";
constexpr std::string_view kGithubDownloads = "github-downloads";
constexpr std::string_view kSigstore = "sigstore";

}  // namespace

const std::vector<DownloadSource>& downloadSources() {
  static const std::vector<DownloadSource> table = {
      {kGithubApi, {"api.github.com"}, {},
       "src/github.rs API_URL: release and tag lists (aqua, github, ubi, bun, rust, ruby), asset "
       "lookups, attestations; coco sets MISE_USE_VERSIONS_HOST=false, so version lists come from here"},
      {kGithubDownloads,
       {"github.com", "objects.githubusercontent.com", "release-assets.githubusercontent.com"},
       {},
       "github.com/OWNER/REPO/releases/download/... (aqua registry's github_release URL template, "
       "src/backend/github.rs) redirects to the asset hosts of src/github.rs is_github_release_asset_host"},
      {kSigstore, {"tuf-repo-cdn.sigstore.dev", "tuf-repo.github.com"}, {},
       "crates/mise-sigstore/src/lib.rs production_trusted_root / github_tuf_trusted_root: TUF trust roots "
       "for attestation and cosign checks, on by default (settings.toml aqua.github_attestations, "
       "aqua.cosign, github.github_attestations; provenance_api_failures_fatal = true)"},
      {"gitlab", {"gitlab.com"}, {}, "src/gitlab.rs API_URL, src/backend/github.rs DEFAULT_GITLAB_API_BASE_URL"},
      {"forgejo", {"codeberg.org"}, {}, "src/backend/github.rs DEFAULT_FORGEJO_API_BASE_URL"},
      {"node-dist", {"nodejs.org"}, {"MISE_NODE_MIRROR_URL", "NODE_BUILD_MIRROR_URL"},
       "src/config/settings.rs DEFAULT_NODE_MIRROR_URL and NodeSettings::mirror_url (index.json, tarballs, "
       "SHASUMS256.txt); settings.toml node.mirror_url"},
      {"mise-versions", {"mise-versions.jdx.dev"}, {},
       "src/plugins/core/python.rs fetch_precompiled_remote_versions: the python-build-standalone list, "
       "fetched whatever MISE_USE_VERSIONS_HOST says"},
      {"pyenv-repo", {"github.com"}, {"MISE_PYENV_REPO"},
       "settings.toml python.pyenv_repo (default https://github.com/pyenv/pyenv.git): mise 2026.9.15 clones "
       "it before a python install (seen in the store-wide e2e test's install log)"},
      {"go-dist", {"dl.google.com"}, {"MISE_GO_DOWNLOAD_MIRROR"},
       "settings.toml go.download_mirror (default https://dl.google.com/go), src/plugins/core/go.rs"},
      {"go-repo", {"github.com"}, {"MISE_GO_REPO"},
       "settings.toml go.repo (default https://github.com/golang/go): go's versions are its git tags "
       "(src/plugins/core/go.rs)"},
      {"rustup-init", {"sh.rustup.rs"}, {}, "src/plugins/core/rust.rs rustup_url"},
      {"rust-dist", {"static.rust-lang.org"}, {"RUSTUP_DIST_SERVER", "RUSTUP_UPDATE_ROOT"},
       "rustup's defaults (rust-lang/rustup src/dist/mod.rs); src/plugins/core/rust.rs "
       "RUST_NIGHTLY_MANIFEST_URL"},
      {"java-metadata", {"mise-java.jdx.dev"}, {},
       "src/plugins/core/java.rs: https://mise-java.jdx.dev/jvm/... lists every vendor's builds"},
      {"java-openjdk", {"download.java.net"}, {},
       "the default vendor (settings.toml java.shorthand_vendor = openjdk) downloads from jdk.java.net's "
       "download host, as mise-java.jdx.dev's metadata says"},
      {"deno", {"deno.com", "dl.deno.land"}, {}, "src/plugins/core/deno.rs: versions.json and release zips"},
      {"ruby-index", {"cache.ruby-lang.org"}, {}, "src/plugins/core/ruby.rs RUBY_INDEX_URL"},
      {"crates",
       {"index.crates.io", "static.crates.io", "crates.io"},
       {},
       "src/backend/cargo.rs get_crate_url (sparse index); cargo's crate downloads "
       "(static.crates.io, from the index's config.json) and API; replaced by cargo's "
       "source.replace-with and CARGO_REGISTRIES_* (install_hosts.cpp)"},
      {"pypi", {"pypi.org", "files.pythonhosted.org"}, {},
       "settings.toml pipx.registry_url (default https://pypi.org/pypi/{}/json); src/backend/pipx.rs "
       "get_index_url sets PIP_INDEX_URL/UV_INDEX from it; wheels live on pip's file host; replaced by "
       "pip.conf, PIP_INDEX_URL, UV_INDEX_URL ... (install_hosts.cpp)"},
      {"goproxy", {"proxy.golang.org"}, {},
       "src/backend/go.rs DEFAULT_GOPROXY; replaced by GOPROXY (install_hosts.cpp)"},
      {"gosumdb", {"sum.golang.org"}, {},
       "Go's default GOSUMDB (go help module-auth); replaced by GOSUMDB (install_hosts.cpp)"},
  };
  return table;
}

const DownloadSource* downloadSource(std::string_view name) {
  for (const auto& s : downloadSources())
    if (s.name == name) return &s;
  return nullptr;
}

namespace {

struct BackendRow {
  std::string_view backend;
  std::vector<std::string_view> sources;
  bool npm = false, python = false, cargo = false, go = false;
};

// Backend or core tool -> the rows its installs use.
const std::vector<BackendRow>& backendTable() {
  static const std::vector<BackendRow> table = {
      // src/plugins/core/node.rs: everything from the node mirror.
      {"core:node", {"node-dist"}},
      // src/plugins/core/python.rs: python-build-standalone releases on GitHub (a fixed URL, no API),
      // the version list from mise-versions, attestations checked through GitHub's API and sigstore.
      {"core:python", {"pyenv-repo", kGithubDownloads, kGithubApi, kSigstore, "mise-versions"}},
      // src/plugins/core/go.rs: tarballs from go.download_mirror, versions from go.repo's tags.
      {"core:go", {"go-dist", "go-repo"}},
      // src/plugins/core/rust.rs: rustup-init from sh.rustup.rs, toolchains from rustup's dist
      // server, versions from github::list_releases("rust-lang/rust").
      {"core:rust", {"rustup-init", "rust-dist", kGithubApi}},
      // src/plugins/core/java.rs: metadata, the default vendor's host; other vendors (temurin,
      // corretto ...) publish on GitHub releases.
      {"core:java", {"java-metadata", "java-openjdk", kGithubDownloads}},
      // src/plugins/core/bun.rs: github::list_releases("oven-sh/bun") and its release downloads.
      {"core:bun", {kGithubApi, kGithubDownloads}},
      // src/plugins/core/deno.rs
      {"core:deno", {"deno"}},
      // src/plugins/core/ruby.rs: precompiled builds from GitHub releases (settings.toml
      // ruby.precompiled_url = jdx/ruby) with attestations, ruby-lang.org's index.
      {"core:ruby", {kGithubApi, kGithubDownloads, kSigstore, "ruby-index"}},
      // src/backend/aqua.rs: the aqua registry is built into mise (aqua.registry_url unset);
      // github_release packages download github.com/{repo_owner}/{repo_name}/releases/download/...
      // and are verified with checksums, cosign, SLSA and GitHub attestations.
      {"aqua", {kGithubApi, kGithubDownloads, kSigstore}},
      // src/backend/github.rs: GitHub's API for releases and assets, attestations, SLSA.
      {"github", {kGithubApi, kGithubDownloads, kSigstore}},
      // src/backend/ubi.rs: GitHub by default (provider=gitlab is the gitlab row).
      {"ubi", {kGithubApi, kGithubDownloads}},
      {"gitlab", {"gitlab"}},
      {"forgejo", {"forgejo"}},
      // src/backend/cargo.rs: the crates index for versions, cargo install from crates.io, or
      // cargo-binstall / mise's native binstall (settings.toml cargo.binstall, cargo.binstall_native)
      // fetching the crate's GitHub release; cargo.binstall_quickinstall is off by default.
      {"cargo", {"crates", kGithubApi, kGithubDownloads}, false, false, true, false},
      // src/backend/pipx.rs: pipx or uvx against pipx.registry_url's index.
      {"pipx", {"pypi"}, false, true, false, false},
      {"uv", {"pypi"}, false, true, false, false},
      {"pip", {"pypi"}, false, true, false, false},
      {"ubi-python", {"pypi"}, false, true, false, false},
      // src/backend/go.rs: go install through GOPROXY (default proxy.golang.org) and GOSUMDB.
      {"go", {"goproxy", "gosumdb"}, false, false, false, true},
      // src/backend/npm.rs: the npm registry, read from npm's configuration.
      {"npm", {}, true, false, false, false},
  };
  return table;
}

const BackendRow* backendRow(std::string_view backend) {
  for (const auto& r : backendTable())
    if (r.backend == backend) return &r;
  return nullptr;
}

constexpr std::string_view kCoreTools[] = {"node", "python", "go", "rust", "java", "bun", "deno", "ruby"};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// "ripgrep@14" -> "ripgrep"; "node@lts" -> "node".
std::string_view bareName(std::string_view spec) { return spec.substr(0, spec.find('@')); }

SpecDownloads fromRow(const BackendRow& row, std::string backend) {
  SpecDownloads d{row.sources, row.npm, row.python, row.cargo, row.go, true, std::move(backend)};
  return d;
}

}  // namespace

// The first backend mise picks for each name (registry/NAME.toml `backends`,
// src/registry.rs RegistryTool::backends: the first one enabled on linux).
const std::vector<ShortName>& registryShortNames() {
  static const std::vector<ShortName> table = {
      {"ripgrep", "aqua"},  // registry/ripgrep.toml: aqua:BurntSushi/ripgrep; alias rg
      {"rg", "aqua"},
      {"fd", "aqua"},             // aqua:sharkdp/fd
      {"bat", "aqua"},            // aqua:sharkdp/bat
      {"uv", "aqua"},             // aqua:astral-sh/uv
      {"typst", "aqua"},          // aqua:typst/typst
      {"hyperfine", "aqua"},      // aqua:sharkdp/hyperfine
      {"golangci-lint", "aqua"},  // aqua:golangci/golangci-lint
      {"tokei", "cargo"},         // registry/tokei.toml lists cargo:tokei first (13.0 has no binaries)
      {"ruff", "aqua"},           // aqua:astral-sh/ruff
      {"jq", "aqua"},             // aqua:jqlang/jq
      {"shellcheck", "aqua"},     // aqua:koalaman/shellcheck
      {"fzf", "aqua"},            // aqua:junegunn/fzf
      {"just", "aqua"},           // aqua:casey/just
      {"shfmt", "aqua"},          // aqua:mvdan/sh
      {"yq", "aqua"},             // aqua:mikefarah/yq
      {"delta", "aqua"},          // aqua:dandavison/delta
      {"lazygit", "aqua"},        // aqua:jesseduffield/lazygit
      {"zoxide", "aqua"},         // aqua:ajeetdsouza/zoxide
      {"starship", "aqua"},       // aqua:starship/starship
      {"hadolint", "aqua"},       // aqua:hadolint/hadolint
      {"actionlint", "aqua"},     // aqua:rhysd/actionlint
      {"dust", "aqua"},           // aqua:bootandy/dust
      {"sd", "aqua"},             // aqua:chmln/sd
      {"direnv", "aqua"},         // aqua:direnv/direnv
      {"buf", "aqua"},            // aqua:bufbuild/buf
      {"protoc", "aqua"},         // aqua:protocolbuffers/protobuf/protoc
      {"biome", "aqua"},          // aqua:biomejs/biome
      {"taplo", "aqua"},          // aqua:tamasfe/taplo
  };
  return table;
}

SpecDownloads downloadsForSpec(std::string_view spec) {
  size_t colon = spec.find(':');
  if (colon != std::string_view::npos) {
    std::string backend = lower(spec.substr(0, colon));
    if (backend == "core") backend = "core:" + lower(bareName(spec.substr(colon + 1)));
    if (const BackendRow* row = backendRow(backend)) return fromRow(*row, backend);
    return SpecDownloads{{}, false, false, false, false, false, backend};  // asdf:, vfox:, http:, ...
  }
  std::string name = lower(bareName(spec));
  for (std::string_view core : kCoreTools)
    if (name == core) return fromRow(*backendRow("core:" + name), "core:" + name);
  for (const auto& s : registryShortNames())
    if (s.name == name) return fromRow(*backendRow(s.backend), std::string(s.backend));
  // Most of mise's registry resolves to aqua/ubi/github: GitHub's hosts are the best guess.
  SpecDownloads guess = fromRow(*backendRow("aqua"), "registry");
  guess.known = false;
  return guess;
}

}  // namespace coco::tool
