#include "live/hub.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <random>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/ids.h"

namespace hawker::live {
namespace json = boost::json;
using market::EventType;

namespace {

bool is_order_event(EventType type) {
  return type == EventType::kOrderReserved || type == EventType::kOrderRejected || type == EventType::kOrderConfirmed;
}

bool is_notice_event(EventType type) {
  return type == EventType::kOrderConfirmed || type == EventType::kLowStock || type == EventType::kSoldOut ||
         type == EventType::kPaymentFailed;
}

json::object order_body(const market::Event& event) {
  json::object body;
  body["order_id"] = format_order_id(event.order_id);
  switch (event.type) {
    case EventType::kOrderReserved: body["status"] = "reserved"; break;
    case EventType::kOrderConfirmed: body["status"] = "confirmed"; break;
    default:
      assert(event.type == EventType::kOrderRejected);
      body["status"] = "rejected";
      body["reason"] = market::reject_reason_name(event.reason);
      break;
  }
  return body;
}

json::object notice_body(const market::Event& event) {
  json::object body;
  switch (event.type) {
    case EventType::kOrderConfirmed: body["kind"] = "sale"; break;
    case EventType::kLowStock: body["kind"] = "low_stock"; break;
    case EventType::kSoldOut: body["kind"] = "sold_out"; break;
    default:
      assert(event.type == EventType::kPaymentFailed);
      body["kind"] = "payment_failed";
      break;
  }
  body["product_id"] = format_product_id(event.product_id);
  if (event.order_id != 0) {
    body["order_id"] = format_order_id(event.order_id);
    body["quantity"] = event.quantity;
  }
  if (event.type == EventType::kOrderConfirmed) body["amount_cents"] = event.amount_cents;
  if (event.type == EventType::kPaymentFailed) body["reason"] = market::reject_reason_name(event.reason);
  if (event.inventory.version > 0) body["available"] = event.inventory.available;
  return body;
}

constexpr int kNodeIdBits = 20;
static_assert(kNodeIdMax == (uint32_t{1} << kNodeIdBits) - 1);

HubOptions with_node_id(HubOptions options) {
  assert(options.node_id <= kNodeIdMax);
  if (options.node_id == 0) {
    std::random_device random;
    std::uniform_int_distribution<uint32_t> pick(1, kNodeIdMax);
    options.node_id = pick(random);
  }
  options.channel.node_id = options.node_id;
  return options;
}

// --- Reading relayed messages: untrusted input, no exceptions ---------------------

bool read_u64(const json::object& object, std::string_view key, uint64_t& out) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr) return false;
  if (value->is_uint64()) {
    out = value->get_uint64();
    return true;
  }
  if (value->is_int64() && value->get_int64() >= 0) {
    out = static_cast<uint64_t>(value->get_int64());
    return true;
  }
  return false;
}

bool read_i64(const json::object& object, std::string_view key, int64_t& out) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr) return false;
  if (value->is_int64()) {
    out = value->get_int64();
    return true;
  }
  if (value->is_uint64() && value->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    out = static_cast<int64_t>(value->get_uint64());
    return true;
  }
  return false;
}

bool read_string(const json::object& object, std::string_view key, std::string& out) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) return false;
  out.assign(value->get_string().begin(), value->get_string().end());
  return true;
}

const json::object* read_object(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value == nullptr ? nullptr : value->if_object();
}

bool read_stock_state(std::string_view name, market::StockState& state) {
  for (auto candidate : {market::StockState::kInStock, market::StockState::kLow, market::StockState::kSoldOut}) {
    if (market::stock_state_name(candidate) == name) {
      state = candidate;
      return true;
    }
  }
  return false;
}

Error malformed(std::string_view what) { return make_error(ErrorCode::kInvalid, "relayed message: " + std::string(what)); }

}  // namespace

LiveMetrics::LiveMetrics(Registry& registry)
    : slow_consumers_closed(registry.counter("hawker_live_slow_consumers_closed_total",
                                             "Live connections closed (1008) because their send queue was full")),
      order_frames(registry.counter("hawker_live_order_frames_total", "Order frames sent to buyer connections")),
      notices(registry.counter("hawker_live_notices_total", "Notices published to seller channels")),
      inventory_frames(registry.counter("hawker_live_inventory_frames_total", "Inventory broadcasts, per show")),
      chat_rejected(registry.counter("hawker_live_chat_rejected_total", "Chat messages refused by the chat policy")),
      relay_published(
          registry.counter("hawker_live_relay_published_total", "Show actions published to the other nodes")),
      relay_applied(registry.counter("hawker_live_relay_applied_total", "Show actions of other nodes applied here")),
      relay_rejected(registry.counter("hawker_live_relay_rejected_total",
                                      "Relayed show actions refused (malformed, unknown show, not allowed)")) {}

