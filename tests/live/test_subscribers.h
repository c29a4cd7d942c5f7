// Subscribers and frame helpers for the live tests.
//
// RecordingSubscriber keeps every frame it is given (thread-safe), so tests
// can compare pointers (one serialisation per broadcast) and parse frames.
// QueuedSubscriber models a WebSocket session: frames go into a SendQueue,
// "writes" complete only when the test (or an always-fast writer) says so, and
// a full queue closes the connection (1008), counts it and unsubscribes, the
// way the session layer will.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/ids.h"
#include "core/metrics.h"
#include "live/subscriber.h"
#include "market/event.h"

namespace hawker::live::testing {

inline boost::json::object parse(const Frame& frame) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(*frame, error);
  EXPECT_FALSE(error) << *frame;
  EXPECT_TRUE(value.is_object()) << *frame;
  return value.is_object() ? value.as_object() : boost::json::object{};
}

inline std::string type_of(const Frame& frame) {
  return boost::json::value_to<std::string>(parse(frame).at("type"));
}

inline uint64_t seq_of(const Frame& frame) { return boost::json::value_to<uint64_t>(parse(frame).at("seq")); }

// A minimal product object for the hub: its id and a title.
inline boost::json::object product_json(uint64_t id) {
  return boost::json::object{{"id", format_product_id(id)}, {"title", "product " + std::to_string(id)}};
}

// A stock change of `product` (of 1000, low at 10) as the hub gets it.
inline market::Event stock_event(market::EventType type, uint64_t product, int64_t available, uint64_t version,
                                 std::string seller = "sel_a") {
  market::Event event;
  event.type = type;
  event.product_id = product;
  event.seller = std::move(seller);
  event.inventory.product_id = product;
  event.inventory.initial = 1000;
  event.inventory.available = available;
  event.inventory.sold = 1000 - available;
  event.inventory.low_threshold = 10;
  event.inventory.version = version;
  return event;
}

class RecordingSubscriber : public Subscriber {
 public:
  // `yield_in_deliver` widens the window in which a broken fan-out would
  // deliver out of order (concurrency tests).
  explicit RecordingSubscriber(bool yield_in_deliver = false) : yield_in_deliver_(yield_in_deliver) {}

  void deliver(Frame frame, uint64_t /*replace_key*/) override {
    if (yield_in_deliver_) std::this_thread::yield();
    std::lock_guard lock(mutex_);
    frames_.push_back(std::move(frame));
  }
  std::vector<Frame> frames() const {
    std::lock_guard lock(mutex_);
    return frames_;
  }
  size_t size() const {
    std::lock_guard lock(mutex_);
    return frames_.size();
  }
  Frame last() const {
    std::lock_guard lock(mutex_);
    return frames_.empty() ? nullptr : frames_.back();
  }
  // Frames of one type, in arrival order.
  std::vector<Frame> of_type(const std::string& type) const {
    std::vector<Frame> out;
    for (const Frame& frame : frames())
      if (type_of(frame) == type) out.push_back(frame);
    return out;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    frames_.clear();
  }

 private:
  const bool yield_in_deliver_;
  mutable std::mutex mutex_;
  std::vector<Frame> frames_;
};

class QueuedSubscriber : public Subscriber {
 public:
  // `fast`: every write completes at once (a client that keeps up).
  QueuedSubscriber(SendQueueLimits limits, Counter& closed_counter, bool fast)
      : queue_(limits), closed_counter_(closed_counter), fast_(fast) {}

  // Called (outside the lock) when the connection closes, e.g. to unsubscribe.
  void on_close(std::function<void(QueuedSubscriber*)> callback) { on_close_ = std::move(callback); }

  void deliver(Frame frame, uint64_t /*replace_key*/) override {
    bool closing = false;
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;  // a broadcast already on its way after close
      switch (queue_.push(std::move(frame))) {
        case PushResult::kStartWrite:
        case PushResult::kQueued:
          if (fast_) {
            while (queue_.writing()) {
              written_.push_back(queue_.front());
              if (!queue_.pop()) break;
            }
          }
          break;
        case PushResult::kFull:
          closed_ = true;
          close_code_ = 1008;
          queue_.clear();
          closing = true;
          break;
      }
    }
    if (closing) {
      closed_counter_.add();
      if (on_close_) on_close_(this);
    }
  }

  // Completes the write in flight; false when nothing was being written.
  bool complete_write() {
    std::lock_guard lock(mutex_);
    if (!queue_.writing()) return false;
    written_.push_back(queue_.front());
    (void)queue_.pop();
    return true;
  }

  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  int close_code() const {
    std::lock_guard lock(mutex_);
    return close_code_;
  }
  std::vector<Frame> written() const {
    std::lock_guard lock(mutex_);
    return written_;
  }
  size_t queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

 private:
  mutable std::mutex mutex_;
  SendQueue queue_;
  Counter& closed_counter_;
  const bool fast_;
  bool closed_ = false;
  int close_code_ = 0;
  std::vector<Frame> written_;
  std::function<void(QueuedSubscriber*)> on_close_;
};

}  // namespace hawker::live::testing
