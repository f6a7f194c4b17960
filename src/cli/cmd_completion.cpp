// `coco completion bash|zsh|fish`: shell completion of commands, options, tool and store names.
#include <algorithm>
#include <set>

#include "catalog/catalog.hpp"
#include "cli/context.hpp"
#include "cli/parse.hpp"
#include "config/loader.hpp"
#include "util/fs.hpp"

namespace coco::cli {

namespace {

// The scripts ask coco for the names at completion time (`coco completion
// --list tools|store|commands`), so a tool configured later completes too.
constexpr const char* kBash = R"SH(# coco completion for bash: eval "$(coco completion bash)"
_coco() {
  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} words
  if ((COMP_CWORD == 1)); then
    words=$(coco completion --list commands 2>/dev/null)
  else
    case $cmd in
      run) ((COMP_CWORD == 2)) && words="--dry-run --learn $(coco completion --list tools 2>/dev/null)"
           [[ ${COMP_WORDS[2]} == --dry-run || ${COMP_WORDS[2]} == --learn ]] && ((COMP_CWORD == 3)) && words=$(coco completion --list tools 2>/dev/null) ;;
      learn) words="--apply $(coco completion --list tools 2>/dev/null)" ;;
      show) ((COMP_CWORD == 2)) && words=$(coco completion --list tools 2>/dev/null) ;;
      get) words="--force $(coco completion --list store 2>/dev/null)" ;;
      prune) words="--all" ;;
      save) words="-o --tag" ;;
      completion) ((COMP_CWORD == 2)) && words="bash zsh fish" ;;
      system) ((COMP_CWORD == 2)) && words="stop" ;;
    esac
  fi
  [[ -n $words ]] || return 0
  COMPREPLY=($(compgen -W "$words" -- "$cur"))  # names hold no blanks (the tool-name grammar)
}
complete -F _coco coco
)SH";

constexpr const char* kZsh = R"SH(# coco completion for zsh (after compinit): eval "$(coco completion zsh)"
_coco() {
  local -a names
  if ((CURRENT == 2)); then
    names=(${(f)"$(coco completion --list commands 2>/dev/null)"})
  else
    case $words[2] in
      run) names=(--dry-run --learn ${(f)"$(coco completion --list tools 2>/dev/null)"}) ;;
      learn) names=(--apply ${(f)"$(coco completion --list tools 2>/dev/null)"}) ;;
      show) names=(${(f)"$(coco completion --list tools 2>/dev/null)"}) ;;
      get) names=(--force ${(f)"$(coco completion --list store 2>/dev/null)"}) ;;
      prune) names=(--all) ;;
      save) names=(-o --tag) ;;
      completion) names=(bash zsh fish) ;;
    esac
  fi
  compadd -a names
}
compdef _coco coco
)SH";

constexpr const char* kFish = R"SH(# coco completion for fish: coco completion fish | source
complete -c coco -f
complete -c coco -n '__fish_use_subcommand' -a '(coco completion --list commands 2>/dev/null)'
complete -c coco -n '__fish_seen_subcommand_from run show learn' -a '(coco completion --list tools 2>/dev/null)'
complete -c coco -n '__fish_seen_subcommand_from run' -l dry-run
complete -c coco -n '__fish_seen_subcommand_from run' -l learn
complete -c coco -n '__fish_seen_subcommand_from learn' -l apply
complete -c coco -n '__fish_seen_subcommand_from get' -a '(coco completion --list store 2>/dev/null)'
complete -c coco -n '__fish_seen_subcommand_from get' -l force
complete -c coco -n '__fish_seen_subcommand_from prune' -l all
complete -c coco -n '__fish_seen_subcommand_from save' -s o -l tag
complete -c coco -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'
)SH";

// The store's tool names: the bundled store directory's NAME.json/.yaml/.yml files.
std::vector<std::string> storeNames() {
  std::set<std::string> names;
  for (const auto& file : fs::listDir(catalog::bundledStoreDir()))
    for (std::string_view ext : {".json", ".yaml", ".yml"})
      if (file.size() > ext.size() && file.compare(file.size() - ext.size(), ext.size(), ext) == 0)
        names.insert(file.substr(0, file.size() - ext.size()));
  return {names.begin(), names.end()};
}

// Every command of `coco help` (CliTest.CompletionKnowsEveryCommandOfTheHelp keeps them equal).
const std::vector<std::string>& commandNames() {
  static const std::vector<std::string> names = {"run",     "list", "show",    "get",        "up",  "down",
                                                 "prune",   "rebuild", "save", "system", "learn", "completion", "version", "help"};
  return names;
}

}  // namespace

int cmdCompletion(Context& ctx, const Args& args) {
  CLI::App app{"Print a shell completion script (bash, zsh or fish).", "coco completion"};
  std::string shell, list;
  app.add_option("shell", shell, "bash, zsh or fish")->check(CLI::IsMember({"bash", "zsh", "fish"}));
  app.add_option("--list", list, "print the names a script completes: commands, tools or store")
      ->check(CLI::IsMember({"commands", "tools", "store"}));
  if (auto code = parseCommand(app, args, ctx)) return *code;
  if (list == "commands") {
    for (const auto& c : commandNames()) ctx.out << c << "\n";
  } else if (list == "tools") {
    auto paths = ctx.paths();
    if (!paths) return ctx.fail(paths.error());
    for (const auto& t : config::listTools(*paths)) ctx.out << t << "\n";
  } else if (list == "store") {
    for (const auto& n : storeNames()) ctx.out << n << "\n";
  } else if (shell.empty()) {
    return ctx.fail(Error::make("coco completion: name a shell (bash, zsh or fish)"),
                    "eval \"$(coco completion bash)\" in ~/.bashrc");
  } else {
    ctx.out << (shell == "bash" ? kBash : shell == "zsh" ? kZsh : kFish);
  }
  return kExitOk;
}

}  // namespace coco::cli
