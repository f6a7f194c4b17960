// A reader for git's config syntax that follows git's own parser (config.c: parse_source,
// get_base_var, get_value, parse_value), character by character.
#include "util/git_config.hpp"

#include <cctype>

namespace coco::gitconfig {

namespace {

bool isSpace(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
bool isKeyChar(int c) { return std::isalnum(c) || c == '-'; }
int lower(int c) { return std::tolower(c); }

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

std::optional<std::string> lastValue(std::string_view text, std::string_view section, std::string_view key) {
  std::string wanted;
  for (char c : section) wanted += static_cast<char>(lower(static_cast<unsigned char>(c)));
  wanted += '.';
  for (char c : key) wanted += static_cast<char>(lower(static_cast<unsigned char>(c)));
  Reader in(text);
  std::string current;  // "section." or "section.subsection."
  std::optional<std::string> found;
  bool comment = false;
  for (;;) {
    int c = in.next();
    if (c == '\n') {
      if (in.eof()) return found;
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
      if (!name || name->empty()) return std::nullopt;
      current = *name + '.';
      continue;
    }
    if (!std::isalpha(c) || current.empty()) return std::nullopt;
    std::string var = current + static_cast<char>(lower(c));
    while ((c = in.next()) != '\n' && !in.eof() && isKeyChar(c)) var += static_cast<char>(lower(c));
    while (c == ' ' || c == '\t') c = in.next();
    std::optional<std::string> v = std::string("true");
    if (c != '\n') {
      if (c != '=') return std::nullopt;
      v = value(in);
      if (!v) return std::nullopt;
    }
    if (var == wanted) found = v;
    if (in.eof()) return found;
  }
}

std::optional<bool> parseBool(std::string_view value) {
  std::string v;
  for (char c : value) v += static_cast<char>(lower(static_cast<unsigned char>(c)));
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0" || v.empty()) return false;
  return std::nullopt;
}

}  // namespace coco::gitconfig
