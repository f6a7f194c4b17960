// `coco completion bash|zsh|fish`: shell completion of commands, options, tool and store names.
#include <algorithm>
#include <set>

#include "catalog/catalog.hpp"
#include "cli/context.hpp"
#include "cli/parse.hpp"
#include "config/loader.hpp"
#include "image/image.hpp"
#include "util/fs.hpp"

namespace coco::cli {

namespace {

// The scripts ask coco for the names at completion time (`coco completion
// --list tools|store|commands|images`), so a tool configured later completes too.
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
      show) words="--json $(coco completion --list tools 2>/dev/null)" ;;
      get) words="--force $(coco completion --list store 2>/dev/null)" ;;
      list|store|images|version) words="--json" ;;
      image) ((COMP_CWORD == 2)) && words="rm"
             ((COMP_CWORD > 2)) && words="--force $(coco completion --list images 2>/dev/null)" ;;
      help) ((COMP_CWORD == 2)) && words=$(coco completion --list commands 2>/dev/null) ;;
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
      show) names=(--json ${(f)"$(coco completion --list tools 2>/dev/null)"}) ;;
      get) names=(--force ${(f)"$(coco completion --list store 2>/dev/null)"}) ;;
      list|store|images|version) names=(--json) ;;
      image) if ((CURRENT == 3)); then names=(rm)
             else names=(--force ${(f)"$(coco completion --list images 2>/dev/null)"}); fi ;;
      help) names=(${(f)"$(coco completion --list commands 2>/dev/null)"}) ;;
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
complete -c coco -n '__fish_seen_subcommand_from list show store images version' -l json
complete -c coco -n '__fish_seen_subcommand_from image; and not __fish_seen_subcommand_from rm' -a rm
complete -c coco -n '__fish_seen_subcommand_from rm' -a '(coco completion --list images 2>/dev/null)'
complete -c coco -n '__fish_seen_subcommand_from rm' -l force
complete -c coco -n '__fish_seen_subcommand_from help' -a '(coco completion --list commands 2>/dev/null)'
complete -c coco -n '__fish_seen_subcommand_from prune' -l all
complete -c coco -n '__fish_seen_subcommand_from save' -s o -l tag
complete -c coco -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'
)SH";

}  // namespace

int cmdCompletion(Context& ctx, const Args& args) {
  CLI::App app{"Print a shell completion script (bash, zsh or fish).", "coco completion"};
  std::string shell, list;
  app.add_option("shell", shell, "bash, zsh or fish")->check(CLI::IsMember({"bash", "zsh", "fish"}));
  app.add_option("--list", list, "print the names a script completes: commands, tools, store or images")
      ->check(CLI::IsMember({"commands", "tools", "store", "images"}));
  if (auto code = parseCommand(app, args, ctx)) return *code;
  if (list == "commands") {
    for (const auto& c : commandNames()) ctx.out << c << "\n";
  } else if (list == "tools") {
    auto paths = ctx.paths();
    if (!paths) return ctx.fail(paths.error());
    for (const auto& t : config::listTools(*paths)) ctx.out << t << "\n";
  } else if (list == "images") {
    // Completion never fails loudly: an unreadable storage completes nothing.
    if (auto images = image::listImages())
      for (const auto& r : *images) ctx.out << r.name << "\n";
  } else if (list == "store") {
    for (const auto& n : catalog::bundledNames(catalog::bundledStoreDir())) ctx.out << n << "\n";
  } else if (shell.empty()) {
    return ctx.fail(Error::make("coco completion: name a shell (bash, zsh or fish)"),
                    "eval \"$(coco completion bash)\" in ~/.bashrc");
  } else {
    ctx.out << (shell == "bash" ? kBash : shell == "zsh" ? kZsh : kFish);
  }
  return kExitOk;
}

}  // namespace coco::cli
