#include "live/hub.h"

#include <algorithm>
#include <cassert>
#include <utility>

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

}  // namespace

LiveMetrics::LiveMetrics(Registry& registry)
    : slow_consumers_closed(registry.counter("hawker_live_slow_consumers_closed_total",
                                             "Live connections closed (1008) because their send queue was full")),
      order_frames(registry.counter("hawker_live_order_frames_total", "Order frames sent to buyer connections")),
      notices(registry.counter("hawker_live_notices_total", "Notices published to seller channels")),
      inventory_frames(registry.counter("hawker_live_inventory_frames_total", "Inventory broadcasts, per show")),
      chat_rejected(registry.counter("hawker_live_chat_rejected_total", "Chat messages refused by the chat policy")) {}

LiveHub::LiveHub(const Clock& clock, Registry& registry, HubOptions options)
    : clock_(clock),
      options_(std::move(options)),
      metrics_(registry),
      inventory_(clock, options_.inventory_interval_us),
      viewers_(clock, options_.viewers_interval_us) {}

// --- Shows ---------------------------------------------------------------------

Status LiveHub::open_show(uint64_t show_id, std::string seller, json::object show) {
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
  if (product_id == 0) return make_error(ErrorCode::kInvalid, "no product");
  std::shared_ptr<ShowChannel> channel;
  uint64_t generation;
  {
    std::lock_guard lock(mutex_);
    channel = find_show_locked(show_id);
    if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
    // Index first, so every event from now on reaches this show, and number
    // the pin, so concurrent pins of one show settle on the newest everywhere.
    auto pinned = pins_.find(show_id);
    if (pinned != pins_.end() && pinned->second.product_id != product_id) unpin_locked(show_id);
    auto& shows = shows_by_product_[product_id];
    if (std::find(shows.begin(), shows.end(), show_id) == shows.end()) shows.push_back(show_id);
    generation = ++pin_generation_;
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
  return *seq;
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
  if (!message) metrics_.chat_rejected.add();
  return message;
}

Result<uint64_t> LiveHub::delete_chat(uint64_t show_id, std::string_view actor, uint64_t message_id) {
  std::shared_ptr<ShowChannel> channel = find_show(show_id);
  if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
  return channel->delete_chat(actor, message_id);
}

Status LiveHub::mute(uint64_t show_id, std::string_view actor, std::string_view user) {
  std::shared_ptr<ShowChannel> channel = find_show(show_id);
  if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
  return channel->mute(actor, user);
}

Status LiveHub::unmute(uint64_t show_id, std::string_view actor, std::string_view user) {
  std::shared_ptr<ShowChannel> channel = find_show(show_id);
  if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
  return channel->unmute(actor, user);
}

Status LiveHub::set_blocked_words(uint64_t show_id, std::string_view actor, std::span<const std::string> words) {
  std::shared_ptr<ShowChannel> channel = find_show(show_id);
  if (!channel) return make_error(ErrorCode::kNotFound, "no such show");
  return channel->set_blocked_words(actor, words);
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
    same_show->targets->push_back(connection.subscriber);
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
