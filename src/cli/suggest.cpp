// Edit distance and the "did you mean" wording.
#include "cli/suggest.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace coco::cli {

size_t editDistance(std::string_view a, std::string_view b) {
  // Three rows suffice: a swap looks two rows back.
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<std::string> closest(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.empty()) return {};
  size_t limit = word.size() <= 4 ? 1 : 2;
  size_t best = limit + 1;
  std::vector<std::string> found;
  for (const auto& c : candidates) {
    size_t d = editDistance(word, c);
    if (d == 0 || d > limit || d > best) continue;
    if (d < best) found.clear();
    best = d;
    found.push_back(c);
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

std::string quotedOrList(const std::vector<std::string>& names) {
  std::string list;
  for (size_t i = 0; i < names.size(); ++i)
    list += fmt::format("{}'{}'", i == 0 ? "" : i + 1 == names.size() ? " or " : ", ", names[i]);
  return list;
}

std::string didYouMean(const std::vector<std::string>& names) {
  return names.empty() ? std::string() : fmt::format("did you mean {}?", quotedOrList(names));
}

}  // namespace coco::cli
