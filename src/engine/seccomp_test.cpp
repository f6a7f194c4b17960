#include "engine/seccomp.hpp"

#include <gtest/gtest.h>

namespace coco::engine {
namespace {

TEST(Seccomp, MissingProfileIsAnError) { EXPECT_FALSE(compileProfile("/nonexistent.json").ok()); }

}  // namespace
}  // namespace coco::engine
