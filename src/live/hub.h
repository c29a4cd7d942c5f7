// LiveHub: the live layer of one node. It owns the show channels and the
// seller channels, knows which connection belongs to which buyer, and turns
// domain events into frames:
//
//   order_reserved / order_rejected / order_confirmed
//       -> `order {order_id, status, reason?}` to that buyer's connections only
//          (through each show's channel, so it is ordered with its broadcasts);
//   any event carrying an inventory (version > 0)
//       -> `inventory {product_id, available, state}` on every show that pins
//          the product, coalesced (InventoryCoalescer: at most 10/s, the latest
//          value always delivered);
//   order_confirmed / low_stock / sold_out / payment_failed
//       -> `notice {kind: sale|low_stock|sold_out|payment_failed, product_id,
//          order_id?, ...}` to the product's seller's connections only.
//
// Viewer counts are coalesced the same way (a `viewers` frame at most every
// 2 s per show). Nothing here has a thread or a timer: every call emits what is
// due at once, and the transport calls tick() at next_due_us() (an Asio
// steady_timer) to send the trailing values.
//
// Cluster mode (set_relay): several gateways serve one show's viewers. Stock
// and orders reach every gateway through the event log, but show actions
// happen on one node only, so after each local action succeeds (chat,
// delete_chat, mute, unmute, set_blocked_words, pin, open_show) the hub
// publishes one compact JSON message through its LiveRelay, and on_relayed()
// applies what another node published: the same frame to local viewers and
// the same state (chat tail, pin, muted users, blocked words, show JSON),
// without publishing it again (no loops) and without the per-user chat rate
// limit (the origin applied it); the shape is still checked, and a malformed
// message is an error that changes nothing. Messages (version 1), each with
// "v":1, "kind" and "show" (the show id):
//   chat          {id, user, text, ts}              (ts in ms, as sent)
//   delete_chat   {actor, id}
//   mute, unmute  {actor, user}
//   blocked_words {actor, words: [...]}
//   pin           {product_id, product, available, state, version,
//                  generation, program_date_time?}
//   show          {seller, json}                    (open_show)
// Chat ids carry the node id in their high bits (ChatRoom), so a
// `delete_chat {id}` on any node names the same message. Pins carry a
// generation that orders them across nodes (a Lamport clock above the node
// id): concurrent pins of one show settle on the same product everywhere, and
// the receiving hub's own newer stock level still wins, as in pin(). Actors
// are re-checked against the show's seller. Delivery is best effort (see
// live/relay.h): a node that misses a message is not told.
//
// Thread-safety: thread-safe; every method may be called from any thread.
// One mutex guards the hub's maps and coalescers; it is never held while
// anything is delivered: targets and due values are collected under it,
// released, then handed to the channels. Lock order is hub -> channel: the hub
// takes a seller channel's lock under its own only to add or remove a
// connection (no delivery); channels never call the hub.
// Per-connection calls (subscribe, resume, unsubscribe of one Subscriber) are
// made by that connection's strand, one at a time.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/object.hpp>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/result.h"
#include "live/channel.h"
#include "live/coalescer.h"
#include "live/relay.h"
#include "live/seller_channel.h"
#include "live/subscriber.h"
#include "market/event.h"

