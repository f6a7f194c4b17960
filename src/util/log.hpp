// The logger: printf-style with compile-time format checks; debug output only
// with COCO_DEBUG. Library code logs at debug level; cli/ owns user-facing text.
#pragma once

#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace coco::log {

void setDebug(bool enabled);
bool debugEnabled();
// --quiet: notices and progress are not shown (warnings and errors are).
void setQuiet(bool enabled);
bool quietEnabled();

// The status line's live line (util/status_line) is drawn on stderr: the next
// line written there clears it first, so the two never share a line.
void setLiveLine(bool drawn);
// Clears the live line now, if one is drawn (before printing an error).
void clearLiveLine();

// Writes one line "coco: <level>text" to stderr in a single write(2).
void emit(std::string_view prefix, std::string_view text);

template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
  if (debugEnabled()) emit("coco: debug: ", fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  emit("coco: warning: ", fmt::format(format, std::forward<Args>(args)...));
}

// For the few notices the user must see even from library code (a blocked
// connection, a first-run install).
template <typename... Args>
void notice(fmt::format_string<Args...> format, Args&&... args) {
  if (!quietEnabled()) emit("coco: ", fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace coco::log
