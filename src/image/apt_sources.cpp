// Parsing apt sources (one-line and deb822) for install hosts and the Debian bootstrap.
#include "image/apt_sources.hpp"

#include <algorithm>
#include <cctype>

#include "util/fs.hpp"

namespace coco::image {

namespace {

bool isSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Splits at `sep`; the last piece may be empty.
std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  for (size_t at; (at = text.find(sep)) != std::string_view::npos; text.remove_prefix(at + 1))
    out.push_back(text.substr(0, at));
  out.push_back(text);
  return out;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!(s = trimmed(s)).empty()) {
    size_t end = std::find_if(s.begin(), s.end(), isSpace) - s.begin();
    out.push_back(s.substr(0, end));
    s.remove_prefix(end);
  }
  return out;
}

bool isHttpUrl(std::string_view uri) { return uri.starts_with("http://") || uri.starts_with("https://"); }

bool equalsNoCase(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [&](char x, char y) { return lower(x) == lower(y); });
}

}  // namespace

std::vector<std::string> aptUrisFromList(std::string_view text) {
  std::vector<std::string> uris;
  for (std::string_view raw : split(text, '\n')) {
    std::string_view line = trimmed(raw.substr(0, raw.find('#')));
    if (!line.starts_with("deb ") && !line.starts_with("deb-src ")) continue;
    line = trimmed(line.substr(line.find(' ')));
    if (line.starts_with("[")) {
      size_t close = line.find(']');
      if (close == std::string_view::npos) continue;
      line = trimmed(line.substr(close + 1));
    }
    auto w = words(line);
    if (!w.empty() && isHttpUrl(w[0])) uris.emplace_back(w[0]);
  }
  return uris;
}

std::vector<std::string> aptUrisFromDeb822(std::string_view text) {
  std::vector<std::string> uris, stanza;
  bool enabled = true;
  auto flush = [&] {
    if (enabled) uris.insert(uris.end(), stanza.begin(), stanza.end());
    stanza.clear();
    enabled = true;
  };
  for (std::string_view raw : split(text, '\n')) {
    if (trimmed(raw).empty()) {
      flush();
      continue;
    }
    size_t colon = raw.find(':');
    if (raw[0] == '#' || isSpace(raw[0]) || colon == std::string_view::npos) continue;
    std::string_view key = trimmed(raw.substr(0, colon)), value = trimmed(raw.substr(colon + 1));
    if (equalsNoCase(key, "enabled")) enabled = !equalsNoCase(value, "no");
    if (!equalsNoCase(key, "uris")) continue;
    for (std::string_view u : words(value))
      if (isHttpUrl(u)) stanza.emplace_back(u);
  }
  flush();
  return uris;
}

bool isAptSourcesFile(std::string_view name) {
  return (name.size() > 5 && name.ends_with(".list")) || (name.size() > 8 && name.ends_with(".sources"));
}

std::vector<std::string> aptUrisOfFile(std::string_view name, std::string_view text) {
  if (!isAptSourcesFile(name)) return {};
  return name.ends_with(".list") ? aptUrisFromList(text) : aptUrisFromDeb822(text);
}

Result<std::string> hostAptSource(const std::string& suite, const std::string& aptDir) {
  std::vector<std::string> uris;
  if (auto text = fs::readFile(fs::joinPath(aptDir, "sources.list"))) uris = aptUrisFromList(*text);
  std::string partsDir = fs::joinPath(aptDir, "sources.list.d");
  std::vector<std::string> names = fs::listDir(partsDir);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (!isAptSourcesFile(name)) continue;
    auto text = fs::readFile(fs::joinPath(partsDir, name));
    if (!text) continue;
    auto more = aptUrisOfFile(name, *text);
    uris.insert(uris.end(), more.begin(), more.end());
  }
  for (const auto& uri : uris)
    if (uri.find("/debian") != std::string::npos && uri.find("security") == std::string::npos)
      return fmt::format("deb {} {} main", uri, suite);
  return Error::make("no Debian mirror in the host's apt sources");
}

}  // namespace coco::image
