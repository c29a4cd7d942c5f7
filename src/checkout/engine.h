// CheckoutEngine: decides batches of purchase requests and settles reserved
// orders, against the WriteStore and PurchaseQueue ports.
//
// decide(): group a fetched batch by product (arrival order kept), load each
// product's state, run market::decide_batch in memory, and commit with the
// version read; on a version conflict reload and decide again (at most
// retries_max times). Requests whose order already exists are redeliveries:
// no-ops. The batch is acked only after its commit; a failed commit releases
// the leases so the requests come back.
// settle(): charge the orders still reserved through the router and commit
// confirmed or rejected (releasing stock: compensation), again conditionally;
// a failed payment is voided only after its rejection is stored.
// Synchronous and stateless between calls: the worker threads and the
// deterministic simulator both drive it. Thread-safe if its ports are.
#pragma once

#include <array>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <span>
#include <vector>

#include "bus/purchase_queue.h"
#include "checkout/payment_router.h"
#include "core/clock.h"
#include "store/write_store.h"

namespace hawker::checkout {

struct EngineOptions {
  int retries_max = 32;  // version conflicts tolerated per product per batch
};

struct EngineStats {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> decided{0};
  std::atomic<uint64_t> redelivered{0};
  std::atomic<uint64_t> conflicts{0};
  std::atomic<uint64_t> commits{0};
};

class CheckoutEngine {
 public:
  CheckoutEngine(store::WriteStore& store, bus::PurchaseQueue& queue, PaymentRouter& router, const Clock& clock,
                 EngineOptions options = {});

  // Decides, commits and acks. Returns the orders it reserved (to settle).
  Result<std::vector<market::OrderRecord>> decide(std::span<const bus::Delivery> deliveries);
  // Charges and finalises reserved orders; already-final orders are skipped.
  Status settle(std::span<const market::OrderRecord> reserved);
  // Finalises orders whose settlement is already known (used by settle()).
  Status finalize(uint64_t product_id, std::span<const std::pair<market::OrderRecord, Settlement>> outcomes);

  EngineStats& stats() { return stats_; }

 private:
  Result<std::vector<market::OrderRecord>> decide_product(uint64_t product_id,
                                                          std::span<const bus::Delivery* const> deliveries);
  // Cancels the charges of orders that failed payment and are now rejected.
  void void_failed_charges(std::span<const std::pair<market::OrderRecord, Settlement>> outcomes);

  // Per-buyer limits are fixed at product creation: a product seen without
  // one skips holdings reads and writes from then on.
  bool product_has_limit(uint64_t product_id);
  void remember_limit(uint64_t product_id, int32_t max_per_buyer);
  static constexpr size_t kLimitsCachedMax = 100'000;

  // The stripe that makes this process's workers take turns on a product.
  // Held across the load-decide-commit of one product (its I/O included):
  // that is the point, the commit is the product's critical section. The
  // version check still guards against other processes.
  std::mutex& product_owner(uint64_t product_id);

  std::array<std::mutex, 64> owners_;
  std::mutex limits_mutex_;
  std::unordered_map<uint64_t, int32_t> limits_;
  store::WriteStore& store_;
  bus::PurchaseQueue& queue_;
  PaymentRouter& router_;
  const Clock& clock_;
  EngineOptions options_;
  EngineStats stats_;
};

}  // namespace hawker::checkout
