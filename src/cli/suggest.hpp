// "Did you mean": the names closest to a mistyped one, by Damerau-Levenshtein distance.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace coco::cli {

// Edits (insert, delete, substitute, swap two neighbours) from a to b: the
// optimal-string-alignment distance, so "lsit" is one edit from "list".
size_t editDistance(std::string_view a, std::string_view b);

// The candidates nearest to word, all at the smallest distance, when that is
// at most 1 for words of up to 4 characters and 2 for longer ones (a short
// word two edits away is any other short word). Empty for an exact match's
// absence of near ones, and for an empty word. Sorted, each once.
std::vector<std::string> closest(std::string_view word, const std::vector<std::string>& candidates);

// "'a'", "'a' or 'b'", "'a', 'b' or 'c'".
std::string quotedOrList(const std::vector<std::string>& names);

// "did you mean 'list'?" or "did you mean 'a' or 'b'?"; "" for no names.
std::string didYouMean(const std::vector<std::string>& names);

}  // namespace coco::cli
