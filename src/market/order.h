// Orders and their state machine.
//
//   accepted --> reserved --> confirmed
//       |            |
//       +--> rejected <--+   (reason says why)
//
// accepted -> rejected carries sold_out, limit_exceeded or invalid;
// reserved -> rejected carries payment_declined or payment_failed and releases
// the reserved stock. confirmed and rejected are final. Plain values; no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hawker::market {

enum class OrderStatus : uint8_t { kAccepted, kReserved, kConfirmed, kRejected };
enum class RejectReason : uint8_t {
  kNone,
  kSoldOut,
  kLimitExceeded,
  kPaymentDeclined,
  kPaymentFailed,
  kInvalid,
};

std::string_view order_status_name(OrderStatus status);
bool parse_order_status(std::string_view text, OrderStatus& status);
std::string_view reject_reason_name(RejectReason reason);
bool parse_reject_reason(std::string_view text, RejectReason& reason);

inline bool is_final(OrderStatus status) {
  return status == OrderStatus::kConfirmed || status == OrderStatus::kRejected;
}

// Whether `from -> to` with `reason` is a legal transition.
bool can_transition(OrderStatus from, OrderStatus to, RejectReason reason);

// A buyer's click, as it sits durably in the purchase queue.
struct PurchaseRequest {
  uint64_t order_id = 0;
  uint64_t product_id = 0;
  std::string buyer;
  int32_t quantity = 0;
  std::string payment_token;
  int64_t accepted_us = 0;  // when the gateway accepted it (202)
};

// The write side's record of an order once a worker has decided it.
struct OrderRecord {
  uint64_t order_id = 0;
  uint64_t product_id = 0;
  std::string buyer;
  std::string seller;
  int32_t quantity = 0;
  int64_t amount_cents = 0;
  std::string currency;
  std::string payment_token;
  std::string processor;  // payment processor pinned at reservation
  OrderStatus status = OrderStatus::kAccepted;
  RejectReason reason = RejectReason::kNone;
  int64_t accepted_us = 0;
  int64_t updated_us = 0;
};

}  // namespace hawker::market
