// Text a sandboxed tool chose (a file name, a host, a version), made safe to
// print on the user's terminal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace coco {

// One UTF-8 sequence at text[i]: its code point and length, or -1 (length 1)
// when the byte there does not start a valid one.
int32_t decodeUtf8(std::string_view text, size_t i, size_t& length);

// C0 controls, DEL and the C1 controls (U+0080..U+009F: U+009B is a CSI to a
// terminal that takes it, as ESC [ is).
bool isControl(int32_t codePoint);

// The bidirectional controls and invisible characters (U+061C, U+200B..U+200F,
// U+202A..U+202E, U+2060..U+2069, U+FEFF): a terminal that does bidi reorders
// the text around them (a file name can turn the rest of its line around), and
// the zero-width ones make two names look alike.
bool isBidiOrInvisible(int32_t codePoint);

// The text with every control character's bytes (and a backslash, so an
// escape cannot be faked) shown as \xNN, and every byte of invalid UTF-8 too
// (a lone 0x9b is a CSI to an 8-bit terminal), and the same for the
// characters isBidiOrInvisible names; other characters stay.
std::string printable(std::string_view text);

}  // namespace coco
