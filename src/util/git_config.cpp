// A reader for git's config syntax that follows git's own parser (config.c: parse_source,
// get_base_var, get_value, parse_value) character by character, its includes, and the list of
// variables git runs as commands.
#include "util/git_config.hpp"

#include <algorithm>
#include <cctype>

#include "util/fs.hpp"

namespace coco::gitconfig {

namespace {

bool isSpace(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
bool isKeyChar(int c) { return std::isalnum(c) || c == '-'; }
int lower(int c) { return std::tolower(c); }
// `lowered` (already lower case) equals `name` in any case.
bool equalsLower(std::string_view lowered, std::string_view name) {
  if (lowered.size() != name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (lowered[i] != lower(static_cast<unsigned char>(name[i]))) return false;
  return true;
}

// git's get_next_char: "\r\n" reads as "\n", the end of the text as a final "\n".
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {
    if (text_.substr(0, 3) == "\xef\xbb\xbf") pos_ = 3;  // a UTF-8 byte order mark
  }
  int next() {
    if (pos_ >= text_.size()) {
      eof_ = true;
      return '\n';
    }
    int c = static_cast<unsigned char>(text_[pos_++]);
    if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') c = text_[pos_++];
    return c;
  }
  bool eof() const { return eof_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  bool eof_ = false;
};

// After '[': the section name, lower-cased, with ".subsection" when there is one.
std::optional<std::string> sectionName(Reader& in) {
  std::string name;
  for (;;) {
    int c = in.next();
    if (in.eof()) return std::nullopt;
    if (c == ']') return name;
    if (isSpace(c)) break;
    if (!isKeyChar(c) && c != '.') return std::nullopt;
    name += static_cast<char>(lower(c));
  }
  int c;
  do {
    c = in.next();
    if (c == '\n') return std::nullopt;
  } while (isSpace(c));
  if (c != '"') return std::nullopt;
  name += '.';
  for (;;) {
    c = in.next();
    if (c == '\n') return std::nullopt;
    if (c == '"') break;
    if (c == '\\' && (c = in.next()) == '\n') return std::nullopt;
    name += static_cast<char>(c);
  }
  if (in.next() != ']') return std::nullopt;
  return name;
}

// After '=': the value up to the end of the line, quotes and escapes resolved, trailing
// unquoted blanks dropped, comments cut.
std::optional<std::string> value(Reader& in) {
  std::string out;
  bool quote = false, comment = false;
  size_t trim = 0;
  for (;;) {
    int c = in.next();
    if (c == '\n') {
      if (quote) return std::nullopt;
      if (trim) out.resize(trim);
      return out;
    }
    if (comment) continue;
    if (isSpace(c) && !quote) {
      if (!trim) trim = out.size();
      if (!out.empty()) out += static_cast<char>(c);
      continue;
    }
    if (!quote && (c == ';' || c == '#')) {
      comment = true;
      continue;
    }
    trim = 0;
    if (c == '\\') {
      c = in.next();
      if (c == '\n') continue;
      if (c == 't')
        c = '\t';
      else if (c == 'b')
        c = '\b';
      else if (c == 'n')
        c = '\n';
      else if (c != '\\' && c != '"')
        return std::nullopt;
      out += static_cast<char>(c);
      continue;
    }
    if (c == '"') {
      quote = !quote;
      continue;
    }
    out += static_cast<char>(c);
  }
}

}  // namespace

Parsed parse(std::string_view text) {
  Parsed out;
  Reader in(text);
  std::string section, subsection;  // the current section; "" before the first
  bool hasSubsection = false;       // "[core \"\"]" is not "[core]"
  bool comment = false;
  auto broken = [&] {
    out.complete = false;
    return out;
  };
  for (;;) {
    int c = in.next();
    if (c == '\n') {
      if (in.eof()) return out;
      comment = false;
      continue;
    }
    if (comment || isSpace(c)) continue;
    if (c == '#' || c == ';') {
      comment = true;
      continue;
    }
    if (c == '[') {
      auto name = sectionName(in);
      if (!name || name->empty()) return broken();
      // "[section \"sub\"]" and the old "[section.sub]" both read as "section.sub".
      size_t dot = name->find('.');
      section = name->substr(0, dot);
      hasSubsection = dot != std::string::npos;
      subsection = hasSubsection ? name->substr(dot + 1) : std::string();
      continue;
    }
    if (!std::isalpha(c) || section.empty()) return broken();
    std::string key(1, static_cast<char>(lower(c)));
    while ((c = in.next()) != '\n' && !in.eof() && isKeyChar(c)) key += static_cast<char>(lower(c));
    while (c == ' ' || c == '\t') c = in.next();
    std::optional<std::string> v = std::string("true");
    if (c != '\n') {
      if (c != '=') return broken();
      v = value(in);
      if (!v) return broken();
    }
    out.entries.push_back({section, subsection, hasSubsection, std::move(key), std::move(*v)});
    if (in.eof()) return out;
  }
}

std::optional<std::string> lastValue(std::string_view text, std::string_view section, std::string_view key) {
  Parsed parsed = parse(text);
  if (!parsed.complete) return std::nullopt;
  std::optional<std::string> found;
  for (const auto& e : parsed.entries)
    if (!e.hasSubsection && equalsLower(e.section, section) && equalsLower(e.key, key)) found = e.value;
  return found;
}

std::optional<bool> parseBool(std::string_view value) {
  std::string v;
  for (char c : value) v += static_cast<char>(lower(static_cast<unsigned char>(c)));
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0" || v.empty()) return false;
  return std::nullopt;
}

// --- includes -----------------------------------------------------------------------------------

std::optional<std::string> includedPath(const Entry& entry, std::string_view from, std::string_view home) {
  // git_config_include: "include.path" without a subsection, "includeif.<condition>.path" with one.
  bool include = entry.section == "include" && !entry.hasSubsection;
  bool includeIf = entry.section == "includeif" && entry.hasSubsection;
  if ((!include && !includeIf) || entry.key != "path" || entry.value.empty()) return std::nullopt;
  const std::string& path = entry.value;
  if (path.front() == '/') return path;
  if (path == "~" || path.starts_with("~/")) {
    if (home.empty()) return std::nullopt;
    return std::string(home) + path.substr(1);
  }
  if (path.front() == '~' || path.starts_with("%(prefix)/")) return std::nullopt;
  size_t slash = from.rfind('/');
  if (slash == std::string_view::npos) return path;
  return std::string(from.substr(0, slash + 1)) + path;
}

namespace {

void loadNested(const std::string& file, const ReadText& read, std::string_view home, int depth,
                std::vector<std::string>& seen, Loaded& out) {
  out.files.push_back(file);
  Parsed parsed = parse(read(file));
  // What precedes a syntax error is kept: git refuses the file, but guarding more is harmless.
  for (auto& entry : parsed.entries) {
    std::optional<std::string> included = includedPath(entry, file, home);
    out.entries.push_back(std::move(entry));
    if (!included) continue;
    std::string key = fs::normalize(*included);
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    if (depth + 1 > kMaxIncludeDepth || out.files.size() >= kMaxLoadedFiles) {
      out.truncated = true;
      continue;
    }
    seen.push_back(std::move(key));
    loadNested(*included, read, home, depth + 1, seen, out);
  }
}

}  // namespace

void load(const std::string& file, const ReadText& read, std::string_view home, Loaded& out) {
  std::vector<std::string> seen;
  for (const auto& f : out.files) seen.push_back(fs::normalize(f));
  std::string key = fs::normalize(file);
  if (std::find(seen.begin(), seen.end(), key) != seen.end()) return;
  if (out.files.size() >= kMaxLoadedFiles) {
    out.truncated = true;
    return;
  }
  seen.push_back(std::move(key));
  loadNested(file, read, home, 0, seen, out);
}

// --- what git runs ------------------------------------------------------------------------------

namespace {

struct CommandKey {
  std::string_view section;
  std::string_view key;  // "*": every key of the section
};

// Variables whose value git (or git-lfs, git send-email, gitk and git gui, which read the same
// config) runs as a shell command line or as a program, from git's Documentation/config/*.adoc.
// The subsection does not matter here (filter.<driver>.clean, gpg.<format>.program,
// credential.<url>.helper, alias.<name>.command); a key listed that takes no command in some
// subsection only makes the guard look at more words.
constexpr CommandKey kCommandKeys[] = {
    {"core", "fsmonitor"},  // a hook program, run by every git status
    {"core", "editor"},
    {"core", "pager"},
    {"core", "sshcommand"},
    {"core", "askpass"},
    {"core", "gitproxy"},
    {"core", "alternaterefscommand"},
    {"sequence", "editor"},
    {"interactive", "difffilter"},
    {"pager", "*"},  // pager.<cmd>
    {"alias", "*"},  // "!cmd" runs a shell; a git alias can carry "-c key=./prog"
    {"filter", "clean"},
    {"filter", "smudge"},
    {"filter", "process"},
    {"diff", "textconv"},
    {"diff", "command"},
    {"diff", "external"},
    {"merge", "driver"},
    {"mergetool", "cmd"},
    {"mergetool", "path"},
    {"difftool", "cmd"},
    {"difftool", "path"},
    {"credential", "helper"},      // "!cmd", an absolute path, or git credential-<name> ARGS
    {"gpg", "program"},            // gpg.program, gpg.<format>.program
    {"gpg", "defaultkeycommand"},  // gpg.ssh.defaultKeyCommand
    {"remote", "uploadpack"},      // run locally for a local or ssh remote's other end
    {"remote", "receivepack"},
    {"uploadpack", "packobjectshook"},
    {"gc", "recentobjectshook"},
    {"hook", "command"},  // config-based hooks (hook.<name>.command)
    {"trailer", "command"},
    {"trailer", "cmd"},
    {"submodule", "update"},  // "!cmd" from .git/config (git ignores it in .gitmodules)
    {"browser", "cmd"},
    {"browser", "path"},
    {"man", "cmd"},
    {"man", "path"},
    {"guitool", "cmd"},
    {"instaweb", "httpd"},
    {"sendemail", "sendmailcmd"},
    {"sendemail", "smtpserver"},  // an absolute path there is a sendmail-like program
    {"sendemail", "tocmd"},
    {"sendemail", "cccmd"},
    {"sendemail", "headercmd"},
    {"lfs", "path"},  // lfs.customtransfer.<name>.path
    {"lfs", "args"},
    {"lfs", "clean"},  // lfs.extension.<name>.clean/smudge
    {"lfs", "smudge"},
    {"imap", "tunnel"},      // run by git imap-send
    {"tar", "command"},      // tar.<format>.command: git archive's filter
    {"svn", "authorsprog"},  // git svn
};

// Where a command line's words end, as a shell reads them.
bool endsShellWord(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' ||
         c == '<' || c == '>' || c == '`' || c == '!' || c == '{' || c == '}';
}

// Where a word's parts end: a word may be a command line itself, an assignment or a list.
bool endsPart(char c) {
  return endsShellWord(c) || c == '=' || c == ':' || c == ',' || c == '\'' || c == '"';
}

// A command line's words, quotes and backslashes resolved as sh resolves them.
std::vector<std::string> shellWords(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool inWord = false;
  char quote = 0;
  auto flush = [&] {
    if (inWord) words.push_back(std::move(word));
    word.clear();
    inWord = false;
  };
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote == '\'') {
      if (c == '\'')
        quote = 0;
      else
        word += c;
    } else if (quote == '"') {
      if (c == '"')
        quote = 0;
      else if (c == '\\' && i + 1 < line.size() &&
               std::string_view("\\\"$`").find(line[i + 1]) != std::string_view::npos)
        word += line[++i];
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      inWord = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      inWord = true;
    } else if (endsShellWord(c)) {
      flush();
    } else {
      word += c;
      inWord = true;
    }
  }
  flush();
  return words;
}

}  // namespace

bool runsCommand(const Entry& entry) {
  return std::any_of(std::begin(kCommandKeys), std::end(kCommandKeys), [&](const CommandKey& k) {
    return entry.section == k.section && (k.key == "*" || entry.key == k.key);
  });
}

bool namesPath(const Entry& entry) {
  return !entry.hasSubsection && ((entry.section == "core" && entry.key == "hookspath") ||
                                  (entry.section == "init" && entry.key == "templatedir"));
}

std::vector<std::string> pathWords(std::string_view command) {
  std::vector<std::string> out;
  auto add = [&](std::string_view w) {
    if (out.size() < kMaxPathWords && w.find('/') != std::string_view::npos &&
        std::find(out.begin(), out.end(), w) == out.end())
      out.emplace_back(w);
  };
  for (const auto& word : shellWords(command)) {
    add(word);
    for (size_t start = 0; start <= word.size();) {
      size_t end = start;
      while (end < word.size() && !endsPart(word[end])) ++end;
      if (end > start && end - start < word.size()) add(std::string_view(word).substr(start, end - start));
      start = end + 1;
    }
  }
  return out;
}

}  // namespace coco::gitconfig
