// Pump: the relay between the sandbox's pty or pipes and the user's terminal never blocks coco
// and never drops or gives up on a full destination.
#include "engine/terminal.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <string>

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

}  // namespace
}  // namespace coco::engine
