// What coco reads from mise's output (`mise ls --json`, `mise env --json`),
// which an install sandbox writes: untrusted text, parsed without throwing.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace coco::tool {

// The active version `mise ls --json` lists for a spec ("npm:eslint@9" ->
// the entry under "npm:eslint"); "" when there is none.
std::string installedVersion(const std::string& lsJson, const std::string& spec);

// The string values of `mise env --json`'s object, sorted by name; nothing for anything else.
std::vector<std::pair<std::string, std::string>> miseEnv(const std::string& envJson);

}  // namespace coco::tool
