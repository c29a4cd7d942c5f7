// Subscriber: what a live connection (a WebSocket session) looks like to the
// channels that feed it, and SendQueue: the bounded queue such a connection
// keeps between the channels and its socket.
//
// The contract a session implements:
//  - deliver(frame) is called from any thread (whichever thread published),
//    never with a channel or hub lock held, possibly concurrently with the
//    session's own strand. It must never block and never do I/O inline: it
//    pushes the frame into the session's SendQueue (guarded by the session's
//    own small mutex, or by posting to its strand) and, when push() says
//    kStartWrite, starts the one async write on its strand.
//  - When push() says kFull the client is not keeping up: the session closes
//    with 1008 (policy violation), counts it (LiveMetrics::slow_consumers_closed)
//    and unsubscribes. Memory per connection never grows beyond the queue's bounds.
//  - deliver() may still be called a little after the session unsubscribed
//    (a broadcast that was already on its way); it must ignore it then.
//  - Channels hold sessions by weak_ptr: a session that is destroyed simply stops
//    receiving, but it should still unsubscribe so the viewer count is right.
//
// SendQueue is pure logic with "one write in flight" semantics, as in Beast's
// advanced server: front() is the frame being written; pop() is called when
// that write completes and says whether another write must start.
// SendQueue is thread-compatible: its owner serialises calls (mutex or strand).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "http/send_queue.h"
#include "live/frame.h"

namespace hawker::live {

class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // Queue `frame` for sending. Never blocks. See the contract above.
  // A non-zero `replace_key` lets the transport drop an older waiting frame
  // with the same key (http::WebSocketConnection::send).
  virtual void deliver(Frame frame, uint64_t replace_key = 0) = 0;
  // The network thread the connection lives on, if it has one: a broadcast
  // calls deliver() there, in one task for all of that thread's subscribers
  // (live::Outbox). Null: deliver() is called on the publishing thread.
  // Fixed from subscribe() on.
  virtual std::shared_ptr<http::NetworkThread> home() const { return nullptr; }
};

using SubscriberPtr = std::shared_ptr<Subscriber>;

// The queue itself is transport logic and lives in http/send_queue.h.
using http::kSendQueueBytesMax;
using http::kSendQueueMax;
using http::PushResult;
using http::SendQueue;
using http::SendQueueLimits;

}  // namespace hawker::live
