#include "checkout/sandbox_processor.h"

#include <chrono>
#include <thread>

namespace hawker::checkout {

std::string_view payment_outcome_name(PaymentOutcome outcome) {
  switch (outcome) {
    case PaymentOutcome::kApproved: return "approved";
    case PaymentOutcome::kDeclined: return "declined";
    case PaymentOutcome::kUnavailable: return "unavailable";
    case PaymentOutcome::kTimeout: return "timeout";
  }
  return "unknown";
}

SandboxProcessor::SandboxProcessor(SandboxOptions options) : options_(std::move(options)) {}

bool SandboxProcessor::supports(std::string_view currency) const { return options_.currencies.count(currency) > 0; }

PaymentOutcome SandboxProcessor::authorize(const ChargeRequest& charge) {
  if (!available_) return PaymentOutcome::kUnavailable;
  if (options_.latency_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(options_.latency_ms));
  if (charge.payment_token == "tok_timeout") {
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.timeout_ms));
    return PaymentOutcome::kTimeout;
  }
  std::lock_guard lock(mutex_);
  auto found = outcomes_.find(charge.idempotency_key);
  if (found != outcomes_.end()) return found->second;  // same key: same answer, no new charge
  PaymentOutcome outcome =
      charge.payment_token == "tok_visa" ? PaymentOutcome::kApproved : PaymentOutcome::kDeclined;
  outcomes_.emplace(charge.idempotency_key, outcome);
  return outcome;
}

PaymentOutcome SandboxProcessor::void_charge(const ChargeRequest& charge) {
  if (!available_) return PaymentOutcome::kUnavailable;
  std::lock_guard lock(mutex_);
  voided_.insert(charge.idempotency_key);
  return PaymentOutcome::kApproved;
}

size_t SandboxProcessor::charges() const {
  std::lock_guard lock(mutex_);
  size_t approved = 0;
  for (const auto& [key, outcome] : outcomes_)
    if (outcome == PaymentOutcome::kApproved && !voided_.count(key)) ++approved;
  return approved;
}

size_t SandboxProcessor::voids() const {
  std::lock_guard lock(mutex_);
  return voided_.size();
}

}  // namespace hawker::checkout
