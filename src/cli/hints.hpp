// The hint after an error, chosen by the error's kind (util/result.hpp ErrorKind), never by its text.
#pragma once

#include <string>
#include <vector>

#include "util/result.hpp"

namespace coco::cli {

// What the hints may look at; fromProcess() reads the tools dir and the store.
struct HintSources {
  std::vector<std::string> tools;  // configured tool names
  std::vector<std::string>
      store;                 // names the store offers (empty: unknown, e.g. a remote store without index)
  bool remoteStore = false;  // COCO_STORE_BASE is set
  static HintSources fromProcess();
};

// The hint for an error ("" when its kind has none):
//   NotConfigured: a configured tool close to the name, else `coco get NAME` when
//                  the store has it (or one close to it), else where to look;
//   StoreMiss:     store names close to it, else the store's names or `coco store`;
//   EnvVar:        that the variable is set in the environment, and how to fix it;
//   ConfigFile:    the file to fix.
std::string hintFor(const Error& error, const HintSources& sources);

// The names of a store as the hint shows them: all of them when few, else a pointer to `coco store`.
std::string storeNamesHint(const std::vector<std::string>& names);

}  // namespace coco::cli
