// The invariants the checkout simulation checks (DESIGN.md, "Invariants"),
// as functions over the store, what the simulated gateway accepted, and the
// payment ledger. Each appends a readable line per violation instead of
// failing the test, so one seed's report lists everything that went wrong.
// Single-threaded.
#pragma once

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "market/decision.h"
#include "market/event.h"
#include "market/order.h"
#include "market/product.h"
#include "sim_payment.h"
#include "store/write_store.h"

namespace hawker::checkout::sim {

using Violations = std::vector<std::string>;

// A product as the simulation created and restocked it.
struct SimProduct {
  uint64_t id = 0;
  int64_t price_cents = 0;
  int32_t max_per_buyer = 0;
  int64_t initial = 0;
  int64_t restocked = 0;  // every restock the simulation committed
};

// What the run must account for at quiescence.
struct Expectations {
  std::vector<SimProduct> products;
  std::map<uint64_t, market::PurchaseRequest> accepted;  // order id (the 202) -> request
  std::vector<uint64_t> deduplicated;  // ids of requests whose key was already taken: must stay unknown
};

template <typename... Parts>
void violation(Violations& out, const Parts&... parts) {
  std::ostringstream line;
  (line << ... << parts);
  out.push_back(line.str());
}

inline std::string inventory_text(const market::Inventory& inventory) {
  std::ostringstream text;
  text << "{initial " << inventory.initial << ", restocked " << inventory.restocked << ", available "
       << inventory.available << ", reserved " << inventory.reserved << ", sold " << inventory.sold << ", version "
       << inventory.version << "}";
  return text.str();
}

inline bool valid_quantity(int32_t quantity) { return quantity > 0 && quantity <= market::kQuantityMax; }

// Conservation and the simulation's own count of stock, at any point.
inline void check_stored_inventory(store::WriteStore& store, const SimProduct& product, std::string_view when,
                                   Violations& out) {
  auto snapshot = store.get_product(product.id);
  if (!snapshot || !*snapshot) return violation(out, when, ": product ", product.id, " cannot be read");
  const market::Inventory& inventory = (*snapshot)->inventory;
  if (!market::inventory_conserved(inventory))
    violation(out, when, ": product ", product.id, " not conserved or negative: ", inventory_text(inventory));
  if (inventory.initial != product.initial || inventory.restocked != product.restocked)
    violation(out, when, ": product ", product.id, " stock changed behind our back: ", inventory_text(inventory),
              ", expected initial ", product.initial, " restocked ", product.restocked);
}

// Every accepted request has one final order record that matches it.
inline std::map<uint64_t, market::OrderRecord> check_orders(store::WriteStore& store, const Expectations& expected,
                                                            Violations& out) {
  std::map<uint64_t, int64_t> price_of;
  for (const auto& product : expected.products) price_of[product.id] = product.price_cents;
  std::map<uint64_t, market::OrderRecord> orders;
  for (const auto& [order_id, request] : expected.accepted) {
    auto found = store.get_order(order_id);
    if (!found || !*found) {
      violation(out, "accepted order ", format_order_id(order_id), " has no order record");
      continue;
    }
    const market::OrderRecord& order = **found;
    const std::string id = format_order_id(order_id);
    if (!market::is_final(order.status))
      violation(out, "order ", id, " is not final: ", market::order_status_name(order.status));
    if (order.status == market::OrderStatus::kConfirmed && order.reason != market::RejectReason::kNone)
      violation(out, "confirmed order ", id, " has a reason");
    if (order.status == market::OrderStatus::kRejected && order.reason == market::RejectReason::kNone)
      violation(out, "rejected order ", id, " has no reason");
    if (order.product_id != request.product_id || order.buyer != request.buyer || order.quantity != request.quantity)
      violation(out, "order ", id, " does not match its request");
    if (valid_quantity(request.quantity) == (order.reason == market::RejectReason::kInvalid))
      violation(out, "order ", id, " with quantity ", request.quantity, " has reason '",
                market::reject_reason_name(order.reason), "'");
    if (valid_quantity(request.quantity) && order.amount_cents != price_of[order.product_id] * request.quantity)
      violation(out, "order ", id, " amount ", order.amount_cents, " is not price times quantity");
    orders.emplace(order_id, order);
  }
  for (uint64_t order_id : expected.deduplicated) {
    auto found = store.get_order(order_id);
    if (!found || *found) violation(out, "deduplicated request ", format_order_id(order_id), " has an order record");
  }
  return orders;
}

// Conservation at quiescence, sold == confirmed units, per-buyer limits and
// the stored holdings of limited products.
inline void check_products(store::WriteStore& store, const Expectations& expected,
                           const std::map<uint64_t, market::OrderRecord>& orders, Violations& out) {
  for (const auto& product : expected.products) {
    check_stored_inventory(store, product, "quiescent", out);
    std::map<std::string, int64_t> confirmed_by_buyer;
    int64_t confirmed_units = 0;
    for (const auto& [order_id, order] : orders) {
      if (order.product_id != product.id || order.status != market::OrderStatus::kConfirmed) continue;
      confirmed_units += order.quantity;
      confirmed_by_buyer[order.buyer] += order.quantity;
    }
    auto snapshot = store.get_product(product.id);
    if (!snapshot || !*snapshot) continue;
    const market::Inventory& inventory = (*snapshot)->inventory;
    if (inventory.reserved != 0)
      violation(out, "product ", product.id, " still has ", inventory.reserved, " reserved at quiescence");
    if (inventory.sold != confirmed_units)
      violation(out, "product ", product.id, " sold ", inventory.sold, " but confirmed orders hold ", confirmed_units);
    std::vector<std::string> buyers;
    for (const auto& [buyer, units] : confirmed_by_buyer) {
      buyers.push_back(buyer);
      if (product.max_per_buyer > 0 && units > product.max_per_buyer)
        violation(out, "buyer ", buyer, " holds ", units, " of product ", product.id, ", limit ",
                  product.max_per_buyer);
    }
    // Holdings are kept only for products with a per-buyer limit (the limit
    // is fixed at creation); for those they must equal what buyers hold.
    if (product.max_per_buyer == 0) continue;
    std::vector<std::string_view> views(buyers.begin(), buyers.end());
    auto load = store.load_for_decision(product.id, views, {});
    if (!load) continue;
    for (size_t i = 0; i < buyers.size(); ++i)
      if (load->holdings[i] != confirmed_by_buyer[buyers[i]])
        violation(out, "buyer ", buyers[i], " stored holding ", load->holdings[i], " of product ", product.id,
                  " but confirmed ", confirmed_by_buyer[buyers[i]]);
  }
}

// One charge per order at most; confirmed orders paid exactly once; rejected
// orders keep no money; orders rejected at decision never reach payment.
inline void check_money(const ChargeLedger& ledger, const std::map<uint64_t, market::OrderRecord>& orders,
                        Violations& out) {
  for (const auto& [key, record] : ledger) {
    uint64_t order_id = 0;
    if (!parse_order_id(key, order_id)) {
      violation(out, "charge under key '", key, "' that is no order id");
      continue;
    }
    if (record.money_taken > 1) violation(out, "order ", key, " charged ", record.money_taken, " times");
    if (record.amount_mismatches > 0) violation(out, "order ", key, " charged with differing amounts");
    auto order = orders.find(order_id);
    if (order == orders.end()) {
      violation(out, "charge for ", key, " which is no accepted order");
      continue;
    }
    if (order->second.status == market::OrderStatus::kRejected && record.money_held() != 0)
      violation(out, "rejected order ", key, " (", market::reject_reason_name(order->second.reason),
                ") keeps an approved, un-voided charge");
  }
  for (const auto& [order_id, order] : orders) {
    const std::string key = format_order_id(order_id);
    auto found = ledger.find(key);
    const bool paid_path = order.status == market::OrderStatus::kConfirmed ||
                           order.reason == market::RejectReason::kPaymentDeclined ||
                           order.reason == market::RejectReason::kPaymentFailed;
    if (!paid_path && found != ledger.end())
      violation(out, "order ", key, " rejected as ", market::reject_reason_name(order.reason), " went to payment");
    if (order.status != market::OrderStatus::kConfirmed) continue;
    if (found == ledger.end() || found->second.money_taken != 1 || found->second.money_returned != 0)
      violation(out, "confirmed order ", key, " was not approved exactly once with the money kept (taken ",
                found == ledger.end() ? 0 : found->second.money_taken, ", returned ",
                found == ledger.end() ? 0 : found->second.money_returned, ")");
    else if (found->second.amount_cents != order.amount_cents)
      violation(out, "confirmed order ", key, " charged ", found->second.amount_cents, " not ", order.amount_cents);
  }
}

// Replays the event log as it grows: gap-free seqs, conserved inventory on
// every event, one decision and at most one final event per order, buyer
// limits at every point; at quiescence, every order's stored status and each
// product's stored inventory.
class EventLogReplay {
 public:
  explicit EventLogReplay(const Expectations& expected) : expected_(expected) {}

