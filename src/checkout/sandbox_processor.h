// SandboxProcessor: an in-process payment processor for the demo and tests.
// payment_token "tok_visa" approves, "tok_decline" declines, "tok_timeout"
// times out (after the configured timeout, without charging); anything else
// declines. Latency is configurable. It remembers every key: a repeated key
// returns the first outcome and is counted, so tests can prove nobody was
// charged twice. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "checkout/payment.h"

namespace hawker::checkout {

struct SandboxOptions {
  std::string name = "sandbox";
  std::set<std::string, std::less<>> currencies = {"USD", "EUR", "GBP"};
  int latency_ms = 0;
  int timeout_ms = 200;  // how long tok_timeout takes to time out
};

class SandboxProcessor final : public PaymentProcessor {
 public:
  explicit SandboxProcessor(SandboxOptions options);
  const std::string& name() const override { return options_.name; }
  bool supports(std::string_view currency) const override;
  PaymentOutcome authorize(const ChargeRequest& charge) override;
  PaymentOutcome void_charge(const ChargeRequest& charge) override;

  // While false, every call answers kUnavailable (an outage).
  void set_available(bool available) { available_ = available; }
  // How many distinct keys were charged (approved), and voids.
  size_t charges() const;
  size_t voids() const;

 private:
  SandboxOptions options_;
  std::atomic<bool> available_{true};
  mutable std::mutex mutex_;
  std::map<std::string, PaymentOutcome, std::less<>> outcomes_;
  std::set<std::string, std::less<>> voided_;
};

}  // namespace hawker::checkout