LiveHub::LiveHub(const Clock& clock, Registry& registry, HubOptions options)
    : clock_(clock),
      options_(with_node_id(std::move(options))),
      metrics_(registry),
      inventory_(clock, options_.inventory_interval_us),
      viewers_(clock, options_.viewers_interval_us) {}

// --- Shows ---------------------------------------------------------------------

Status LiveHub::open_show(uint64_t show_id, std::string seller, json::object show) {
  const bool relaying = relay_.load(std::memory_order_acquire) != nullptr;
  json::object message;
  if (relaying) {
    message["seller"] = seller;
    message["json"] = show;
  }
  if (Status opened = open_show_here(show_id, std::move(seller), std::move(show)); !opened) return opened;
  if (relaying) relay(show_id, "show", std::move(message));
  return ok_status();
}

Status LiveHub::open_show_here(uint64_t show_id, std::string seller, json::object show) {
  if (show_id == 0 || seller.empty()) return make_error(ErrorCode::kInvalid, "a show needs an id and a seller");
  std::shared_ptr<ShowChannel> existing;
  {
    std::lock_guard lock(mutex_);
    if (auto it = shows_.find(show_id); it != shows_.end()) {
      existing = it->second;
    } else {
      if (shows_.size() >= options_.shows_max) return make_error(ErrorCode::kOverloaded, "too many live shows");
      shows_.emplace(show_id,
                     std::make_shared<ShowChannel>(show_id, std::move(seller), std::move(show), clock_, options_.channel));
      return ok_status();
    }
  }
  if (existing->seller() != seller) return make_error(ErrorCode::kConflict, "the show belongs to another seller");
  existing->set_show(std::move(show));
  return ok_status();
}

void LiveHub::close_show(uint64_t show_id) {
  std::shared_ptr<ShowChannel> closed;  // destroyed after the lock is released
  std::lock_guard lock(mutex_);
  if (auto it = shows_.find(show_id); it != shows_.end()) {
    closed = std::move(it->second);
    shows_.erase(it);
  }
  unpin_locked(show_id);
}

std::shared_ptr<ShowChannel> LiveHub::find_show(uint64_t show_id) const {
  std::lock_guard lock(mutex_);
  return find_show_locked(show_id);
}

std::shared_ptr<ShowChannel> LiveHub::find_show_locked(uint64_t show_id) const {
  auto it = shows_.find(show_id);
  return it == shows_.end() ? nullptr : it->second;
}

size_t LiveHub::show_count() const {
  std::lock_guard lock(mutex_);
  return shows_.size();
}

// --- Viewer connections ------------------------------------------------------------

Status LiveHub::subscribe(uint64_t show_id, const SubscriberPtr& subscriber, std::string_view user,
                          std::optional<uint64_t> since_seq) {
  assert(subscriber != nullptr);
  std::shared_ptr<ShowChannel> channel;
  {
    std::lock_guard lock(mutex_);
    channel = find_show_locked(show_id);
    if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
    // The per-user bound is checked and taken in one step. Order frames reach
    // the connection only once the channel has subscribed it (send_direct
    // filters), so nothing arrives before its hello.
    if (!user.empty()) {
      auto& connections = connections_by_user_[std::string(user)];
      const bool known = std::any_of(connections.begin(), connections.end(), [&](const ViewerConnection& c) {
        return c.show_id == show_id && c.key == subscriber.get();
      });
      if (!known) {
        if (connections.size() >= options_.connections_per_user_max) {
          if (connections.empty()) connections_by_user_.erase(std::string(user));
          return make_error(ErrorCode::kOverloaded, "too many live connections for this user");
        }
        connections.push_back(ViewerConnection{show_id, subscriber, subscriber.get()});
        user_of_[subscriber.get()] = std::string(user);
      }
    }
  }
  auto count = channel->subscribe(subscriber, since_seq);
  if (!count) {
    std::lock_guard lock(mutex_);
    remove_connection_locked(show_id, subscriber.get());
    return count.error();
  }
  note_viewers_and_flush(show_id, *channel);
  return ok_status();
}

