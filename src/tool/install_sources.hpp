// Where mise downloads from, per backend and core tool: one table of public hosts, each row naming its source.
//
// The npm registry and the Debian mirrors are not in it: they are read from
// npm's and apt's configuration (install_hosts.cpp). Every other row holds the
// public hosts mise (or the package manager it runs) uses by default; the
// host's mirror settings replace a row (install_hosts.cpp reads them).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace coco::tool {

// One group of hosts that a mirror setting replaces as a whole.
struct DownloadSource {
  std::string_view name;                     // "node-dist", "github-downloads", ...
  std::vector<std::string_view> hosts;       // public defaults, in the allowlist's grammar
  std::vector<std::string_view> mirrorVars;  // host variables (URLs) that replace `hosts` when set
  std::string_view from;                     // where this knowledge comes from
};

// The whole table, in a fixed order.
const std::vector<DownloadSource>& downloadSources();
// The row called `name`, nullptr for none.
const DownloadSource* downloadSource(std::string_view name);

// What a mise tool spec downloads: the rows of downloadSources() it uses, the
// package managers whose own configuration names more hosts, and whether coco
// knows the spec's backend at all.
struct SpecDownloads {
  std::vector<std::string_view> sources;
  bool npm = false, python = false, cargo = false, go = false;
  bool known = false;
  std::string backend;  // what the spec resolved to: "aqua", "core:node", "cargo" ...
};

// "npm:eslint", "pipx:black", "aqua:BurntSushi/ripgrep", "node@lts", "ripgrep",
// "core:go" ... A bare name is a core tool or a name of mise's registry; a
// registry name coco does not list is assumed to come from GitHub releases (the
// registry's usual backends) but is not `known`.
SpecDownloads downloadsForSpec(std::string_view spec);

// The registry short names coco lists and the backend mise resolves each to.
struct ShortName {
  std::string_view name, backend;
};
const std::vector<ShortName>& registryShortNames();

}  // namespace coco::tool
