#include "market/order.h"

namespace hawker::market {

std::string_view order_status_name(OrderStatus status) {
  switch (status) {
    case OrderStatus::kAccepted: return "accepted";
    case OrderStatus::kReserved: return "reserved";
    case OrderStatus::kConfirmed: return "confirmed";
    case OrderStatus::kRejected: return "rejected";
  }
  return "accepted";
}

bool parse_order_status(std::string_view text, OrderStatus& status) {
  for (auto candidate : {OrderStatus::kAccepted, OrderStatus::kReserved, OrderStatus::kConfirmed,
                         OrderStatus::kRejected}) {
    if (order_status_name(candidate) == text) {
      status = candidate;
      return true;
    }
  }
  return false;
}

std::string_view reject_reason_name(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone: return "";
    case RejectReason::kSoldOut: return "sold_out";
    case RejectReason::kLimitExceeded: return "limit_exceeded";
    case RejectReason::kPaymentDeclined: return "payment_declined";
    case RejectReason::kPaymentFailed: return "payment_failed";
    case RejectReason::kInvalid: return "invalid";
  }
  return "";
}

bool parse_reject_reason(std::string_view text, RejectReason& reason) {
  for (auto candidate : {RejectReason::kNone, RejectReason::kSoldOut, RejectReason::kLimitExceeded,
                         RejectReason::kPaymentDeclined, RejectReason::kPaymentFailed, RejectReason::kInvalid}) {
    if (reject_reason_name(candidate) == text) {
      reason = candidate;
      return true;
    }
  }
  return false;
}

bool can_transition(OrderStatus from, OrderStatus to, RejectReason reason) {
  const bool decision_reason = reason == RejectReason::kSoldOut || reason == RejectReason::kLimitExceeded ||
                               reason == RejectReason::kInvalid;
  const bool payment_reason = reason == RejectReason::kPaymentDeclined || reason == RejectReason::kPaymentFailed;
  switch (from) {
    case OrderStatus::kAccepted:
      if (to == OrderStatus::kReserved) return reason == RejectReason::kNone;
      if (to == OrderStatus::kRejected) return decision_reason;
      return false;
    case OrderStatus::kReserved:
      if (to == OrderStatus::kConfirmed) return reason == RejectReason::kNone;
      if (to == OrderStatus::kRejected) return payment_reason;
      return false;
    case OrderStatus::kConfirmed:
    case OrderStatus::kRejected:
      return false;
  }
  return false;
}

}  // namespace hawker::market
