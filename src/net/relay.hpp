// The relay: one epoll loop that connects captured connections to their
// destinations and copies bytes both ways with splice through pooled pipes.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace coco::net {

struct RelayStats {
  uint64_t aToB = 0;
  uint64_t bToA = 0;
  bool failed = false;  // a read, write or connect failed (reset, ...), not a clean close
};

struct RelayLimits {
  size_t maxConnections = 1024;      // relayed or connecting at once; add() refuses beyond
  int connectTimeoutMs = 10000;      // per destination address
  int pipeSize = 1 << 20;            // bytes one direction may hold between its sockets
  size_t idlePipes = 16;             // empty pipes kept for reuse
  uint64_t budgetPerWake = 4 << 20;  // bytes one connection moves before others get a turn
};

// Every connection costs its two sockets and, only while bytes wait between
// them, a pipe per direction taken from a pool: no thread and no pipe of its
// own. Memory per connection is bounded by the sockets' buffers plus
// pipeSize per direction: a side that stops reading stops the other side's
// reads (TCP flow control), nothing is buffered in user space.
//
// EOF on one side becomes shutdown(SHUT_WR) on the other once the bytes before
// it are delivered (half-close); both directions at EOF close the connection.
// A reset or error on either side resets the other (SO_LINGER 0), so a tool
// sees "connection reset" where the destination reset, not a clean end.
//
// Threads: waitOnce(), add(), watch() and closeAll() on one thread (the loop's);
// submit() from any thread.
class RelayLoop {
 public:
  using Done = void (*)(const std::string& label, const RelayStats& stats);

  static Result<std::unique_ptr<RelayLoop>> create(RelayLimits limits = {});
  ~RelayLoop();
  RelayLoop(const RelayLoop&) = delete;
  RelayLoop& operator=(const RelayLoop&) = delete;

  // The loop's epoll set also serves its owner's fds (the gateway's
  // listeners): one epoll_wait per wake-up for everything. watch() adds `fd`
  // (level-triggered, readable); its events go to waitOnce's callback as `tag`.
  Status watch(int fd, uint64_t tag);
  void unwatch(int fd);
  // The epoll set itself: readable when waitOnce would find events, for an owner that waits
  // elsewhere until the first (Gateway::start's deferred thread).
  int pollFd() const { return epoll_.get(); }

  // Relays `client` to the first of `targets` that accepts a TCP connection
  // (each within connectTimeoutMs); resets `client` when none does. `socket`,
  // when given, is the unconnected socket to connect (a published port's
  // socket made in the sandbox netns); otherwise one is made per target.
  // False (client reset) when at maxConnections or stopped.
  bool add(UniqueFd client, std::vector<sockaddr_in> targets, std::string label, UniqueFd socket = {});
  // add() from another thread: queued for the loop's next waitOnce().
  bool submit(UniqueFd client, std::vector<sockaddr_in> targets, std::string label, UniqueFd socket = {});

  // Waits for the next events (no longer than the earliest connect deadline,
  // nor than maxWaitMs when that is not negative: 0 handles what is there)
  // and handles them; a watched fd's tag goes to onWatched, which returns
  // false to end the loop. Returns false then, or when epoll_wait fails.
  bool waitOnce(const std::function<bool(uint64_t tag)>& onWatched, int maxWaitMs = -1);
  // Runs waitOnce() until stop() (from any thread); for callers with nothing to watch.
  void run();
  void stop();
  // Resets every connection and refuses new ones.
  void closeAll();

  size_t size() const { return conns_.size(); }
  bool full() const { return conns_.size() >= limits_.maxConnections; }
  size_t pooledPipes() const { return pool_.size(); }
  // Called on the loop thread when a connection ends (logging; may be null).
  void onDone(Done done) { done_ = done; }

 private:
  struct Pipe {
    UniqueFd r, w;
  };
  struct Direction {
    int from = -1, to = -1;
    Pipe pipe;
    size_t held = 0;  // bytes in pipe
    bool eof = false, done = false;
    uint64_t moved = 0;
  };
  struct Conn;
  enum class Pump { Idle, Busy, Done, Failed };
  struct Queued {
    UniqueFd client;
    std::vector<sockaddr_in> targets;
    std::string label;
    UniqueFd socket;
  };

  explicit RelayLoop(RelayLimits limits);
  Status init();
  void handle(uint64_t id);
  bool tryConnect(Conn& c);
  void checkConnect(Conn& c);
  bool startRelay(Conn& c);
  void pumpBoth(Conn& c);
  Pump pump(Direction& d, uint64_t& budget);
  bool takePipe(Pipe& p);
  void givePipe(Pipe& p);
  void finish(uint64_t id, bool failed);
  void expire();
  void drainQueue();
  int timeoutMs() const;

  RelayLimits limits_;
  UniqueFd epoll_, wake_;
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::vector<Pipe> pool_;
  std::vector<uint64_t> busy_;  // connections that used their budget with bytes left
  uint64_t nextId_ = 1;
  bool closed_ = false;
  std::atomic<bool> stopRun_{false};
  Done done_ = nullptr;

  std::mutex mu_;  // guards queue_ and queueClosed_
  std::deque<Queued> queue_;
  bool queueClosed_ = false;
};

}  // namespace coco::net
