// NatsRelay: best-effort fan-out of opaque messages between the processes of
// a cluster over core NATS (not JetStream), one subject per show:
// publish(show_id, bytes) sends to `<prefix>.live.<show_id>`, and every relay
// object on the same prefix, in any process, receives it through its
// subscription to `<prefix>.live.>` and hands the payload to its handler,
// except the messages it published itself (the server does not echo them to
// the publishing connection, and each message carries this object's origin id
// in a header, checked again on receipt).
//
// Ephemeral by design: nothing is stored. A process that is disconnected
// (or not yet connected) when a message is published never receives it; a
// publish while this object is disconnected is dropped and counted, not
// buffered for later. The connection reconnects forever (every
// kReconnectWaitMs) to any server of the url list.
//
// Bounds: a payload larger than the server's max payload is dropped (counted);
// received messages waiting for the handler are bounded (pending_messages_max,
// pending_bytes_max); beyond them cnats drops them (a slow consumer, logged).
//
// The bus layer knows nothing of what the bytes mean (the live hub's actions:
// app/live_relay.h adapts this to live::LiveRelay).
//
// Thread-safety: publish() and the counters may be called from any thread
// concurrently. The handler runs on one cnats thread, one message at a time,
// in the order each publisher sent them; it must not block for long and must
// not destroy the relay. Destroying the relay waits for a handler call in
// progress to return; no handler call starts after the destructor began.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hawker::bus {

struct NatsRelayOptions {
  std::string url = "nats://127.0.0.1:4222";  // or a comma-separated list of servers
  std::string name_prefix = "hawker";         // letters, digits, '-' and '_' only
  std::chrono::milliseconds connect_timeout{2'000};
  int pending_messages_max = 65'536;       // received, not yet handled
  int pending_bytes_max = 64 << 20;
};

using NatsRelayHandler = std::function<void(std::string_view bytes)>;

class NatsRelay {
 public:
  virtual ~NatsRelay() = default;
  // Non-blocking (cnats buffers the message and flushes it on its own thread):
  // dropped when not connected or when `bytes` is larger than the server's
  // max payload.
  virtual void publish(uint64_t show_id, std::string bytes) = 0;
  virtual bool connected() const = 0;
  // Messages publish() dropped, and received messages cnats dropped
  // (slow handler), since the relay opened.
  virtual uint64_t dropped_published() const = 0;
  virtual uint64_t dropped_received() const = 0;
  // This object's origin id (random; in the header of what it publishes).
  virtual const std::string& origin() const = 0;
};
using NatsRelayPtr = std::unique_ptr<NatsRelay>;

// Connects (bounded by connect_timeout) and subscribes. kInvalid: bad prefix
// or url or no handler; kUnavailable/kTimeout: no server could be reached.
Result<NatsRelayPtr> open_nats_relay(const NatsRelayOptions& options, NatsRelayHandler handler);

}  // namespace hawker::bus
