// The tool's stdio: the pty or pipes in place of the user's terminal, raw mode, the relay.
#include "engine/terminal.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace coco::engine {

namespace {

bool sameTerminal(int a, int b) {
  struct stat sa, sb;
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && S_ISCHR(sa.st_mode) && sa.st_rdev == sb.st_rdev;
}

}  // namespace

Result<Stdio> planStdio() {
  Stdio s;
  bool terminal[3];
  for (int fd = 0; fd < 3; ++fd) terminal[fd] = ::isatty(fd) == 1;
  if (terminal[0] && terminal[1]) {
    s.pty = true;
    for (int fd = 0; fd < 3; ++fd)
      if (terminal[fd]) s.plan[fd] = kStdioPty;
    return s;
  }
  if (terminal[0]) {
    s.childEnds[0].reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!s.childEnds[0]) return Error::fromErrno("open /dev/null");
    s.plan[0] = s.childEnds[0].get();
  }
  for (int fd = 1; fd < 3; ++fd) {
    if (!terminal[fd]) continue;
    if (fd == 2 && terminal[1] && sameTerminal(1, 2)) {  // one pipe keeps their order
      s.plan[2] = s.plan[1];
      continue;
    }
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return Error::fromErrno("pipe");
    s.relays.push_back({UniqueFd(p[0]), fd});
    s.childEnds[fd].reset(p[1]);
    s.plan[fd] = p[1];
  }
  return s;
}

void RawTerminal::enter(int fd) {
  if (::tcgetattr(fd, &saved_) != 0) return;
  termios raw = saved_;
  ::cfmakeraw(&raw);
  if (::tcsetattr(fd, TCSANOW, &raw) == 0) fd_ = fd;
}

void RawTerminal::restore() {
  if (fd_ < 0) return;
  ::tcsetattr(fd_, TCSANOW, &saved_);
  fd_ = -1;
}

struct pollfd Pump::pollEntry() const {
  if (state_ != State::Open) return {-1, 0, 0};
  return len_ ? pollfd{to_, POLLOUT, 0} : pollfd{from_, POLLIN, 0};
}

Pump::State Pump::step() {
  if (state_ != State::Open) return state_;
  idle_ = false;
  if (len_ == 0) {
    ssize_t n = ::read(from_, buf_, sizeof buf_);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      idle_ = errno == EAGAIN;
      return state_;
    }
    if (n <= 0) return state_ = State::ReadEnded;
    off_ = 0;
    len_ = static_cast<size_t>(n);
  }
  while (off_ < len_) {
    ssize_t n = ::write(to_, buf_ + off_, len_ - off_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return state_;  // poll for room
    if (n <= 0) return state_ = State::WriteFailed;
    off_ += static_cast<size_t>(n);
  }
  off_ = len_ = 0;
  return state_;
}

bool Pump::drain(int stopFd, int stallMs) {
  int queued = -1;  // what the terminal's output queue held at the last wait that ran out
  while (step() == State::Open && !idle_) {
    if (!len_) continue;
    struct pollfd fds[2] = {{to_, POLLOUT, 0}, {stopFd, POLLIN, 0}};
    int n = ::poll(fds, 2, stallMs);
    if (n < 0 && errno != EINTR) return true;
    if (n == 0) {
      // A slow line (a serial console) says it has room only once its queue is nearly empty, so
      // a queue that shrank is progress: wait on. (A pty's queue is always empty: no progress.)
      int now = 0;
      if (::ioctl(to_, TIOCOUTQ, &now) == 0 && now > 0 && (queued < 0 || now < queued)) {
        queued = now;
        continue;
      }
      state_ = State::WriteFailed;
      return true;
    }
    if (fds[1].revents) return false;
  }
  return true;
}

UniqueFd ownNonBlocking(int fd) {
  unsigned int device = 0, reopened = 0;
  if (::ioctl(fd, TIOCGDEV, &device) != 0) return UniqueFd();  // no terminal
  char path[32];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  UniqueFd own(::open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  // The same device, or none: opening a pty master's /dev/ptmx makes a new pty.
  if (!own.valid() || ::ioctl(own.get(), TIOCGDEV, &reopened) != 0 || reopened != device) return UniqueFd();
  return own;
}

void stopBlockingOn(int terminal) {
  unsigned int device = 0;
  if (::ioctl(terminal, TIOCGDEV, &device) != 0) return;
  for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
    unsigned int other = 0;
    if (::ioctl(fd, TIOCGDEV, &other) != 0 || other != device) continue;
    UniqueFd own = ownNonBlocking(fd);
    if (own.valid()) ::dup2(own.get(), fd);  // the std fd stays inheritable: no O_CLOEXEC
  }
}

void copyWindowSize(int terminal, int master) {
  winsize ws;
  if (::ioctl(terminal, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
}

}  // namespace coco::engine
