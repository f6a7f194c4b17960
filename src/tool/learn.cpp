// `coco run --learn`: the learn run's plan, what it found, and the suggested config.
#include "tool/learn.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>
#include <queue>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "config/loader.hpp"
#include "net/allowlist.hpp"
#include "util/fs.hpp"
#include "util/host_port.hpp"
#include "util/terminal_text.hpp"

namespace coco::tool {

namespace {

namespace stdfs = std::filesystem;

bool isWhiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

// Whether `host` is a dotted IPv4 address (the gateway's spelling of a literal).
bool isAddress(const std::string& host) {
  in_addr a{};
  return ::inet_pton(AF_INET, host.c_str(), &a) == 1;
}

}  // namespace

Result<std::vector<LearnMount>> prepareLearn(engine::RunSpec& spec, const config::ToolConfig& config,
                                             const std::string& scratchRoot) {
  if (spec.network == NetworkMode::Host)
    return Error::make(
        "{} has network: host, which bypasses coco's gateway: a learn run would see nothing; "
        "remove it from the config to learn which hosts the tool needs",
        config.name);
  spec.network = NetworkMode::Full;
  spec.allowedHosts.clear();
  std::vector<LearnMount> out;
  for (const auto& cm : config.mounts) {
    if (!cm.readOnly) continue;
    for (auto& m : spec.mounts) {
      if (!m.readOnly || fs::normalize(m.dst) != cm.dst || !fs::isDirectory(m.src)) continue;
      std::string dir = fs::joinPath(scratchRoot, fmt::format("m{}", out.size()));
      COCO_TRY(fs::makeDirs(fs::joinPath(dir, "upper"), 0700));
      COCO_TRY(fs::makeDirs(fs::joinPath(dir, "work"), 0700));
      m.readOnly = false;
      m.scratch = dir;
      out.push_back({cm.src, cm.dst, dir, m.src});
    }
  }
  return out;
}

std::vector<LearnedWrites> learnedWrites(const std::vector<LearnMount>& mounts, size_t limit) {
  std::vector<LearnedWrites> out;
  for (const auto& m : mounts) {
    LearnedWrites w{m.configSrc, m.dst, {}, 0};
    // The first `limit` paths in order, kept as the walk goes (a max-heap of them), and a count:
    // the tool chooses how many there are, and listing every one before the cut held them all.
    std::priority_queue<std::string> first;
    auto note = [&](std::string path) {
      ++w.total;
      if (first.size() < limit) first.push(std::move(path));
      else if (limit && path < first.top()) {
        first.pop();
        first.push(std::move(path));
      }
    };
    std::string upper = fs::joinPath(m.scratch, "upper");
    std::error_code ec;
    stdfs::recursive_directory_iterator it(upper, stdfs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      std::string rel = it->path().lexically_relative(upper).string();  // never follows a symlink
      struct stat st {};
      if (::lstat(it->path().c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        // A directory the source has too was only copied up for what is below it;
        // a new one is one entry, whatever the tool put in it.
        if (fs::isDirectory(fs::joinPath(m.src, rel))) continue;
        it.disable_recursion_pending();
        note(rel + "/");
        continue;
      }
      note(isWhiteout(st) ? "(removed) " + rel : rel);
    }
    if (w.total == 0) continue;
    for (; !first.empty(); first.pop()) w.paths.push_back(first.top());
    std::reverse(w.paths.begin(), w.paths.end());
    out.push_back(std::move(w));
  }
  return out;
}

Learned collectLearned(const config::ToolConfig& config, const net::TrafficLog& traffic,
                       std::vector<LearnedWrites> writes, std::vector<std::string> guardRemoved,
                       size_t guardRemovedMore) {
  Learned l;
  l.tool = config.name;
  l.configPath = config.path;
  l.configHash = config.hash;
  l.destinations = traffic.destinations();
  std::set<std::string> connected;
  for (const auto& d : l.destinations) connected.insert(d.host);
  for (const auto& name : traffic.lookups())
    if (!connected.count(name)) l.lookedUpOnly.push_back(name);
  l.unrecordedLookups = traffic.unrecordedLookups();
  l.unrecordedConnections = traffic.unrecordedConnections();
  l.writes = std::move(writes);
  std::sort(guardRemoved.begin(), guardRemoved.end());
  if (guardRemoved.size() > kMaxLearnedRemovals) {
    guardRemovedMore += guardRemoved.size() - kMaxLearnedRemovals;
    guardRemoved.resize(kMaxLearnedRemovals);
  }
  l.guardRemoved = std::move(guardRemoved);
  l.guardRemovedMore = guardRemovedMore;
  return l;
}

std::string allowEntry(const net::Destination& d) {
  if (!d.literal && (d.port == 80 || d.port == 443)) return d.host;
  return fmt::format("{}:{}", d.host, d.port);
}

std::vector<std::string> suggestedHosts(const config::ToolConfig& config, const Learned& learned) {
  std::vector<std::string> out = config.allowedHosts;
  auto have = net::Allowlist::parse(out, {});
  for (const auto& d : learned.destinations) {
    in_addr a{};
    bool covered = have && (d.literal ? ::inet_pton(AF_INET, d.host.c_str(), &a) == 1 &&
                                            have->allowsAddress(a.s_addr, d.port)
                                      : have->allows(d.host, d.port));
    std::string entry = allowEntry(d);
    if (covered || std::find(out.begin(), out.end(), entry) != out.end()) continue;
    out.push_back(entry);
  }
  return out;
}

std::string describeLearned(const config::ToolConfig& config, const Learned& learned) {
  std::string text = fmt::format("learned from this run of {}:\n", learned.tool);
  if (learned.destinations.empty()) text += "  network: no connection was attempted\n";
  for (const auto& d : learned.destinations) {
    text += fmt::format("  connected to {}:{}{}{}\n", printable(d.host), d.port, d.literal ? " (a literal address)" : "",
                        d.allowed ? "" : fmt::format(" (refused even in a learn run: {})", d.refusal));
  }
  for (const auto& name : learned.lookedUpOnly)
    text += fmt::format("  looked up {} (no connection)\n", printable(name));
  if (learned.unrecordedConnections)
    text += fmt::format("  ... and {} more connection attempt{} to destinations past the first {}, not recorded\n",
                        learned.unrecordedConnections, learned.unrecordedConnections == 1 ? "" : "s",
                        net::TrafficLog::kMaxEntries);
  if (learned.unrecordedLookups)
    text += fmt::format("  ... and {} more lookup{} of names past the first {}, not recorded\n",
                        learned.unrecordedLookups, learned.unrecordedLookups == 1 ? "" : "s",
                        net::TrafficLog::kMaxEntries);
  for (const auto& w : learned.writes) {
    text += fmt::format("  wrote {} path{} in the read-only mount {} -> {} (kept apart, discarded):\n",
                        w.total, w.total == 1 ? "" : "s", w.configSrc, w.dst);
    for (const auto& p : w.paths) text += fmt::format("    {}\n", printable(p));
    if (w.total > w.paths.size()) text += fmt::format("    ... and {} more\n", w.total - w.paths.size());
  }
  for (const auto& path : learned.guardRemoved)
    text += fmt::format("  the workspace guard removed {} (the host would run or trust it)\n", printable(path));
  if (learned.guardRemovedMore)
    text += fmt::format("  ... and the workspace guard removed {} more\n", learned.guardRemovedMore);
  std::vector<std::string> hosts = suggestedHosts(config, learned);
  std::string suggestion;
  if (!learned.destinations.empty() && hosts != config.allowedHosts) {
    for (auto& h : hosts) h = printable(h);
    suggestion += fmt::format("  allowed_hosts: [{}]\n", fmt::join(hosts, ", "));
    if (config.network == NetworkMode::None) suggestion += "  (and no `network: none`)\n";
  } else if (learned.destinations.empty() && config.network == NetworkMode::Full) {
    suggestion += "  network: none\n";
  }
  for (const auto& w : learned.writes)
    suggestion += fmt::format("  mount {} -> {}: rw\n", w.configSrc, w.dst);
  bool gitWrites = std::any_of(learned.guardRemoved.begin(), learned.guardRemoved.end(),
                               [](const std::string& p) { return p.find("/.git/") != std::string::npos; });
  if (gitWrites && !config.guardGitWrite)
    suggestion +=
        "  note: a tool that commits needs `workspace_guard: {git: write}` (never applied for you: it "
        "lets the tool write the repository's objects and refs)\n";
  if (learned.unrecordedConnections)
    suggestion += fmt::format(
        "  note: the tool tried more than {} destinations; those past them are not in this list (a tool "
        "that needs so many may be better run with full network, or it is not doing what you think)\n",
        net::TrafficLog::kMaxEntries);
  for (const auto& d : learned.destinations)
    if (d.literal)
      suggestion += fmt::format(
          "  note: {} is a literal address; an entry for it opens that address even if it "
          "is a local one\n",
          printable(d.host));
  if (suggestion.empty()) return text + "suggested config: no change\n";
  return text + fmt::format("suggested config for {}:\n{}apply it with 'coco learn --apply {}'\n",
                            config.path, suggestion, learned.tool);
}

std::string learnedToJson(const Learned& l) {
  nlohmann::ordered_json j;
  j["tool"] = l.tool;
  j["config"] = l.configPath;
  j["config_hash"] = l.configHash;
  auto dests = nlohmann::ordered_json::array();
  for (const auto& d : l.destinations)
    dests.push_back({{"host", d.host},
                     {"port", d.port},
                     {"literal", d.literal},
                     {"allowed", d.allowed},
                     {"refusal", d.refusal}});
  j["destinations"] = dests;
  j["looked_up_only"] = l.lookedUpOnly;
  auto writes = nlohmann::ordered_json::array();
  for (const auto& w : l.writes)
    writes.push_back({{"src", w.configSrc}, {"dst", w.dst}, {"paths", w.paths}, {"total", w.total}});
  j["writes"] = writes;
  j["guard_removed"] = l.guardRemoved;
  j["guard_removed_more"] = l.guardRemovedMore;
  j["unrecorded_lookups"] = l.unrecordedLookups;
  j["unrecorded_connections"] = l.unrecordedConnections;
  // File names and hosts are the tool's: one that is not UTF-8 (a lone 0x9b byte) made dump()
  // throw, which ended coco and lost the record; such bytes become U+FFFD.
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

namespace {

// A count in the record, absent (records before the bound have none) or a
// non-negative integer: get<size_t>() would read -1 as 2^64-1 and 3.5 as 3.
Result<size_t> countIn(const nlohmann::json& j, const char* key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end()) return size_t{0};
  if (!it->is_number_unsigned()) return Error::make("{}: not a count: \"{}\": {}", path, key, it->dump());
  return it->get<size_t>();
}

}  // namespace

Result<Learned> learnedFromJson(const std::string& text, const std::string& path) {
  try {
    auto j = nlohmann::json::parse(text);
    Learned l;
    l.tool = j.at("tool").get<std::string>();
    l.configPath = j.at("config").get<std::string>();
    l.configHash = j.at("config_hash").get<std::string>();
    for (const auto& d : j.at("destinations")) {
      int port = d.at("port").get<int>();
      if (port < 1 || port > 65535) return Error::make("{}: not a port: {}", path, d.dump());
      net::Destination dest{d.at("host").get<std::string>(), static_cast<uint16_t>(port),
                            d.at("literal").get<bool>(), d.at("allowed").get<bool>(),
                            d.at("refusal").get<std::string>()};
      // What --apply writes into a config is checked like a config entry.
      // A name or an address, never a pattern or a port: the gateway records nothing else.
      if (dest.host.find_first_of("*:") != std::string::npos || !parseHostPattern(dest.host) ||
          dest.literal != isAddress(dest.host))
        return Error::make("{}: not a destination: {}", path, d.dump());
      l.destinations.push_back(std::move(dest));
    }
    l.lookedUpOnly = j.at("looked_up_only").get<std::vector<std::string>>();
    for (const auto& w : j.at("writes")) {
      if (!w.contains("total")) return Error::make("{}: a write without a total: {}", path, w.dump());
      COCO_ASSIGN(size_t total, countIn(w, "total", path));
      l.writes.push_back({w.at("src").get<std::string>(), w.at("dst").get<std::string>(),
                          w.at("paths").get<std::vector<std::string>>(), total});
    }
    l.guardRemoved = j.at("guard_removed").get<std::vector<std::string>>();
    COCO_ASSIGN(l.guardRemovedMore, countIn(j, "guard_removed_more", path));
    COCO_ASSIGN(l.unrecordedLookups, countIn(j, "unrecorded_lookups", path));
    COCO_ASSIGN(l.unrecordedConnections, countIn(j, "unrecorded_connections", path));
    return l;
  } catch (const nlohmann::json::exception& e) {
    return Error::make("{}: not a learn record: {}", path, e.what());
  }
}

namespace {

bool writtenMount(const Learned& learned, const std::string& dst) {
  return std::any_of(learned.writes.begin(), learned.writes.end(),
                     [&](const LearnedWrites& w) { return w.dst == dst; });
}

// A mount's opts without ro (and with rw), in the list form or the comma form it had.
std::string rwOpts(const std::string& opts) {
  std::string out;
  size_t i = 0;
  while (i <= opts.size()) {
    size_t j = opts.find(',', i);
    if (j == std::string::npos) j = opts.size();
    std::string o = opts.substr(i, j - i);
    if (!o.empty() && o != "ro" && o != "rw") out += (out.empty() ? "" : ",") + o;
    i = j + 1;
  }
  return out.empty() ? "rw" : "rw," + out;
}

}  // namespace

Result<std::string> applyLearned(const config::ToolConfig& config, const std::string& text,
                                 const Learned& learned) {
  std::vector<std::string> hosts = suggestedHosts(config, learned);
  bool setHosts = !learned.destinations.empty() && hosts != config.allowedHosts;
  bool setNone = learned.destinations.empty() && config.network == NetworkMode::Full;
  std::string out;
  bool json = config.path.ends_with(".json");
  try {
    if (json) {
      auto j = nlohmann::ordered_json::parse(text);
      if (setHosts) {
        if (j.contains("network") && j["network"] == "none") j.erase("network");
        j["allowed_hosts"] = hosts;
      }
      if (setNone) j["network"] = "none";
      if (j.contains("mounts"))
        for (auto& m : j["mounts"])
          if (m.contains("dst") && m["dst"].is_string() &&
              writtenMount(learned, fs::normalize(m["dst"].get<std::string>())))
            m["opts"] = rwOpts(m.value("opts", std::string()));
      out = j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    } else {
      YAML::Node root = YAML::Load(text);
      if (setHosts) {
        if (root["network"] && root["network"].as<std::string>() == "none") root.remove("network");
        root["allowed_hosts"] = hosts;
      }
      if (setNone) root["network"] = "none";
      if (root["mounts"])
        for (auto m : root["mounts"])
          if (m["dst"] && writtenMount(learned, fs::normalize(m["dst"].as<std::string>())))
            m["opts"] = rwOpts(m["opts"] ? m["opts"].as<std::string>() : "");
      YAML::Emitter e;
      e << root;
      out = std::string(e.c_str()) + "\n";
    }
  } catch (const std::exception& e) {
    return Error::make("{}: cannot apply the learned changes: {}", config.path, e.what());
  }
  // Never write a config coco would not load.
  COCO_TRY(config::parseConfig(out, config.path, config.name));
  return out;
}

}  // namespace coco::tool