  // Reads and checks the events written since the last call.
  void catch_up(store::WriteStore& store, std::string_view when, Violations& out) {
    auto events = store.read_events(replayed_, SIZE_MAX);
    if (!events) return violation(out, when, ": cannot read the event log");
    for (const market::Event& event : *events) consume(event, when, out);
    if (store.last_event_seq() != replayed_)
      violation(out, when, ": last_event_seq ", store.last_event_seq(), " but ", replayed_, " events read");
  }

  void check_quiescent(store::WriteStore& store, const std::map<uint64_t, market::OrderRecord>& orders,
                       Violations& out) {
    catch_up(store, "quiescent", out);
    for (const auto& [order_id, order] : orders) {
      const OrderReplay& replayed = orders_[order_id];
      if (replayed.decisions != 1)
        violation(out, "order ", format_order_id(order_id), " has ", replayed.decisions, " decision events");
      if (replayed.status != order.status || replayed.reason != order.reason)
        violation(out, "order ", format_order_id(order_id), " replays to ", market::order_status_name(replayed.status),
                  "/", market::reject_reason_name(replayed.reason), " but is stored ",
                  market::order_status_name(order.status), "/", market::reject_reason_name(order.reason));
    }
    for (const auto& product : expected_.products) {
      auto snapshot = store.get_product(product.id);
      if (snapshot && *snapshot && !(last_inventory_[product.id] == (*snapshot)->inventory))
        violation(out, "product ", product.id, " last event says ", inventory_text(last_inventory_[product.id]),
                  ", store says ", inventory_text((*snapshot)->inventory));
      if (restocked_[product.id] != product.restocked)
        violation(out, "product ", product.id, " restock events add to ", restocked_[product.id], " not ",
                  product.restocked);
    }
  }

