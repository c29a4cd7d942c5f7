#include "market/event.h"

#include <cassert>

#include <boost/json.hpp>

#include "core/binary.h"

namespace hawker::market {
namespace json = boost::json;

std::string_view event_type_name(EventType type) {
  switch (type) {
    case EventType::kProductCreated: return "product_created";
    case EventType::kProductRestocked: return "product_restocked";
    case EventType::kOrderReserved: return "order_reserved";
    case EventType::kOrderRejected: return "order_rejected";
    case EventType::kOrderConfirmed: return "order_confirmed";
    case EventType::kLowStock: return "low_stock";
    case EventType::kSoldOut: return "sold_out";
    case EventType::kPaymentFailed: return "payment_failed";
  }
  return "unknown";
}

std::string encode_event_json(const Event& e) {
  json::object o;
  o["seq"] = e.seq;
  o["type"] = static_cast<int>(e.type);
  o["ts"] = e.ts_us;
  o["product"] = e.product_id;
  o["seller"] = e.seller;
  o["qty"] = e.quantity;  // order quantity, or the units a restock added
  if (e.order_id != 0) {
    o["order"] = e.order_id;
    o["buyer"] = e.buyer;
    o["amount"] = e.amount_cents;
    o["reason"] = static_cast<int>(e.reason);
    o["was_reserved"] = e.was_reserved;
    o["accepted"] = e.accepted_us;
  }
  if (e.type == EventType::kProductCreated) {
    o["title"] = e.definition.title;
    o["price"] = e.definition.price_cents;
    o["currency"] = e.definition.currency;
    o["max_per_buyer"] = e.definition.max_per_buyer;
  }
  const Inventory& i = e.inventory;
  o["inv"] = json::array{i.initial, i.restocked, i.available, i.reserved, i.sold, i.low_threshold, i.version};
  return json::serialize(o);
}

namespace {

Result<Event> decode_event_json(std::string_view bytes) {
  boost::system::error_code ec;
  json::value value = json::parse(bytes, ec);
  if (ec || !value.is_object()) return make_error(ErrorCode::kIo, "corrupt event record");
  try {
    const json::object& o = value.as_object();
    Event e;
    e.seq = json::value_to<uint64_t>(o.at("seq"));
    const int type = json::value_to<int>(o.at("type"));
    if (type < 0 || type > static_cast<int>(EventType::kPaymentFailed))
      return make_error(ErrorCode::kIo, "corrupt event record: unknown type " + std::to_string(type));
    e.type = static_cast<EventType>(type);
    e.ts_us = json::value_to<int64_t>(o.at("ts"));
    e.product_id = json::value_to<uint64_t>(o.at("product"));
    e.seller = json::value_to<std::string>(o.at("seller"));
    e.quantity = json::value_to<int32_t>(o.at("qty"));
    if (const auto* order = o.if_contains("order")) {
      e.order_id = json::value_to<uint64_t>(*order);
      e.buyer = json::value_to<std::string>(o.at("buyer"));
      e.amount_cents = json::value_to<int64_t>(o.at("amount"));
      const int reason = json::value_to<int>(o.at("reason"));
      if (reason < 0 || reason > static_cast<int>(RejectReason::kInvalid))
        return make_error(ErrorCode::kIo, "corrupt event record: unknown reason " + std::to_string(reason));
      e.reason = static_cast<RejectReason>(reason);
      e.was_reserved = o.at("was_reserved").as_bool();
      e.accepted_us = json::value_to<int64_t>(o.at("accepted"));
    }
    if (e.type == EventType::kProductCreated) {
      e.definition.id = e.product_id;
      e.definition.seller = e.seller;
      e.definition.title = json::value_to<std::string>(o.at("title"));
      e.definition.price_cents = json::value_to<int64_t>(o.at("price"));
      e.definition.currency = json::value_to<std::string>(o.at("currency"));
      e.definition.max_per_buyer = json::value_to<int32_t>(o.at("max_per_buyer"));
    }
    const json::array& inv = o.at("inv").as_array();
    Inventory& i = e.inventory;
    i.product_id = e.product_id;
    i.initial = json::value_to<int64_t>(inv.at(0));
    i.restocked = json::value_to<int64_t>(inv.at(1));
    i.available = json::value_to<int64_t>(inv.at(2));
    i.reserved = json::value_to<int64_t>(inv.at(3));
    i.sold = json::value_to<int64_t>(inv.at(4));
    i.low_threshold = json::value_to<int64_t>(inv.at(5));
    i.version = json::value_to<uint64_t>(inv.at(6));
    e.definition.low_threshold = i.low_threshold;
    return e;
  } catch (const std::exception& error) {
    return make_error(ErrorCode::kIo, std::string("corrupt event record: ") + error.what());
  }
}

constexpr uint8_t kBinaryFormat = 2;  // the first byte; a JSON record starts with '{'
constexpr uint8_t kHasOrder = 1;       // flag: the order fields follow

Error corrupt() { return make_error(ErrorCode::kIo, "corrupt event record"); }

Result<Event> decode_event_binary(std::string_view bytes) {
  BinaryReader in(bytes);
  Event e;
  uint8_t format = 0, type = 0, flags = 0;
  if (!in.get(format) || format != kBinaryFormat || !in.get(e.seq) || !in.get(type) || !in.get(e.ts_us) ||
      !in.get(e.product_id) || !in.get_string(e.seller) || !in.get(e.quantity) || !in.get(flags))
    return corrupt();
  if (type > static_cast<uint8_t>(EventType::kPaymentFailed))
    return make_error(ErrorCode::kIo, "corrupt event record: unknown type " + std::to_string(type));
  e.type = static_cast<EventType>(type);
  if ((flags & ~kHasOrder) != 0) return corrupt();
  if (flags & kHasOrder) {
    uint8_t reason = 0, was_reserved = 0;
    if (!in.get(e.order_id) || !in.get_string(e.buyer) || !in.get(e.amount_cents) || !in.get(reason) ||
        !in.get(was_reserved) || !in.get(e.accepted_us) || was_reserved > 1)
      return corrupt();
    if (reason > static_cast<uint8_t>(RejectReason::kInvalid))
      return make_error(ErrorCode::kIo, "corrupt event record: unknown reason " + std::to_string(reason));
    e.reason = static_cast<RejectReason>(reason);
    e.was_reserved = was_reserved == 1;
  }
  if (e.type == EventType::kProductCreated) {
    e.definition.id = e.product_id;
    e.definition.seller = e.seller;
    if (!in.get_string(e.definition.title) || !in.get(e.definition.price_cents) ||
        !in.get_string(e.definition.currency) || !in.get(e.definition.max_per_buyer))
      return corrupt();
  }
  Inventory& i = e.inventory;
  i.product_id = e.product_id;
  if (!in.get(i.initial) || !in.get(i.restocked) || !in.get(i.available) || !in.get(i.reserved) || !in.get(i.sold) ||
      !in.get(i.low_threshold) || !in.get(i.version) || !in.done())
    return corrupt();
  e.definition.low_threshold = i.low_threshold;
  return e;
}

}  // namespace

std::string encode_event(const Event& e) {
  // A value out of range would commit a record every consumer refuses.
  assert(e.type <= EventType::kPaymentFailed && e.reason <= RejectReason::kInvalid);
  std::string out;
  out.reserve(96 + e.seller.size() + e.buyer.size() +
              (e.type == EventType::kProductCreated ? e.definition.title.size() + e.definition.currency.size() : 0));
  BinaryWriter w(out);
  const bool has_order = e.order_id != 0;
  w.put(kBinaryFormat).put(e.seq).put(static_cast<uint8_t>(e.type)).put(e.ts_us).put(e.product_id);
  w.put_string(e.seller).put(e.quantity).put(has_order ? kHasOrder : uint8_t{0});
  if (has_order) {
    w.put(e.order_id).put_string(e.buyer).put(e.amount_cents).put(static_cast<uint8_t>(e.reason));
    w.put(static_cast<uint8_t>(e.was_reserved ? 1 : 0)).put(e.accepted_us);
  }
  if (e.type == EventType::kProductCreated) {
    w.put_string(e.definition.title).put(e.definition.price_cents).put_string(e.definition.currency);
    w.put(e.definition.max_per_buyer);
  }
  const Inventory& i = e.inventory;
  w.put(i.initial).put(i.restocked).put(i.available).put(i.reserved).put(i.sold).put(i.low_threshold).put(i.version);
  return out;
}

Result<Event> decode_event(std::string_view bytes) {
  if (!bytes.empty() && bytes.front() == '{') return decode_event_json(bytes);
  return decode_event_binary(bytes);
}

}  // namespace hawker::market