void LiveHub::unsubscribe(uint64_t show_id, const Subscriber* subscriber) {
  std::shared_ptr<ShowChannel> channel;
  {
    std::lock_guard lock(mutex_);
    remove_connection_locked(show_id, subscriber);
    channel = find_show_locked(show_id);
  }
  if (!channel) return;
  (void)channel->unsubscribe(subscriber);
  note_viewers_and_flush(show_id, *channel);
}

void LiveHub::remove_connection_locked(uint64_t show_id, const Subscriber* subscriber) {
  auto user = user_of_.find(subscriber);
  if (user == user_of_.end()) return;
  auto connections = connections_by_user_.find(user->second);
  bool still_used = false;
  if (connections != connections_by_user_.end()) {
    std::erase_if(connections->second,
                  [&](const ViewerConnection& c) { return c.show_id == show_id && c.key == subscriber; });
    still_used = std::any_of(connections->second.begin(), connections->second.end(),
                             [&](const ViewerConnection& c) { return c.key == subscriber; });
    if (connections->second.empty()) connections_by_user_.erase(connections);
  }
  if (!still_used) user_of_.erase(user);
}

Result<ShowChannel::Resume> LiveHub::resume(uint64_t show_id, const SubscriberPtr& subscriber, uint64_t since_seq) {
  std::shared_ptr<ShowChannel> channel = find_show(show_id);
  if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
  return channel->resume(subscriber, since_seq);
}

void LiveHub::note_viewers_and_flush(uint64_t show_id, const ShowChannel& channel) {
  Due due;
  {
    std::lock_guard lock(mutex_);
    // Read under the hub mutex, after this caller's own change: the last
    // update the coalescer sees is at least as new as every change before it.
    viewers_.update(show_id, static_cast<int64_t>(channel.viewer_count()));
    collect_due_locked(clock_.now_us(), due);
  }
  deliver_due(due);
}

// --- Seller connections -----------------------------------------------------------------

void LiveHub::subscribe_seller(std::string_view seller, const SubscriberPtr& subscriber) {
  assert(!seller.empty() && subscriber != nullptr);
  std::lock_guard lock(mutex_);
  auto& channel = sellers_[std::string(seller)];
  if (!channel) channel = std::make_shared<SellerChannel>(std::string(seller));
  (void)channel->subscribe(subscriber);  // hub -> channel lock order; no delivery
}

void LiveHub::unsubscribe_seller(std::string_view seller, const Subscriber* subscriber) {
  std::shared_ptr<SellerChannel> unused;  // destroyed after the lock is released
  std::lock_guard lock(mutex_);
  auto it = sellers_.find(std::string(seller));
  if (it == sellers_.end()) return;
  if (it->second->unsubscribe(subscriber) == 0) {
    unused = std::move(it->second);
    sellers_.erase(it);
  }
}

std::vector<std::shared_ptr<SellerChannel>> LiveHub::seller_channels() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<SellerChannel>> out;
  out.reserve(sellers_.size());
  for (const auto& [seller, channel] : sellers_) out.push_back(channel);
  return out;
}

size_t LiveHub::seller_viewers(std::string_view seller) const {
  std::lock_guard lock(mutex_);
  size_t viewers = 0;
  for (const auto& [show_id, channel] : shows_)
    if (channel->seller() == seller) viewers += channel->viewer_count();
  return viewers;
}

// --- Show actions ---------------------------------------------------------------------------

Result<uint64_t> LiveHub::pin(uint64_t show_id, uint64_t product_id, json::object product, StockLevel level,
                              const std::string& program_date_time) {
  const bool relaying = relay_.load(std::memory_order_acquire) != nullptr;
  json::object message;
  if (relaying) message["product"] = product;
  auto pinned = pin_here(show_id, product_id, std::move(product), level, program_date_time, 0);
  if (!pinned) return pinned.error();
  if (relaying) {
    message["product_id"] = product_id;
    message["available"] = pinned->level.available;
    message["state"] = market::stock_state_name(pinned->level.state);
    message["version"] = pinned->level.version;
    message["generation"] = pinned->generation;
    if (!program_date_time.empty()) message["program_date_time"] = program_date_time;
    relay(show_id, "pin", std::move(message));
  }
  return pinned->seq;
}