namespace hawker::live {

inline constexpr size_t kShowsMax = 100'000;
// Live connections one signed-in user may hold on this node (tabs, devices).
inline constexpr size_t kConnectionsPerUserMax = 32;
// The largest relayed message on_relayed() reads (NATS' default max payload).
inline constexpr size_t kRelayMessageBytesMax = size_t{1} << 20;
inline constexpr int kRelayVersion = 1;

struct HubOptions {
  ChannelOptions channel;
  int64_t inventory_interval_us = kInventoryIntervalUs;
  int64_t viewers_interval_us = kViewersIntervalUs;
  size_t shows_max = kShowsMax;
  size_t connections_per_user_max = kConnectionsPerUserMax;
  // 1..kNodeIdMax, unique among the nodes of a cluster (chat ids and pin
  // generations carry it). 0: a random one, chosen when the hub is made (two
  // of ten nodes collide with odds of about 1 in 23,000; set it to be sure).
  uint32_t node_id = 0;
};

// Counters in /metrics. The session layer adds to slow_consumers_closed.
struct LiveMetrics {
  explicit LiveMetrics(Registry& registry);
  Counter& slow_consumers_closed;  // connections closed 1008: send queue full
  Counter& order_frames;           // order frames, one per buyer connection
  Counter& notices;                // notice frames, one per seller notice
  Counter& inventory_frames;       // inventory broadcasts, one per show
  Counter& chat_rejected;          // chat messages refused by the policy
  Counter& relay_published;        // show actions published to the other nodes
  Counter& relay_applied;          // show actions of other nodes applied here
  Counter& relay_rejected;         // relayed messages refused (malformed, unknown show ...)
};

class LiveHub {
 public:
  LiveHub(const Clock& clock, Registry& registry, HubOptions options = {});
  LiveHub(const LiveHub&) = delete;
  LiveHub& operator=(const LiveHub&) = delete;

  // --- Cluster -----------------------------------------------------------------

  // Called once, before serving (not concurrently with the other methods'
  // first calls); null: a single node. `relay` outlives the hub's use of it.
  void set_relay(LiveRelay* relay) { relay_.store(relay, std::memory_order_release); }
  // Applies an action published by another node's hub (see above). kInvalid:
  // malformed or of an unknown version; kNotFound: the show is not open here;
  // the action's own errors (kForbidden, kConflict ...) otherwise. Never
  // publishes.
  Status on_relayed(std::string_view bytes);
  uint32_t node_id() const { return options_.node_id; }

  // --- Shows ------------------------------------------------------------------

  // Creates the show's channel, or updates the show JSON of an existing one.
  Status open_show(uint64_t show_id, std::string seller, boost::json::object show);
  // Drops the channel (connections keep their frames already queued).
  void close_show(uint64_t show_id);
  std::shared_ptr<ShowChannel> find_show(uint64_t show_id) const;
  size_t show_count() const;

  // --- Viewer connections -------------------------------------------------------

  // Subscribes to a show; `user` (the token's sub, empty for a guest) also
  // receives its `order` frames on this connection. Sends a hello, or the
  // broadcasts after `since_seq` when they are still in the history.
  // Order frames are not replayed: orders decided before the hello (or while
  // disconnected) are read back over HTTP (GET /v1/orders/{id}).
  // kNotFound: no such show; kOverloaded: the show or the user's connections are full.
  Status subscribe(uint64_t show_id, const SubscriberPtr& subscriber, std::string_view user,
                   std::optional<uint64_t> since_seq = std::nullopt);
  void unsubscribe(uint64_t show_id, const Subscriber* subscriber);
  Result<ShowChannel::Resume> resume(uint64_t show_id, const SubscriberPtr& subscriber, uint64_t since_seq);

  // --- Seller connections ---------------------------------------------------------

  void subscribe_seller(std::string_view seller, const SubscriberPtr& subscriber);
  void unsubscribe_seller(std::string_view seller, const Subscriber* subscriber);
  // The seller channels that have connections (for the `stats` frame).
  std::vector<std::shared_ptr<SellerChannel>> seller_channels() const;
  // Viewers on all of one seller's shows.
  size_t seller_viewers(std::string_view seller) const;

  // --- What happens on a show (the caller has authorised the actor) ----------------

  // Pins a product (its public JSON) and broadcasts `showcase`; the hub's own
  // latest stock for it wins over `level` when newer. Returns the showcase seq.
  // `program_date_time` (when not empty) is the product moment's place in the
  // video, sent in the frame so a player shows the card when the video does.
  Result<uint64_t> pin(uint64_t show_id, uint64_t product_id, boost::json::object product, StockLevel level,
                       const std::string& program_date_time = {});
  Result<ChatMessage> chat(uint64_t show_id, std::string_view user, std::string_view text);
  Result<uint64_t> delete_chat(uint64_t show_id, std::string_view actor, uint64_t message_id);
  Status mute(uint64_t show_id, std::string_view actor, std::string_view user);
  Status unmute(uint64_t show_id, std::string_view actor, std::string_view user);
  Status set_blocked_words(uint64_t show_id, std::string_view actor, std::span<const std::string> words);

