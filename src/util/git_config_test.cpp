// git config reading: what git itself would take from a file, and nothing from a broken one.
#include "util/git_config.hpp"

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

}  // namespace
}  // namespace coco::gitconfig
