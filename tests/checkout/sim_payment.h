// SimProcessor: a PaymentProcessor for the checkout simulation, deterministic
// from a seed, that keeps a ledger of what really happened to the money.
//
// It behaves like a real processor with idempotency keys: the first call that
// is processed for a key fixes its outcome (approved takes the money; the
// token "tok_decline" declines) and every later call with that key answers
// the same outcome without moving money again — also after a void, as
// SandboxProcessor and a Stripe-style API replay do. Faults, rolled per call:
// unavailable (nothing processed), a timeout before processing (nothing
// processed), a timeout after processing (processed, the answer lost). Voids
// always succeed; a void gives back money the key took at this processor.
//
// The ChargeLedger is shared by all processors of one run and indexed by
// idempotency key, so a key charged at two processors, or twice, shows up.
// Single-threaded, like the simulation that drives it.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>

#include "checkout/payment.h"

namespace hawker::checkout::sim {

// What happened to one idempotency key across all processors.
struct ChargeRecord {
  int64_t amount_cents = 0;  // of the first call
  int money_taken = 0;       // approvals that moved money (more than 1: charged twice)
  int money_returned = 0;    // voids that gave an approval's money back
  int authorize_calls = 0;
  int void_calls = 0;
  int amount_mismatches = 0;  // calls with another amount than the first
  int money_held() const { return money_taken - money_returned; }
};

using ChargeLedger = std::map<std::string, ChargeRecord>;

// Probabilities per authorize() call.
struct PaymentFaults {
  double unavailable = 0;
  double timeout_before = 0;  // lost on the way in: nothing processed
  double timeout_after = 0;   // processed, the answer lost on the way back
};

class SimProcessor final : public PaymentProcessor {
 public:
  SimProcessor(std::string name, uint64_t seed, PaymentFaults faults, ChargeLedger& ledger)
      : name_(std::move(name)), random_(seed), faults_(faults), ledger_(ledger) {}

  const std::string& name() const override { return name_; }
  bool supports(std::string_view currency) const override { return currency == "USD"; }

  PaymentOutcome authorize(const ChargeRequest& charge) override {
    ChargeRecord& record = ledger_[charge.idempotency_key];
    if (record.authorize_calls++ == 0)
      record.amount_cents = charge.amount_cents;
    else if (record.amount_cents != charge.amount_cents)
      ++record.amount_mismatches;
    if (roll(faults_.unavailable)) return PaymentOutcome::kUnavailable;
    if (roll(faults_.timeout_before)) return PaymentOutcome::kTimeout;
    auto [state, first] = states_.try_emplace(charge.idempotency_key);
    if (first) {
      state->second.outcome =
          charge.payment_token == "tok_decline" ? PaymentOutcome::kDeclined : PaymentOutcome::kApproved;
      if (state->second.outcome == PaymentOutcome::kApproved) ++record.money_taken;
    }
    if (roll(faults_.timeout_after)) return PaymentOutcome::kTimeout;
    return state->second.outcome;  // a repeated key: the first outcome, no new charge
  }

  PaymentOutcome void_charge(const ChargeRequest& charge) override {
    ChargeRecord& record = ledger_[charge.idempotency_key];
    ++record.void_calls;
    auto found = states_.find(charge.idempotency_key);
    if (found != states_.end() && found->second.outcome == PaymentOutcome::kApproved && !found->second.voided) {
      found->second.voided = true;
      ++record.money_returned;
    }
    return PaymentOutcome::kApproved;
  }

 private:
  struct KeyState {
    PaymentOutcome outcome = PaymentOutcome::kDeclined;
    bool voided = false;
  };

  bool roll(double probability) { return probability > 0 && std::bernoulli_distribution(probability)(random_); }

  std::string name_;
  std::mt19937_64 random_;
  PaymentFaults faults_;
  ChargeLedger& ledger_;
  std::map<std::string, KeyState> states_;  // keys this processor has processed
};

}  // namespace hawker::checkout::sim
