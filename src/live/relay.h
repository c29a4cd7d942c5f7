// LiveRelay: the port through which a LiveHub tells the other nodes of a
// cluster what happened on one of its shows (chat, chat deletion, mute,
// unmute, blocked words, pin, show update), so that viewers connected to
// another gateway see it too. The other side hands what it receives to
// LiveHub::on_relayed().
//
// Contract: publish() never blocks on the network. Delivery is best effort:
// an adapter may drop a message when its transport is down or its buffer is
// full (a node that misses one is not told; its viewers see the next action).
// `bytes` is opaque here: the hub's versioned JSON (see hub.h). `show_id`
// lets an adapter route by show (one NATS subject per show).
//
// Adapters: the NATS core one (bus/nats_relay.h, adapted in app/live_relay.h);
// tests join two hubs in memory. No adapter: a single node (LiveHub's default).
//
// Thread-safety: publish() is called from any thread, concurrently, never
// with a hub or channel lock held.
#pragma once

#include <cstdint>
#include <string>

namespace hawker::live {

class LiveRelay {
 public:
  virtual ~LiveRelay() = default;
  virtual void publish(uint64_t show_id, std::string bytes) = 0;
};

}  // namespace hawker::live
