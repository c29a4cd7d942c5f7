// PaymentProcessor: the port to whoever moves the money.
//
// authorize() is keyed by an idempotency key (the order id): calling it again
// with the same key never charges twice, it returns the first outcome. Its
// answers: kApproved, kDeclined (final), kUnavailable (nothing was processed:
// safe to try again, with the same key), kTimeout (unknown: the charge may
// have happened; try again with the same key, on the same processor, or void).
// Adapters: SandboxProcessor (in-process), HttpProcessor (Stripe-style HTTP).
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace hawker::checkout {

enum class PaymentOutcome : uint8_t { kApproved, kDeclined, kUnavailable, kTimeout };

std::string_view payment_outcome_name(PaymentOutcome outcome);

struct ChargeRequest {
  std::string idempotency_key;  // the order id, formatted
  int64_t amount_cents = 0;
  std::string currency;
  std::string payment_token;
};

class PaymentProcessor {
 public:
  virtual ~PaymentProcessor() = default;
  virtual const std::string& name() const = 0;
  virtual bool supports(std::string_view currency) const = 0;
  virtual PaymentOutcome authorize(const ChargeRequest& charge) = 0;
  // Cancels what authorize() may have done under this key (after timeouts).
  virtual PaymentOutcome void_charge(const ChargeRequest& charge) = 0;
};

using PaymentProcessorPtr = std::unique_ptr<PaymentProcessor>;

}  // namespace hawker::checkout
