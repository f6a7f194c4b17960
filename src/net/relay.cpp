// The relay: two one-way pumps, splice where possible, half-close on EOF.
#include "net/relay.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "net/thread.hpp"
#include "sys/io.hpp"
#include "util/unique_fd.hpp"

namespace coco::net {

namespace {

constexpr size_t kChunk = 64 * 1024;
// A bigger pipe moves more per splice pair; pipe-max-size allows 1 MiB unprivileged.
constexpr int kPipeSize = 1 << 20;

enum class PumpEnd { Eof, Failed, Unsupported };

// Moves the bytes already in the pipe to `to`.
bool drainPipe(int pipeRead, int to, size_t pending) {
  while (pending > 0) {
    // No SPLICE_F_MORE: it corks the socket, holding back the last bytes of a
    // request (measured: ~200 ms per request/response round trip).
    ssize_t n = ::splice(pipeRead, nullptr, to, nullptr, pending, SPLICE_F_MOVE);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    pending -= static_cast<size_t>(n);
  }
  return true;
}

PumpEnd pumpSplice(int from, int to, uint64_t& moved) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return PumpEnd::Unsupported;
  UniqueFd pr(p[0]), pw(p[1]);
  int pipeSize = ::fcntl(pw.get(), F_SETPIPE_SZ, kPipeSize);
  size_t chunk = pipeSize > 0 ? static_cast<size_t>(pipeSize) : kChunk;
  for (;;) {
    ssize_t n = ::splice(from, nullptr, pw.get(), nullptr, chunk, SPLICE_F_MOVE);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && moved == 0) return PumpEnd::Unsupported;
    if (n < 0) return PumpEnd::Failed;
    if (n == 0) return PumpEnd::Eof;
    if (!drainPipe(pr.get(), to, static_cast<size_t>(n))) return PumpEnd::Failed;
    moved += static_cast<uint64_t>(n);
  }
}

PumpEnd pumpCopy(int from, int to, uint64_t& moved) {
  std::vector<char> buf(kChunk);
  for (;;) {
    ssize_t n = ::recv(from, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PumpEnd::Failed;
    if (n == 0) return PumpEnd::Eof;
    if (sys::sendAll(to, buf.data(), static_cast<size_t>(n)) != 0) return PumpEnd::Failed;
    moved += static_cast<uint64_t>(n);
  }
}

// One direction. Returns false when it ended in failure.
bool pump(int from, int to, uint64_t& moved) {
  PumpEnd end = pumpSplice(from, to, moved);
  if (end == PumpEnd::Unsupported) end = pumpCopy(from, to, moved);
  if (end == PumpEnd::Eof) {
    ::shutdown(to, SHUT_WR);
    return true;
  }
  // Wake the other direction: its blocked read returns at once.
  ::shutdown(from, SHUT_RDWR);
  ::shutdown(to, SHUT_RDWR);
  return false;
}

}  // namespace

RelayStats relay(int a, int b) {
  RelayStats stats;
  bool backOk = true;
  JoinableThread back;
  auto status = back.start([&] { backOk = pump(b, a, stats.bToA); });
  if (!status) {
    // No second thread: relay one way only would deadlock half-duplex
    // protocols, so give up on the connection instead.
    ::shutdown(a, SHUT_RDWR);
    ::shutdown(b, SHUT_RDWR);
    stats.failed = true;
    return stats;
  }
  bool forwardOk = pump(a, b, stats.aToB);
  back.join();
  stats.failed = !forwardOk || !backOk;
  return stats;
}

}  // namespace coco::net
