// Coalescers: rate limits for values where only the latest matters.
//
// A product's stock can change thousands of times a second during a drop; the
// viewers need to see it fall, not every step. Coalescer takes updates at any
// rate and emits, per key, at most one value per interval:
//  - leading edge: the first update after a quiet interval is due at once;
//  - trailing edge: updates inside the interval are folded into the latest one,
//    which is due when the interval since the last emit has passed;
//  - a value that shows the same as the last one emitted is not emitted again.
// So the latest value is always emitted eventually, and never more than one
// emit per key per interval (at most 1 s / interval in any second).
//
// There are no threads or timers inside: poll(now) returns what is due, and
// next_due_us() says when to poll next, so tests drive it with a ManualClock
// and get the same answer every run. A key is forgotten once nothing is
// pending and its last emit is an interval old, so memory follows the keys
// that are active, not every key ever seen. If the clock goes backwards, a
// pending key is due at once rather than stalled until the clock catches up.
//
// Thread-safety: thread-compatible; the owner (LiveHub) serialises calls.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "market/product.h"

namespace hawker::live {

// At most 10 inventory frames per second per product.
inline constexpr int64_t kInventoryIntervalUs = 100'000;
// At most one viewers frame every 2 s per show.
inline constexpr int64_t kViewersIntervalUs = 2'000'000;

// What viewers see of a product's stock. `version` is the inventory version
// the level was read at (market::Inventory::version); it orders levels so an
// older one never overwrites a newer one. 0 = unknown.
struct StockLevel {
  int64_t available = 0;
  market::StockState state = market::StockState::kInStock;
  uint64_t version = 0;
};

// Equal on the wire (the version is not sent).
inline bool same_shown(const StockLevel& a, const StockLevel& b) {
  return a.available == b.available && a.state == b.state;
}

template <typename Value>
class Coalescer {
 public:
  using SameShown = std::function<bool(const Value&, const Value&)>;

  Coalescer(int64_t interval_us, SameShown same_shown);

  void update(uint64_t key, const Value& value);
  // Everything due at `now_us`, each key at most once; marks them emitted.
  std::vector<std::pair<uint64_t, Value>> poll(int64_t now_us);
  // The earliest time a pending key is due (may be in the past: poll now);
  // nullopt when nothing is pending.
  std::optional<int64_t> next_due_us() const;

  size_t pending() const { return pending_; }
  size_t tracked() const { return slots_.size(); }
  int64_t interval_us() const { return interval_us_; }

 private:
  struct Slot {
    Value latest{};
    Value last_emitted{};
    int64_t last_emit_us = 0;
    bool emitted = false;  // last_emitted/last_emit_us are meaningful
    bool pending = false;
  };
  bool due(const Slot& slot, int64_t now_us) const;

  int64_t interval_us_;
  SameShown same_shown_;
  std::unordered_map<uint64_t, Slot> slots_;
  size_t pending_ = 0;
};

struct InventoryUpdate {
  uint64_t product_id = 0;
  StockLevel level;
};

// Stock ticks: at most one per product per kInventoryIntervalUs.
class InventoryCoalescer {
 public:
  explicit InventoryCoalescer(const Clock& clock, int64_t interval_us = kInventoryIntervalUs);

  void update(uint64_t product_id, int64_t available, market::StockState state, uint64_t version = 0);
  void update(uint64_t product_id, const StockLevel& level) { coalescer_.update(product_id, level); }
  std::vector<InventoryUpdate> poll(int64_t now_us);
  std::vector<InventoryUpdate> poll() { return poll(clock_.now_us()); }
  std::optional<int64_t> next_due_us() const { return coalescer_.next_due_us(); }
  size_t pending() const { return coalescer_.pending(); }
  size_t tracked() const { return coalescer_.tracked(); }

 private:
  const Clock& clock_;
  Coalescer<StockLevel> coalescer_;
};

struct ViewerUpdate {
  uint64_t show_id = 0;
  int64_t count = 0;
};

// Viewer counts: at most one per show per kViewersIntervalUs.
class ViewerCoalescer {
 public:
  explicit ViewerCoalescer(const Clock& clock, int64_t interval_us = kViewersIntervalUs);

  void update(uint64_t show_id, int64_t count) { coalescer_.update(show_id, count); }
  std::vector<ViewerUpdate> poll(int64_t now_us);
  std::vector<ViewerUpdate> poll() { return poll(clock_.now_us()); }
  std::optional<int64_t> next_due_us() const { return coalescer_.next_due_us(); }
  size_t pending() const { return coalescer_.pending(); }
  size_t tracked() const { return coalescer_.tracked(); }

 private:
  const Clock& clock_;
  Coalescer<int64_t> coalescer_;
};

}  // namespace hawker::live
