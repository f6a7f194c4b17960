// Entry point: everything happens in cli::main. Compiled twice with -Dstatic_front: the front
// (COCO_FRONT, linked statically) and coco-full (util/front.hpp).
#include "cli/cli.hpp"
#include "util/front.hpp"

int main(int argc, char** argv) {
#if defined(COCO_FRONT)
  coco::front::start(argv);
#endif
  return coco::cli::main(argc, argv);
}
