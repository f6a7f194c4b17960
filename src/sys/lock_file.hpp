// Exclusive lock files shared by concurrent coco processes.
#pragma once

#include <functional>
#include <string>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace coco::sys {

// Opens (creating, mode 0600) and flock()s `path` exclusively; the lock lasts as
// long as the returned descriptor. When another process holds it, whenBusy runs
// once (to tell the user what coco waits for, see waitingFor) before blocking.
Result<UniqueFd> lockExclusive(const std::string& path, const std::function<void()>& whenBusy = {});

// "waiting for another coco <what>": the one wording of that notice.
std::string waitingFor(const std::string& what);

}  // namespace coco::sys
