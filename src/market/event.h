// Domain events: every change to stock and orders, in commit order.
//
// Events are committed in the same atomic write as the state change that made
// them (the outbox), numbered by a gap-free, increasing `seq`, and are the only
// input of the read side, the gate's stock counts and the live channels.
// One flat struct keeps encoding simple; each type uses the fields it names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "market/order.h"
#include "market/product.h"

namespace hawker::market {

enum class EventType : uint8_t {
  kProductCreated,    // definition + inventory
  kProductRestocked,  // quantity, inventory
  kOrderReserved,     // order fields, inventory
  kOrderRejected,     // order fields, reason, was_reserved, inventory
  kOrderConfirmed,    // order fields (also the seller's "sale" notice), inventory
  kLowStock,          // seller notice: inventory crossed the low threshold
  kSoldOut,           // seller notice: available reached zero
  kPaymentFailed,     // seller notice: order fields, reason
};

std::string_view event_type_name(EventType type);

struct Event {
  uint64_t seq = 0;
  EventType type = EventType::kProductCreated;
  int64_t ts_us = 0;
  uint64_t product_id = 0;
  std::string seller;
  // Order fields.
  uint64_t order_id = 0;
  std::string buyer;
  int32_t quantity = 0;
  int64_t amount_cents = 0;
  RejectReason reason = RejectReason::kNone;
  bool was_reserved = false;  // a rejection that released reserved stock
  int64_t accepted_us = 0;
  // Product fields (kProductCreated).
  ProductDefinition definition;
  // The product's inventory after the change.
  Inventory inventory;
};

// The stored and transmitted form: compact binary, little-endian, its first
// byte a format number (2). Events are encoded once and decoded by every
// consumer (the gate, the live channels, the read-side projection), so this
// sits on the hot path of every order.
std::string encode_event(const Event& event);
// Reads both forms: the binary one, and the JSON text hawker wrote before it
// (a record starting with '{'), so event logs and outboxes written by older
// versions still replay. Untrusted input: any malformed record is a kIo error.
Result<Event> decode_event(std::string_view bytes);
// The JSON form (the first format). Nothing writes it any more; it stays so
// tests can make old records, and for reading an event by eye.
std::string encode_event_json(const Event& event);

}  // namespace hawker::market
