// Server: one hawker process on the embedded default — RocksDB purchase
// queue and write store, SQLite read store, the gate and intake, checkout
// workers, event tails (projection, gate), and the HTTP API.
//
// start() opens everything under the data folder, recovers (orders waiting in
// the queue or for payment are picked up again), and serves; stop() shuts
// down in reverse order. Start and stop from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/result.h"

namespace hawker::app {

struct ServeOptions {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "hawker-data";
  std::string secret_file;  // default DATA/jwt.secret
  int http_threads = 2;
  int decide_threads = 2;
  int payment_threads = 2;
  int payment_latency_ms = 0;
  std::string payment_url;  // a Stripe-style processor tried before the sandbox
  size_t queue_depth_max = 200'000;
  size_t batch_max = 4096;
  int batch_wait_ms = 2;
  std::vector<std::string> allowed_origins;  // browser origins for WebSockets besides the server's own

  // Streaming. The HLS origin has its own listener and threads, so checkout
  // load cannot starve video. Empty rtmp_listen / edge_listen: hawker starts
  // no nginx for that part (an operator runs it, see docs/OPERATIONS.md).
  std::string hls_listen = "127.0.0.1:8081";  // "" = no HLS origin
  int hls_threads = 2;
  std::string rtmp_listen;      // e.g. 127.0.0.1:1935: run nginx-rtmp for ingest
  std::string edge_listen;      // e.g. 127.0.0.1:8082: run the nginx CDN edge
  std::string rtmp_public_url;  // what sellers are told; default rtmp://<rtmp_listen>/live
  std::string hls_public_url;   // base of playback URLs; default the edge, else the origin
  std::string ffmpeg = "ffmpeg";

  std::string web_root = HAWKER_WEB_ROOT;  // the web pages; "" = none
  bool allow_guests = false;               // POST /v1/auth/guest (the demo allows it)
  bool allow_test_source = false;          // sellers may start the synthetic stream (the demo)
};

class Server {
 public:
  virtual ~Server() = default;
  virtual uint16_t port() const = 0;
  virtual uint16_t hls_port() const = 0;  // 0 when there is no HLS origin
  virtual void stop() = 0;
};

Result<std::unique_ptr<Server>> start_server(const ServeOptions& options);

using hawker::split_host_port;  // core/address.h

}  // namespace hawker::app
