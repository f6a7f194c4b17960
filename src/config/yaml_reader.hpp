// Typed reads from yaml-cpp nodes for the config parser. Internal to config/:
// failures throw ConfigError with the position of the offending node, and
// parseConfig turns that into an Error "FILE:LINE:COL: message".
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace coco::config {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(const YAML::Mark& mark, const std::string& message)
      : std::runtime_error(message), mark_(mark) {}
  const YAML::Mark& mark() const { return mark_; }

 private:
  YAML::Mark mark_;
};

[[noreturn]] void fail(const YAML::Mark& mark, const std::string& message);

// A value with the name it is reported under and the position to report:
// the value's own, or its key's when the value is empty (yaml-cpp gives an
// empty value the position of whatever follows it).
struct Value {
  YAML::Node node;
  std::string name;
  YAML::Mark mark;
};

struct Field {
  std::string key;
  YAML::Mark keyMark;
  Value value;
};

// The entries of a map in file order. Throws on a non-map, a duplicate key and,
// when `known` is not empty, on an unknown key (suggesting the nearest known one).
std::vector<Field> readMap(const Value& map, std::span<const std::string_view> known);

std::vector<Value> readList(const Value& list);
std::string readString(const Value& value);
bool readBool(const Value& value);
std::vector<std::string> readStringList(const Value& list);

// A scalar written without quotes: lets numbers and booleans be told apart from
// strings, which yaml-cpp otherwise does not.
bool isPlainScalar(const YAML::Node& node);

}  // namespace coco::config
