// The command line: parsing, dispatch, exit codes and all user-facing output.
#pragma once

namespace coco::cli {

int main(int argc, char** argv);

}  // namespace coco::cli
