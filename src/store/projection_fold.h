// How the read-side projections fold a batch of events: the pieces both
// ReadStore adapters (SQLite, PostgreSQL) share, so they cannot drift apart.
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <span>

#include "market/event.h"
#include "market/order.h"

namespace hawker::store::projection {

// Seller notices: events the read models do not store.
inline bool is_notice(market::EventType type) {
  return type == market::EventType::kLowStock || type == market::EventType::kSoldOut ||
         type == market::EventType::kPaymentFailed;
}

// The status an order event writes to the order's row, if it is an order
// event the projection stores.
inline std::optional<market::OrderStatus> written_status(market::EventType type) {
  switch (type) {
    case market::EventType::kOrderReserved: return market::OrderStatus::kReserved;
    case market::EventType::kOrderRejected: return market::OrderStatus::kRejected;
    case market::EventType::kOrderConfirmed: return market::OrderStatus::kConfirmed;
    case market::EventType::kProductCreated:
    case market::EventType::kProductRestocked:
    case market::EventType::kLowStock:
    case market::EventType::kSoldOut:
    case market::EventType::kPaymentFailed:
      return std::nullopt;
  }
  return std::nullopt;
}

// The row a kProductCreated event inserts: the event's product_id names the
// product; a definition without an id still lands on the right row.
inline uint64_t created_product_id(const market::Event& event) {
  return event.product_id != 0 ? event.product_id : event.definition.id;
}

// The row an event's inventory updates.
inline uint64_t inventory_product_id(const market::Event& event) {
  return event.inventory.product_id != 0 ? event.inventory.product_id : event.product_id;
}

// An order event of the batch being applied, held until the batch's end so an
// order's events fold into one row write. The key fields are copied out of
// the event so sorting does not chase pointers.
struct PendingOrderEvent {
  int64_t stored_order_id = 0;  // sorts as the orders table's key does
  uint64_t seq = 0;
  const market::Event* event = nullptr;
  market::OrderStatus status = market::OrderStatus::kReserved;
};

// The event whose fields an order's row holds at the end of the batch, given
// the order's events in seq order and a stored row that is not final: each
// event overwrites the row until one makes it final, and the upsert's guard
// ignores everything after that. (A final stored row ignores them all.)
inline const PendingOrderEvent& row_event(std::span<const PendingOrderEvent> events) {
  assert(!events.empty());
  for (const PendingOrderEvent& pending : events) {
    if (market::is_final(pending.status)) return pending;
  }
  return events.back();
}

}  // namespace hawker::store::projection
