// Typed reads from yaml-cpp nodes, with the position of every failure.
#include "config/yaml_reader.hpp"

#include <map>

#include <fmt/format.h>

#include "config/checks.hpp"

namespace coco::config {
namespace {

std::string describeType(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "empty";
    case YAML::NodeType::Scalar:
      return fmt::format("'{}'", node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "undefined";
  }
}

Value valueOf(const YAML::Node& node, std::string name, const YAML::Mark& fallback) {
  bool usable = !node.IsNull() && node.Mark().line >= 0;
  return Value{node, std::move(name), usable ? node.Mark() : fallback};
}

[[noreturn]] void unknownKey(const std::string& key, const YAML::Mark& mark,
                             std::span<const std::string_view> known) {
  std::string_view near = closestKey(key, known);
  if (!near.empty()) fail(mark, fmt::format("unknown key '{}' (did you mean '{}'?)", key, near));
  fail(mark, fmt::format("unknown key '{}' (known keys: {})", key, fmt::join(known, ", ")));
}

}  // namespace

void fail(const YAML::Mark& mark, const std::string& message) { throw ConfigError(mark, message); }

std::vector<Field> readMap(const Value& map, std::span<const std::string_view> known) {
  if (!map.node.IsMap())
    fail(map.mark, fmt::format("'{}' must be a map, not {}", map.name, describeType(map.node)));
  std::vector<Field> fields;
  std::map<std::string, int> seen;
  for (auto it = map.node.begin(); it != map.node.end(); ++it) {
    const YAML::Mark& keyMark = it->first.Mark();
    if (!it->first.IsScalar()) fail(keyMark, fmt::format("keys of '{}' must be strings", map.name));
    std::string key = it->first.Scalar();
    if (!known.empty() && std::find(known.begin(), known.end(), key) == known.end())
      unknownKey(key, keyMark, known);
    auto [prev, fresh] = seen.emplace(key, keyMark.line + 1);
    if (!fresh) fail(keyMark, fmt::format("duplicate key '{}' (first on line {})", key, prev->second));
    fields.push_back(Field{key, keyMark, valueOf(it->second, key, keyMark)});
  }
  return fields;
}

std::vector<Value> readList(const Value& list) {
  if (!list.node.IsSequence())
    fail(list.mark, fmt::format("'{}' must be a list, not {}", list.name, describeType(list.node)));
  std::vector<Value> items;
  for (size_t i = 0; i < list.node.size(); ++i)
    items.push_back(valueOf(list.node[i], fmt::format("{}[{}]", list.name, i), list.mark));
  return items;
}

std::string readString(const Value& value) {
  // YAML reads a bare ~ as null, which surprises people writing mount sources.
  if (value.node.IsNull())
    fail(value.mark, fmt::format("'{}' must be a string, not empty (a bare ~ is empty in YAML: write \"~\")",
                                 value.name));
  if (!value.node.IsScalar())
    fail(value.mark, fmt::format("'{}' must be a string, not {}", value.name, describeType(value.node)));
  return value.node.Scalar();
}

bool readBool(const Value& value) {
  if (value.node.IsScalar() && isPlainScalar(value.node)) {
    const std::string& s = value.node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  std::string got =
      value.node.IsScalar() && !isPlainScalar(value.node) ? "a quoted string" : describeType(value.node);
  fail(value.mark, fmt::format("'{}' must be true or false, not {}", value.name, got));
}

std::vector<std::string> readStringList(const Value& list) {
  std::vector<std::string> out;
  for (const Value& item : readList(list)) out.push_back(readString(item));
  return out;
}

bool isPlainScalar(const YAML::Node& node) { return node.IsScalar() && node.Tag() == "?"; }

}  // namespace coco::config
