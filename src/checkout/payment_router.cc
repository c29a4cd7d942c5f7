#include "checkout/payment_router.h"

#include <thread>

#include "core/ids.h"
#include "core/log.h"

namespace hawker::checkout {

ChargeRequest charge_for(const market::OrderRecord& order) {
  return ChargeRequest{format_order_id(order.order_id), order.amount_cents, order.currency, order.payment_token};
}

PaymentRouter::PaymentRouter(std::vector<PaymentProcessor*> processors, RouterOptions options, const Clock& clock)
    : processors_(std::move(processors)), options_(options), clock_(clock), breakers_(processors_.size()) {}

PaymentProcessor* PaymentRouter::find(const std::string& name) const {
  for (auto* processor : processors_)
    if (processor->name() == name) return processor;
  return nullptr;
}

std::string PaymentRouter::choose(std::string_view currency) {
  std::lock_guard lock(mutex_);
  const int64_t now = clock_.now_us();
  const PaymentProcessor* fallback = nullptr;
  for (size_t i = 0; i < processors_.size(); ++i) {
    if (!processors_[i]->supports(currency)) continue;
    if (fallback == nullptr) fallback = processors_[i];
    if (breakers_[i].open_until_us > now) continue;
    return processors_[i]->name();
  }
  // Every breaker is open: still pin the first processor that takes the
  // currency. Its retries (same key) may find it back; rejecting the order
  // untried would turn a short outage into lost sales.
  return fallback ? fallback->name() : std::string();
}

bool PaymentRouter::breaker_open(const std::string& processor) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < processors_.size(); ++i)
    if (processors_[i]->name() == processor) return breakers_[i].open_until_us > clock_.now_us();
  return false;
}

void PaymentRouter::record(const std::string& name, bool healthy) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < processors_.size(); ++i) {
    if (processors_[i]->name() != name) continue;
    Breaker& breaker = breakers_[i];
    if (healthy) {
      breaker.consecutive_failures = 0;
      breaker.open_until_us = 0;
    } else if (++breaker.consecutive_failures >= options_.failure_threshold) {
      const int64_t now = clock_.now_us();
      if (breaker.open_until_us <= now) log_warn("payment.breaker_open", {{"processor", name}});
      breaker.open_until_us = now + int64_t{options_.open_ms} * 1000;
    }
  }
}

Settlement PaymentRouter::settle(const market::OrderRecord& order) {
  bool ambiguous = false;
  const Settlement settlement = charge_with_retries(order, ambiguous);
  // The charge may have gone through: cancel it under the same key so a
  // rejected order never leaves money taken.
  if (settlement == Settlement::kFailed && ambiguous) (void)void_charge(order);
  return settlement;
}

Settlement PaymentRouter::charge(const market::OrderRecord& order) {
  bool ambiguous = false;
  return charge_with_retries(order, ambiguous);
}

PaymentOutcome PaymentRouter::void_charge(const market::OrderRecord& order) {
  PaymentProcessor* processor = find(order.processor);
  if (processor == nullptr) return PaymentOutcome::kApproved;  // never sent anywhere: nothing to cancel
  PaymentOutcome voided = processor->void_charge(charge_for(order));
  if (voided != PaymentOutcome::kApproved)
    log_error("payment.void_failed", {{"order_id", format_order_id(order.order_id)}, {"processor", order.processor}});
  return voided;
}

Settlement PaymentRouter::charge_with_retries(const market::OrderRecord& order, bool& ambiguous) {
  PaymentProcessor* processor = find(order.processor);
  if (processor == nullptr) return Settlement::kFailed;  // none could take it at reservation
  const ChargeRequest charge = charge_for(order);
  int backoff_ms = options_.retry_backoff_ms;
  for (int attempt = 1; attempt <= options_.attempts_max; ++attempt) {
    PaymentOutcome outcome = processor->authorize(charge);
    if (outcome == PaymentOutcome::kApproved || outcome == PaymentOutcome::kDeclined) {
      record(order.processor, true);
      return outcome == PaymentOutcome::kApproved ? Settlement::kConfirmed : Settlement::kDeclined;
    }
    record(order.processor, false);
    if (outcome == PaymentOutcome::kTimeout) ambiguous = true;
    if (attempt < options_.attempts_max && backoff_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
      backoff_ms *= 2;
    }
  }
  return Settlement::kFailed;
}

}  // namespace hawker::checkout
