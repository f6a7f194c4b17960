// Tests for what may reach the user's terminal from a tool's text (util/terminal_text.hpp).
#include "util/terminal_text.hpp"

#include <gtest/gtest.h>

namespace coco {
namespace {

TEST(Printable, ControlsAndBackslashAreEscapedOtherTextStays) {
  EXPECT_EQ(printable("src/main.cpp"), "src/main.cpp");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82"), "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82");
  EXPECT_EQ(printable("a\033[2Ab\rc\nd\te\x7f"), "a\\x1b[2Ab\\x0dc\\x0ad\\x09e\\x7f");
  EXPECT_EQ(printable("a\\x1b"), "a\\x5cx1b");
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
}

// U+009B is a CSI to a terminal that takes C1 controls, as a lone 0x9b byte is
// to an 8-bit one; an OSC (U+009D) could set the clipboard.
TEST(Printable, C1ControlsAndInvalidUtf8AreEscaped) {
  EXPECT_EQ(printable("a\xc2\x9b" "2Ab"), "a\\xc2\\x9b2Ab");
  EXPECT_EQ(printable("\xc2\x80\xc2\x9d\xc2\x9f\xc2\xa0"), "\\xc2\\x80\\xc2\\x9d\\xc2\\x9f\xc2\xa0");
  EXPECT_EQ(printable("a\x9b" "2A"), "a\\x9b2A");
  EXPECT_EQ(printable("\xc3"), "\\xc3");
  EXPECT_EQ(printable("\xc0\x9b"), "\\xc0\\x9b");        // overlong
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(printable("\xff"), "\\xff");
}

// A right-to-left override in a file name the learn review or the guard prints turns the rest of
// the line around on a terminal that does bidi; a zero-width space makes two names look alike.
TEST(Printable, BidiControlsAndInvisibleCharactersAreEscaped) {
  EXPECT_EQ(printable("a\xe2\x80\xaetxt.exe"), "a\\xe2\\x80\\xaetxt.exe");  // U+202E
  EXPECT_EQ(printable("\xe2\x81\xa6x\xe2\x81\xa9"), "\\xe2\\x81\\xa6x\\xe2\\x81\\xa9");  // U+2066, U+2069
  EXPECT_EQ(printable(".git\xe2\x80\x8b"), ".git\\xe2\\x80\\x8b");  // U+200B
  EXPECT_EQ(printable("\xef\xbb\xbf" "a\xd8\x9c"), "\\xef\\xbb\\xbfa\\xd8\\x9c");  // U+FEFF, U+061C
  EXPECT_EQ(printable("\xe2\x80\x90-\xe2\x80\xaf"), "\xe2\x80\x90-\xe2\x80\xaf");  // U+2010, U+202F stay
}

}  // namespace
}  // namespace coco
