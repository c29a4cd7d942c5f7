// Server: one hawker process. On the embedded default (no cluster URLs) it is
// the whole platform: RocksDB purchase queue and write store, SQLite read and
// show stores, the gate and intake, checkout workers, event tails
// (projection, gate, live), the HTTP API, the live channels and the HLS
// origin.
//
// Cluster mode (nats_url and postgres_url both set, docs/OPERATIONS.md): the
// queue and the event log are on NATS JetStream, the write, read and show
// stores on PostgreSQL, and the role picks what this process runs:
//   kGateway  HTTP API, WebSockets, HLS origin, the gate and intake (orders
//             go to the shared queue); its event tails follow the JetStream
//             event log, so its viewers see every gateway's sales, and the
//             live relay (NATS subjects per show) brings other gateways'
//             chat, pins and show changes. It waits for the workers'
//             projection instead of writing the read side, and may read
//             the read models from a replica (postgres_read_url, opened
//             read-only).
//   kWorker   checkout workers, the outbox relay (PostgreSQL's outbox into
//             the JetStream event log) and the read-side projection; its
//             HTTP listener answers only /healthz and /metrics.
//   kAll      both (`hawker serve --nats ... --postgres ...`).
// Each cluster gateway takes a node number from the write store at start, so
// order ids made by different gateways never collide.
//
// start() opens everything, recovers (orders waiting in the queue or for
// payment are picked up again), and serves; stop() shuts down in reverse
// order. Start and stop from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/result.h"

namespace hawker::app {

enum class NodeRole : uint8_t { kAll, kGateway, kWorker };

struct ServeOptions {
  NodeRole role = NodeRole::kAll;  // only cluster mode may run a part
  // Cluster mode: both set, or neither (the embedded default).
  std::string nats_url;      // JetStream, comma-separated nats://HOST:PORT of its nodes
  std::string postgres_url;  // libpq connection string or URI
  // Optional: where a process without the projection (a gateway) reads the
  // read models, read-only, e.g. a streaming-replication standby of
  // postgres_url. A process that runs the projection writes them on
  // postgres_url and ignores this.
  std::string postgres_read_url;
  std::string cluster_name = "hawker";  // prefix of the JetStream stream, bucket and consumer
  int nats_replicas = 1;                // 3 on a 3-node JetStream cluster
  int postgres_pool = 8;                // write-store connections per process
  int ack_wait_ms = 30'000;             // a crashed worker's orders come back after this

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
