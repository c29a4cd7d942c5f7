#include "live/channel.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include <boost/json/array.hpp>

#include "core/ids.h"

namespace hawker::live {
namespace json = boost::json;

namespace {
// Viewer counts replace each other like stock counts; product ids never reach it.
constexpr uint64_t kViewersReplaceKey = UINT64_MAX;

// Types whose state the channel keeps itself; publish() may not fake them.
[[maybe_unused]] bool is_owned_type(std::string_view type) {
  return type == "hello" || type == "showcase" || type == "inventory" || type == "viewers" || type == "chat" ||
         type == "chat_deleted";
}

}  // namespace

ShowChannel::ShowChannel(uint64_t show_id, std::string seller, json::object show, const Clock& clock,
                         ChannelOptions options)
    : show_id_(show_id),
      seller_(std::move(seller)),
      options_(options),
      show_(std::move(show)),
      chat_(seller_, clock, options.chat, options.node_id) {
  assert(options_.history_max > 0);
  assert(options_.subscribers_max > 0);
}

// --- Subscriptions ------------------------------------------------------------

Result<size_t> ShowChannel::subscribe(const SubscriberPtr& subscriber, std::optional<uint64_t> since_seq) {
  assert(subscriber != nullptr);
  size_t count = 0;
  {
    std::lock_guard lock(mutex_);
    if (!subscribers_.contains(subscriber.get()) && subscribers_.size() >= options_.subscribers_max)
      return make_error(ErrorCode::kOverloaded, "this show is full");
    subscribers_.insert(subscriber);
    count = subscribers_.size();
    viewer_count_.store(count, std::memory_order_release);
    (void)catch_up_locked(subscriber, since_seq);
  }
  drain();
  return count;
}

size_t ShowChannel::unsubscribe(const Subscriber* subscriber) {
  std::lock_guard lock(mutex_);
  subscribers_.erase(subscriber);
  const size_t count = subscribers_.size();
  viewer_count_.store(count, std::memory_order_release);
  return count;
}

ShowChannel::Resume ShowChannel::resume(const SubscriberPtr& subscriber, uint64_t since_seq) {
  assert(subscriber != nullptr);
  Resume result;
  {
    std::lock_guard lock(mutex_);
    if (!subscribers_.contains(subscriber.get())) return Resume::kNotSubscribed;
    result = catch_up_locked(subscriber, since_seq);
  }
  drain();
  return result;
}

ShowChannel::Resume ShowChannel::catch_up_locked(const SubscriberPtr& subscriber,
                                                 std::optional<uint64_t> since_seq) {
  auto only = std::make_shared<const Targets>(Targets{subscriber});
  if (since_seq) {
    if (auto frames = replay_locked(*since_seq)) {
      for (Frame& frame : *frames) outbox_.push(std::move(frame), only);
      return Resume::kReplayed;
    }
  }
  outbox_.push(hello_locked(), std::move(only));
  return Resume::kHello;
}

std::optional<std::vector<Frame>> ShowChannel::replay_since(uint64_t since_seq) const {
  std::lock_guard lock(mutex_);
  return replay_locked(since_seq);
}

std::optional<std::vector<Frame>> ShowChannel::replay_locked(uint64_t since_seq) const {
  if (since_seq > seq_) return std::nullopt;  // from another life of this channel
  const uint64_t oldest = seq_ - history_.size() + 1;  // seq of history_.front() (seq_ + 1 when empty)
  if (since_seq + 1 < oldest) return std::nullopt;  // missed frames already dropped
  std::vector<Frame> frames(history_.begin() + static_cast<std::ptrdiff_t>(since_seq + 1 - oldest), history_.end());
  assert(frames.size() == seq_ - since_seq);
  return frames;
}

Frame ShowChannel::hello() const {
  std::lock_guard lock(mutex_);
  return hello_locked();
}

Frame ShowChannel::hello_locked() const {
  json::object body;
  body["show"] = show_;
  if (pinned_product_id_ != 0) {
    body["product"] = pinned_product_;
  } else {
    body["product"] = nullptr;
  }
  json::array chat;
  chat.reserve(chat_tail_.size());
  for (const ChatMessage& message : chat_tail_) chat.push_back(message.to_json());
  body["chat"] = std::move(chat);
  body["viewers"] = subscribers_.size();
  return make_frame("hello", seq_, body);
}

// --- Broadcasts -----------------------------------------------------------------

uint64_t ShowChannel::broadcast_locked(std::string_view type, const json::object& body, uint64_t replace_key) {
  Frame frame = make_frame(type, ++seq_, body);
  history_bytes_ += frame->size();
  history_.push_back(frame);
  // Keep at least the newest frame, so resume from seq_ - 1 always works.
  while (history_.size() > 1 &&
         (history_.size() > options_.history_max || history_bytes_ > options_.history_bytes_max)) {
    history_bytes_ -= history_.front()->size();
    history_.pop_front();
  }
  TargetsPtr targets = subscribers_.snapshot();
  viewer_count_.store(subscribers_.size(), std::memory_order_release);  // the snapshot forgets the destroyed
  outbox_.push(std::move(frame), std::move(targets), replace_key);
  return seq_;
}

uint64_t ShowChannel::publish(std::string_view type, const json::object& body) {
  assert(!is_owned_type(type));
  uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    seq = broadcast_locked(type, body);
  }
  drain();
  return seq;
}

