// Clock: the one source of time, injected so tests and the simulator can
// control it. SystemClock is the real one; ManualClock only moves when told.
// Both are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace hawker {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch (wall clock, for timestamps).
  virtual int64_t now_us() const = 0;
  int64_t now_ms() const { return now_us() / 1000; }
};

class SystemClock final : public Clock {
 public:
  int64_t now_us() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static SystemClock& instance() {
    static SystemClock clock;
    return clock;
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_us = 1'700'000'000'000'000) : now_us_(start_us) {}
  int64_t now_us() const override { return now_us_.load(); }
  void advance_us(int64_t delta) { now_us_.fetch_add(delta); }

 private:
  std::atomic<int64_t> now_us_;
};

// Monotonic microseconds for measuring durations.
inline int64_t monotonic_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace hawker
