// SeqWatch: the newest event seq a write store has made durable, and a
// bounded wait for it to pass a mark: what WriteStore::last_event_seq() and
// wait_for_events() are made of in every adapter. Thread-safe; the seq only
// moves forward.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace hawker::store {

class SeqWatch {
 public:
  uint64_t last() const {
    std::lock_guard lock(mutex_);
    return last_;
  }

  // Moves the seq forward to `seq` (never back) and wakes the waiters.
  void advance(uint64_t seq) {
    {
      std::lock_guard lock(mutex_);
      if (seq <= last_) return;
      last_ = seq;
    }
    changed_.notify_all();
  }

  // Until last() > after_seq or the timeout passes.
  void wait_past(uint64_t after_seq, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return last_ > after_seq; });
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  uint64_t last_ = 0;
};

}  // namespace hawker::store
