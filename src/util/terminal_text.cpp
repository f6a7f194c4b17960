// Decoding UTF-8 and escaping what a terminal would act on.
#include "util/terminal_text.hpp"

#include <fmt/format.h>

namespace coco {

int32_t decodeUtf8(std::string_view text, size_t i, size_t& length) {
  auto b = static_cast<unsigned char>(text[i]);
  length = 1;
  if (b < 0x80) return b;
  int32_t cp;
  int32_t min;
  if ((b & 0xe0) == 0xc0)
    length = 2, cp = b & 0x1f, min = 0x80;
  else if ((b & 0xf0) == 0xe0)
    length = 3, cp = b & 0x0f, min = 0x800;
  else if ((b & 0xf8) == 0xf0)
    length = 4, cp = b & 0x07, min = 0x10000;
  else
    return length = 1, -1;
  if (i + length > text.size()) return length = 1, -1;
  for (size_t k = 1; k < length; ++k) {
    auto c = static_cast<unsigned char>(text[i + k]);
    if ((c & 0xc0) != 0x80) return length = 1, -1;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return length = 1, -1;
  return cp;
}

bool isControl(int32_t codePoint) {
  return codePoint < 0x20 || codePoint == 0x7f || (codePoint >= 0x80 && codePoint < 0xa0);
}

bool isBidiOrInvisible(int32_t cp) {
  return cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

std::string printable(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t length;
    int32_t cp = decodeUtf8(text, i, length);
    if (cp < 0 || cp == '\\' || isControl(cp) || isBidiOrInvisible(cp)) {
      for (size_t k = 0; k < length; ++k) out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[i + k]));
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

}  // namespace coco
