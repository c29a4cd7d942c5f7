// HttpProcessor: a PaymentProcessor that talks to a Stripe-style HTTP API.
//
//   POST {base}/v1/charges   Idempotency-Key: <order id>
//        {"amount":<cents>,"currency":"usd","source":"<payment token>"}
//     200 {"id":..,"status":"succeeded"} -> approved
//     402 (card error)                  -> declined
//     409/429/503, or no connection     -> unavailable (nothing processed)
//     other 5xx, or no answer in time   -> timeout (outcome unknown)
//   POST {base}/v1/charges/<order id>/void  (cancels an unknown outcome)
//
// The same key on every attempt makes retries safe. Thread-safe (one
// connection per call).
#pragma once

#include <set>
#include <string>

#include "checkout/payment.h"
#include "core/result.h"

namespace hawker::checkout {

struct HttpProcessorOptions {
  int timeout_ms = 2'000;
  std::set<std::string, std::less<>> currencies = {"USD", "EUR", "GBP"};
};

// `base_url` is http://HOST:PORT (plain HTTP, e.g. to a local proxy or a fake).
Result<PaymentProcessorPtr> make_http_processor(std::string name, const std::string& base_url,
                                                HttpProcessorOptions options = {});

}  // namespace hawker::checkout
