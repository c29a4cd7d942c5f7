// ShowChannel: everything live about one show, and the fan-out to its viewers.
//
// Every broadcast gets the next per-show `seq` (1, 2, 3, ... with no gaps),
// is serialised once, kept in a bounded history for `resume`, and handed as
// the same shared pointer to every subscriber (Outbox: in seq order, with no
// lock held while delivering). The channel also keeps what a newcomer's
// `hello` needs: the show, the pinned product with its stock, the last
// kChatTailMax chat messages and the viewer count.
//
// Invariants:
//  - history holds broadcasts seq_ - history.size() + 1 .. seq_, contiguous;
//  - hello at seq N describes the state after broadcasts 1..N (the viewer
//    count excepted: it is always the live count);
//  - a subscriber receives exactly the broadcasts stamped after its subscribe
//    (after its hello, or after its replayed frames), each once, in seq order.
//
// Frames sent to one subscriber only (hello, replays, a buyer's `order`) carry
// the current seq without taking a new one: they sit between broadcast N and
// N+1, so a client's resume cursor (the highest seq it saw) stays right. They
// are not in the history; a replay covers broadcasts only.
//
// Thread-safety: thread-safe. One mutex guards the state; it is never held
// while calling Subscriber::deliver, so subscribers may call back in. A
// publish returns once its frame is queued; it is delivered before publish
// returns, or by the thread that is delivering at that moment (Outbox).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/clock.h"
#include "core/result.h"
#include "live/chat.h"
#include "live/coalescer.h"
#include "live/fanout.h"
#include "live/frame.h"
#include "live/subscriber.h"

namespace hawker::live {

// Broadcast frames kept for resume.
inline constexpr size_t kHistoryMax = 1024;
inline constexpr size_t kHistoryBytesMax = size_t{4} << 20;
// Chat messages a hello carries.
inline constexpr size_t kChatTailMax = 50;
// Viewers per show on one node.
inline constexpr size_t kSubscribersPerShowMax = 1'000'000;

struct ChannelOptions {
  size_t history_max = kHistoryMax;
  size_t history_bytes_max = kHistoryBytesMax;
  size_t chat_tail_max = kChatTailMax;
  size_t subscribers_max = kSubscribersPerShowMax;
  ChatLimits chat;
  uint32_t node_id = 0;  // the high bits of this node's chat ids (ChatRoom)
};

class ShowChannel {
 public:
  // `show` is the show's public JSON (DESIGN.md), sent in every hello.
  ShowChannel(uint64_t show_id, std::string seller, boost::json::object show, const Clock& clock,
              ChannelOptions options = {});
  ShowChannel(const ShowChannel&) = delete;
  ShowChannel& operator=(const ShowChannel&) = delete;

  // --- Subscriptions -------------------------------------------------------

  // Adds `subscriber` and sends it, ahead of any later broadcast, the
  // broadcasts after `since_seq` when the history still has them all, else a
  // fresh hello. Returns the viewer count; kOverloaded when the show is full.
  // Subscribing twice is harmless (the second call only sends the hello/replay).
  Result<size_t> subscribe(const SubscriberPtr& subscriber, std::optional<uint64_t> since_seq = std::nullopt);
  // Returns the viewer count.
  size_t unsubscribe(const Subscriber* subscriber);

  enum class Resume { kReplayed, kHello, kNotSubscribed };
  // A subscribed client's `resume {since_seq}`: replays the broadcasts after
  // since_seq to it alone, or sends a fresh hello when they are gone. It may
  // get a frame twice (one already on its way); clients drop seq they have seen.
  Resume resume(const SubscriberPtr& subscriber, uint64_t since_seq);

  // The broadcasts after `since_seq`, or nullopt when the history no longer
  // has them all (or since_seq is from the future: the server restarted).
  std::optional<std::vector<Frame>> replay_since(uint64_t since_seq) const;
  // A hello for now (what subscribe sends).
  Frame hello() const;

  // --- Broadcasts (each returns the seq it took) ----------------------------

