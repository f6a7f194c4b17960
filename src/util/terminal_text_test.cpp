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

}  // namespace
}  // namespace coco