 private:
  struct OrderReplay {
    int decisions = 0;
    int finals = 0;
    market::OrderStatus status = market::OrderStatus::kAccepted;
    market::RejectReason reason = market::RejectReason::kNone;
  };

  void consume(const market::Event& event, std::string_view when, Violations& out) {
    ++replayed_;
    if (event.seq != replayed_) violation(out, when, ": event at position ", replayed_, " has seq ", event.seq);
    if (!market::inventory_conserved(event.inventory))
      violation(out, when, ": event ", event.seq, " carries inventory ", inventory_text(event.inventory));
    last_inventory_[event.product_id] = event.inventory;
    if (event.type == market::EventType::kProductRestocked) restocked_[event.product_id] += event.quantity;
    if (event.order_id == 0) return;
    if (!expected_.accepted.count(event.order_id))
      violation(out, when, ": event ", event.seq, " for order ", format_order_id(event.order_id), " nobody accepted");
    consume_order_event(event, when, out);
  }

  void consume_order_event(const market::Event& event, std::string_view when, Violations& out) {
    using market::EventType;
    using market::OrderStatus;
    OrderReplay& order = orders_[event.order_id];
    int64_t& held = holdings_[{event.product_id, event.buyer}];
    const std::string id = format_order_id(event.order_id);
    if (event.type == EventType::kOrderReserved || (event.type == EventType::kOrderRejected && !event.was_reserved)) {
      if (++order.decisions > 1) violation(out, when, ": event ", event.seq, ": second decision for order ", id);
      order.status = event.type == EventType::kOrderReserved ? OrderStatus::kReserved : OrderStatus::kRejected;
      order.reason = event.reason;
      if (event.type == EventType::kOrderReserved) held += event.quantity;
    } else if (event.type == EventType::kOrderConfirmed || event.type == EventType::kOrderRejected) {
      if (order.status != OrderStatus::kReserved)
        violation(out, when, ": event ", event.seq, ": final event for order ", id, " which is already ",
                  market::order_status_name(order.status));
      if (++order.finals > 1) violation(out, when, ": event ", event.seq, ": second final event for order ", id);
      order.status = event.type == EventType::kOrderConfirmed ? OrderStatus::kConfirmed : OrderStatus::kRejected;
      order.reason = event.reason;
      if (event.type == EventType::kOrderRejected) held -= event.quantity;
    } else if (event.type == EventType::kPaymentFailed) {
      if (order.status != OrderStatus::kRejected || order.finals != 1)
        violation(out, when, ": event ", event.seq, ": payment_failed notice for order ", id, " not just rejected");
      return;
    }
    int32_t limit = 0;
    for (const auto& product : expected_.products)
      if (product.id == event.product_id) limit = product.max_per_buyer;
    if (held < 0 || (limit > 0 && held > limit))
      violation(out, when, ": event ", event.seq, ": buyer ", event.buyer, " holds ", held, " of product ",
                event.product_id, " (limit ", limit, ")");
  }

  const Expectations& expected_;
  uint64_t replayed_ = 0;
  std::map<uint64_t, OrderReplay> orders_;
  std::map<uint64_t, market::Inventory> last_inventory_;          // product -> as of its last event
  std::map<uint64_t, int64_t> restocked_;                         // product -> restocked units
  std::map<std::pair<uint64_t, std::string>, int64_t> holdings_;  // reserved + confirmed units
};

// Everything DESIGN.md promises once the pipeline is quiet.
inline void check_quiescent(store::WriteStore& store, const Expectations& expected, const ChargeLedger& ledger,
                            EventLogReplay& log, Violations& out) {
  auto orders = check_orders(store, expected, out);
  check_products(store, expected, orders, out);
  check_money(ledger, orders, out);
  log.check_quiescent(store, orders, out);
  auto awaiting = store.awaiting_payment(SIZE_MAX);
  if (!awaiting || !awaiting->empty()) violation(out, "orders still awaiting payment at quiescence");
}

}  // namespace hawker::checkout::sim
