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
// Thread-safety: thread-safe; every method may be called from any thread.
// One mutex guards the hub's maps and coalescers; it is never held while
// anything is delivered: targets and due values are collected under it,
// released, then handed to the channels. Lock order is hub -> channel: the hub
// takes a seller channel's lock under its own only to add or remove a
// connection (no delivery); channels never call the hub.
// Per-connection calls (subscribe, resume, unsubscribe of one Subscriber) are
// made by that connection's strand, one at a time.
#pragma once

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
#include "live/seller_channel.h"
#include "live/subscriber.h"
#include "market/event.h"

namespace hawker::live {

inline constexpr size_t kShowsMax = 100'000;
// Live connections one signed-in user may hold on this node (tabs, devices).
inline constexpr size_t kConnectionsPerUserMax = 32;

struct HubOptions {
  ChannelOptions channel;
  int64_t inventory_interval_us = kInventoryIntervalUs;
  int64_t viewers_interval_us = kViewersIntervalUs;
  size_t shows_max = kShowsMax;
  size_t connections_per_user_max = kConnectionsPerUserMax;
};

// Counters in /metrics. The session layer adds to slow_consumers_closed.
struct LiveMetrics {
  explicit LiveMetrics(Registry& registry);
  Counter& slow_consumers_closed;  // connections closed 1008: send queue full
  Counter& order_frames;           // order frames, one per buyer connection
  Counter& notices;                // notice frames, one per seller notice
  Counter& inventory_frames;       // inventory broadcasts, one per show
  Counter& chat_rejected;          // chat messages refused by the policy
};

class LiveHub {
 public:
  LiveHub(const Clock& clock, Registry& registry, HubOptions options = {});
  LiveHub(const LiveHub&) = delete;
  LiveHub& operator=(const LiveHub&) = delete;

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
  uint64_t pin_generation_ = 0;
  std::unordered_map<std::string, std::vector<ViewerConnection>> connections_by_user_;
  std::unordered_map<const Subscriber*, std::string> user_of_;
  std::unordered_map<std::string, std::shared_ptr<SellerChannel>> sellers_;
  InventoryCoalescer inventory_;
  ViewerCoalescer viewers_;
};

}  // namespace hawker::live
