// FakeProcessor: a small Stripe-style payment processor for tests, served by
// hawker's own HTTP server on a free loopback port.
//
//   POST /v1/charges  Idempotency-Key: K  {"amount":N,"currency":"usd","source":S}
//     source tok_visa -> 200 {"id":"ch_..","status":"succeeded",...}
//     any other       -> 402 {"error":{"type":"card_error","code":"card_declined"}}
//     the same K again -> the stored answer, unchanged, counted as a replay
//     no key or a bad body -> 400
//   POST /v1/charges/{K}/void -> 200 {"status":"voided"} (always at once)
//
// Programmable faults for charges (set_mode): kOutage answers 503 and stores
// nothing; kServerError answers 500 and stores nothing; kSlow processes the
// charge (stores it) but answers only after slow_ms, past a client's
// timeout; kGarbage answers 200 with a body that is not JSON. A fault may be
// limited to the next N charge requests, after which kNormal resumes.
//
// Every request is recorded by key, so tests can prove a key was charged once,
// replayed, voided, or never seen here. Thread-safe; start and stop from one
// thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/message.h"
#include "http/server.h"

namespace hawker::testing {

class FakeProcessor {
 public:
  enum class Mode { kNormal, kOutage, kServerError, kSlow, kGarbage };

  struct Charge {
    std::string key;
    int64_t amount = 0;
    std::string currency;
    std::string source;
    int status = 0;  // what it was answered (200 or 402)
    std::string body;
    int replays = 0;  // later requests answered from the stored result
    bool voided = false;
  };

  FakeProcessor();
  ~FakeProcessor();
  FakeProcessor(const FakeProcessor&) = delete;
  FakeProcessor& operator=(const FakeProcessor&) = delete;

  bool start();
  void stop();
  uint16_t port() const;
  std::string url() const;  // http://127.0.0.1:PORT

  // `requests` < 0: until changed; otherwise for the next `requests` charge
  // requests, then kNormal.
  void set_mode(Mode mode, int requests = -1);
  void set_slow_ms(int slow_ms);

  int charge_requests() const;                      // POST /v1/charges, all
  int charge_requests(const std::string& key) const;  // ... with this key
  int void_requests(const std::string& key) const;
  size_t charges_stored() const;  // distinct keys processed (approved or declined)
  size_t charges_succeeded() const;  // distinct keys approved and not voided
  std::optional<Charge> charge(const std::string& key) const;

 private:
  struct Delayed {
    std::chrono::steady_clock::time_point due;
    http::Responder responder;
    http::Response response;
  };
  void handle(http::Request& request, http::Responder responder);
  http::Response charge_response(const http::Request& request, const std::string& key);
  void delay_loop();

  std::unique_ptr<http::HttpServer> server_;

  mutable std::mutex mutex_;
  Mode mode_ = Mode::kNormal;
  int mode_requests_left_ = -1;
  int slow_ms_ = 1'500;
  int next_charge_id_ = 1;
  int total_charge_requests_ = 0;
  std::map<std::string, int> charge_requests_;
  std::map<std::string, int> void_requests_;
  std::map<std::string, Charge> charges_;

  std::condition_variable delayed_changed_;
  std::vector<Delayed> delayed_;
  bool stopping_ = false;
  std::thread delay_thread_;
};

}  // namespace hawker::testing
