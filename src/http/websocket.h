// WebSocket connections, Beast-free for the files that use them.
//
// A route that accepts WebSocket upgrades returns a WebSocketHandler; the
// server then runs the connection on its own strand: it reads text messages
// (at most ServerOptions::ws_message_bytes_max, else it closes with 1009),
// answers pings, closes idle connections, and sends frames from a bounded
// queue with one write in flight. A connection that cannot keep up (its queue
// full) is closed with 1008 and counted in slow_closed().
//
// Each connection lives on one network thread (its home): its callbacks run
// there, and a send() made there starts the write at once. A send() from any
// other thread is handed to the home thread (one post per frame), so whoever
// sends one frame to many connections should group them by home() and post
// one task per thread that sends to each (live::Outbox does).
//
// Thread-safety: WebSocketConnection::send and close may be called from any
// thread; the handler's callbacks run on the connection's home thread, one at
// a time, never concurrently for one connection.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace hawker::http {

using Frame = std::shared_ptr<const std::string>;

// Close codes hawker uses (RFC 6455).
inline constexpr uint16_t kCloseNormal = 1000;
inline constexpr uint16_t kCloseGoingAway = 1001;
inline constexpr uint16_t kClosePolicy = 1008;
inline constexpr uint16_t kCloseTooBig = 1009;

// A network thread: work posted to it runs on that one thread, in the order
// it was posted. Thread-safe.
class NetworkThread {
 public:
  virtual ~NetworkThread() = default;
  virtual void post(std::function<void()> work) = 0;
};

class WebSocketConnection {
 public:
  virtual ~WebSocketConnection() = default;
  // Queues a text frame. False when the connection is closing or its queue is
  // full (it is then closed with 1008). Never blocks. A non-zero
  // `replace_key` marks a frame whose newer value makes an older one useless
  // (a stock count): a queued frame with the same key that is not being
  // written yet is dropped, and this one goes to the back of the queue.
  virtual bool send(Frame frame, uint64_t replace_key = 0) = 0;
  virtual void close(uint16_t code, std::string_view reason) = 0;
  // The thread the connection lives on; null when the transport has none
  // to offer (send() from anywhere is then all there is). Held weakly: it
  // expires when the server that runs it is gone.
  virtual std::weak_ptr<NetworkThread> home() const { return {}; }
};

class WebSocketHandler {
 public:
  virtual ~WebSocketHandler() = default;
  // The handshake completed; `connection` stays valid until on_close.
  virtual void on_open(std::shared_ptr<WebSocketConnection> connection) = 0;
  virtual void on_text(std::string_view message) = 0;
  // The connection ended (any reason); no callback follows.
  virtual void on_close() = 0;
};

using WebSocketHandlerPtr = std::shared_ptr<WebSocketHandler>;

}  // namespace hawker::http