Result<LiveHub::Pinned> LiveHub::pin_here(uint64_t show_id, uint64_t product_id, json::object product,
                                          StockLevel level, const std::string& program_date_time,
                                          uint64_t relayed_generation) {
  if (product_id == 0) return make_error(ErrorCode::kInvalid, "no product");
  std::shared_ptr<ShowChannel> channel;
  uint64_t generation;
  {
    std::lock_guard lock(mutex_);
    channel = find_show_locked(show_id);
    if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
    auto pinned = pins_.find(show_id);
    if (relayed_generation == 0) {
      generation = (++pin_clock_ << kNodeIdBits) | options_.node_id;
    } else {
      // Lamport: a later local pin orders after every pin seen.
      pin_clock_ = std::max(pin_clock_, relayed_generation >> kNodeIdBits);
      if (pinned != pins_.end() && pinned->second.generation > relayed_generation)
        return make_error(ErrorCode::kConflict, "a newer pin of this show won");
      generation = relayed_generation;
    }
    // Index first, so every event from now on reaches this show, and number
    // the pin, so concurrent pins of one show settle on the newest everywhere.
    if (pinned != pins_.end() && pinned->second.product_id != product_id) unpin_locked(show_id);
    auto& shows = shows_by_product_[product_id];
    if (std::find(shows.begin(), shows.end(), show_id) == shows.end()) shows.push_back(show_id);
    pins_[show_id] = Pin{product_id, generation};
    if (auto known = stock_.find(product_id); known != stock_.end() && known->second.version >= level.version)
      level = known->second;
  }
  auto seq = channel->pin(product_id, std::move(product), level, generation, program_date_time);
  if (!seq) return make_error(ErrorCode::kConflict, "a newer pin of this show won");
  // An event that landed between reading the level and the channel's pin was
  // offered to the channel before it pinned the product; offer the latest again.
  std::optional<StockLevel> latest;
  {
    std::lock_guard lock(mutex_);
    if (auto known = stock_.find(product_id); known != stock_.end()) latest = known->second;
  }
  if (latest && channel->apply_inventory(product_id, *latest)) metrics_.inventory_frames.add();
  return Pinned{*seq, generation, level};
}

void LiveHub::unpin_locked(uint64_t show_id) {
  auto pinned = pins_.find(show_id);
  if (pinned == pins_.end()) return;
  const uint64_t product_id = pinned->second.product_id;
  pins_.erase(pinned);
  auto shows = shows_by_product_.find(product_id);
  if (shows == shows_by_product_.end()) return;
  std::erase(shows->second, show_id);
  if (shows->second.empty()) {
    shows_by_product_.erase(shows);
    stock_.erase(product_id);  // only pinned products are followed
  }
}

Result<ChatMessage> LiveHub::chat(uint64_t show_id, std::string_view user, std::string_view text) {
  std::shared_ptr<ShowChannel> channel = find_show(show_id);
  if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
  auto message = channel->post_chat(user, text);
  if (!message) {
    metrics_.chat_rejected.add();
    return message;
  }
  if (relay_.load(std::memory_order_acquire) != nullptr) relay(show_id, "chat", message->to_json());
  return message;
}

Result<uint64_t> LiveHub::delete_chat(uint64_t show_id, std::string_view actor, uint64_t message_id) {
  std::shared_ptr<ShowChannel> channel = find_show(show_id);
  if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
  auto deleted = channel->delete_chat(actor, message_id);
  if (deleted && relay_.load(std::memory_order_acquire) != nullptr)
    relay(show_id, "delete_chat", json::object{{"actor", actor}, {"id", message_id}});
  return deleted;
}

Status LiveHub::mute(uint64_t show_id, std::string_view actor, std::string_view user) {
  std::shared_ptr<ShowChannel> channel = find_show(show_id);
  if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
  Status done = channel->mute(actor, user);
  if (done && relay_.load(std::memory_order_acquire) != nullptr)
    relay(show_id, "mute", json::object{{"actor", actor}, {"user", user}});
  return done;
}

Status LiveHub::unmute(uint64_t show_id, std::string_view actor, std::string_view user) {
  std::shared_ptr<ShowChannel> channel = find_show(show_id);
  if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
  Status done = channel->unmute(actor, user);
  if (done && relay_.load(std::memory_order_acquire) != nullptr)
    relay(show_id, "unmute", json::object{{"actor", actor}, {"user", user}});
  return done;
}