std::optional<uint64_t> ShowChannel::pin(uint64_t product_id, json::object product, const StockLevel& level,
                                         uint64_t generation, const std::string& program_date_time) {
  assert(product_id != 0);
  uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    if (generation < pin_generation_) return std::nullopt;
    pin_generation_ = generation;
    pinned_product_id_ = product_id;
    pinned_level_ = level;
    product["available"] = level.available;
    product["state"] = market::stock_state_name(level.state);
    pinned_product_ = std::move(product);
    json::object body;
    body["product"] = pinned_product_;
    if (!program_date_time.empty()) body["program_date_time"] = program_date_time;
    seq = broadcast_locked("showcase", body);
  }
  drain();
  return seq;
}

std::optional<uint64_t> ShowChannel::apply_inventory(uint64_t product_id, const StockLevel& level) {
  uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    if (product_id == 0 || product_id != pinned_product_id_) return std::nullopt;
    if (level.version < pinned_level_.version) return std::nullopt;  // older news
    const bool changed = !same_shown(level, pinned_level_);
    pinned_level_ = level;
    if (!changed) return std::nullopt;
    pinned_product_["available"] = level.available;
    pinned_product_["state"] = market::stock_state_name(level.state);
    json::object body;
    body["product_id"] = format_product_id(product_id);
    body["available"] = level.available;
    body["state"] = market::stock_state_name(level.state);
    // The server's wall clock at broadcast, so clients can measure delivery latency.
    body["ts_us"] = SystemClock::instance().now_us();
    // The latest count wins: a slow viewer skips counts it has not been sent yet.
    seq = broadcast_locked("inventory", body, product_id);
  }
  drain();
  return seq;
}

std::optional<uint64_t> ShowChannel::publish_viewers() {
  uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    const auto count = static_cast<int64_t>(subscribers_.size());
    if (count == viewers_published_) return std::nullopt;
    viewers_published_ = count;
    json::object body;
    body["count"] = count;
    seq = broadcast_locked("viewers", body, kViewersReplaceKey);
  }
  drain();
  return seq;
}

// --- Chat -------------------------------------------------------------------------

Result<ChatMessage> ShowChannel::post_chat(std::string_view user, std::string_view text) {
  Result<ChatMessage> message = make_error(ErrorCode::kInternal, "unset");
  {
    std::lock_guard lock(mutex_);
    message = chat_.post(user, text);
    if (!message) return message;
    chat_tail_.push_back(*message);
    while (chat_tail_.size() > options_.chat_tail_max) chat_tail_.pop_front();
    (void)broadcast_locked("chat", message->to_json());
  }
  drain();
  return message;
}

Status ShowChannel::post_relayed_chat(const ChatMessage& message) {
  {
    std::lock_guard lock(mutex_);
    if (Status valid = chat_.accept_relayed(message); !valid) return valid;
    chat_tail_.push_back(message);
    while (chat_tail_.size() > options_.chat_tail_max) chat_tail_.pop_front();
    (void)broadcast_locked("chat", message.to_json());
  }
  drain();
  return ok_status();
}

Result<uint64_t> ShowChannel::delete_chat(std::string_view actor, uint64_t message_id) {
  uint64_t seq;
  {
    std::lock_guard lock(mutex_);
    auto deleted = chat_.delete_message(actor, message_id);
    if (!deleted) return deleted.error();
    std::erase_if(chat_tail_, [&](const ChatMessage& message) { return message.id == message_id; });
    json::object body;
    body["id"] = message_id;
    seq = broadcast_locked("chat_deleted", body);
  }
  drain();
  return seq;
}

Status ShowChannel::mute(std::string_view actor, std::string_view user) {
  std::lock_guard lock(mutex_);
  return chat_.mute(actor, user);
}

Status ShowChannel::unmute(std::string_view actor, std::string_view user) {
  std::lock_guard lock(mutex_);
  return chat_.unmute(actor, user);
}

Status ShowChannel::set_blocked_words(std::string_view actor, std::span<const std::string> words) {
  std::lock_guard lock(mutex_);
  return chat_.set_blocked_words(actor, words);
}

// --- Direct -------------------------------------------------------------------------

void ShowChannel::send_direct(TargetsPtr targets, std::string_view type, const json::object& body) {
  assert(targets != nullptr);
  // Strong references taken to compare addresses die after the lock is
  // released: a session's destructor may unsubscribe.
  std::vector<SubscriberPtr> alive;
  alive.reserve(targets->size());
  for (const Target& target : *targets) alive.push_back(target.subscriber.lock());
  {
    std::lock_guard lock(mutex_);
    const auto subscribed = [&](const SubscriberPtr& s) { return s && subscribers_.contains(s.get()); };
    if (!std::all_of(alive.begin(), alive.end(), subscribed)) {
      auto filtered = std::make_shared<Targets>();
      for (const SubscriberPtr& subscriber : alive)
        if (subscribed(subscriber)) filtered->push_back(subscriber);
      targets = std::move(filtered);
    }
    if (targets->empty()) return;
    outbox_.push(make_frame(type, seq_, body), std::move(targets));
  }
  drain();
}

// --- State ----------------------------------------------------------------------------

void ShowChannel::set_show(json::object show) {
  std::lock_guard lock(mutex_);
  show_ = std::move(show);
}

uint64_t ShowChannel::seq() const {
  std::lock_guard lock(mutex_);
  return seq_;
}

uint64_t ShowChannel::pinned_product_id() const {
  std::lock_guard lock(mutex_);
  return pinned_product_id_;
}

std::vector<ChatMessage> ShowChannel::chat_tail() const {
  std::lock_guard lock(mutex_);
  return {chat_tail_.begin(), chat_tail_.end()};
}

size_t ShowChannel::history_size() const {
  std::lock_guard lock(mutex_);
  return history_.size();
}

}  // namespace hawker::live
