// git config reading: what git itself would take from a file, and nothing from a broken one.
#include "util/git_config.hpp"

#include <map>

#include <gtest/gtest.h>

namespace coco::gitconfig {
namespace {

std::optional<std::string> hooks(std::string_view text) { return lastValue(text, "core", "hooksPath"); }

TEST(GitConfig, PlainValue) {
  EXPECT_EQ(hooks("[core]\n\thooksPath = .husky/_\n"), ".husky/_");
  EXPECT_EQ(hooks("[core]\n\thooksPath=.githooks"), ".githooks");  // no final newline
}

TEST(GitConfig, SectionAndKeyAreCaseInsensitive) {
  EXPECT_EQ(hooks("[CORE]\nHOOKSPATH = a\n"), "a");
  EXPECT_EQ(lastValue("[Extensions]\n\tWorktreeConfig = true\n", "extensions", "worktreeconfig"), "true");
}

TEST(GitConfig, LastValueWins) {
  EXPECT_EQ(hooks("[core]\nhooksPath = a\n[user]\nname = x\n[core]\nhooksPath = b\n"), "b");
}

TEST(GitConfig, SubsectionsAreOtherVariables) {
  EXPECT_EQ(hooks("[core \"x\"]\nhooksPath = a\n"), std::nullopt);
  EXPECT_EQ(hooks("[core.x]\nhooksPath = a\n"), std::nullopt);
  EXPECT_EQ(hooks("[includeIf \"gitdir:/x/\"]\npath = y\n[core]\nhooksPath = z\n"), "z");
}

TEST(GitConfig, QuotesEscapesAndComments) {
  EXPECT_EQ(hooks("[core]\nhooksPath = \"a b\" ; comment\n"), "a b");
  EXPECT_EQ(hooks("[core]\nhooksPath = a # comment\n"), "a");
  EXPECT_EQ(hooks("[core]\nhooksPath = \"a;b#c\"\n"), "a;b#c");
  EXPECT_EQ(hooks("[core]\nhooksPath = a\\\\b\\\"c\\td\n"), "a\\b\"c\td");
  EXPECT_EQ(hooks("[core]\nhooksPath = one \\\n two\n"), "one  two");
  EXPECT_EQ(hooks("[core]\nhooksPath =   x   \n"), "x");
  EXPECT_EQ(hooks("[core]\nhooksPath = \" x \"\n"), " x ");
  EXPECT_EQ(hooks("# [core]\n; hooksPath = a\n[core] ; c\nhooksPath = b\n"), "b");
  EXPECT_EQ(hooks("[core] hooksPath = same-line\n"), "same-line");
}

TEST(GitConfig, WindowsLineEndingsAndByteOrderMark) {
  EXPECT_EQ(hooks("\xef\xbb\xbf[core]\r\n\thooksPath = a\r\n"), "a");
}

TEST(GitConfig, KeyWithoutValueIsTrue) {
  EXPECT_EQ(lastValue("[extensions]\n\tworktreeConfig\n", "extensions", "worktreeConfig"), "true");
}

TEST(GitConfig, UnsetIsNullopt) {
  EXPECT_EQ(hooks(""), std::nullopt);
  EXPECT_EQ(hooks("[core]\n\tbare = false\n"), std::nullopt);
  EXPECT_EQ(hooks("[core]\n\thooksPathX = a\n"), std::nullopt);
}

TEST(GitConfig, BrokenFilesGiveNothing) {
  for (std::string_view bad : {
           "[core\nhooksPath = a\n",             // unterminated section
           "[core]\nhooksPath = \"a\n",          // unterminated quote
           "[core]\nhooksPath = a\\q\n",         // unknown escape
           "hooksPath = a\n",                    // no section
           "[core]\n9key = a\nhooksPath = b\n",  // key must start with a letter
           "[core]\nhooksPath # c\n",            // neither '=' nor end of line
           "[]\nhooksPath = a\n",
           "[core \"x]\nhooksPath = a\n",
           "[core \"x\" ]\nhooksPath = a\n",
           "[co re]\nhooksPath = a\n",
       }) {
    EXPECT_EQ(hooks(bad), std::nullopt) << bad;
  }
}

TEST(GitConfig, ValueAfterABrokenLineIsNotTaken) {
  // git stops at the first bad line and uses nothing from the file.
  EXPECT_EQ(hooks("[core]\nhooksPath = a\n[\n"), std::nullopt);
}

TEST(GitConfig, ArbitraryBytesDoNotCrash) {
  std::string text;
  for (int i = 0; i < 4096; ++i) text += static_cast<char>((i * 131 + 7) % 256);
  (void)hooks(text);
  (void)hooks(std::string(100000, '['));
  (void)hooks(std::string(100000, '\\'));
}

TEST(GitConfig, Bool) {
  EXPECT_EQ(parseBool("TRUE"), true);
  EXPECT_EQ(parseBool("yes"), true);
  EXPECT_EQ(parseBool("1"), true);
  EXPECT_EQ(parseBool("off"), false);
  EXPECT_EQ(parseBool(""), false);
  EXPECT_EQ(parseBool("maybe"), std::nullopt);
}

// --- every variable, includes, commands ----------------------------------------------------------

TEST(GitConfig, ParseKeepsSubsectionsAsWritten) {
  Parsed p = parse(
      "[Filter \"LFS\"]\n\tClean = git-lfs clean -- %f\n[core]\nfsmonitor\n[a.B.c]\nk = v\n[x \"\"]\ny = "
      "z\n");
  ASSERT_TRUE(p.complete);
  ASSERT_EQ(p.entries.size(), 4u);
  EXPECT_EQ(p.entries[0].section, "filter");
  EXPECT_EQ(p.entries[0].subsection, "LFS");
  EXPECT_EQ(p.entries[0].key, "clean");
  EXPECT_EQ(p.entries[0].value, "git-lfs clean -- %f");
  EXPECT_FALSE(p.entries[1].hasSubsection);
  EXPECT_EQ(p.entries[1].value, "true");
  EXPECT_EQ(p.entries[2].section, "a");
  EXPECT_EQ(p.entries[2].subsection, "b.c");  // the old spelling is lower-cased, as git does
  EXPECT_TRUE(p.entries[3].hasSubsection);
  EXPECT_EQ(p.entries[3].subsection, "");
  EXPECT_EQ(lastValue("[core \"\"]\nhooksPath = a\n", "core", "hooksPath"), std::nullopt);
}

TEST(GitConfig, ParseKeepsWhatCameBeforeAnError) {
  Parsed p = parse("[include]\npath = a\n[\npath = b\n");
  EXPECT_FALSE(p.complete);
  ASSERT_EQ(p.entries.size(), 1u);
  EXPECT_EQ(p.entries[0].value, "a");
}

Entry entry(std::string section, std::string subsection, std::string key, std::string value) {
  return {std::move(section), std::move(subsection), true, std::move(key), std::move(value)};
}
Entry plain(std::string section, std::string key, std::string value) {
  return {std::move(section), "", false, std::move(key), std::move(value)};
}

TEST(GitConfig, IncludedPaths) {
  EXPECT_EQ(includedPath(plain("include", "path", "../x.cfg"), "/w/.git/config", "/h"), "/w/.git/../x.cfg");
  EXPECT_EQ(includedPath(plain("include", "path", "/abs"), "/w/.git/config", "/h"), "/abs");
  EXPECT_EQ(includedPath(plain("include", "path", "~/x"), "/w/.git/config", "/h"), "/h/x");
  EXPECT_EQ(includedPath(entry("includeif", "gitdir:~/w/", "path", "x"), "/h/.gitconfig", "/h"), "/h/x");
  EXPECT_EQ(includedPath(entry("includeif", "onbranch:main", "path", "x"), "rel.cfg", "/h"), "x");
  EXPECT_EQ(includedPath(entry("include", "x", "path", "a"), "/c", "/h"), std::nullopt);  // include.x.path
  EXPECT_EQ(includedPath(plain("includeif", "path", "a"), "/c", "/h"), std::nullopt);
  EXPECT_EQ(includedPath(plain("include", "other", "a"), "/c", "/h"), std::nullopt);
  EXPECT_EQ(includedPath(plain("include", "path", ""), "/c", "/h"), std::nullopt);
  EXPECT_EQ(includedPath(plain("include", "path", "~bob/x"), "/c", "/h"), std::nullopt);
  EXPECT_EQ(includedPath(plain("include", "path", "%(prefix)/etc/x"), "/c", "/h"), std::nullopt);
  EXPECT_EQ(includedPath(plain("include", "path", "~/x"), "/c", ""), std::nullopt);
}

// An in-memory file system for load().
struct Files {
  std::map<std::string, std::string> text;
  std::vector<std::string> reads;
  ReadText reader() {
    return [this](const std::string& path) {
      reads.push_back(path);
      auto it = text.find(path);
      return it == text.end() ? std::string() : it->second;
    };
  }
};

std::vector<std::string> values(const Loaded& l, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& e : l.entries)
    if (e.key == key) out.push_back(e.value);
  return out;
}

TEST(GitConfig, LoadFollowsNestedIncludesInOrder) {
  Files f;
  f.text["/w/.git/config"] =
      "[core]\n\tfsmonitor = one\n[include]\n\tpath = ../a.cfg\n[includeIf \"gitdir:/w/\"]\n\tpath = "
      "/w/b.cfg\n"
      "[core]\n\tfsmonitor = four\n";
  f.text["/w/.git/../a.cfg"] = "[core]\nfsmonitor = two\n[include]\npath = sub/c.cfg\n";
  f.text["/w/.git/../sub/c.cfg"] = "[core]\nfsmonitor = \"three\"\n";
  Loaded l;
  load("/w/.git/config", f.reader(), "/h", l);
  EXPECT_EQ(l.files, (std::vector<std::string>{"/w/.git/config", "/w/.git/../a.cfg", "/w/.git/../sub/c.cfg",
                                               "/w/b.cfg"}));
  EXPECT_EQ(values(l, "fsmonitor"), (std::vector<std::string>{"one", "two", "three", "four"}));
  EXPECT_FALSE(l.truncated);
}

TEST(GitConfig, LoadEndsCyclesAndKeepsMissingFiles) {
  Files f;
  f.text["/a"] = "[include]\npath = b\npath = /missing\n";
  f.text["/b"] = "[include]\npath = ./a\npath = /b\n";
  Loaded l;
  load("/a", f.reader(), "/h", l);
  EXPECT_EQ(l.files, (std::vector<std::string>{"/a", "/b", "/missing"}));
  EXPECT_EQ(f.reads.size(), 3u);
  EXPECT_FALSE(l.truncated);
  load("/b", f.reader(), "/h", l);  // loaded already
  EXPECT_EQ(l.files.size(), 3u);
}

TEST(GitConfig, LoadIsBounded) {
  Files f;
  for (int i = 0; i < 20; ++i)
    f.text["/c" + std::to_string(i)] = "[include]\npath = c" + std::to_string(i + 1) + "\n";
  Loaded deep;
  load("/c0", f.reader(), "/h", deep);
  EXPECT_EQ(deep.files.size(), static_cast<size_t>(kMaxIncludeDepth) + 1);
  EXPECT_TRUE(deep.truncated);
  std::string wide = "[include]\n";
  for (int i = 0; i < 200; ++i) wide += "path = w" + std::to_string(i) + "\n";
  f.text["/wide"] = wide;
  Loaded many;
  load("/wide", f.reader(), "/h", many);
  EXPECT_EQ(many.files.size(), kMaxLoadedFiles);
  EXPECT_TRUE(many.truncated);
}

TEST(GitConfig, LoadTakesIncludesBeforeASyntaxError) {
  Files f;
  f.text["/a"] = "[include]\npath = /b\n[broken\n";
  Loaded l;
  load("/a", f.reader(), "", l);
  EXPECT_EQ(l.files, (std::vector<std::string>{"/a", "/b"}));
}

TEST(GitConfig, CommandKeys) {
  for (const Entry& e : {plain("core", "fsmonitor", "x"),
                         plain("core", "editor", "x"),
                         plain("core", "pager", "x"),
                         plain("core", "sshcommand", "x"),
                         entry("filter", "lfs", "clean", "x"),
                         entry("filter", "x", "process", "x"),
                         entry("diff", "x", "textconv", "x"),
                         plain("diff", "external", "x"),
                         entry("merge", "x", "driver", "x"),
                         plain("alias", "lint", "!x"),
                         entry("alias", "lint", "command", "x"),
                         plain("pager", "log", "x"),
                         plain("credential", "helper", "x"),
                         entry("credential", "https://x", "helper", "x"),
                         plain("gpg", "program", "x"),
                         entry("gpg", "ssh", "program", "x"),
                         entry("gpg", "ssh", "defaultkeycommand", "x"),
                         plain("sequence", "editor", "x"),
                         plain("interactive", "difffilter", "x"),
                         plain("uploadpack", "packobjectshook", "x"),
                         entry("remote", "o", "uploadpack", "x"),
                         entry("hook", "lint", "command", "x"),
                         entry("submodule", "s", "update", "!x"),
                         plain("imap", "tunnel", "x"),
                         entry("tar", "tar.xz", "command", "x"),
                         plain("svn", "authorsprog", "x")})
    EXPECT_TRUE(runsCommand(e)) << e.section << "." << e.key;
  for (const Entry& e :
       {plain("core", "hookspath", "x"), plain("user", "name", "x"), entry("remote", "o", "url", "x"),
        plain("core", "bare", "x"), entry("diff", "x", "binary", "x")})
    EXPECT_FALSE(runsCommand(e)) << e.section << "." << e.key;
  EXPECT_TRUE(namesPath(plain("core", "hookspath", ".husky")));
  EXPECT_TRUE(namesPath(plain("init", "templatedir", "t")));
  EXPECT_FALSE(namesPath(entry("core", "x", "hookspath", "t")));
}

using Words = std::vector<std::string>;

TEST(GitConfig, PathWords) {
  EXPECT_EQ(pathWords("./tools/fsmon"), Words{"./tools/fsmon"});
  EXPECT_EQ(pathWords("fsmon"), Words{});
  EXPECT_EQ(pathWords("!./tools/lint --fix"), Words{"./tools/lint"});
  EXPECT_EQ(pathWords("python3 tools/clean.py --x=y"), Words{"tools/clean.py"});
  // A quoted word counts whole and by its parts (it may be a command line run again).
  EXPECT_EQ(pathWords("'./my tools/x' \"a b/c\""),
            (Words{"./my tools/x", "./my", "tools/x", "a b/c", "b/c"}));
  EXPECT_EQ(pathWords("./my\\ tools/x"), (Words{"./my tools/x", "./my", "tools/x"}));
  EXPECT_EQ(pathWords("\"./a \\\"q\\\"/b\""), (Words{"./a \"q\"/b", "./a", "/b"}));
  EXPECT_EQ(pathWords("f() { ./tools/lint \"$@\"; }; f"), Words{"./tools/lint"});
  EXPECT_EQ(pathWords("sh -c './x/y z/w'"), (Words{"./x/y z/w", "./x/y", "z/w"}));
  EXPECT_EQ(pathWords("PATH=./bin:$PATH tool --file=conf/x"),
            (Words{"PATH=./bin:$PATH", "./bin", "--file=conf/x", "conf/x"}));
  EXPECT_EQ(pathWords("a|./b&&./c;$(./d)`./e`>./f"), (Words{"./b", "./c", "./d", "./e", "./f"}));
  EXPECT_EQ(pathWords("~/bin/x /usr/bin/y"), (Words{"~/bin/x", "/usr/bin/y"}));
  EXPECT_EQ(pathWords("'unterminated ./x"), (Words{"unterminated ./x", "./x"}));
}

TEST(GitConfig, PathWordsAreBounded) {
  std::string line;
  for (int i = 0; i < 1000; ++i) line += "./x" + std::to_string(i) + " ";
  EXPECT_EQ(pathWords(line).size(), kMaxPathWords);
  (void)pathWords(std::string(100000, '\\'));
  (void)pathWords(std::string(100000, '"'));
}

}  // namespace
}  // namespace coco::gitconfig