Status LiveHub::set_blocked_words(uint64_t show_id, std::string_view actor, std::span<const std::string> words) {
  std::shared_ptr<ShowChannel> channel = find_show(show_id);
  if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
  Status done = channel->set_blocked_words(actor, words);
  if (done && relay_.load(std::memory_order_acquire) != nullptr) {
    json::array list;
    list.reserve(words.size());
    for (const std::string& word : words) list.emplace_back(word);
    relay(show_id, "blocked_words", json::object{{"actor", actor}, {"words", std::move(list)}});
  }
  return done;
}

// --- Cluster -----------------------------------------------------------------------------------

void LiveHub::relay(uint64_t show_id, std::string_view kind, json::object message) {
  LiveRelay* target = relay_.load(std::memory_order_acquire);
  if (target == nullptr) return;
  message["v"] = kRelayVersion;
  message["kind"] = kind;
  message["show"] = show_id;
  metrics_.relay_published.add();
  target->publish(show_id, json::serialize(message));
}

Status LiveHub::on_relayed(std::string_view bytes) {
  Status applied = [&]() -> Status {
    if (bytes.size() > kRelayMessageBytesMax) return malformed("too large");
    boost::system::error_code error;
    json::value value = json::parse(bytes, error);
    if (error) return malformed("not JSON: " + error.message());
    const json::object* message = value.if_object();
    if (message == nullptr) return malformed("not a JSON object");
    return apply_relayed(*message);
  }();
  (applied ? metrics_.relay_applied : metrics_.relay_rejected).add();
  return applied;
}

Status LiveHub::apply_relayed(const json::object& message) {
  uint64_t version = 0, show_id = 0;
  std::string kind;
  if (!read_u64(message, "v", version) || version != kRelayVersion) return malformed("unsupported version");
  if (!read_string(message, "kind", kind)) return malformed("no kind");
  if (!read_u64(message, "show", show_id) || show_id == 0) return malformed("no show");
  if (kind == "show") {
    std::string seller;
    const json::object* show = read_object(message, "json");
    if (!read_string(message, "seller", seller) || seller.empty() || show == nullptr)
      return malformed("show needs seller and json");
    return open_show_here(show_id, std::move(seller), *show);
  }
  if (kind == "pin") {
    uint64_t product_id = 0, generation = 0;
    StockLevel level;
    std::string state, program_date_time;
    const json::object* product = read_object(message, "product");
    if (product == nullptr || !read_u64(message, "product_id", product_id) || product_id == 0 ||
        !read_i64(message, "available", level.available) || level.available < 0 ||
        !read_string(message, "state", state) || !read_stock_state(state, level.state) ||
        !read_u64(message, "version", level.version) || !read_u64(message, "generation", generation) ||
        generation == 0)
      return malformed("pin needs product, product_id, available, state, version and generation");
    if ((generation & kNodeIdMax) == options_.node_id)
      return make_error(ErrorCode::kConflict, "relayed pin carries this node's id");
    if (message.contains("program_date_time") && !read_string(message, "program_date_time", program_date_time))
      return malformed("program_date_time is not a string");
    auto pinned = pin_here(show_id, product_id, *product, level, program_date_time, generation);
    return pinned ? ok_status() : Status(pinned.error());
  }
  std::shared_ptr<ShowChannel> channel = find_show(show_id);
  if (kind == "chat") {
    ChatMessage chat;
    if (!read_u64(message, "id", chat.id) || !read_string(message, "user", chat.user) ||
        !read_string(message, "text", chat.text) || !read_i64(message, "ts", chat.ts_ms))
      return malformed("chat needs id, user, text and ts");
    if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
    return channel->post_relayed_chat(chat);
  }
  std::string actor;
  if (!read_string(message, "actor", actor)) return malformed(kind + " needs an actor");
  if (kind == "delete_chat") {
    uint64_t id = 0;
    if (!read_u64(message, "id", id)) return malformed("delete_chat needs an id");
    if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
    auto deleted = channel->delete_chat(actor, id);
    return deleted ? ok_status() : Status(deleted.error());
  }
  if (kind == "mute" || kind == "unmute") {
    std::string user;
    if (!read_string(message, "user", user)) return malformed(kind + " needs a user");
    if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
    return kind == "mute" ? channel->mute(actor, user) : channel->unmute(actor, user);
  }
  if (kind == "blocked_words") {
    const json::value* words = message.if_contains("words");
    if (words == nullptr || !words->is_array() || words->get_array().size() > kBlockedWordsMax)
      return malformed("blocked_words needs a list of words");
    std::vector<std::string> list;
    list.reserve(words->get_array().size());
    for (const json::value& word : words->get_array()) {
      if (!word.is_string()) return malformed("a blocked word is not a string");
      list.emplace_back(word.get_string().begin(), word.get_string().end());
    }
    if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
    return channel->set_blocked_words(actor, list);
  }
  return malformed("unknown kind '" + kind.substr(0, 32) + "'");
}

