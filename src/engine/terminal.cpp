// The tool's stdio: the pty or pipes in place of the user's terminal, raw mode, the relay.
#include "engine/terminal.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "sys/io.hpp"

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

bool relayOnce(int from, int to) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  if (n == 0) return false;
  return sys::writeAll(to, buf, static_cast<size_t>(n)) == 0;
}

void copyWindowSize(int terminal, int master) {
  winsize ws;
  if (::ioctl(terminal, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
}

}  // namespace coco::engine
