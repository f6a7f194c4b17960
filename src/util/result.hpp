// Error and Result<T>: how every layer below cli/ reports failure.
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace coco {

// What a failure is about, so cli/ picks the hint by kind instead of by message
// text. The subject names the thing: a file's path, a variable's or a tool's name.
enum class ErrorKind {
  Other,          // no particular hint
  ConfigFile,     // a config file's content is wrong (subject: its path)
  EnvVar,         // an environment variable's value is wrong (subject: its name)
  NotConfigured,  // no tool of that name is configured (subject: the name)
  StoreMiss,      // the store has no config of that name (subject: the name)
  NotFound,       // something the user named does not exist (subject: what was named)
  Exists,         // what would be created is there already (subject: its path)
};

// An errno (0 when the failure is not a system call's) and a message that
// gains context on the way up: "setting up /proc: mount proc on /proc".
class Error {
 public:
  Error() = default;
  Error(int err, std::string message) : errno_(err), message_(std::move(message)) {}

  template <typename... Args>
  static Error make(fmt::format_string<Args...> format, Args&&... args) {
    return Error(0, fmt::format(format, std::forward<Args>(args)...));
  }

  // Captures errno at the call; call it right after the failing syscall.
  template <typename... Args>
  static Error fromErrno(fmt::format_string<Args...> format, Args&&... args) {
    int saved = errno;
    return Error(saved, fmt::format(format, std::forward<Args>(args)...));
  }

  static Error withErrno(int err, std::string message) { return Error(err, std::move(message)); }

  Error wrap(std::string_view context) const& {
    Error e = *this;
    e.message_ = fmt::format("{}: {}", context, message_);
    return e;
  }
  Error wrap(std::string_view context) && {
    message_ = fmt::format("{}: {}", context, message_);
    return std::move(*this);
  }

  // The exit status this failure should give the user's command (126 cannot be
  // invoked, 127 not found); 0 means "coco's own error" (125).
  Error withExitCode(int status) && {
    exitCode_ = status;
    return std::move(*this);
  }
  int exitCode() const { return exitCode_; }

  // Marks what the failure is about (kept through wrap); the innermost mark wins
  // unless a caller re-marks on purpose.
  Error withKind(ErrorKind kind, std::string subject) && {
    kind_ = kind;
    subject_ = std::move(subject);
    return std::move(*this);
  }
  ErrorKind kind() const { return kind_; }
  const std::string& subject() const { return subject_; }

  int code() const { return errno_; }
  const std::string& message() const { return message_; }

  // The message, followed by strerror when an errno is set.
  std::string describe() const {
    if (errno_ == 0) return message_;
    return fmt::format("{}: {}", message_, std::strerror(errno_));
  }

  // What the user reads: describe(), but without the strerror tail where the
  // errno only classifies a failure the message already states ("no tool named
  // X", "X already exists", "no such image").
  std::string userMessage() const {
    bool said = kind_ == ErrorKind::NotConfigured || kind_ == ErrorKind::StoreMiss ||
                kind_ == ErrorKind::NotFound || kind_ == ErrorKind::Exists;
    return said ? message_ : describe();
  }

 private:
  int errno_ = 0;
  int exitCode_ = 0;
  ErrorKind kind_ = ErrorKind::Other;
  std::string message_;
  std::string subject_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(implicit)

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status okStatus() { return {}; }

}  // namespace coco

#define COCO_CONCAT_INNER(a, b) a##b
#define COCO_CONCAT(a, b) COCO_CONCAT_INNER(a, b)

// Returns the error of a failed Result from the enclosing function.
#define COCO_TRY(expr)                                       \
  do {                                                       \
    auto&& coco_try_result_ = (expr);                        \
    if (!coco_try_result_) return std::move(coco_try_result_).error(); \
  } while (0)

// `COCO_ASSIGN(auto x, f());` declares x from a Result's value or returns its error.
#define COCO_ASSIGN(lhs, expr) COCO_ASSIGN_IMPL(COCO_CONCAT(coco_assign_, __LINE__), lhs, expr)
#define COCO_ASSIGN_IMPL(tmp, lhs, expr)           \
  auto tmp = (expr);                               \
  if (!tmp) return std::move(tmp).error();         \
  lhs = std::move(tmp).value()
