// The command line: parsing, dispatch, exit codes and all user-facing output.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace coco::cli {

int main(int argc, char** argv);

// The whole program minus the process: args[0] is argv[0] (its basename picks
// symlink invocation), output goes to the given streams. Returns the exit code.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace coco::cli
