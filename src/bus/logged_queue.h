// LoggedQueue: the PurchaseQueue logic shared by adapters that keep their own
// log — idempotent append, leases, acks — over four storage hooks a concrete
// adapter provides (RocksDB or memory). One append runs at a time (append_mutex_)
// so key checks and writes cannot interleave. Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

#include "bus/lease_table.h"
#include "bus/purchase_queue.h"

namespace hawker::bus {

struct KeyRecord {
  uint64_t order_id = 0;
  uint64_t fingerprint = 0;
};

class LoggedQueue : public PurchaseQueue {
 public:
  explicit LoggedQueue(QueueOptions options) : leases_(options.ack_wait) {}

  Status append(std::span<const Enqueue> items, std::span<EnqueueResult> results) final;
  Result<std::optional<EnqueueResult>> find_key(std::string_view idempotency_key, uint64_t fingerprint) final;
  Result<std::optional<market::PurchaseRequest>> find_order(uint64_t order_id) final {
    return leases_.find_order(order_id);
  }
  Result<std::vector<Delivery>> fetch(size_t max, std::chrono::milliseconds wait) final {
    return leases_.fetch(max, wait);
  }
  Status ack(std::span<const uint64_t> delivery_ids) final;
  Status release(std::span<const uint64_t> delivery_ids) final {
    leases_.release(delivery_ids);
    return {};
  }
  size_t depth() final { return leases_.depth(); }
  Result<std::vector<market::PurchaseRequest>> unacked() final { return leases_.unacked(); }

  // Ends every lease now, as a restart would.
  void expire_all_leases() { leases_.expire_all(); }

 protected:
  struct NewEntry {
    uint64_t id;
    const Enqueue* item;
  };
  virtual Result<std::optional<KeyRecord>> lookup_key(std::string_view key) = 0;
  // Makes the entries and their keys durable with one sync.
  virtual Status persist(std::span<const NewEntry> entries) = 0;
  virtual Status erase(std::span<const uint64_t> ids) = 0;

  LeaseTable leases_;
  uint64_t next_id_ = 1;  // set by the adapter on recovery; guarded by append_mutex_

 private:
  std::mutex append_mutex_;
};

// Request encoding shared by log-keeping adapters.
std::string encode_request(const market::PurchaseRequest& request);
Result<market::PurchaseRequest> decode_request(std::string_view bytes);

}  // namespace hawker::bus
