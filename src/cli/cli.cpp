// Placeholder dispatcher; replaced by the real command set.
#include "cli/cli.hpp"

#include <cstdio>

namespace coco::cli {

int main(int, char**) {
  std::fputs("coco: not yet\n", stderr);
  return 125;
}

}  // namespace coco::cli
