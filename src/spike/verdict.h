// What a spike must prove, as pass/fail checks over what the spike counted
// (its own view of every click) and what the server's books say afterwards.
// Pure: the network part fills a Tally, this decides.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hawker::spike {

struct Tally {
  // The sale: every buyer is fresh (holds nothing of the product before).
  int64_t stock = 0;             // units available when the spike started
  int64_t max_per_buyer = 0;     // 0: no limit
  int64_t buyers = 0;
  int64_t clicks_per_buyer = 1;  // each click asks for one unit, with its own Idempotency-Key

  // HTTP answers, one per click (a 429 is retried; the last answer counts).
  int64_t clicks = 0;          // clicks scheduled
  int64_t answered = 0;        // clicks with a final HTTP answer
  int64_t accepted = 0;        // 202
  int64_t sold_out = 0;        // 409 at the edge
  int64_t throttled = 0;       // 429 still after the retries
  int64_t server_errors = 0;   // 5xx
  int64_t client_errors = 0;   // other 4xx (a bug in the spike or the server)
  int64_t dropped = 0;         // no answer at all (connection failures after retries)
  int64_t replays_mismatched = 0;  // a retried key answered with another order id

  // Final states of the accepted orders.
  int64_t confirmed = 0;  // units (every order is one unit)
  int64_t rejected_sold_out = 0;
  int64_t rejected_limit = 0;
  int64_t rejected_other = 0;  // payment declined/failed, invalid
  int64_t unresolved = 0;      // accepted but no final state seen before the deadline

  // The product's books after the spike (GET /v1/products/{id}/inventory).
  bool books_read = false;
  int64_t initial = 0, restocked = 0, available = 0, reserved = 0, sold = 0;
  int64_t sold_before = 0;  // `sold` when the spike started

  // Viewers: how many were connected at the end, and how many of them last saw
  // the product's final available count in an `inventory` (or `hello`) frame.
  int64_t viewers = 0;
  int64_t viewers_saw_final = 0;
};

struct Check {
  std::string name;
  bool pass = false;
  std::string detail;  // the numbers behind the verdict
};

// Units the sale should sell: min(stock, demand), where demand is what the
// per-buyer limit lets every buyer take with their clicks.
int64_t expected_confirmed(const Tally& tally);

// The invariants, in a fixed order: nothing oversold; confirmed == expected;
// every buyer answered (and every 202 final); counts conserved; every viewer
// saw the final stock; no server errors or dropped clicks.
std::vector<Check> verdict(const Tally& tally);

bool all_pass(const std::vector<Check>& checks);

}  // namespace hawker::spike
