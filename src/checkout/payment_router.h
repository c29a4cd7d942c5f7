// PaymentRouter: picks a processor for each order and settles it there.
//
// choose() runs when an order is reserved: the first processor, in the
// configured order, that takes the currency and whose circuit breaker is
// closed. The choice is stored with the order, so every later attempt —
// after a retry, a crash or a restart — goes to the same processor with the
// same idempotency key (the order id): an order is never charged under a new
// key nor at a second processor. A processor that keeps failing opens its
// breaker for a while, and new orders fall over to the next one.
// Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "checkout/payment.h"
#include "core/clock.h"
#include "market/order.h"

namespace hawker::checkout {

enum class Settlement : uint8_t { kConfirmed, kDeclined, kFailed };

struct RouterOptions {
  int failure_threshold = 5;   // consecutive failures that open a breaker
  int open_ms = 5'000;         // how long it stays open
  int attempts_max = 4;        // per order, on its processor
  int retry_backoff_ms = 50;   // between attempts (doubles each time)
};

class PaymentRouter {
 public:
  PaymentRouter(std::vector<PaymentProcessor*> processors, RouterOptions options, const Clock& clock);

  // The processor for a new order: the first that takes the currency with a
  // closed breaker; if all are open, the first that takes the currency; ""
  // only when none takes the currency.
  std::string choose(std::string_view currency);
  // Charges a reserved order on its pinned processor (retrying with the same
  // key) and says how it ended. kFailed after an ambiguous timeout also voids.
  Settlement settle(const market::OrderRecord& order);
  // settle() without the void, for a caller that stores the outcome first.
  // A void must wait until the order's rejection is durable: a processor
  // answers a repeated key with its first outcome, so if the rejection is
  // lost, the next settlement replays the approval and confirms an order
  // whose money was handed back. After kFailed, void_charge() once the
  // rejection is stored — always, as an earlier settlement may have charged.
  Settlement charge(const market::OrderRecord& order);
  // Cancels whatever was charged under the order's key at its processor.
  PaymentOutcome void_charge(const market::OrderRecord& order);

  bool breaker_open(const std::string& processor);

 private:
  struct Breaker {
    int consecutive_failures = 0;
    int64_t open_until_us = 0;
  };
  PaymentProcessor* find(const std::string& name) const;
  Settlement charge_with_retries(const market::OrderRecord& order, bool& ambiguous);
  void record(const std::string& name, bool healthy);

  std::vector<PaymentProcessor*> processors_;
  RouterOptions options_;
  const Clock& clock_;
  std::mutex mutex_;
  std::vector<Breaker> breakers_;  // parallel to processors_
};

ChargeRequest charge_for(const market::OrderRecord& order);

}  // namespace hawker::checkout
