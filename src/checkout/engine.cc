#include "checkout/engine.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "core/log.h"
#include "market/decision.h"

namespace hawker::checkout {
namespace {

using market::Event;
using market::EventType;
using market::Inventory;
using market::OrderRecord;
using market::OrderStatus;
using market::RejectReason;

Event order_event(EventType type, const OrderRecord& order, int64_t now_us) {
  Event event;
  event.type = type;
  event.ts_us = now_us;
  event.product_id = order.product_id;
  event.seller = order.seller;
  event.order_id = order.order_id;
  event.buyer = order.buyer;
  event.quantity = order.quantity;
  event.amount_cents = order.amount_cents;
  event.reason = order.reason;
  event.accepted_us = order.accepted_us;
  return event;
}

// Appends the seller notices a change of stock calls for.
void add_stock_notices(const Inventory& before, const Inventory& after, const std::string& seller, int64_t now_us,
                       std::vector<Event>& events) {
  auto notice = [&](EventType type) {
    Event event;
    event.type = type;
    event.ts_us = now_us;
    event.product_id = after.product_id;
    event.seller = seller;
    events.push_back(std::move(event));
  };
  if (before.available > 0 && after.available == 0) notice(EventType::kSoldOut);
  else if (before.available > before.low_threshold && after.available <= after.low_threshold && after.available > 0)
    notice(EventType::kLowStock);
}

void stamp_inventory(std::vector<Event>& events, const Inventory& inventory) {
  for (auto& event : events) event.inventory = inventory;
}

}  // namespace

CheckoutEngine::CheckoutEngine(store::WriteStore& store, bus::PurchaseQueue& queue, PaymentRouter& router,
                               const Clock& clock, EngineOptions options)
    : store_(store), queue_(queue), router_(router), clock_(clock), options_(options) {}

std::mutex& CheckoutEngine::product_owner(uint64_t product_id) {
  return owners_[(product_id * 0x9E3779B97F4A7C15ull) >> 58];  // 64 stripes
}

bool CheckoutEngine::product_has_limit(uint64_t product_id) {
  std::lock_guard lock(limits_mutex_);
  auto found = limits_.find(product_id);
  return found == limits_.end() || found->second > 0;  // unknown: assume a limit until seen
}

void CheckoutEngine::remember_limit(uint64_t product_id, int32_t max_per_buyer) {
  std::lock_guard lock(limits_mutex_);
  if (limits_.size() >= kLimitsCachedMax) limits_.clear();
  limits_[product_id] = max_per_buyer;
}

Result<std::vector<OrderRecord>> CheckoutEngine::decide(std::span<const bus::Delivery> deliveries) {
  stats_.batches.fetch_add(1, std::memory_order_relaxed);
  // Group by product, keeping arrival order within each product.
  std::map<uint64_t, std::vector<const bus::Delivery*>> by_product;
  for (const auto& delivery : deliveries) by_product[delivery.request.product_id].push_back(&delivery);
  std::vector<OrderRecord> reserved;
  Error first_error;
  bool failed = false;
  for (auto& [product_id, group] : by_product) {
    auto decided = decide_product(product_id, group);
    std::vector<uint64_t> ids;
    ids.reserve(group.size());
    for (const auto* delivery : group) ids.push_back(delivery->delivery_id);
    if (!decided) {
      // Not committed: let the requests come back rather than wait out the lease.
      (void)queue_.release(ids);
      log_warn("checkout.decide_failed", {{"product_id", product_id}, {"error", decided.error().message}});
      if (!failed) first_error = decided.error();
      failed = true;
      continue;
    }
    if (Status acked = queue_.ack(ids); !acked) {
      // The commit is durable; a lost ack only means a harmless redelivery.
      log_warn("checkout.ack_failed", {{"error", acked.error().message}});
    }
    for (auto& order : *decided) reserved.push_back(std::move(order));
  }
  if (failed && reserved.empty()) return first_error;
  return reserved;
}

Result<std::vector<OrderRecord>> CheckoutEngine::decide_product(uint64_t product_id,
                                                                std::span<const bus::Delivery* const> deliveries) {
  // Buyers and order ids to load; buyer slots index the holdings.
  std::vector<std::string_view> buyers;
  std::unordered_map<std::string_view, uint32_t> slot_of;
  std::vector<uint32_t> slots;
  // Every request is looked up, first deliveries too: a worker that stalls
  // past its lease may still hold a first copy after another worker decided
  // the redelivered one.
  std::vector<uint64_t> order_ids;
  slots.reserve(deliveries.size());
  order_ids.reserve(deliveries.size());
  for (const auto* delivery : deliveries) {
    std::string_view buyer = delivery->request.buyer;
    auto [it, inserted] = slot_of.emplace(buyer, static_cast<uint32_t>(buyers.size()));
    if (inserted) buyers.push_back(buyer);
    slots.push_back(it->second);
    order_ids.push_back(delivery->request.order_id);
  }
  // Products without a per-buyer limit need no holdings (the limit never changes).
  bool limited = product_has_limit(product_id);
  std::span<const std::string_view> buyers_to_load = limited ? std::span(buyers) : std::span<const std::string_view>();

  // One owner per product in this process: workers on the same product wait
  // here instead of deciding in parallel and losing the version race.
  std::lock_guard owner(product_owner(product_id));
  for (int attempt = 0; attempt <= options_.retries_max; ++attempt) {
    auto load = store_.load_for_decision(product_id, buyers_to_load, order_ids);
    if (!load) {
      if (load.error().code == ErrorCode::kNotFound) {
        // The gateway only queues known products; nothing to decide against.
        log_error("checkout.unknown_product", {{"product_id", product_id}});
        return std::vector<OrderRecord>();
      }
      return load.error();
    }
    const auto& definition = load->product.definition;
    const Inventory before = load->product.inventory;
    Inventory inventory = before;
    std::vector<market::BatchItem> items;
    std::vector<size_t> item_delivery;
    items.reserve(deliveries.size());
    remember_limit(product_id, definition.max_per_buyer);
    if (definition.max_per_buyer > 0 && !limited) {
      // Only if the cache was wrong; load the holdings and decide again.
      limited = true;
      buyers_to_load = buyers;
      continue;
    }
    std::unordered_set<uint64_t> seen;
    for (size_t i = 0; i < deliveries.size(); ++i) {
      if (load->order_exists[i]) continue;  // decided before: a redelivery
      // The same order twice in one batch (a redelivery racing its first copy).
      if (!seen.insert(deliveries[i]->request.order_id).second) continue;
      items.push_back(market::BatchItem{deliveries[i]->request.order_id, slots[i], deliveries[i]->request.quantity});
      item_delivery.push_back(i);
    }
    stats_.redelivered.fetch_add(deliveries.size() - items.size(), std::memory_order_relaxed);
    if (items.empty()) return std::vector<OrderRecord>();

    std::vector<int32_t> holdings = limited ? load->holdings : std::vector<int32_t>(buyers.size(), 0);
    std::vector<market::Verdict> verdicts(items.size());
    market::decide_batch(inventory, definition.max_per_buyer, holdings, items, verdicts);
    inventory.version = before.version + 1;

    const int64_t now = clock_.now_us();
    store::ProductCommit commit;
    commit.product_id = product_id;
    commit.expected_version = before.version;
    commit.inventory = inventory;
    commit.orders.reserve(items.size());
    commit.events.reserve(items.size() + 1);
    std::vector<OrderRecord> reserved;
    std::string processor;
    bool processor_chosen = false;
    for (size_t k = 0; k < items.size(); ++k) {
      const auto& request = deliveries[item_delivery[k]]->request;
      OrderRecord order;
      order.order_id = request.order_id;
      order.product_id = product_id;
      order.buyer = request.buyer;
      order.seller = definition.seller;
      order.quantity = request.quantity;
      order.amount_cents = definition.price_cents * std::max(request.quantity, 0);
      order.currency = definition.currency;
      order.payment_token = request.payment_token;
      order.accepted_us = request.accepted_us;
      order.updated_us = now;
      if (verdicts[k] == market::Verdict::kReserve) {
        if (!processor_chosen) {
          processor = router_.choose(definition.currency);
          processor_chosen = true;
        }
        order.processor = processor;
        order.status = OrderStatus::kReserved;
        commit.events.push_back(order_event(EventType::kOrderReserved, order, now));
        reserved.push_back(order);
      } else {
        order.status = OrderStatus::kRejected;
        order.reason = market::verdict_reason(verdicts[k]);
        commit.events.push_back(order_event(EventType::kOrderRejected, order, now));
      }
      commit.orders.push_back(std::move(order));
    }
    if (limited)
      for (size_t slot = 0; slot < buyers.size(); ++slot)
        if (holdings[slot] != load->holdings[slot])
          commit.holdings.emplace_back(std::string(buyers[slot]), holdings[slot]);
    add_stock_notices(before, inventory, definition.seller, now, commit.events);
    stamp_inventory(commit.events, inventory);

    auto committed = store_.commit(commit);
    if (committed) {
      stats_.commits.fetch_add(1, std::memory_order_relaxed);
      stats_.decided.fetch_add(items.size(), std::memory_order_relaxed);
      return reserved;
    }
    if (committed.error().code != ErrorCode::kVersionConflict) return committed.error();
    stats_.conflicts.fetch_add(1, std::memory_order_relaxed);
  }
  return make_error(ErrorCode::kVersionConflict, "product stayed contended past the retry bound");
}

Status CheckoutEngine::settle(std::span<const OrderRecord> reserved) {
  std::map<uint64_t, std::vector<std::pair<OrderRecord, Settlement>>> by_product;
  std::unordered_set<uint64_t> seen;
  Status result;
  for (const auto& order : reserved) {
    if (!seen.insert(order.order_id).second) continue;
    // Charge only what is still reserved. A caller's list can be stale (a
    // sweep racing a settle, a retry after a lost commit ack): going to the
    // processor again for a final order could take money for a rejected order,
    // or end in a void that hands back a confirmed order's money.
    auto current = store_.get_order(order.order_id);
    if (!current) {
      if (result) result = current.error();
      continue;
    }
    if (!*current || (*current)->status != OrderStatus::kReserved) continue;
    by_product[order.product_id].emplace_back(**current, router_.charge(**current));
  }
  for (auto& [product_id, outcomes] : by_product) {
    Status finalized = finalize(product_id, outcomes);
    if (!finalized && result) result = finalized;
    void_failed_charges(outcomes);
  }
  return result;
}

void CheckoutEngine::void_failed_charges(std::span<const std::pair<OrderRecord, Settlement>> outcomes) {
  for (const auto& [order, settlement] : outcomes) {
    if (settlement != Settlement::kFailed || order.processor.empty()) continue;
    // Void only once the rejection is stored (even if its commit reported an
    // error): an order still reserved is charged again later, and its
    // processor's replay must still hold the money if it was approved.
    auto current = store_.get_order(order.order_id);
    if (!current || !*current || (*current)->status != OrderStatus::kRejected) continue;
    (void)router_.void_charge(order);
  }
}

Status CheckoutEngine::finalize(uint64_t product_id, std::span<const std::pair<OrderRecord, Settlement>> outcomes) {
  std::vector<std::string_view> buyers;
  std::vector<uint64_t> none;
  for (const auto& [order, settlement] : outcomes) buyers.push_back(order.buyer);
  bool limited = product_has_limit(product_id);
  std::lock_guard owner(product_owner(product_id));
  for (int attempt = 0; attempt <= options_.retries_max; ++attempt) {
    auto load = store_.load_for_decision(
        product_id, limited ? std::span(buyers) : std::span<const std::string_view>(), none);
    if (!load) return load.error();
    const auto& definition = load->product.definition;
    remember_limit(product_id, definition.max_per_buyer);
    if (definition.max_per_buyer > 0 && !limited) {
      limited = true;
      continue;
    }
    const Inventory before = load->product.inventory;
    Inventory inventory = before;
    std::map<std::string, int32_t> loaded_holdings;
    if (limited)
      for (size_t i = 0; i < buyers.size(); ++i) loaded_holdings.emplace(std::string(buyers[i]), load->holdings[i]);
    std::map<std::string, int32_t> holdings = loaded_holdings;
    const int64_t now = clock_.now_us();
    store::ProductCommit commit;
    commit.product_id = product_id;
    commit.expected_version = before.version;
    std::unordered_set<uint64_t> in_commit;
    for (const auto& [order, settlement] : outcomes) {
      // An order listed twice is settled once: applying it twice would move its stock twice.
      if (!in_commit.insert(order.order_id).second) continue;
      // Settle only what is still reserved: a second settlement is a no-op.
      auto current = store_.get_order(order.order_id);
      if (!current) return current.error();
      if (!*current || (*current)->status != OrderStatus::kReserved) continue;
      OrderRecord updated = **current;
      updated.updated_us = now;
      if (settlement == Settlement::kConfirmed) {
        assert(market::can_transition(OrderStatus::kReserved, OrderStatus::kConfirmed, RejectReason::kNone));
        market::apply_confirmation(inventory, updated.quantity);
        updated.status = OrderStatus::kConfirmed;
        commit.events.push_back(order_event(EventType::kOrderConfirmed, updated, now));
      } else {
        market::apply_release(inventory, updated.quantity);
        if (limited) holdings[updated.buyer] -= updated.quantity;
        updated.status = OrderStatus::kRejected;
        updated.reason =
            settlement == Settlement::kDeclined ? RejectReason::kPaymentDeclined : RejectReason::kPaymentFailed;
        Event rejected = order_event(EventType::kOrderRejected, updated, now);
        rejected.was_reserved = true;
        commit.events.push_back(rejected);
        commit.events.push_back(order_event(EventType::kPaymentFailed, updated, now));
      }
      commit.orders.push_back(std::move(updated));
    }
    if (commit.orders.empty()) return {};
    for (const auto& [buyer, units] : holdings)
      if (units != loaded_holdings[buyer]) commit.holdings.emplace_back(buyer, units);
    inventory.version = before.version + 1;
    commit.inventory = inventory;
    add_stock_notices(before, inventory, definition.seller, now, commit.events);
    stamp_inventory(commit.events, inventory);
    auto committed = store_.commit(commit);
    if (committed) {
      stats_.commits.fetch_add(1, std::memory_order_relaxed);
      return {};
    }
    if (committed.error().code != ErrorCode::kVersionConflict) return committed.error();
    stats_.conflicts.fetch_add(1, std::memory_order_relaxed);
  }
  return make_error(ErrorCode::kVersionConflict, "product stayed contended past the retry bound");
}

}  // namespace hawker::checkout
