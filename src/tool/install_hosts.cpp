// Reading package sources from npm, apt, pip/uv, cargo and Go configuration.
#include "tool/install_hosts.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "image/apt_sources.hpp"
#include "image/layer_lookup.hpp"
#include "sys/beneath.hpp"
#include "sys/overlay.hpp"
#include "sys/process.hpp"
#include "tool/install_sources.hpp"
#include "util/fs.hpp"
#include "util/host_port.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

extern char** environ;

namespace coco::tool {

namespace {

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> words(std::string_view s) {
  std::istringstream in{std::string(s)};
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::vector<std::string> lines(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const std::string* envVar(const HostConfigSource& src, const std::string& name) {
  auto it = src.env.find(name);
  return it == src.env.end() || it->second.empty() ? nullptr : &it->second;
}

std::optional<std::string> readText(const std::string& path) {
  auto text = fs::readFile(path);
  if (!text) return std::nullopt;
  return std::move(*text);
}

// `key = value` / `key=value` of an npmrc; the last one wins, as in npm.
std::optional<std::string> npmrcValue(std::string_view text, std::string_view key) {
  std::optional<std::string> found;
  for (const auto& raw : lines(text)) {
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos || trim(line.substr(0, eq)) != key) continue;
    found = trim(line.substr(eq + 1));
  }
  return found;
}

// Runs a host helper (npm, python3, go, cargo) from "/", never from the
// directory coco was started in: that is a workspace a sandbox could write,
// and these programs read it (npm a project's .npmrc, python3 -c imports from
// it, go a go.mod's toolchain line), so a planted file would run on the host
// or redirect another tool's install.
// A helper answers with one configuration value; more than this is not one.
constexpr size_t kMaxHelperOutput = 1 << 20;

std::optional<std::string> runHostHelper(const std::vector<std::string>& argv) {
  sys::SpawnOptions o{.argv = argv, .cwd = "/", .out = sys::Stdio::Capture, .err = sys::Stdio::Null,
                      .captureLimit = kMaxHelperOutput};
  auto r = sys::run(o);
  if (!r || r->exitCode != 0) return std::nullopt;
  return trim(r->output);
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// An image's configuration files are the image's: at most this much is read of one.
constexpr size_t kMaxLayerFileBytes = 1 << 20;

// A file in one layer, read like everything an image wrote: no symlinks on the
// way (one to a host file must not put its lines into the allowlist), capped.
using image::LayerFile;
using image::mergedFiles;

std::optional<std::string> readLayerFile(const LayerFile& f) {
  auto text = sys::readUntrusted(f.layer, f.rel, kMaxLayerFileBytes);
  if (!text) {
    if (text.error().code() != ENOENT)
      log::warn("ignoring the image's {}: {}", f.rel, text.error().describe());
    return std::nullopt;
  }
  return std::move(*text);
}

// The topmost version of one file in `layers`, unless a whiteout hides it.
std::optional<std::string> mergedFile(const std::vector<std::string>& layers, const std::string& relPath) {
  size_t slash = relPath.rfind('/');
  auto files = mergedFiles(layers, relPath.substr(0, slash));
  auto it = files.find(relPath.substr(slash + 1));
  if (it == files.end()) return std::nullopt;
  return readLayerFile(it->second);
}

bool isHttpUrl(std::string_view uri) { return startsWith(uri, "http://") || startsWith(uri, "https://"); }

void addUrls(std::vector<std::string>& out, std::string_view spaceSeparated) {
  for (auto& w : words(spaceSeparated)) out.push_back(std::move(w));
}

}  // namespace

InstallNeeds& InstallNeeds::operator|=(const InstallNeeds& other) {
  apt |= other.apt;
  npm |= other.npm;
  python |= other.python;
  cargo |= other.cargo;
  go |= other.go;
  for (const auto& s : other.sources)
    if (std::find(sources.begin(), sources.end(), s) == sources.end()) sources.push_back(s);
  unknown.insert(unknown.end(), other.unknown.begin(), other.unknown.end());
  return *this;
}

InstallNeeds needsForSpec(std::string_view spec) {
  SpecDownloads d = downloadsForSpec(spec);
  InstallNeeds n;
  n.npm = d.npm;
  n.python = d.python;
  n.cargo = d.cargo;
  n.go = d.go;
  for (auto row : d.sources) n.sources.emplace_back(row);
  if (!d.known) n.unknown.emplace_back(spec);
  return n;
}

InstallNeeds needsForSpecs(const std::vector<std::string>& specs) {
  InstallNeeds needs;
  for (const auto& s : specs) needs |= needsForSpec(s);
  return needs;
}

HostConfigSource HostConfigSource::fromProcess() {
  HostConfigSource src;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos) src.env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  if (auto it = src.env.find("HOME"); it != src.env.end()) src.home = it->second;
  src.command = runHostHelper;
  return src;
}

std::string hostOfUrl(std::string_view url) {
  size_t colon = url.find("://");
  if (colon == std::string_view::npos) return {};
  std::string scheme = lower(std::string(url.substr(0, colon)));
  if (size_t plus = scheme.rfind('+'); plus != std::string::npos) scheme = scheme.substr(plus + 1);  // sparse+https
  if (scheme != "http" && scheme != "https") return {};
  std::string_view rest = url.substr(colon + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  std::string host(rest), port;
  if (!host.empty() && host[0] == '[') return {};  // a literal IPv6 address has no name to allow
  if (size_t c = host.rfind(':'); c != std::string::npos) {
    port = host.substr(c + 1);
    host.resize(c);
  }
  host = lower(host);
  if (host.empty() || !std::all_of(port.begin(), port.end(), ::isdigit)) return {};
  bool defaultPort = port.empty() || (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
  // In the allowlist's own grammar, or nothing: a host it cannot hold would fail the install's gateway.
  auto pattern = parseHostPattern(defaultPort ? host : host + ":" + port);
  return pattern ? formatHostPattern(*pattern) : std::string();
}

const char* refusedDerivedHost(std::string_view host) {
  auto pattern = parseHostPattern(host);
  if (!pattern) return "not a host name";
  if (!pattern->isAddress) return nullptr;
  AddressKind kind = classifyAddress(pattern->address);
  return kind == AddressKind::Public ? nullptr : addressKindName(kind);
}

namespace {

// An npm setting from the environment: npm takes npm_config_* in any case.
std::optional<std::string> npmEnvSetting(const HostConfigSource& src, std::string_view key) {
  for (const auto& [name, value] : src.env) {
    if (name.size() <= 11 || lower(name.substr(0, 11)) != "npm_config_" || value.empty()) continue;
    std::string k = lower(name.substr(11));
    std::replace(k.begin(), k.end(), '_', '-');
    if (k == key) return value;
  }
  return std::nullopt;
}

// `name` on the host's PATH, symlinks resolved; "" when it is not there.
std::string onPath(const HostConfigSource& src, const std::string& name) {
  const std::string* path = envVar(src, "PATH");
  if (!path) return {};
  std::istringstream dirs(*path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty() || dir[0] != '/') continue;
    char real[PATH_MAX];
    if (::realpath(fs::joinPath(dir, name).c_str(), real) && ::access(real, X_OK) == 0) return real;
  }
  return {};
}

// npm's own directory (the one holding bin/npm-cli.js), from `npm` on PATH.
std::string npmInstallDir(const HostConfigSource& src) {
  std::string cli = onPath(src, "npm");
  if (!endsWith(cli, "/bin/npm-cli.js")) return {};
  return cli.substr(0, cli.size() - std::string_view("/bin/npm-cli.js").size());
}

// The registry npm uses when nothing configures one: its definition's default,
// read from npm's own source, so no registry is named here.
std::optional<std::string> npmDefaultRegistry(const std::string& npmDir) {
  if (npmDir.empty()) return std::nullopt;
  auto text = readText(fs::joinPath(npmDir, "node_modules/@npmcli/config/lib/definitions/definitions.js"));
  if (!text) return std::nullopt;
  size_t def = text->find("new Definition('registry',");
  if (def == std::string::npos) return std::nullopt;
  size_t key = text->find("default:", def);
  if (key == std::string::npos || key - def > 200) return std::nullopt;
  size_t open = text->find_first_of("'\"", key);
  if (open == std::string::npos) return std::nullopt;
  size_t close = text->find((*text)[open], open + 1);
  if (close == std::string::npos || close - open > 1024) return std::nullopt;
  std::string url = text->substr(open + 1, close - open - 1);
  return isHttpUrl(url) ? std::optional(url) : std::nullopt;
}

// One npmrc's value of `key`; a value with ${VAR} or a path with ~ is left to npm itself.
struct NpmValue {
  std::optional<std::string> value;
  bool unresolved = false;
};

NpmValue npmrcSetting(const std::optional<std::string>& text, std::string_view key) {
  if (!text) return {};
  auto v = npmrcValue(*text, key);
  if (!v || v->empty()) return {};
  if (v->find("${") != std::string::npos || (*v)[0] == '~' || (*v)[0] == '"' || (*v)[0] == '\'') return {std::nullopt, true};
  return {v, false};
}

// The registry from npm's configuration files, as @npmcli/config loads them
// (lib/index.js load(): defaults, builtin, env, project, user, global): the
// environment, then the user's, the global and npm's builtin npmrc, then npm's
// default. The project's .npmrc is never read: an install is the user's, not
// a workspace's. nullopt when a value needs npm's own expansion.
std::optional<std::string> npmRegistryFromFiles(const HostConfigSource& src, bool& unresolved) {
  if (auto v = npmEnvSetting(src, "registry")) return v;
  std::string npmDir = npmInstallDir(src);
  std::optional<std::string> builtin = npmDir.empty() ? std::nullopt : readText(fs::joinPath(npmDir, "npmrc"));
  // A path setting: the environment's, else the first npmrc (in `from`) that sets it.
  auto pathSetting = [&](std::string_view key, std::initializer_list<const std::optional<std::string>*> from) {
    if (auto v = npmEnvSetting(src, key)) return NpmValue{v, v->find("${") != std::string::npos || (*v)[0] == '~'};
    for (const auto* text : from)
      if (NpmValue v = npmrcSetting(*text, key); v.value || v.unresolved) return v;
    return NpmValue{};
  };
  NpmValue userFile = pathSetting("userconfig", {&builtin});
  if (userFile.unresolved) return unresolved = true, std::nullopt;
  std::optional<std::string> user =
      readText(userFile.value.value_or(src.home.empty() ? "" : fs::joinPath(src.home, ".npmrc")));
  NpmValue globalFile = pathSetting("globalconfig", {&user, &builtin});
  NpmValue prefix = pathSetting("prefix", {&user, &builtin});
  if (globalFile.unresolved || (!globalFile.value && prefix.unresolved)) return unresolved = true, std::nullopt;
  std::string global = fs::joinPath(src.etcDir, "npmrc");
  if (globalFile.value) global = *globalFile.value;
  else if (prefix.value) global = fs::joinPath(*prefix.value, "etc/npmrc");
  else if (const auto* p = envVar(src, "PREFIX")) global = fs::joinPath(*p, "etc/npmrc");
  else if (std::string node = onPath(src, "node"); !node.empty())  // npm's prefix: node's ../..
    global = fs::joinPath(node.substr(0, node.rfind('/', node.rfind('/') - 1)), "etc/npmrc");
  for (const std::optional<std::string>& text : {user, readText(global), builtin}) {
    NpmValue v = npmrcSetting(text, "registry");
    if (v.unresolved) return unresolved = true, std::nullopt;
    if (v.value) return v.value;
  }
  auto fallback = npmDefaultRegistry(npmDir);
  if (!fallback) unresolved = !npmDir.empty();
  return fallback;
}

}  // namespace

Result<std::string> npmRegistryUrl(const HostConfigSource& src) {
  bool unresolved = false;
  if (auto url = npmRegistryFromFiles(src, unresolved)) return *url;
  if (src.command) {
    // What the files did not tell, npm does (a ${VAR} value, an npm whose
    // default moved). A lookup leaves nothing in the user's home: no debug
    // logs (--logs-max=0), and a throw-away cache directory, which npm creates
    // even to read a setting.
    std::vector<std::string> argv = {"npm", "config", "get", "registry", "--logs-max=0"};
    char tmpl[] = "/tmp/coco-npm-XXXXXX";
    std::string cache = ::mkdtemp(tmpl) ? tmpl : "";
    if (!cache.empty()) argv.push_back("--cache=" + cache);
    auto out = src.command(argv);
    if (!cache.empty()) (void)fs::removeTree(cache);
    if (out && isHttpUrl(*out)) return *out;
  }
  return Error::withErrno(ENOENT,
                          "cannot tell which npm registry to use: npm is not installed on the host and neither "
                          "NPM_CONFIG_REGISTRY nor registry= in ~/.npmrc is set");
}

std::vector<std::string> aptUrisOfLayers(const std::vector<std::string>& layers) {
  std::vector<std::string> uris;
  if (auto text = mergedFile(layers, "etc/apt/sources.list")) uris = image::aptUrisFromList(*text);
  for (const auto& [name, file] : mergedFiles(layers, "etc/apt/sources.list.d")) {
    if (!image::isAptSourcesFile(name)) continue;
    auto text = readLayerFile(file);
    if (!text) continue;
    auto more = image::aptUrisOfFile(name, *text);
    uris.insert(uris.end(), more.begin(), more.end());
  }
  return uris;
}

std::vector<std::string> pipConfUrls(std::string_view text) {
  std::vector<std::string> urls;
  bool inValue = false;
  for (const auto& raw : lines(text)) {
    std::string line = trim(raw);
    bool continuation = !raw.empty() && std::isspace(static_cast<unsigned char>(raw[0]));
    if (inValue && continuation && !line.empty()) {
      addUrls(urls, line);
      continue;
    }
    inValue = false;
    size_t eq = line.find_first_of("=:");
    if (line.empty() || line[0] == '#' || line[0] == ';' || line[0] == '[' || eq == std::string::npos) continue;
    std::string key = trim(line.substr(0, eq));
    if (key != "index-url" && key != "extra-index-url") continue;
    addUrls(urls, line.substr(eq + 1));
    inValue = true;
  }
  return urls;
}

std::vector<std::string> pythonIndexUrls(const HostConfigSource& src) {
  std::vector<std::string> urls;
  for (const char* name : {"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX",
                           "UV_EXTRA_INDEX_URL", "UV_INDEX"})
    if (const auto* v = envVar(src, name))
      for (auto& w : words(*v)) urls.push_back(w.substr(w.find('=') == std::string::npos ? 0 : w.find('=') + 1));
  std::vector<std::string> files = {fs::joinPath(src.etcDir, "pip.conf")};
  if (!src.home.empty()) {
    files.push_back(fs::joinPath(src.home, ".config/pip/pip.conf"));
    files.push_back(fs::joinPath(src.home, ".pip/pip.conf"));
  }
  if (const auto* v = envVar(src, "PIP_CONFIG_FILE")) files.push_back(*v);
  for (const auto& f : files)
    if (auto text = readText(f)) {
      auto more = pipConfUrls(*text);
      urls.insert(urls.end(), more.begin(), more.end());
    }
  if (urls.empty() && src.command) {
    // pip's built-in index and file host, from pip itself: nothing is hard-coded here.
    // -I: no user site, no PYTHON* variables, no current directory on the path.
    auto out = src.command({"python3", "-I", "-c",
                            "from pip._internal.models.index import PyPI as p; "
                            "print(p.url); print('https://' + p.file_storage_domain)"});
    if (out) addUrls(urls, *out);
  }
  return urls;
}

// The host's cargo configuration: config.toml (or the older config) in
// $CARGO_HOME, else in ~/.cargo, as cargo itself picks it.
std::optional<std::string> cargoConfigText(const HostConfigSource& src) {
  std::string dir;
  if (const auto* home = envVar(src, "CARGO_HOME")) dir = *home;
  else if (!src.home.empty()) dir = fs::joinPath(src.home, ".cargo");
  if (dir.empty()) return std::nullopt;
  for (const char* file : {"config.toml", "config"})
    if (auto text = readText(fs::joinPath(dir, file))) return text;
  return std::nullopt;
}

std::vector<std::string> cargoIndexUrls(const HostConfigSource& src) {
  std::vector<std::string> urls;
  for (const auto& [name, value] : src.env)
    if (startsWith(name, "CARGO_REGISTRIES_") && endsWith(name, "_INDEX") && !value.empty()) urls.push_back(value);
  if (auto text = cargoConfigText(src)) {
    for (const auto& raw : lines(*text)) {
      std::string line = trim(raw);
      size_t eq = line.find('=');
      if (eq == std::string::npos) continue;
      std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
      if ((key == "index" || key == "registry") && value.size() >= 2 && value.front() == '"')
        urls.push_back(value.substr(1, value.find('"', 1) - 1));
    }
  }
  return urls;
}

namespace {

std::vector<std::string> defaultUrls(std::string_view row) {
  std::vector<std::string> urls;
  if (const DownloadSource* s = downloadSource(row))
    for (auto h : s->hosts) urls.push_back("https://" + std::string(h));
  return urls;
}

// A Go setting from the environment, else from the host's `go env`.
std::optional<std::string> goSetting(const HostConfigSource& src, const char* name) {
  if (const auto* v = envVar(src, name)) return *v;
  if (src.command)
    if (auto v = src.command({"go", "env", name}); v && !v->empty()) return v;
  return std::nullopt;
}

}  // namespace

std::vector<std::string> goProxyUrls(const HostConfigSource& src) {
  std::vector<std::string> urls;
  for (auto [name, row] : {std::pair{"GOPROXY", "goproxy"}, std::pair{"GOSUMDB", "gosumdb"}}) {
    std::optional<std::string> value = goSetting(src, name);
    if (!value) {
      auto defaults = defaultUrls(row);
      urls.insert(urls.end(), defaults.begin(), defaults.end());
      continue;
    }
    std::string list = *value;
    std::replace(list.begin(), list.end(), ',', ' ');
    std::replace(list.begin(), list.end(), '|', ' ');
    for (auto& w : words(list)) {
      if (w == "direct" || w == "off") continue;
      // GOSUMDB is "NAME[+KEY] [URL]": a bare name is served over https.
      urls.push_back(w.find("://") == std::string::npos ? "https://" + w.substr(0, w.find('+')) : w);
    }
  }
  return urls;
}

namespace {

// `[source.NAME]` tables of a cargo config: NAME -> {key -> string value}.
std::map<std::string, std::map<std::string, std::string>> cargoSources(std::string_view text) {
  std::map<std::string, std::map<std::string, std::string>> sources;
  std::string section;
  for (const auto& raw : lines(text)) {
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      section = trim(line.substr(1, line.find(']') == std::string::npos ? 0 : line.find(']') - 1));
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos || !startsWith(section, "source.")) continue;
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (value.size() < 2 || value.front() != '"' || value.find('"', 1) == std::string::npos) continue;
    std::string name = section.substr(7);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    sources[name][key] = value.substr(1, value.find('"', 1) - 1);
  }
  return sources;
}

}  // namespace

std::string cargoCratesIoReplacement(const HostConfigSource& src) {
  auto text = cargoConfigText(src);
  if (!text) return {};
  auto sources = cargoSources(*text);
  std::string name = "crates-io";
  // Cargo allows one source to replace another that is itself replaced; a loop is cargo's error.
  for (size_t hops = 0; hops < sources.size(); ++hops) {
    auto it = sources.find(name);
    if (it == sources.end() || !it->second.count("replace-with")) break;
    name = it->second.at("replace-with");
    auto target = sources.find(name);
    if (target != sources.end() && target->second.count("registry") && !target->second.count("replace-with"))
      return target->second.at("registry");
  }
  return {};
}

std::string cargoReplacementConfig(const HostConfigSource& src) {
  std::string url = cargoCratesIoReplacement(src);
  if (url.empty()) return {};
  // Written into a TOML string below: a value that would need escaping is no registry URL.
  if (url.find_first_of("\"\\") != std::string::npos ||
      std::any_of(url.begin(), url.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
    log::notice("the install's cargo keeps crates.io: the host's replacement '{}' is not a URL cargo could use", url);
    return {};
  }
  return fmt::format(
      "# crates.io's replacement in the host's cargo configuration, written by coco for this install\n"
      "[source.crates-io]\nreplace-with = \"coco-host-replacement\"\n\n"
      "[source.coco-host-replacement]\nregistry = \"{}\"\n",
      url);
}

std::string httpsProxyUrl(const HostConfigSource& src) {
  for (const char* name : {"HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"})
    if (const auto* v = envVar(src, name)) {
      // curl and reqwest take "host:port" without a scheme as an http proxy.
      return v->find("://") == std::string::npos ? "http://" + *v : *v;
    }
  return {};
}

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

// Rows whose hosts a package manager's own configuration replaces (handled with that manager).
bool managerRow(std::string_view row) {
  return row == "crates" || row == "pypi" || row == "goproxy" || row == "gosumdb";
}

void passVars(Env& env, const HostConfigSource& src, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (const auto* v = envVar(src, n)) env.emplace_back(n, *v);
}

// mise's pipx backend ignores PIP_INDEX_URL/UV_INDEX: it sets them from its
// pipx.registry_url (src/backend/pipx.rs get_index_url), and asks that URL for
// versions. A host index ending in /simple becomes that setting, in the
// "https://HOST/simple/{}/" form settings.toml documents.
std::optional<std::string> pipxRegistryFor(const HostConfigSource& src) {
  std::vector<std::string> configured;
  for (const char* name : {"UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"})
    if (const auto* v = envVar(src, name)) configured.push_back(*v);
  for (const auto& u : configured) {
    std::string url = u;
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (endsWith(url, "/simple") && !hostOfUrl(url).empty()) return url + "/{}/";
  }
  return std::nullopt;
}

Env passedVars(const InstallNeeds& needs, const HostConfigSource& src) {
  Env env;
  if (needs.python) {
    passVars(env, src,
             {"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX",
              "MISE_PIPX_REGISTRY_URL"});
    if (!envVar(src, "MISE_PIPX_REGISTRY_URL"))
      if (auto reg = pipxRegistryFor(src)) env.emplace_back("MISE_PIPX_REGISTRY_URL", *reg);
  }
  if (needs.go) passVars(env, src, {"GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE"});
  if (needs.cargo) {
    for (const auto& [name, value] : src.env)
      if (startsWith(name, "CARGO_REGISTRIES_")) env.emplace_back(name, value);
    // mise passes `cargo install --registry` only from this setting (src/backend/cargo.rs
    // execute_install_command): the host's choice of registry, as its own mise would use it.
    passVars(env, src, {"MISE_CARGO_REGISTRY_NAME"});
  }
  for (const auto& row : needs.sources)
    if (const DownloadSource* s = downloadSource(row))
      for (auto var : s->mirrorVars) passVars(env, src, {std::string(var).c_str()});
  passVars(env, src,
           {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"});
  std::sort(env.begin(), env.end());
  env.erase(std::unique(env.begin(), env.end()), env.end());
  return env;
}

// The URLs of one row: the host's mirror settings when any is set, else the public defaults.
std::vector<std::string> rowUrls(const DownloadSource& row, const HostConfigSource& src) {
  std::vector<std::string> mirrors;
  for (auto var : row.mirrorVars)
    if (const auto* v = envVar(src, std::string(var))) mirrors.push_back(*v);
  return mirrors.empty() ? defaultUrls(row.name) : mirrors;
}

// Whether NO_PROXY (comma-separated names, ".suffix" or "*") exempts `host`.
bool noProxyExempts(const HostConfigSource& src, const std::string& hostPort) {
  const std::string* list = envVar(src, "NO_PROXY");
  if (!list) list = envVar(src, "no_proxy");
  if (!list) return false;
  std::string host = hostPort.substr(0, hostPort.find(':'));
  std::string entries = *list;
  std::replace(entries.begin(), entries.end(), ',', ' ');
  for (auto& e : words(entries)) {
    e = lower(e.substr(0, e.find(':')));
    if (e == "*") return true;
    if (!e.empty() && e[0] == '.') e = e.substr(1);
    if (!e.empty() && (host == e || endsWith(host, "." + e))) return true;
  }
  return false;
}

}  // namespace

Result<InstallHosts> installHosts(const InstallNeeds& needs, const HostConfigSource& src,
                                  const std::vector<std::string>& imageLayers) {
  std::set<std::string> hosts;
  InstallHosts result;
  // Configuration an image or a project controls names these hosts, so an
  // address that is not on the internet (cloud metadata, the LAN, the host
  // itself) is left out: only a tool's own allowed_hosts can open one.
  auto addHost = [&](const std::string& host, std::string_view what, std::set<std::string>& into) {
    if (const char* why = refusedDerivedHost(host)) {
      log::notice("the install may not reach {} ({} source): a {} address; the tool's allowed_hosts can name it",
                  host, what, why);
      return;
    }
    into.insert(host);
  };
  auto add = [&](const std::vector<std::string>& urls, std::string_view manager) {
    if (urls.empty()) result.unknown.emplace_back(manager);
    for (const auto& u : urls)
      if (auto h = hostOfUrl(u); !h.empty()) addHost(h, manager, hosts);
      else log::notice("the install ignores {} source '{}': not an http(s) URL", manager, u);
  };
  if (needs.npm) {
    COCO_ASSIGN(std::string registry, npmRegistryUrl(src));
    if (hostOfUrl(registry).empty()) return Error::make("npm registry '{}' is not an http(s) URL", registry);
    addHost(hostOfUrl(registry), "npm", hosts);
    // The sandbox's npm must use the host's registry, not its own default.
    result.env.emplace_back("NPM_CONFIG_REGISTRY", registry);
  }
  if (needs.apt) add(aptUrisOfLayers(imageLayers), "apt");
  if (needs.python) {
    auto urls = pythonIndexUrls(src);
    if (urls.empty()) urls = defaultUrls("pypi");
    if (const auto* reg = envVar(src, "MISE_PIPX_REGISTRY_URL")) urls.push_back(*reg);
    add(urls, "pip");
  }
  if (needs.cargo) {
    auto urls = cargoIndexUrls(src);
    if (cargoCratesIoReplacement(src).empty()) {
      auto defaults = defaultUrls("crates");
      urls.insert(urls.end(), defaults.begin(), defaults.end());
    }
    add(urls, "cargo");
  }
  if (needs.cargo) result.cargoConfig = cargoReplacementConfig(src);
  if (needs.go) add(goProxyUrls(src), "go");
  for (const auto& row : needs.sources)
    if (const DownloadSource* s = downloadSource(row); s && !managerRow(row)) add(rowUrls(*s, src), s->name);
  result.unknown.insert(result.unknown.end(), needs.unknown.begin(), needs.unknown.end());
  // Through an https proxy, the proxy is the one host a download reaches
  // (but for what NO_PROXY exempts).
  if (std::string proxy = httpsProxyUrl(src); !proxy.empty()) {
    std::set<std::string> direct;
    for (const auto& h : hosts)
      if (noProxyExempts(src, h)) direct.insert(h);
    // One the allowlist cannot hold (socks, an IPv6 literal) leaves the install nothing to reach but NO_PROXY.
    if (auto h = hostOfUrl(proxy); !h.empty()) addHost(h, "proxy", direct);
    else log::notice("the install cannot reach the https proxy '{}': not an http(s) URL with a host name", proxy);
    hosts = std::move(direct);
  } else if (const auto* http = envVar(src, "HTTP_PROXY") ? envVar(src, "HTTP_PROXY") : envVar(src, "http_proxy")) {
    // Plain-http downloads (an apt mirror over http) go through it; https ones go direct.
    std::string url = http->find("://") == std::string::npos ? "http://" + *http : *http;
    if (auto h = hostOfUrl(url); !h.empty()) addHost(h, "proxy", hosts);
  }
  result.hosts.assign(hosts.begin(), hosts.end());
  auto passed = passedVars(needs, src);
  result.env.insert(result.env.end(), passed.begin(), passed.end());
  return result;
}

}  // namespace coco::tool
