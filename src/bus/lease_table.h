// LeaseTable: the in-memory index of unacked queue entries shared by every
// PurchaseQueue adapter that keeps its own log (RocksDB, memory). It hands out
// entries in append order, leases them for the ack wait, and puts expired
// leases back in line (at-least-once delivery). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <span>
#include <vector>

#include "bus/purchase_queue.h"

namespace hawker::bus {

class LeaseTable {
 public:
  explicit LeaseTable(std::chrono::milliseconds ack_wait) : ack_wait_(ack_wait) {}

  // Adds entries that are now durable. `recovered`: found unacked after a
  // restart, so an earlier process may have delivered them (next attempt is 2).
  void add(std::span<const std::pair<uint64_t, market::PurchaseRequest>> entries, bool recovered = false);
  std::vector<Delivery> fetch(size_t max, std::chrono::milliseconds wait);
  // Removes acked entries; returns the ids that were still present.
  std::vector<uint64_t> ack(std::span<const uint64_t> delivery_ids);
  void release(std::span<const uint64_t> delivery_ids);
  // Every lease ends now: what a restart does.
  void expire_all();
  size_t depth();
  std::optional<market::PurchaseRequest> find_order(uint64_t order_id);
  std::vector<market::PurchaseRequest> unacked();

 private:
  struct Entry {
    market::PurchaseRequest request;
    uint32_t attempt = 0;
    int64_t lease_deadline_us = 0;  // 0: not leased
  };
  void reclaim_expired_locked(int64_t now_us);

  const std::chrono::milliseconds ack_wait_;
  std::mutex mutex_;
  std::condition_variable ready_changed_;
  std::map<uint64_t, Entry> entries_;
  std::unordered_map<uint64_t, uint64_t> entry_of_order_;  // order id -> entry id
  std::set<uint64_t> ready_;
  // The leases handed out by each fetch, oldest first. Deadlines only grow
  // (now + ack_wait), so expiry pops from the front; an entry acked since
  // stays in its batch and is skipped when the batch expires (its deadline
  // no longer matches). One id costs 8 bytes here until then.
  struct LeaseBatch {
    int64_t deadline_us = 0;
    std::vector<uint64_t> ids;
  };
  std::deque<LeaseBatch> leases_;
};

}  // namespace hawker::bus
