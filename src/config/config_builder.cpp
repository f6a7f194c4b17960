// The config schema: one reader per key, defaults, and the checks across keys.
#include "config/config_builder.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/checks.hpp"
#include "config/package_caches.hpp"
#include "config/yaml_reader.hpp"

namespace coco::config {
namespace {

constexpr std::array<std::string_view, 3> kMountKeys = {"src", "dst", "opts"};
constexpr std::array<std::string_view, 2> kDependencyKeys = {"apt", "mise"};
constexpr std::array<std::string_view, 4> kLimitKeys = {"memory", "pids", "cpu", "tmpfs"};

// Below these nothing useful starts; above them `limits` is refused.
constexpr uint64_t kMinMemory = 16ull << 20;
constexpr uint64_t kMinTmpfs = 1ull << 20;
constexpr uint64_t kMinPids = 8;
constexpr std::array<std::string_view, 1> kGuardKeys = {"git"};

// Where the keys that are checked against each other were written.
struct Marks {
  std::optional<YAML::Mark> network, allowedHosts, command, check;
};

template <typename T>
T orFail(Result<T> result, const Value& value) {
  if (!result) fail(value.mark, fmt::format("'{}': {}", value.name, result.error().message()));
  if constexpr (!std::is_void_v<T>) return std::move(result).value();
}

std::string readWord(const Value& value) {
  std::string word = readString(value);
  orFail(checkPackageWord(word), value);
  return word;
}

std::vector<std::string> readWords(const Value& list) {
  std::vector<std::string> out;
  for (const Value& item : readList(list)) out.push_back(readWord(item));
  return out;
}

std::string readEnvName(const Value& value) {
  std::string name = readString(value);
  if (!isValidEnvName(name))
    fail(value.mark, fmt::format("'{}' is not a valid environment variable name", name));
  return name;
}

MountConfig readMount(const Value& item) {
  MountConfig mount;
  mount.line = item.mark.line + 1;
  bool hasSrc = false, hasDst = false;
  for (const Field& f : readMap(item, kMountKeys)) {
    if (f.key == "src") {
      mount.src = readString(f.value);
      if (mount.src.empty()) fail(f.value.mark, "mount 'src' is empty");
      if (mount.src.starts_with('~') && mount.src != "~" && !mount.src.starts_with("~/"))
        fail(f.value.mark, fmt::format("mount 'src' '{}': only '~' and '~/' are expanded", mount.src));
      hasSrc = true;
    } else if (f.key == "dst") {
      mount.dst = readString(f.value);
      orFail(checkAbsolutePath(mount.dst), f.value);
      if (mount.dst == "/") fail(f.value.mark, "mount 'dst' cannot be '/'");
      // Every run binds its own hostname, hosts and resolv.conf there: their mount points would be
      // made in the directory (a symlink in their place replaced), as podman's and docker's are.
      if (mount.dst == "/etc")
        fail(
            f.value.mark,
            "mount 'dst' cannot be '/etc': coco binds its own /etc/hostname, /etc/hosts and /etc/resolv.conf "
            "in every run, and would make them in your directory; mount what you need below /etc");
      hasDst = true;
    } else {
      MountOptions options = orFail(parseMountOptions(readString(f.value)), f.value);
      mount.readOnly = options.readOnly;
      mount.relabel = options.relabel;
    }
  }
  if (!hasSrc) fail(item.mark, "mount has no 'src'");
  if (!hasDst) fail(item.mark, "mount has no 'dst'");
  return mount;
}

void readMounts(const Value& list, ToolConfig& config) {
  std::set<std::string> destinations;
  for (const Value& item : readList(list)) {
    MountConfig mount = readMount(item);
    if (!destinations.insert(mount.dst).second) fail(item.mark, fmt::format("two mounts on '{}'", mount.dst));
    config.mounts.push_back(std::move(mount));
  }
}

void readEnv(const Value& map, ToolConfig& config) {
  for (const Field& f : readMap(map, {})) {
    Value key{YAML::Node(f.key), f.key, f.keyMark};
    std::string name = readEnvName(key);
    if (!f.value.node.IsScalar())
      fail(f.value.mark, fmt::format("env '{}' must be a string, number or boolean", name));
    config.env.emplace_back(name, f.value.node.Scalar());
  }
}

void readDependencies(const Value& map, ToolConfig& config) {
  for (const Field& f : readMap(map, kDependencyKeys)) {
    auto& target = f.key == "apt" ? config.aptDependencies : config.miseDependencies;
    target = readWords(f.value);
  }
}

void readNetwork(const Value& value, ToolConfig& config) {
  std::string mode = readString(value);
  if (mode == "none")
    config.network = NetworkMode::None;
  else if (mode == "host")
    config.network = NetworkMode::Host;
  else
    fail(value.mark,
         fmt::format("network '{}' is not 'none' or 'host' (leave it out for full access, or list "
                     "allowed_hosts)",
                     mode));
}

void readPorts(const Value& list, ToolConfig& config) {
  for (const Value& item : readList(list)) {
    std::string spec = readString(item);
    config.ports.push_back(orFail(parsePublishedPort(spec), item));
  }
}

std::string readWorkdir(const Value& value) {
  std::string dir = readString(value);
  orFail(checkAbsolutePath(dir), value);
  return dir;
}

// `caches`: package caches kept for the tool's runs, each named once.
void readCaches(const Value& list, ToolConfig& config) {
  for (const Value& item : readList(list)) {
    std::string kind = readString(item);
    if (!runCache(kind)) {
      std::vector<std::string_view> known;
      for (const auto& c : kPackageCaches)
        if (c.forRuns) known.push_back(c.kind);
      fail(item.mark, fmt::format("'{}' is not a cache coco knows; 'caches' takes {}", kind, fmt::join(known, ", ")));
    }
    if (std::find(config.caches.begin(), config.caches.end(), kind) != config.caches.end())
      fail(item.mark, fmt::format("cache '{}' is named twice", kind));
    config.caches.push_back(kind);
  }
}

std::string readSeccomp(const Value& value) {
  std::string profile = readString(value);
  if (profile == "default" || profile == "unconfined") return profile;
  if (profile.starts_with("~/")) return profile;
  if (!checkAbsolutePath(profile))
    fail(value.mark,
         fmt::format("seccomp '{}' is not 'default', 'unconfined' or an absolute (or ~/) path to a "
                     "profile",
                     profile));
  return profile;
}

void readLimits(const Value& map, ToolConfig& config) {
  LimitsConfig& limits = config.limits;
  for (const Field& f : readMap(map, kLimitKeys)) {
    std::string text = readString(f.value);
    if (f.key == "memory")
      limits.memory = orFail(parseSizeLimit(text, true, kMinMemory), f.value);
    else if (f.key == "tmpfs")
      limits.tmpfs = orFail(parseSizeLimit(text, false, kMinTmpfs), f.value);
    else if (f.key == "pids")
      limits.pids = orFail(parseCount(text, kMinPids), f.value);
    else
      limits.cpuMillis = orFail(parseCpus(text), f.value);
  }
}

// `workspace_guard`: true or false, or a map that turns the guard on with options:
// {git: read} (the default: .git read-only) or {git: write} (git's own writes allowed).
void readWorkspaceGuard(const Value& value, ToolConfig& config) {
  if (!value.node.IsMap()) {
    config.workspaceGuard = readBool(value);
    return;
  }
  config.workspaceGuard = true;
  for (const Field& f : readMap(value, kGuardKeys)) {
    std::string git = readString(f.value);
    if (git != "read" && git != "write")
      fail(f.value.mark, fmt::format("workspace_guard 'git' is '{}', not 'read' (.git read-only) or 'write' "
                                     "(for tools that commit)",
                                     git));
    config.guardGitWrite = git == "write";
  }
}

using FieldReader = void (*)(const Field&, ToolConfig&, Marks&);

struct KeyReader {
  std::string_view key;
  FieldReader read;
};

// One reader per top-level key, in the order the keys are listed in messages.
constexpr KeyReader kReaders[] = {
    {"tool", [](const Field& f, ToolConfig& c, Marks&) { c.tool = readWord(f.value); }},
    {"command",
     [](const Field& f, ToolConfig& c, Marks& m) {
       c.command = readString(f.value);
       if (c.command.empty()) fail(f.value.mark, "'command' is empty");
       m.command = f.value.mark;
     }},
    {"mounts", [](const Field& f, ToolConfig& c, Marks&) { readMounts(f.value, c); }},
    {"env", [](const Field& f, ToolConfig& c, Marks&) { readEnv(f.value, c); }},
    {"env_passthrough",
     [](const Field& f, ToolConfig& c, Marks&) {
       for (const Value& item : readList(f.value)) c.envPassthrough.push_back(readEnvName(item));
     }},
    {"dependencies", [](const Field& f, ToolConfig& c, Marks&) { readDependencies(f.value, c); }},
    {"workdir", [](const Field& f, ToolConfig& c, Marks&) { c.workdir = readWorkdir(f.value); }},
    {"network",
     [](const Field& f, ToolConfig& c, Marks& m) {
       readNetwork(f.value, c);
       m.network = f.keyMark;
     }},
    {"allowed_hosts",
     [](const Field& f, ToolConfig& c, Marks& m) {
       for (const Value& item : readList(f.value))
         c.allowedHosts.push_back(orFail(normalizeHost(readString(item)), item));
       m.allowedHosts = f.keyMark;
     }},
    {"install_hosts",
     [](const Field& f, ToolConfig& c, Marks&) {
       for (const Value& item : readList(f.value))
         c.installHosts.push_back(orFail(normalizeHost(readString(item)), item));
     }},
    {"check",
     [](const Field& f, ToolConfig& c, Marks& m) {
       c.check = readStringList(f.value);
       m.check = f.keyMark;
     }},
    {"isolated", [](const Field& f, ToolConfig& c, Marks&) { c.isolated = readBool(f.value); }},
    {"caches", [](const Field& f, ToolConfig& c, Marks&) { readCaches(f.value, c); }},
    {"ports", [](const Field& f, ToolConfig& c, Marks&) { readPorts(f.value, c); }},
    {"x11", [](const Field& f, ToolConfig& c, Marks&) { c.x11 = readBool(f.value); }},
    {"podman_args", [](const Field& f, ToolConfig& c, Marks&) { c.podmanArgs = readStringList(f.value); }},
    {"seccomp", [](const Field& f, ToolConfig& c, Marks&) { c.seccomp = readSeccomp(f.value); }},
    {"workspace_guard", [](const Field& f, ToolConfig& c, Marks&) { readWorkspaceGuard(f.value, c); }},
    {"limits", [](const Field& f, ToolConfig& c, Marks&) { readLimits(f.value, c); }},
    {"allow_home", [](const Field& f, ToolConfig& c, Marks&) { c.allowHome = readBool(f.value); }},
};

constexpr auto kTopKeys = [] {
  std::array<std::string_view, std::size(kReaders)> keys{};
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = kReaders[i].key;
  return keys;
}();

void readField(const Field& f, ToolConfig& config, Marks& marks) {
  // readMap has already refused unknown keys, so one reader always matches.
  for (const KeyReader& reader : kReaders) {
    if (reader.key == f.key) return reader.read(f, config, marks);
  }
}

void checkAcross(ToolConfig& config, const Marks& marks, const YAML::Mark& top, bool nameIsCommand) {
  if (!config.tool && !marks.command && !nameIsCommand)
    fail(top, "neither 'tool' nor 'command' is set: name a mise tool, or a command found in the image");
  if (!marks.command) config.command = config.name;
  if (marks.check && !config.tool)
    fail(*marks.check, "'check' starts the tool coco installs, and there is no 'tool'; remove 'check'");
  if (config.allowedHosts.empty()) return;
  if (config.network == NetworkMode::None)
    fail(*marks.allowedHosts, "'allowed_hosts' contradicts 'network: none'; remove one of them");
  if (config.network == NetworkMode::Host)
    fail(*marks.allowedHosts, "'allowed_hosts' cannot be enforced with 'network: host'; remove one of them");
  config.network = NetworkMode::Allowlist;
}

}  // namespace

ToolConfig buildConfig(const YAML::Node& root, const std::string& name, bool nameIsCommand) {
  YAML::Mark top = root.Mark().line >= 0 ? root.Mark() : YAML::Mark();
  if (root.IsNull()) fail(top, "the config is empty");
  if (!root.IsMap())
    fail(top, "the config must be a map of keys (like {\"tool\": ...}), not a list or a value");
  ToolConfig config;
  config.name = name;
  Marks marks;
  for (const Field& f : readMap(Value{root, "config", top}, kTopKeys)) readField(f, config, marks);
  checkAcross(config, marks, top, nameIsCommand);
  return config;
}

}  // namespace coco::config