  // --- Inputs ------------------------------------------------------------------------

  // A committed domain event, in event seq order (an EventTail's callback).
  void on_event(const market::Event& event);
  // Sends the coalesced values due at `now_us`.
  void tick(int64_t now_us);
  void tick() { tick(clock_.now_us()); }
  // When tick() has something to send (may be in the past); nullopt: nothing pending.
  std::optional<int64_t> next_due_us() const;

  LiveMetrics& metrics() { return metrics_; }

 private:
  struct ViewerConnection {
    uint64_t show_id = 0;
    std::weak_ptr<Subscriber> subscriber;
    const Subscriber* key = nullptr;
  };
  struct Pin {
    uint64_t product_id = 0;
    uint64_t generation = 0;
  };
  // Work collected under mutex_ and done after releasing it.
  struct Due {
    struct Inventory {
      std::shared_ptr<ShowChannel> channel;
      uint64_t product_id;
      StockLevel level;
    };
    std::vector<Inventory> inventory;
    std::vector<std::shared_ptr<ShowChannel>> viewers;
  };

  struct Pinned {
    uint64_t seq = 0;
    uint64_t generation = 0;
    StockLevel level;  // as shown: the hub's own when newer
  };
  // pin() without relaying; `relayed_generation` 0: a local pin (a new generation).
  Result<Pinned> pin_here(uint64_t show_id, uint64_t product_id, boost::json::object product, StockLevel level,
                          const std::string& program_date_time, uint64_t relayed_generation);
  Status open_show_here(uint64_t show_id, std::string seller, boost::json::object show);
  Status apply_relayed(const boost::json::object& message);
  // Publishes `message` (plus v, kind, show) when a relay is set. No lock held.
  void relay(uint64_t show_id, std::string_view kind, boost::json::object message);

  std::shared_ptr<ShowChannel> find_show_locked(uint64_t show_id) const;
  void collect_due_locked(int64_t now_us, Due& due);
  void deliver_due(const Due& due);
  void unpin_locked(uint64_t show_id);
  void remove_connection_locked(uint64_t show_id, const Subscriber* subscriber);
  void note_viewers_and_flush(uint64_t show_id, const ShowChannel& channel);
  // The buyer's connections, grouped by show: one serialisation per show.
  struct OrderTargets {
    std::shared_ptr<ShowChannel> channel;
    std::shared_ptr<Targets> targets;
  };
  std::vector<OrderTargets> order_targets_locked(std::string_view user) const;
  void send_notice(const market::Event& event, SellerChannel& seller);

  const Clock& clock_;
  const HubOptions options_;
  LiveMetrics metrics_;

  mutable std::mutex mutex_;
  std::unordered_map<uint64_t, std::shared_ptr<ShowChannel>> shows_;
  std::unordered_map<uint64_t, Pin> pins_;                                 // show -> pinned product
  std::unordered_map<uint64_t, std::vector<uint64_t>> shows_by_product_;  // product -> shows pinning it
  std::unordered_map<uint64_t, StockLevel> stock_;                         // latest level of pinned products
  uint64_t pin_clock_ = 0;  // Lamport clock of pins: generation = clock << 20 | node id
  std::unordered_map<std::string, std::vector<ViewerConnection>> connections_by_user_;
  std::unordered_map<const Subscriber*, std::string> user_of_;
  std::unordered_map<std::string, std::shared_ptr<SellerChannel>> sellers_;
  InventoryCoalescer inventory_;
  ViewerCoalescer viewers_;
  std::atomic<LiveRelay*> relay_{nullptr};
};

}  // namespace hawker::live
