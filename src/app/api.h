// Api: the HTTP routes of docs/API.md over the checkout and store layers.
//
// Requests are handled on the network threads; POST /v1/orders answers from
// the intake's committer thread once the request is durable. Authentication
// is an HS256 bearer token; every failure is a JSON error with the right
// status and changes nothing. Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "bus/purchase_queue.h"
#include "checkout/gate.h"
#include "checkout/intake.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/token_cache.h"
#include "http/message.h"
#include "live/hub.h"
#include "store/event_tail.h"
#include "store/read_store.h"
#include "store/show_store.h"
#include "store/write_store.h"

namespace hawker::app {
class Streaming;
}

namespace hawker::app {

struct ApiContext {
  store::WriteStore* write_store = nullptr;
  store::ReadStore* read_store = nullptr;
  bus::PurchaseQueue* queue = nullptr;
  checkout::Gate* gate = nullptr;
  checkout::Intake* intake = nullptr;
  store::EventTail* projection = nullptr;  // for read-your-writes after a change
  store::ShowStore* shows = nullptr;
  live::LiveHub* hub = nullptr;
  TokenCache* tokens = nullptr;  // shared with the WebSocket endpoints
  Registry* metrics = nullptr;
  const Clock* clock = nullptr;
  std::string secret;
  Streaming* streaming = nullptr;  // null: no stream keys, ingest or playback URLs
  std::string ingest_secret;       // nginx-rtmp's callbacks carry it as ?secret=
  std::string web_root;            // the web pages (web/); empty: no pages
  bool allow_guests = false;       // POST /v1/auth/guest hands out buyer tokens
  bool allow_test_source = false;  // POST /v1/shows/{id}/test-source starts the synthetic stream
};

// GET /healthz and GET /metrics (what every process answers, a worker
// nothing else); anything else is a 404 error.
http::Response ops_response(const http::Request& request, Registry& metrics);

class Api {
 public:
  explicit Api(ApiContext context);
  ~Api();
  void handle(http::Request& request, http::Responder responder);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hawker::app
