// `hawker spike`: replays the celebrity moment against a running hawker and
// checks the outcome.
//
// It sets the sale up through the public API (a seller, a product with
// --stock units, a show with the product pinned; or given ids), opens
// --viewers WebSocket viewers on the show (viewer i is signed in as buyer i,
// so that buyer learns its orders' fates from `order` frames), then sends
// every buyer's click on an open-loop schedule (spike/arrival.h) over
// --connections keep-alive HTTP connections. Every 202 is followed to its
// final state: by its `order` frame when the buyer watches, else (and as a
// fallback) by polling GET /v1/orders/{id}. At the end it reads the product's
// books and checks the invariants of spike/verdict.h.
//
// One thread, one io_context: no locks. Everything is bounded: the ramp of
// viewers, every HTTP exchange (30 s), the whole run (--duration).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/result.h"
#include "spike/report.h"

namespace hawker::spike {

struct Options {
  // HOST:PORT (an http:// prefix is allowed); several, comma-separated, take
  // turns by connection (a cluster's gateways); the first sets the sale up.
  std::string url = "127.0.0.1:8080";
  std::string secret_file;             // the server's JWT secret, to mint tokens
  int viewers = 0;
  int buyers = 1000;
  int clicks_per_buyer = 1;
  int64_t stock = 100;
  int64_t max_per_buyer = 0;
  std::string arrival = "ramp:1s";
  int connections = 256;
  double duration_s = 0;  // bound on the run after the first click; 0: the arrival window + 60 s
  uint64_t seed = 1;
  std::string product_id;  // with show_id: use this sale instead of creating one
  std::string show_id;
  std::string seller = "spike-seller";  // the seller the product belongs to (tokens are minted for it)
  std::string payment_token = "tok_visa";
  int poll_ms = 50;        // how often an unresolved order is polled
  std::FILE* progress = nullptr;  // a terminal for the live progress line, or null
};

// Checks the options (clear errors, nothing sent) and runs the spike. An
// error only when the spike could not run (bad options, server unreachable,
// setup refused); a run whose invariants fail is a Results with failed checks.
Result<Results> run_spike(const Options& options);

}  // namespace hawker::spike
