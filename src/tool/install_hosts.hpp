// The hosts an install needs: the download table's public defaults, replaced by what the host's configuration says.
//
// npm's registry and the Debian mirrors are never written in coco: npm's comes
// from the host's npm configuration, apt's from the image's apt sources. The
// public hosts of mise's backends and core tools are install_sources' table;
// pip/uv indexes, cargo's source replacement, GOPROXY, mise's mirror settings
// and HTTPS_PROXY replace them. Hosts are returned in the allowlist's
// spelling: "name" (ports 80/443) or "name:port".
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace coco::tool {

// What an install downloads; decided from the tool spec and dependencies.
struct InstallNeeds {
  bool apt = false;
  bool npm = false;
  bool python = false;  // pip, pipx, uv
  bool cargo = false;
  bool go = false;
  std::vector<std::string> sources;  // rows of install_sources' table ("node-dist", "github-api" ...)
  std::vector<std::string> unknown;  // specs whose hosts coco cannot tell ("asdf:x", an unlisted registry name)
  InstallNeeds& operator|=(const InstallNeeds& other);
};

// "npm:eslint" -> npm; "pipx:black", "uv:ruff", "pip:x" -> python; "cargo:" -> cargo;
// "go:" -> go; core tools, registry names and the aqua/ubi/github/gitlab backends
// -> their rows of install_sources' table.
InstallNeeds needsForSpec(std::string_view miseSpec);
// Several specs (tool + dependencies.mise), OR-ed.
InstallNeeds needsForSpecs(const std::vector<std::string>& miseSpecs);

// Where the configuration is read from; the process's by default (fromProcess),
// fixtures in tests.
struct HostConfigSource {
  std::map<std::string, std::string> env;  // the host environment
  std::string home;                        // for ~/.npmrc, pip.conf, ~/.cargo/config.toml
  std::string etcDir = "/etc";             // for /etc/npmrc, /etc/pip.conf
  // Runs a command on the host and returns its trimmed stdout, nullopt when it
  // could not run or failed (`npm config get registry`, `go env GOPROXY`).
  std::function<std::optional<std::string>(const std::vector<std::string>&)> command;

  static HostConfigSource fromProcess();
};

// "https://user:pw@a.example:8443/path" -> "a.example:8443"; the port is dropped
// when it is the scheme's default. Empty for URLs without an http(s) host, and
// for hosts the allowlist cannot hold (util/host_port.hpp's grammar).
std::string hostOfUrl(std::string_view url);

// Why a host read from configuration may not join an install's allowlist: an IP
// literal that is not a public address (loopback, link-local and cloud
// metadata, private and CGNAT, unspecified, multicast), or not a host at all;
// nullptr when it may.
const char* refusedDerivedHost(std::string_view host);

// The npm registry URL the host's npm uses, read as npm reads it (no npm is
// run: that cost 0.4 s per install): npm_config_registry in any case, then the
// user's npmrc (npm_config_userconfig, ~/.npmrc), the global one
// (globalconfig, PREFIX/etc/npmrc, /etc/npmrc), npm's builtin npmrc, and npm's
// own default from its sources (the `npm` on PATH). Only where a value needs
// npm's expansion (${VAR}, ~) or npm's default cannot be read is
// `npm config get registry` run. Never a workspace's .npmrc.
Result<std::string> npmRegistryUrl(const HostConfigSource& src);

// The apt URIs of an image, given its layers topmost first: etc/apt/sources.list
// and sources.list.d/*.{list,sources} as the overlay would show them, parsed by
// image/apt_sources (the parsers the Debian bootstrap uses too).
std::vector<std::string> aptUrisOfLayers(const std::vector<std::string>& layers);

// pip/uv index URLs: PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, UV_INDEX_URL,
// UV_DEFAULT_INDEX, UV_EXTRA_INDEX_URL, UV_INDEX, and index-url/extra-index-url
// of pip.conf ($PIP_CONFIG_FILE, /etc/pip.conf, ~/.config/pip/pip.conf, ~/.pip/pip.conf);
// with none of them, pip's own default as the host's python3 reports it.
std::vector<std::string> pythonIndexUrls(const HostConfigSource& src);
// "index-url"/"extra-index-url" of an ini text (continuation lines included).
std::vector<std::string> pipConfUrls(std::string_view text);

// The host's cargo configuration: config.toml (or config) in $CARGO_HOME, else ~/.cargo.
std::optional<std::string> cargoConfigText(const HostConfigSource& src);

// CARGO_REGISTRIES_<NAME>_INDEX and "index = ..." lines of the host's cargo configuration.
std::vector<std::string> cargoIndexUrls(const HostConfigSource& src);

// GOPROXY and GOSUMDB (from the environment, else `go env`), without "direct" and "off";
// Go's defaults (proxy.golang.org, sum.golang.org) for a setting that is not configured.
std::vector<std::string> goProxyUrls(const HostConfigSource& src);

// The registry URL cargo's `[source.crates-io] replace-with` points at in
// the host's cargo configuration (following replace-with chains); empty when crates.io is not replaced.
std::string cargoCratesIoReplacement(const HostConfigSource& src);

// A cargo config.toml replacing crates.io by the host's replacement, for the
// install's own cargo (cargo reads [source] tables only from files, no
// variable sets them); empty when the host does not replace crates.io.
std::string cargoReplacementConfig(const HostConfigSource& src);

// The https proxy the host's downloads go through (HTTPS_PROXY, https_proxy,
// ALL_PROXY, all_proxy), as a URL; empty for none.
std::string httpsProxyUrl(const HostConfigSource& src);

struct InstallHosts {
  std::vector<std::string> hosts;    // sorted, de-duplicated; none refusedDerivedHost refuses
  std::vector<std::string> unknown;  // managers whose sources were not found ("apt"), unknown specs
  // What makes the sandbox's package managers and mise use the host's sources:
  // NPM_CONFIG_REGISTRY, and PIP_INDEX_URL, GOPROXY, MISE_NODE_MIRROR_URL,
  // HTTPS_PROXY ... when set on the host.
  std::vector<std::pair<std::string, std::string>> env;
  // The host's crates.io replacement as a cargo config.toml (cargoReplacementConfig), or "".
  std::string cargoConfig;
};

// The hosts for `needs`. npm is the one manager every install may use, so a
// missing npm registry is an Error (with what to configure). Each row of the
// download table gives its public hosts unless the host configures a mirror
// for it (which then replaces them); an https proxy replaces every host but
// those its NO_PROXY exempts. What coco cannot tell is listed in `unknown` and
// the caller says where to name the hosts.
Result<InstallHosts> installHosts(const InstallNeeds& needs, const HostConfigSource& src,
                                  const std::vector<std::string>& imageLayers);

}  // namespace coco::tool