// --- Events and timers ------------------------------------------------------------------------------

void LiveHub::on_event(const market::Event& event) {
  const int64_t now_us = clock_.now_us();
  std::vector<OrderTargets> orders;
  std::shared_ptr<SellerChannel> seller;
  Due due;
  {
    std::lock_guard lock(mutex_);
    if (event.inventory.version > 0) {
      const market::Inventory& inventory = event.inventory;
      const uint64_t product_id = inventory.product_id != 0 ? inventory.product_id : event.product_id;
      // Only pinned products are followed; pin() reads the level of the rest itself.
      if (shows_by_product_.contains(product_id)) {
        const StockLevel level{inventory.available, market::stock_state(inventory), inventory.version};
        auto [known, inserted] = stock_.try_emplace(product_id, level);
        if (inserted || level.version >= known->second.version) {
          known->second = level;
          inventory_.update(product_id, level);
        }
      }
    }
    if (is_order_event(event.type) && !event.buyer.empty()) orders = order_targets_locked(event.buyer);
    if (is_notice_event(event.type) && !event.seller.empty()) {
      if (auto it = sellers_.find(event.seller); it != sellers_.end()) seller = it->second;
    }
    collect_due_locked(now_us, due);
  }
  if (!orders.empty()) {
    const json::object body = order_body(event);
    for (OrderTargets& order : orders) {
      metrics_.order_frames.add(order.targets->size());
      order.channel->send_direct(std::move(order.targets), "order", body);
    }
  }
  if (seller) send_notice(event, *seller);
  deliver_due(due);
}

std::vector<LiveHub::OrderTargets> LiveHub::order_targets_locked(std::string_view user) const {
  std::vector<OrderTargets> out;
  auto connections = connections_by_user_.find(std::string(user));
  if (connections == connections_by_user_.end()) return out;
  for (const ViewerConnection& connection : connections->second) {
    auto same_show = std::find_if(out.begin(), out.end(),
                                  [&](const OrderTargets& o) { return o.channel->show_id() == connection.show_id; });
    if (same_show == out.end()) {
      std::shared_ptr<ShowChannel> channel = find_show_locked(connection.show_id);
      if (!channel) continue;  // closed show; the connection unsubscribes soon
      out.push_back(OrderTargets{std::move(channel), std::make_shared<Targets>()});
      same_show = out.end() - 1;
    }
    same_show->targets->emplace_back(connection.subscriber);
  }
  return out;
}

void LiveHub::send_notice(const market::Event& event, SellerChannel& seller) {
  metrics_.notices.add();
  (void)seller.publish("notice", notice_body(event));
}

void LiveHub::tick(int64_t now_us) {
  Due due;
  {
    std::lock_guard lock(mutex_);
    collect_due_locked(now_us, due);
  }
  deliver_due(due);
}

std::optional<int64_t> LiveHub::next_due_us() const {
  std::lock_guard lock(mutex_);
  auto inventory = inventory_.next_due_us();
  auto viewers = viewers_.next_due_us();
  if (inventory && viewers) return std::min(*inventory, *viewers);
  return inventory ? inventory : viewers;
}

void LiveHub::collect_due_locked(int64_t now_us, Due& due) {
  for (const InventoryUpdate& update : inventory_.poll(now_us)) {
    auto shows = shows_by_product_.find(update.product_id);
    if (shows == shows_by_product_.end()) continue;  // unpinned meanwhile
    for (uint64_t show_id : shows->second)
      if (auto channel = find_show_locked(show_id)) due.inventory.push_back({std::move(channel), update.product_id, update.level});
  }
  for (const ViewerUpdate& update : viewers_.poll(now_us))
    if (auto channel = find_show_locked(update.show_id)) due.viewers.push_back(std::move(channel));
}

void LiveHub::deliver_due(const Due& due) {
  for (const Due::Inventory& inventory : due.inventory)
    if (inventory.channel->apply_inventory(inventory.product_id, inventory.level)) metrics_.inventory_frames.add();
  for (const auto& channel : due.viewers) (void)channel->publish_viewers();
}

}  // namespace hawker::live
