// Tests for reading mise's JSON output: the active version of a spec, the environment.
#include "tool/mise_output.hpp"

#include <gtest/gtest.h>

namespace coco::tool {
namespace {

TEST(MiseOutput, InstalledVersionOfTheActiveEntry) {
  std::string ls = R"({"npm:eslint": [{"version": "8.0.0", "active": false}, {"version": "9.1.0", "active": true}],
                       "npm:@scope/pkg": [{"version": "1.2.3"}]})";
  EXPECT_EQ(installedVersion(ls, "npm:eslint@9"), "9.1.0");
  EXPECT_EQ(installedVersion(ls, "npm:@scope/pkg@1"), "1.2.3");
  EXPECT_EQ(installedVersion(ls, "npm:other"), "");
  EXPECT_EQ(installedVersion(ls, "npm:eslint[npm_args=--ignore-scripts=false]@9"), "9.1.0");
  EXPECT_EQ(installedVersion(ls, "npm:@scope/pkg[x=y]"), "1.2.3");
  for (const char* bad : {"", "[]", "{\"npm:eslint\": 5}", "{\"npm:eslint\": [{\"version\": 9}]}", "{"})
    EXPECT_EQ(installedVersion(bad, "npm:eslint"), "") << bad;
}

TEST(MiseOutput, EnvKeepsTheStrings) {
  auto env = miseEnv(R"({"PATH": "/a:/b", "N": 1, "A": "x"})");
  ASSERT_EQ(env.size(), 2u);
  EXPECT_EQ(env[1], (std::pair<std::string, std::string>{"PATH", "/a:/b"}));
  EXPECT_TRUE(miseEnv("not json").empty());
  EXPECT_TRUE(miseEnv("[\"PATH\"]").empty());
}

}  // namespace
}  // namespace coco::tool
