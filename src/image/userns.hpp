// Running store work (unpack, delete) as root of a user namespace mapped like the engine's.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "engine/idmap.hpp"
#include "util/result.hpp"

namespace coco::image {

// The id maps of this process's user as COCO_USERNS asks (engine::singleIdMapRequested): what
// the image store unpacks and deletes with, and what tool::hostSetup gives every run.
engine::IdMapPlan hostIdMaps();

// Forks a child that becomes root of a new user namespace mapped by `map`
// (engine::writeIdMaps, so with the sandbox's fallback: when a helper fails, the
// single mapping) and runs `fn` there, telling it whether the subordinate
// mapping is in place; returns fn's Status (message carried over a pipe). The
// child shares nothing with the caller but the file system, so fn may chdir freely.
Status runInUserNamespace(const engine::IdMapPlan& map, const std::function<Status(bool subordinate)>& fn);
// The same, calling `tick` in the caller every `interval` while the child works
// (an unpack's progress: the caller reads how far the child got).
struct WaitTick {
  std::function<void()> tick;
  std::chrono::milliseconds interval{250};
};
Status runInUserNamespace(const engine::IdMapPlan& map, const std::function<Status(bool subordinate)>& fn,
                          const WaitTick& wait);
Status runInUserNamespace(const engine::IdMapPlan& map, const std::function<Status()>& fn);

// fs::removeTree run inside the namespace, for trees holding sub-id owned files.
Status removeTreeAsOwner(const engine::IdMapPlan& map, const std::string& path);

}  // namespace coco::image
