// EventTail: follows an event log (an EventSource: the write store's outbox,
// or the JetStream copy of it) from a position and hands
// each run of events, in seq order, to a handler on its own thread. The read
// side projection, the gate and the live channels are all fed this way.
//
// The handler returns a Status; on failure the same events are offered again
// after a short pause (so a projection never skips an event). position() is
// the seq of the last event handled; wait_for() lets a caller wait until an
// event it produced has been handled (read-your-writes).
// start() and stop() from one thread; the rest is thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "store/event_source.h"

namespace hawker::store {

class EventTail {
 public:
  using Handler = std::function<Status(std::span<const market::Event>)>;

  EventTail(std::string name, EventSource& source, uint64_t after_seq, Handler handler, size_t batch_max = 2048);
  ~EventTail();
  void start();
  void stop();

  uint64_t position() const { return position_.load(); }
  // True once every event up to `seq` has been handled, false on timeout.
  bool wait_for(uint64_t seq, std::chrono::milliseconds timeout);

 private:
  void run();

  std::string name_;
  EventSource& source_;
  Handler handler_;
  size_t batch_max_;
  std::atomic<uint64_t> position_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable advanced_;
  std::thread thread_;
};

}  // namespace hawker::store