  // Any type but those the channel owns the state of (hello, showcase, inventory, chat ...).
  uint64_t publish(std::string_view type, const boost::json::object& body);

  // Pins `product` (its public JSON; "available" and "state" are overwritten
  // from `level`) and broadcasts `showcase {product}`. `generation` orders
  // concurrent pins (LiveHub): a pin older than the current one is ignored
  // (nullopt). Standalone callers leave it 0. A non-empty
  // `program_date_time` goes into the frame as `program_date_time`.
  std::optional<uint64_t> pin(uint64_t product_id, boost::json::object product, const StockLevel& level,
                              uint64_t generation = 0, const std::string& program_date_time = {});
  // Broadcasts `inventory {product_id, available, state}` when `product_id` is
  // the pinned product, `level` is not older than what the channel has, and it
  // shows something new. Otherwise nullopt.
  std::optional<uint64_t> apply_inventory(uint64_t product_id, const StockLevel& level);
  // Broadcasts `viewers {count}` when the count changed since the last one.
  std::optional<uint64_t> publish_viewers();

  // --- Chat (policy: ChatRoom) ----------------------------------------------

  Result<ChatMessage> post_chat(std::string_view user, std::string_view text);
  // A message another node posted (ChatRoom::accept_relayed checks it): kept
  // in the chat tail and broadcast as `chat`, exactly as it was sent there.
  Status post_relayed_chat(const ChatMessage& message);
  // Broadcasts `chat_deleted {id}`; returns its seq.
  Result<uint64_t> delete_chat(std::string_view actor, uint64_t message_id);
  Status mute(std::string_view actor, std::string_view user);
  Status unmute(std::string_view actor, std::string_view user);
  Status set_blocked_words(std::string_view actor, std::span<const std::string> words);

  // --- To some subscribers only -----------------------------------------------

  // Sends {type, seq: current, ...body} to those of `targets` that are
  // subscribed at this moment, in order with the broadcasts. Serialised once
  // for all of them. Targets collected before a subscriber's subscribe
  // completed or after its unsubscribe get nothing, so a subscriber receives
  // frames only after its hello (or replay) and never after it unsubscribed.
  void send_direct(TargetsPtr targets, std::string_view type, const boost::json::object& body);

  // --- State ------------------------------------------------------------------

  void set_show(boost::json::object show);
  uint64_t show_id() const { return show_id_; }
  const std::string& seller() const { return seller_; }
  uint64_t seq() const;
  // Lock-free: the count after the latest subscribe/unsubscribe.
  size_t viewer_count() const { return viewer_count_.load(std::memory_order_acquire); }
  uint64_t pinned_product_id() const;
  std::vector<ChatMessage> chat_tail() const;
  size_t history_size() const;

 private:
  // All *_locked: mutex_ held.
  // `replace_key`: see Subscriber::deliver (stock and viewer counts only).
  uint64_t broadcast_locked(std::string_view type, const boost::json::object& body, uint64_t replace_key = 0);
  Frame hello_locked() const;
  std::optional<std::vector<Frame>> replay_locked(uint64_t since_seq) const;
  // Queues the replay after since_seq, or a hello, for `subscriber` alone.
  Resume catch_up_locked(const SubscriberPtr& subscriber, std::optional<uint64_t> since_seq);
  void drain() { outbox_.drain(mutex_); }

  const uint64_t show_id_;
  const std::string seller_;
  const ChannelOptions options_;

  mutable std::mutex mutex_;
  boost::json::object show_;
  uint64_t seq_ = 0;
  std::deque<Frame> history_;  // seq_ - history_.size() + 1 .. seq_
  size_t history_bytes_ = 0;
  ChatRoom chat_;
  std::deque<ChatMessage> chat_tail_;
  uint64_t pinned_product_id_ = 0;  // 0 = nothing pinned
  boost::json::object pinned_product_;
  StockLevel pinned_level_;
  uint64_t pin_generation_ = 0;
  int64_t viewers_published_ = -1;
  SubscriberSet subscribers_;
  std::atomic<size_t> viewer_count_{0};
  Outbox outbox_;
};

}  // namespace hawker::live
