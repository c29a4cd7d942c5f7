// PurchaseQueue: the durable queue of accepted "Buy Now" requests, between
// the gateway (which appends) and the checkout workers (which fetch and ack).
//
// Port (abstract). Adapters: RocksPurchaseQueue (embedded), MemoryPurchaseQueue
// (tests and the simulator), JetStreamPurchaseQueue (cluster mode, NATS
// JetStream: bus/jetstream_purchase_queue.h). All pass
// tests/bus/purchase_queue_contract_test.cc.
//
// Contract:
// - append() is durable when it returns: one sync for the whole span. It is
//   idempotent by key: a key seen before with the same fingerprint yields
//   kDuplicate and the first order id; with another fingerprint, kKeyReused.
//   Keys are remembered after the request is acked; requests are not.
// - fetch() leases up to `max` unacked requests in append order; a lease not
//   acked within the ack wait, or any unacked request after a restart, is
//   delivered again (at-least-once). ack() ends a request's life in the queue.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "market/order.h"

namespace hawker::bus {

struct Enqueue {
  market::PurchaseRequest request;  // order_id chosen by the caller
  std::string idempotency_key;      // already scoped to the buyer
  uint64_t fingerprint = 0;         // hash of what was asked
};

enum class EnqueueOutcome : uint8_t { kAppended, kDuplicate, kKeyReused };

struct EnqueueResult {
  EnqueueOutcome outcome = EnqueueOutcome::kAppended;
  uint64_t order_id = 0;  // the new order, or the one the key already maps to
};

struct Delivery {
  uint64_t delivery_id = 0;  // what to ack
  // 1 when no process has delivered this request before; a request found
  // unacked after a restart comes with attempt >= 2. Two copies may still be
  // in flight at once (a lease that expired under a stalled consumer), so a
  // consumer must not treat attempt 1 as proof of a first decision.
  uint32_t attempt = 1;
  market::PurchaseRequest request;
};

struct QueueOptions {
  std::chrono::milliseconds ack_wait{30'000};
};

class PurchaseQueue {
 public:
  virtual ~PurchaseQueue() = default;

  virtual Status append(std::span<const Enqueue> items, std::span<EnqueueResult> results) = 0;
  // Looks a key up without appending (nullopt: never seen).
  virtual Result<std::optional<EnqueueResult>> find_key(std::string_view idempotency_key, uint64_t fingerprint) = 0;
  // The accepted request behind an order id while it waits in the queue
  // (nullopt once acked, or unknown): after its ack the order is decided and
  // the write store knows it.
  virtual Result<std::optional<market::PurchaseRequest>> find_order(uint64_t order_id) = 0;

  virtual Result<std::vector<Delivery>> fetch(size_t max, std::chrono::milliseconds wait) = 0;
  virtual Status ack(std::span<const uint64_t> delivery_ids) = 0;
  // Ends the leases now so the requests are delivered again soon.
  virtual Status release(std::span<const uint64_t> delivery_ids) = 0;

  // Requests appended and not yet acked.
  virtual size_t depth() = 0;
  virtual Result<std::vector<market::PurchaseRequest>> unacked() = 0;
};

using PurchaseQueuePtr = std::unique_ptr<PurchaseQueue>;

Result<PurchaseQueuePtr> open_rocks_purchase_queue(const std::string& directory, QueueOptions options = {});
PurchaseQueuePtr make_memory_purchase_queue(QueueOptions options = {});

}  // namespace hawker::bus
