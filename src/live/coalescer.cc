#include "live/coalescer.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace hawker::live {

template <typename Value>
Coalescer<Value>::Coalescer(int64_t interval_us, SameShown same_shown)
    : interval_us_(interval_us), same_shown_(std::move(same_shown)) {
  assert(interval_us_ > 0);
  assert(same_shown_);
}

template <typename Value>
void Coalescer<Value>::update(uint64_t key, const Value& value) {
  Slot& slot = slots_[key];
  slot.latest = value;
  if (!slot.pending) {
    slot.pending = true;
    ++pending_;
  }
}

template <typename Value>
bool Coalescer<Value>::due(const Slot& slot, int64_t now_us) const {
  if (!slot.emitted) return true;
  if (now_us < slot.last_emit_us) return true;  // the clock went backwards
  return now_us - slot.last_emit_us >= interval_us_;
}

template <typename Value>
std::vector<std::pair<uint64_t, Value>> Coalescer<Value>::poll(int64_t now_us) {
  std::vector<std::pair<uint64_t, Value>> out;
  for (auto it = slots_.begin(); it != slots_.end();) {
    Slot& slot = it->second;
    if (slot.pending && due(slot, now_us)) {
      slot.pending = false;
      --pending_;
      if (!slot.emitted || !same_shown_(slot.latest, slot.last_emitted)) {
        out.emplace_back(it->first, slot.latest);
        slot.last_emitted = slot.latest;
        slot.last_emit_us = now_us;
        slot.emitted = true;
      }
    }
    // Forget quiet keys: their next update is a leading edge anyway.
    if (!slot.pending && (!slot.emitted || due(slot, now_us))) {
      it = slots_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

template <typename Value>
std::optional<int64_t> Coalescer<Value>::next_due_us() const {
  if (pending_ == 0) return std::nullopt;
  int64_t earliest = std::numeric_limits<int64_t>::max();
  for (const auto& [key, slot] : slots_) {
    if (!slot.pending) continue;
    // Never emitted: due at once. The earliest possible time says "now".
    const int64_t at = slot.emitted ? slot.last_emit_us + interval_us_ : std::numeric_limits<int64_t>::min();
    earliest = std::min(earliest, at);
  }
  return earliest;
}

template class Coalescer<StockLevel>;
template class Coalescer<int64_t>;

InventoryCoalescer::InventoryCoalescer(const Clock& clock, int64_t interval_us)
    : clock_(clock), coalescer_(interval_us, [](const StockLevel& a, const StockLevel& b) { return same_shown(a, b); }) {}

void InventoryCoalescer::update(uint64_t product_id, int64_t available, market::StockState state, uint64_t version) {
  coalescer_.update(product_id, StockLevel{available, state, version});
}

std::vector<InventoryUpdate> InventoryCoalescer::poll(int64_t now_us) {
  std::vector<InventoryUpdate> out;
  for (auto& [product_id, level] : coalescer_.poll(now_us)) out.push_back(InventoryUpdate{product_id, level});
  return out;
}

ViewerCoalescer::ViewerCoalescer(const Clock& clock, int64_t interval_us)
    : clock_(clock), coalescer_(interval_us, [](int64_t a, int64_t b) { return a == b; }) {}

std::vector<ViewerUpdate> ViewerCoalescer::poll(int64_t now_us) {
  std::vector<ViewerUpdate> out;
  for (auto& [show_id, count] : coalescer_.poll(now_us)) out.push_back(ViewerUpdate{show_id, count});
  return out;
}

}  // namespace hawker::live
