// Pump: the relay between the sandbox's pty or pipes and the user's terminal never blocks coco
// and never drops or gives up on a full destination.
#include "engine/terminal.hpp"

#include <fcntl.h>
#include <pty.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "util/unique_fd.hpp"

namespace coco::engine {
namespace {

struct PipeEnds {
  UniqueFd read, write;
};

PipeEnds nonBlockingPipe() {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  return {UniqueFd(p[0]), UniqueFd(p[1])};
}

// Writes to a non-blocking pipe until it is full (its size is at least a page, whatever is asked).
std::string fillUp(int fd) {
  std::string in;
  char b[512];
  std::memset(b, 'f', sizeof b);
  ssize_t n;
  while ((n = ::write(fd, b, sizeof b)) > 0) in.append(b, static_cast<size_t>(n));
  return in;
}

std::string readAll(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// A destination that is full (a user's terminal another program left non-blocking): the pump
// keeps the bytes, waits for room in poll, and delivers every byte once there is room.
TEST(Pump, AFullDestinationHoldsTheBytesBackAndLosesNone) {
  PipeEnds src = nonBlockingPipe(), dst = nonBlockingPipe();
  ASSERT_GT(::fcntl(dst.write.get(), F_SETPIPE_SZ, 4096), 0);
  std::string sent;
  for (int i = 0; sent.size() < 60000; ++i) sent += "line " + std::to_string(i) + "\n";
  std::string received;
  size_t written = 0;
  int waited = 0;  // rounds the pump waited for room in dst
  Pump pump(src.read.get(), dst.write.get());
  for (int round = 0; round < 10000 && received.size() < sent.size(); ++round) {
    if (written < sent.size()) {
      ssize_t n = ::write(src.write.get(), sent.data() + written, sent.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
    }
    ASSERT_EQ(pump.step(), Pump::State::Open);
    if (pump.pollEntry().events == POLLOUT) {
      EXPECT_EQ(pump.pollEntry().fd, dst.write.get());  // waits for room, does not read on
      ++waited;
    }
    if (round % 2) received += readAll(dst.read.get());  // the reader lags behind
  }
  EXPECT_GT(waited, 0);
  EXPECT_EQ(received, sent);

  // At the end: what waits in the source goes out through drain(), however full dst was.
  ASSERT_EQ(::write(src.write.get(), "tail\n", 5), 5);
  src.write.reset();
  EXPECT_TRUE(pump.drain(-1));
  EXPECT_EQ(readAll(dst.read.get()), "tail\n");
  EXPECT_EQ(pump.state(), Pump::State::ReadEnded);
}

TEST(Pump, TheSourcesEndAndAFailedWriteEndIt) {
  PipeEnds src = nonBlockingPipe(), dst = nonBlockingPipe();
  Pump pump(src.read.get(), dst.write.get());
  EXPECT_EQ(pump.step(), Pump::State::Open);  // nothing yet: EAGAIN
  ASSERT_EQ(::write(src.write.get(), "x", 1), 1);
  src.write.reset();
  EXPECT_EQ(pump.step(), Pump::State::Open);
  EXPECT_EQ(readAll(dst.read.get()), "x");
  EXPECT_EQ(pump.step(), Pump::State::ReadEnded);
  EXPECT_EQ(pump.pollEntry().fd, -1);

  PipeEnds src2 = nonBlockingPipe(), dst2 = nonBlockingPipe();
  struct sigaction ign = {}, old = {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, &old);
  dst2.read.reset();  // the reader is gone
  ASSERT_EQ(::write(src2.write.get(), "y", 1), 1);
  Pump broken(src2.read.get(), dst2.write.get());
  EXPECT_EQ(broken.step(), Pump::State::WriteFailed);
  ::sigaction(SIGPIPE, &old, nullptr);
}

// The end-of-run drain waits for room as long as it takes, unless told how long a destination may
// take nothing (one stuck since a stop the tool got): then the rest is given up on.
TEST(Pump, ADrainGivesUpOnAStalledDestinationOnlyWhenAskedTo) {
  PipeEnds src = nonBlockingPipe(), dst = nonBlockingPipe();
  ASSERT_GT(::fcntl(dst.write.get(), F_SETPIPE_SZ, 4096), 0);
  std::string fill = fillUp(dst.write.get());  // dst is full; nobody reads it
  ASSERT_EQ(::write(src.write.get(), "rest\n", 5), 5);
  src.write.reset();
  PipeEnds stop = nonBlockingPipe();  // never readable: no signal comes
  Pump pump(src.read.get(), dst.write.get());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(pump.drain(stop.read.get(), 100));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  EXPECT_EQ(pump.state(), Pump::State::WriteFailed);

  // Without a limit it waits; a stop signal (its fd readable) ends the wait, the bytes kept.
  PipeEnds src2 = nonBlockingPipe();
  ASSERT_EQ(::write(src2.write.get(), "kept\n", 5), 5);
  Pump waiting(src2.read.get(), dst.write.get());
  ASSERT_EQ(::write(stop.write.get(), "s", 1), 1);
  EXPECT_FALSE(waiting.drain(stop.read.get()));
  EXPECT_EQ(waiting.state(), Pump::State::Open);
  EXPECT_EQ(readAll(dst.read.get()), fill);
  ::read(stop.read.get(), fill.data(), 1);
  EXPECT_TRUE(waiting.drain(stop.read.get()));
  EXPECT_EQ(readAll(dst.read.get()), "kept\n");
}

// A destination that takes bytes within the limit each time (a serial line, an ssh session
// retransmitting) is not given up on, however long the whole drain takes.
TEST(Pump, ADrainKeepsWaitingForADestinationThatTakesBytes) {
  PipeEnds src = nonBlockingPipe(), dst = nonBlockingPipe();
  ASSERT_GT(::fcntl(dst.write.get(), F_SETPIPE_SZ, 4096), 0);
  size_t room = static_cast<size_t>(::fcntl(dst.write.get(), F_GETPIPE_SZ));  // a page or more
  std::string sent;
  for (int i = 0; sent.size() < 15 * room; ++i) sent += "line " + std::to_string(i) + "\n";
  ASSERT_GT(::fcntl(src.write.get(), F_SETPIPE_SZ, 16 * room), 0);
  ASSERT_EQ(::write(src.write.get(), sent.data(), sent.size()), static_cast<ssize_t>(sent.size()));
  src.write.reset();
  std::string received;
  std::thread reader([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (received.size() < sent.size() && std::chrono::steady_clock::now() < deadline) {
      std::string buf(room, '\0');  // one pipeful a round: ~15 rounds, > 1 s in all
      ssize_t n = ::read(dst.read.get(), buf.data(), buf.size());
      if (n > 0) received.append(buf.data(), static_cast<size_t>(n));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  PipeEnds stop = nonBlockingPipe();
  Pump pump(src.read.get(), dst.write.get());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(pump.drain(stop.read.get(), 400));
  auto took = std::chrono::steady_clock::now() - start;
  reader.join();
  EXPECT_GT(took, std::chrono::milliseconds(1000));
  EXPECT_EQ(pump.state(), Pump::State::ReadEnded);
  EXPECT_EQ(received, sent);
}

// stuckAtStop: the destination was taking nothing (bytes waiting for room) when the stop came.
TEST(Pump, StuckAtStopMeansWaitingForRoomWhenTheStopCame) {
  PipeEnds src = nonBlockingPipe(), dst = nonBlockingPipe();
  ASSERT_GT(::fcntl(dst.write.get(), F_SETPIPE_SZ, 4096), 0);
  Pump pump(src.read.get(), dst.write.get());
  pump.noteStop();  // idle: nothing waits for room
  EXPECT_FALSE(pump.stuckAtStop());
  fillUp(dst.write.get());  // dst is full
  ASSERT_EQ(::write(src.write.get(), "b", 1), 1);
  for (int i = 0; i < 4 && pump.pollEntry().events != POLLOUT; ++i) pump.step();
  ASSERT_EQ(pump.pollEntry().events, POLLOUT);  // dst full, bytes waiting
  pump.noteStop();
  EXPECT_TRUE(pump.stuckAtStop());
  readAll(dst.read.get());  // room again, and a later stop finds it taking bytes
  while (pump.pollEntry().events == POLLOUT) pump.step();
  pump.noteStop();
  EXPECT_FALSE(pump.stuckAtStop());
}

// coco's own description of the user's terminal: non-blocking, while the shared one stays as it
// was; none for what is no terminal.
TEST(OwnNonBlocking, ATerminalGetsADescriptionOfItsOwnAndNothingElseDoes) {
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  UniqueFd m(master), s(slave);
  UniqueFd own = ownNonBlocking(s.get());
  ASSERT_TRUE(own.valid());
  EXPECT_TRUE(::fcntl(own.get(), F_GETFL) & O_NONBLOCK);
  EXPECT_FALSE(::fcntl(s.get(), F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(::fcntl(own.get(), F_GETFD) & FD_CLOEXEC);
  ASSERT_EQ(::write(own.get(), "via own\n", 8), 8);
  char buf[64] = {};
  ssize_t n = ::read(m.get(), buf, sizeof buf - 1);
  EXPECT_GT(n, 0);
  EXPECT_NE(std::string(buf).find("via own"), std::string::npos) << buf;

  PipeEnds pipe = nonBlockingPipe();
  EXPECT_FALSE(ownNonBlocking(pipe.write.get()).valid());
  // A pty master is a terminal too, but opening its /proc link opens /dev/ptmx: a new pty.
  EXPECT_FALSE(ownNonBlocking(m.get()).valid());
}

// In a child, whose fds 1 and 2 it may change: after the give-up on a full pty, coco's own
// write to that terminal neither blocks nor lands on the shell's description (still blocking);
// an fd on another terminal or on a pipe is left as it was.
TEST(StopBlockingOn, CocosFdsOnTheGivenUpTerminalNoLongerBlock) {
  int master = -1, slave = -1, otherMaster = -1, otherSlave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  ASSERT_EQ(::openpty(&otherMaster, &otherSlave, nullptr, nullptr, nullptr), 0);
  UniqueFd m(master), s(slave), om(otherMaster), os(otherSlave);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // fd 1: the given-up terminal; fd 2: another terminal; then fd 2 a pipe.
    ::dup2(s.get(), STDOUT_FILENO);
    ::dup2(os.get(), STDERR_FILENO);
    UniqueFd own = ownNonBlocking(STDOUT_FILENO);
    if (!own.valid()) ::_exit(10);
    char fill[4096];
    std::memset(fill, 'x', sizeof fill);
    while (::write(own.get(), fill, sizeof fill) > 0) {
    }
    if (errno != EAGAIN) ::_exit(11);  // the pty is full: nobody reads the master
    stopBlockingOn(own.get());
    if (!(::fcntl(STDOUT_FILENO, F_GETFL) & O_NONBLOCK)) ::_exit(12);
    if (::fcntl(s.get(), F_GETFL) & O_NONBLOCK) ::_exit(13);  // the shared description
    if (::fcntl(STDERR_FILENO, F_GETFL) & O_NONBLOCK) ::_exit(14);
    if (::fcntl(STDOUT_FILENO, F_GETFD) & FD_CLOEXEC) ::_exit(15);
    // Lost, not waited for: writing on ends in EAGAIN (a blocking fd 1 would hang here, which the
    // parent's deadline catches). Not the first write: the kernel still moves a pty's buffered
    // bytes along, which makes a little room now and then.
    while (::write(STDOUT_FILENO, fill, sizeof fill) > 0) {
    }
    if (errno != EAGAIN) ::_exit(16);
    int p[2];
    if (::pipe(p) != 0) ::_exit(17);
    ::dup2(p[1], STDERR_FILENO);
    stopBlockingOn(STDERR_FILENO);  // no terminal: nothing
    if (::fcntl(STDERR_FILENO, F_GETFL) & O_NONBLOCK) ::_exit(18);
    ::_exit(0);
  }
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      FAIL() << "the child blocked (in the write after the give-up?)";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the _exit codes in the child";
}

}  // namespace
}  // namespace coco::engine
