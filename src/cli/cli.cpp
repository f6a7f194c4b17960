// Dispatch: symlink invocation, the command table, COCO_DEBUG and process glue.
#include "cli/cli.hpp"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string_view>

#include "backend/container_network.hpp"
#include "cli/context.hpp"
#include "cli/suggest.hpp"
#include "sys/process.hpp"
#include "sys/user.hpp"
#include "tool/plan.hpp"
#include "util/fd_limit.hpp"
#include "util/front.hpp"
#include "util/log.hpp"
#include "util/trace.hpp"

namespace coco::cli {

namespace {

constexpr std::string_view kSelfName = "coco";

struct Command {
  std::string_view name;
  int (*handler)(Context&, const Args&);
  bool alias = false;  // an option spelling of a command: not listed, not suggested
};

// The order is the help's.
constexpr Command kCommands[] = {
    {"run", cmdRun},
    {"list", cmdList},
    {"show", cmdShow},
    {"get", cmdGet},
    {"store", cmdStore},
    {"up", cmdUp},
    {"down", cmdDown},
    {"images", cmdImages},
    {"image", cmdImage},
    {"prune", cmdPrune},
    {"rebuild", cmdRebuild},
    {"save", cmdSave},
    {"system", cmdSystem},
    {"learn", cmdLearn},
    {"completion", cmdCompletion},
    {"version", cmdVersion},
    {"help", cmdHelp},
    {"--version", cmdVersion, true},
    {"-V", cmdVersion, true},
    {"--help", cmdHelp, true},
    {"-h", cmdHelp, true},
};

const Command* findCommand(std::string_view name) {
  for (const auto& command : kCommands)
    if (command.name == name) return &command;
  return nullptr;
}

int unknownCommand(Context& ctx, const std::string& name) {
  std::string hint = didYouMean(closest(name, commandNames()));
  return ctx.fail(
      fmt::format("unknown command '{}'", name),
      hint.empty() ? "'coco help' lists the commands" : hint + " ('coco help' lists the commands)");
}

std::string baseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// What the static front does itself (util/front.hpp): `coco run` and runs through a tool's link.
// The other commands pull, install, export, link or list, and go to coco-full at once.
bool frontServes(int argc, char** argv) {
  std::string self = argc > 0 ? baseName(argv[0]) : std::string(kSelfName);
  if (!self.empty() && self != kSelfName) return true;
  int at = 1;
  while (at < argc && isQuietOption(argv[at])) ++at;
  return at < argc && std::string_view(argv[at]) == "run";
}

// COCO_DEBUG turns coco's debug lines on.
void debugFromEnvironment() {
  const char* debug = std::getenv("COCO_DEBUG");
  log::setDebug(debug && tool::isTrue(debug));
}

// HOME unset or empty (cron, `env -i`, a service's unit without one): the home directory of the
// user's password database entry, as podman takes it, so `~` in configs, the storage and the
// checks that keep a home out of the sandbox mean what they do in the user's shell. The front
// reads /etc/passwd; for a user it does not list (LDAP, sssd) coco-full asks the name service.
// Without an absolute home there, HOME stays unset and what needs it says so.
void fillHomeFromPasswd() {
  const char* home = std::getenv("HOME");
  if (home && *home) return;
  debugFromEnvironment();  // for the hand-over's debug line
  uid_t uid = ::getuid();
  auto entry = front::active() ? sys::passwdFileEntry("/etc/passwd", uid) : sys::passwdEntry(uid);
  if (!entry && front::active()) front::handOff("HOME is not set and /etc/passwd does not list the user");
  if (!entry || entry->home.empty() || entry->home[0] != '/') return;
  ::setenv("HOME", entry->home.c_str(), 1);
}

}  // namespace

const std::vector<std::string>& commandNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& c : kCommands)
      if (!c.alias) v.emplace_back(c.name);
    return v;
  }();
  return names;
}

int cmdHelp(Context& ctx, const Args& args) {
  if (args.empty()) {
    ctx.out << usage();
    return kExitOk;
  }
  // `coco help CMD` is `coco CMD --help`: each command's own parser prints its usage.
  const Command* command = findCommand(args[0]);
  if (!command || command->alias || args.size() > 1) {
    if (args.size() > 1 && command && !command->alias)
      return ctx.fail(fmt::format("help: one command at a time, not '{}'", args[1]),
                      "'coco help' lists the commands");
    return unknownCommand(ctx, args[0]);
  }
  if (command->handler == cmdHelp) {
    ctx.out << usage();
    return kExitOk;
  }
  return command->handler(ctx, {"--help"});
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  debugFromEnvironment();
  log::setQuiet(false);
  Context ctx{out, err, args.empty() ? std::string(kSelfName) : args[0]};

  // `coco up` links ~/.local/bin/NAME to coco: invoked as NAME, run that tool.
  std::string self = baseName(ctx.argv0);
  if (!self.empty() && self != kSelfName) return runTool(ctx, self, Args(args.begin() + 1, args.end()), false);

  // Global options come before the command: `coco --quiet run eslint .`.
  size_t at = 1;
  for (; at < args.size() && isQuietOption(args[at]); ++at) log::setQuiet(true);
  if (args.size() < at + 1) {
    err << usage();
    return kExitCocoError;
  }
  Args rest(args.begin() + static_cast<std::ptrdiff_t>(at) + 1, args.end());
  if (const Command* command = findCommand(args[at])) return command->handler(ctx, rest);
  return unknownCommand(ctx, args[at]);
}

int main(int argc, char** argv) {
  if (front::active() && !frontServes(argc, argv)) {
    debugFromEnvironment();
    front::handOff("not a run");
  }
  // Not a command: the helper ContainerNetwork runs in podman's user namespace.
  if (argc > 1 && argv[1] == backend::kContainerNetnsCommand) return backend::containerNetnsMain(argc, argv);
  trace::point("main");
  fillHomeFromPasswd();
  sys::ignoredSignalsAtStart();  // before coco ignores any itself (engine and backend read it)
  // A parent that ignored SIGCHLD (a daemon's SIG_IGN, kept across its exec of coco) makes the
  // kernel reap coco's children itself: their exit statuses would be lost, and the sandbox's init
  // (a clone of coco) would never hear of the tool's end.
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGCHLD, &dfl, nullptr);
  // One malloc arena for all of coco's threads. Each thread's first allocation
  // otherwise maps an arena of its own (64 MiB reserved, its first pages
  // faulted in): the gateway's thread did that while being stopped at the end
  // of every networked run (mmap, munmap, mprotect before the join returned).
  // coco's threads allocate little.
  ::mallopt(M_ARENA_MAX, 1);
  raiseFdLimit();
  std::vector<std::string> args(argv, argv + argc);
  int code = run(args, std::cout, std::cerr);
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);  // and C's streams: _exit below does not
  trace::point("exit");
#if defined(__SANITIZE_ADDRESS__)
  return code;  // the leak check runs at exit
#else
  // Nothing of coco's waits for exit's handlers: every file is written and
  // closed before here. Skipping the destructors of libstdc++'s streams and
  // locales, and the loader's, is 0.4-0.5 ms of every start (bench/startup).
  ::_exit(code);
#endif
}

}  // namespace coco::cli
