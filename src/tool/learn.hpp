// `coco run --learn`: a run with full outbound network whose lookups and
// connections the gateway records, with each read-only directory mount of the
// config an overlay that keeps the tool's writes, and what the run suggests
// for the config (allowed_hosts, mounts), kept for `coco learn --apply`.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "config/tool_config.hpp"
#include "engine/run_spec.hpp"
#include "net/traffic_log.hpp"
#include "util/result.hpp"

namespace coco::tool {

struct LearnMount {
  std::string configSrc;  // as the config writes it
  std::string dst;
  std::string scratch;  // host dir: upper/ and work/ of the overlay
  std::string src;      // the mount's absolute source (the overlay's lower layer)
};

// Turns a planned run into a learn run: full outbound network through the
// gateway (allowed_hosts and `network: none` set aside; `network: host` is
// refused, it bypasses the gateway), and each read-only directory mount the
// config names an overlay whose changes go to a directory of its own below
// scratchRoot (which must exist, owned by the user).
Result<std::vector<LearnMount>> prepareLearn(engine::RunSpec& spec, const config::ToolConfig& config,
                                             const std::string& scratchRoot);

struct LearnedWrites {
  std::string configSrc, dst;
  std::vector<std::string> paths;  // below dst, sorted; "(removed) P" for a deletion
  size_t total = 0;                // paths.size() may be capped
};

struct Learned {
  std::string tool, configPath, configHash;
  std::vector<net::Destination> destinations;
  std::vector<std::string> lookedUpOnly;  // names looked up but never connected to
  std::vector<LearnedWrites> writes;      // read-only mounts the tool tried to write
  std::vector<std::string> guardRemoved;  // host paths the workspace guard removed (the first kMaxLearnedRemovals)
  size_t guardRemovedMore = 0;            // and how many more it removed
  // Lookups and connections past what a learn run keeps (net::TrafficLog::kMaxEntries).
  size_t unrecordedLookups = 0, unrecordedConnections = 0;
};

// What the tool wrote in each learn overlay: the entries of its upper dir
// (whiteouts are deletions), at most `limit` paths per mount.
std::vector<LearnedWrites> learnedWrites(const std::vector<LearnMount>& mounts, size_t limit = 50);

// A learn run lists this many of the workspace guard's removals, and counts the rest: each is a
// path of up to PATH_MAX in the record, which is read back only up to its size limit.
inline constexpr size_t kMaxLearnedRemovals = 50;

Learned collectLearned(const config::ToolConfig& config, const net::TrafficLog& traffic,
                       std::vector<LearnedWrites> writes, std::vector<std::string> guardRemoved = {},
                       size_t guardRemovedMore = 0);

// The allowed_hosts entry for a destination: NAME (ports 80 and 443), NAME:PORT, ADDR:PORT.
std::string allowEntry(const net::Destination& d);

// The config's allowed_hosts after the run: its own entries, then each destination's entry not already
// allowed.
std::vector<std::string> suggestedHosts(const config::ToolConfig& config, const Learned& learned);

// The report printed after a learn run (and by `coco learn TOOL`).
std::string describeLearned(const config::ToolConfig& config, const Learned& learned);

std::string learnedToJson(const Learned& learned);
Result<Learned> learnedFromJson(const std::string& text, const std::string& path);

// The config file's text with the suggestion applied: allowed_hosts set to
// suggestedHosts (a `network: none` removed), or `network: none` when the tool
// reached nothing and the config gave it full network; each mount the tool
// wrote made `rw`. A .json file stays JSON (key order kept), YAML is written
// back as YAML (its comments are lost). The result is validated as a config.
Result<std::string> applyLearned(const config::ToolConfig& config, const std::string& text,
                                 const Learned& learned);

}  // namespace coco::tool
