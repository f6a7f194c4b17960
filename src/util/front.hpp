// coco is two executables built from the same code. `coco`, the front, is linked statically:
// without the dynamic loader a start costs a fifth less CPU (README, Benchmark, "Stop 54").
// `coco-full` is linked dynamically and is the only one that loads libcurl, libarchive, libcrypto
// (util/lazy_lib.hpp) and NSS modules. The front serves warm runs of configured tools; for
// everything else it hands over: it executes coco-full with its own arguments and environment,
// before it has done anything a second start would repeat (printed, written or locked).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace coco::front {

// Called first in the front's main(): marks this process as the front and keeps argv for handOff.
void start(char** argv);

// True in the front (the static `coco`), false in coco-full and in the tests.
bool active();

// In the front: the signals ignored when it started (start()), bit N-1 for signal N, SIGCHLD
// included. 0 elsewhere.
uint64_t ignoredAtStart();

// The other executable of the pair: coco-full for the front, the front for coco-full. In the
// build tree both are in src/; installed, the front is COCO_FRONT_PATH and coco-full
// COCO_FULL_PATH (compiled in, never from the environment). "" where there is no pair (a build
// with -Dstatic_front=false, a test).
std::string partnerPath();

// The front's path when this is coco-full of a pair, else this executable's: what `coco up` links
// tools to.
std::string frontPath();

// In the front: executes coco-full in this process, with the front's arguments and environment,
// the descriptor limit and the signal dispositions and mask it started with; `why` goes to the
// debug log. Does not return (exits 125 with a message when coco-full cannot be executed).
[[noreturn]] void handOff(std::string_view why);

// From here on a hand-over would repeat what this run has done (its network, its sandbox): called
// once a run is planned, after which handOff ends the run with an error instead.
void settle();

// handOff(why) in the front; nothing in coco-full.
inline void needFull(std::string_view why) {
  if (active()) handOff(why);
}

}  // namespace coco::front
