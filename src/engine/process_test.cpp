// envShebangCommand: which "#!/usr/bin/env NAME" lines coco runs NAME for itself, without env's
// exec. Everything else goes to env, whose behaviour with options, assignments and odd names
// coco does not copy.
#include "engine/process.hpp"

#include "engine/child_plan.hpp"
#include "engine/run_spec.hpp"
#include "engine/seccomp.hpp"

#include <gtest/gtest.h>

#include <string>

namespace coco::engine {
namespace {

TEST(EnvShebang, NpmsEntryPointsNameTheirInterpreter) {
  EXPECT_EQ(envShebangCommand("#!/usr/bin/env node\n'use strict';\n"), "node");
  EXPECT_EQ(envShebangCommand("#!/usr/bin/env python3\nimport sys\n"), "python3");
  EXPECT_EQ(envShebangCommand("#!/usr/bin/env node\n"), "node");
}

TEST(EnvShebang, BlanksAreTheKernelsToSkip) {
  // The kernel skips spaces and tabs after "#!", around the argument and at the line's end.
  EXPECT_EQ(envShebangCommand("#! /usr/bin/env node\n"), "node");
  EXPECT_EQ(envShebangCommand("#!\t/usr/bin/env\t node \t\n"), "node");
}

TEST(EnvShebang, WhatEnvWouldDoMoreWithGoesToEnv) {
  EXPECT_EQ(envShebangCommand("#!/usr/bin/env -S node --max-old-space-size=64\n"), "");  // an option
  EXPECT_EQ(envShebangCommand("#!/usr/bin/env -i node\n"), "");
  EXPECT_EQ(envShebangCommand("#!/usr/bin/env NODE_ENV=production\n"), "");  // an assignment
  EXPECT_EQ(envShebangCommand("#!/usr/bin/env A=1 node\n"), "");
  EXPECT_EQ(envShebangCommand("#!/usr/bin/env node --harmony\n"), "");  // one argument "node --harmony"
  EXPECT_EQ(envShebangCommand("#!/usr/bin/env /usr/bin/node\n"), "");   // a path: no search
  EXPECT_EQ(envShebangCommand("#!/usr/bin/env ./node\n"), "");
  EXPECT_EQ(envShebangCommand("#!/usr/bin/env node\r\n"), "");  // a DOS line: env looks for "node\r"
  EXPECT_EQ(envShebangCommand(std::string("#!/usr/bin/env no\0de\n", 21)), "");
  EXPECT_EQ(envShebangCommand("#!/usr/bin/env\n"), "");  // no NAME
  EXPECT_EQ(envShebangCommand("#!/usr/bin/env   \n"), "");
}

TEST(EnvShebang, OtherInterpretersAndOtherFilesAreNotTouched) {
  EXPECT_EQ(envShebangCommand("#!/bin/sh\nexec node \"$0\"\n"), "");
  EXPECT_EQ(envShebangCommand("#!/usr/bin/node\n"), "");
  EXPECT_EQ(envShebangCommand("#!/usr/bin/envx node\n"), "");
  EXPECT_EQ(envShebangCommand("#!/usr/local/bin/env node\n"), "");
  EXPECT_EQ(envShebangCommand("#!/bin/env node\n"), "");
  EXPECT_EQ(envShebangCommand(" #!/usr/bin/env node\n"), "");
  EXPECT_EQ(envShebangCommand("\x7f"
                              "ELF\x02\x01\x01"),
            "");
  EXPECT_EQ(envShebangCommand(""), "");
  EXPECT_EQ(envShebangCommand("#!"), "");
}

TEST(EnvShebang, ALineNotWholeInTheHeadIsLeftToTheKernel) {
  // The first bytes of a file whose first line goes on past them: NAME may be longer.
  EXPECT_EQ(envShebangCommand("#!/usr/bin/env node"), "");
  std::string longLine = "#!/usr/bin/env " + std::string(300, 'n');
  EXPECT_EQ(envShebangCommand(std::string_view(longLine).substr(0, 256)), "");
}

// coco runs NAME itself only where its PATH search is the one env would make.
TEST(EnvShebang, OnlyAPathEnvSearchesTheSameWayLetsCocoSkipEnv) {
  auto plan = [](std::vector<std::pair<std::string, std::string>> env) {
    RunSpec spec;
    spec.argv = {"eslint", "."};
    spec.env = std::move(env);
    ChildPlan p;
    planProcess(spec, p);
    return p;
  };
  ChildPlan ok = plan({{"HOME", "/root"}, {"PATH", "/opt/mise/bin:/usr/bin"}});
  EXPECT_TRUE(ok.envSearchSame);
  EXPECT_EQ(ok.searchPath, (std::vector<std::string>{"/opt/mise/bin", "/usr/bin"}));
  EXPECT_EQ(ok.envArgv.size(), ok.argv.size() + 1);                // NAME, the script, ".", null
  EXPECT_FALSE(plan({}).envSearchSame);                            // env's default PATH is not coco's
  EXPECT_FALSE(plan({{"PATH", ""}}).envSearchSame);                // env searches the working directory
  EXPECT_FALSE(plan({{"PATH", "/usr/bin::/bin"}}).envSearchSame);  // so does an empty entry
  EXPECT_FALSE(plan({{"PATH", "/usr/bin:."}}).envSearchSame);      // and a relative one, which coco skips
  EXPECT_FALSE(plan({{"PATH", "/usr/bin:"}}).envSearchSame);
  // Twice (an image's Env may repeat it): coco searches the last, env's getenv the first.
  EXPECT_FALSE(plan({{"PATH", "/a"}, {"PATH", "/usr/bin"}}).envSearchSame);
}

// Attack: the tool's own profile decides which calls end it. Those coco makes under it before the
// exec (a look at the command's first line, the kernel's exec check) are made only where the
// filter answers them: a profile written for what a tool calls (its default kills, execve is
// listed) must not kill a tool whose start env would have made.
TEST(EnvShebang, OnlyCallsTheFilterAnswersAreMadeBeforeTheExec) {
  auto answers = [](const std::string& profile) {
    ChildPlan p;
    auto program = compileProfileText(profile, "test.json");
    EXPECT_TRUE(bool(program)) << profile;
    if (program) p.seccomp = std::move(*program);
    planFilterAnswers(p);
    return std::pair{p.filterAnswersEnvChecks, p.filterAnswersExecCheck};
  };
  auto killing = [](const std::string& names, const std::string& action = "SCMP_ACT_KILL_PROCESS") {
    return R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [)" + names + R"(], "action": ")" +
           action + R"("}]})";
  };
  using Answers = std::pair<bool, bool>;
  ChildPlan unconfined;
  planFilterAnswers(unconfined);
  EXPECT_EQ(Answers(unconfined.filterAnswersEnvChecks, unconfined.filterAnswersExecCheck),
            Answers(true, true));
  EXPECT_EQ(answers(R"({"defaultAction": "SCMP_ACT_ALLOW"})"), Answers(true, true));
  // Errors are answers: the code takes them as "not here" and goes on to the plain exec.
  EXPECT_EQ(answers(R"({"defaultAction": "SCMP_ACT_ERRNO"})"), Answers(true, true));
  EXPECT_EQ(answers(killing(R"("execveat")")), Answers(true, false));
  EXPECT_EQ(answers(killing(R"("execveat")", "SCMP_ACT_TRAP")), Answers(true, false));
  EXPECT_EQ(answers(killing(R"("execveat")", "SCMP_ACT_KILL")), Answers(true, false));
  for (const char* call : {"newfstatat", "openat", "read", "close", "access"}) {
    SCOPED_TRACE(call);
    EXPECT_EQ(answers(killing(std::string("\"") + call + "\"")), Answers(false, true));
  }
  // The arguments count: execveat killed only with the check's flag.
  EXPECT_EQ(answers(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["execveat"], "action":
      "SCMP_ACT_KILL_PROCESS", "args": [{"index": 4, "value": 65536, "valueTwo": 65536, "op": "SCMP_CMP_MASKED_EQ"}]}]})"),
            Answers(true, false));
  EXPECT_EQ(answers(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["execveat"], "action":
      "SCMP_ACT_KILL_PROCESS", "args": [{"index": 4, "value": 0, "op": "SCMP_CMP_EQ"}]}]})"),
            Answers(true, true));
  // A profile listing what a static tool calls, with a default that kills: nothing before the exec
  // (execveat, newer than any call it names, fails with ENOSYS: compileProfile).
  EXPECT_EQ(
      answers(R"({"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": [{"names": ["execve", "exit_group",
      "brk", "mmap", "write"], "action": "SCMP_ACT_ALLOW"}]})"),
      Answers(false, true));
  // One listing what a dynamic tool calls (rseq: glibc's start): the look at the first line, not
  // the kernel's check.
  EXPECT_EQ(
      answers(R"({"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": [{"names": ["execve", "exit_group",
      "brk", "mmap", "write", "newfstatat", "openat", "read", "close", "access", "rseq"], "action":
      "SCMP_ACT_ALLOW"}]})"),
      Answers(true, false));
}

}  // namespace
}  // namespace coco::engine
