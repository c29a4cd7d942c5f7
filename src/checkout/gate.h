// Gate: the gateway's in-memory view of each product, for answering clicks
// at the edge without touching storage: is the product known, who sells it,
// and is it already gone (available minus units queued and undecided <= 0).
//
// `available` follows the event stream (newest inventory version wins);
// `pending` counts units accepted into the queue and not yet decided: it rises
// when the intake queues a request and falls on that order's decision event.
// It is advisory: workers decide exactly; the gate only stops hopeless clicks
// early. In cluster mode several gateways accept orders for the same product
// and each sees every decision in the event log: set_own_node() makes the gate
// count down only decisions on orders this gateway accepted (their ids carry
// its node number), so another gateway's orders never drive `pending` below
// what this one queued.
// Thread-safe; lookups take a shared lock, counters are atomics.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "core/ids.h"
#include "market/event.h"
#include "market/product.h"

namespace hawker::checkout {

class Gate {
 public:
  struct Entry {
    market::ProductDefinition definition;  // immutable once created
    std::atomic<int64_t> available{0};
    std::atomic<int64_t> pending{0};
    std::atomic<uint64_t> version{0};
    std::atomic<int64_t> initial_plus_restocked{0};

    bool sold_out() const { return available.load() - pending.load() <= 0; }
  };

  // Adds a product or moves its counts forward to `inventory`.
  void upsert(const market::ProductDefinition& definition, const market::Inventory& inventory);
  // Null when unknown. The pointer stays valid for the gate's life.
  Entry* find(uint64_t product_id) const;
  // Follows the event stream.
  void on_event(const market::Event& event);
  void add_pending(uint64_t product_id, int64_t units);
  // Counts only this node's orders from now on (core/ids.h order_id_node).
  // Call before the gate is shared between threads.
  void set_own_node(uint32_t node) { own_node_ = node; }
  // Whether this gate counts the order's units as pending.
  bool counts_order(uint64_t order_id) const { return !own_node_ || order_id_node(order_id) == *own_node_; }

 private:
  void advance(Entry& entry, const market::Inventory& inventory);

  std::optional<uint32_t> own_node_;  // nullopt: every order is this node's (embedded)
  mutable std::shared_mutex mutex_;
  std::unordered_map<uint64_t, std::unique_ptr<Entry>> entries_;
};

}  // namespace hawker::checkout
