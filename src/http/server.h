// HttpServer: an HTTP/1.1 server on Boost.Beast, hidden behind this
// Beast-free header.
//
// HTTP connections run on strands of one io_context that `threads` threads
// share, so any of them may serve any request. A WebSocket moves at its
// upgrade onto one of `threads` event loops of its own (in turn), each run by
// one thread, where it stays: a broadcast hands each loop its connections in
// a few tasks (live::Outbox), and a send on the loop starts the write at
// once. A handler gets the request and a
// Responder it may answer from any thread (so slow work, like waiting for a
// synced append, never blocks a network thread). Limits: request body,
// header size, read timeouts, and the number of open connections.
// start() and stop() from one thread; the handler is called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "http/message.h"
#include "http/websocket.h"

namespace hawker::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0: pick a free port
  int threads = 2;  // HTTP threads, and as many WebSocket loops
  // The network threads' nice value when not 0 (below 0 needs root or
  // CAP_SYS_NICE; without, they keep the process's priority). The HLS origin
  // uses it so a buyer spike on the API cannot starve video.
  int thread_nice = 0;
  // What the threads are called (ps -L, top -H): "<name>" for HTTP and
  // "<name>-ws" for the WebSocket loops (at most 15 characters in all).
  std::string thread_name = "hawker-http";
  size_t body_bytes_max = 16 * 1024;
  size_t header_bytes_max = 8 * 1024;
  int read_timeout_ms = 10'000;   // for one request's header and body
  int idle_timeout_ms = 60'000;   // keep-alive between requests
  // Open connections, HTTP and WebSocket together; beyond it new ones are
  // closed at once. Keep it under the process's file limit.
  size_t connections_max = 18'000;
  // WebSocket limits.
  size_t ws_message_bytes_max = 64 * 1024;  // larger client messages: close 1009
  int ws_idle_timeout_ms = 60'000;          // pings keep a healthy client alive
};

using Handler = std::function<void(Request&, Responder)>;

// What a route says to a WebSocket upgrade request: a handler to accept it,
// or (handler null) the HTTP response that refuses it (403 for a foreign
// Origin, 404 for an unknown show, ...).
struct UpgradeDecision {
  WebSocketHandlerPtr handler;
  Response refusal;
};
using UpgradeHandler = std::function<UpgradeDecision(const Request&)>;

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Binds and starts serving on background threads.
  virtual Status start() = 0;
  virtual uint16_t port() const = 0;
  // Stops accepting, closes connections, joins the threads.
  virtual void stop() = 0;
  virtual size_t open_connections() const = 0;
  virtual size_t open_websockets() const = 0;
  // WebSocket connections closed because they could not keep up (1008).
  virtual uint64_t slow_closed() const = 0;
};

std::unique_ptr<HttpServer> make_http_server(ServerOptions options, Handler handler, UpgradeHandler upgrade = {});

}  // namespace hawker::http
