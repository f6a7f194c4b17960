// Entry point: everything happens in cli::main.
#include "cli/cli.hpp"

int main(int argc, char** argv) { return coco::cli::main(argc, argv); }
