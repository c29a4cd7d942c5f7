#include "store/codec.h"

#include <boost/json.hpp>

namespace hawker::store {
namespace json = boost::json;

std::string encode_product(const ProductSnapshot& p) {
  const auto& d = p.definition;
  const auto& i = p.inventory;
  json::object o;
  o["id"] = d.id;
  o["seller"] = d.seller;
  o["title"] = d.title;
  o["price"] = d.price_cents;
  o["currency"] = d.currency;
  o["max_per_buyer"] = d.max_per_buyer;
  o["inv"] = json::array{i.initial, i.restocked, i.available, i.reserved, i.sold, i.low_threshold, i.version};
  return json::serialize(o);
}

Result<ProductSnapshot> decode_product(std::string_view bytes) {
  boost::system::error_code ec;
  json::value value = json::parse(bytes, ec);
  if (ec || !value.is_object()) return make_error(ErrorCode::kIo, "corrupt product record");
  try {
    const auto& o = value.as_object();
    ProductSnapshot p;
    auto& d = p.definition;
    d.id = json::value_to<uint64_t>(o.at("id"));
    d.seller = json::value_to<std::string>(o.at("seller"));
    d.title = json::value_to<std::string>(o.at("title"));
    d.price_cents = json::value_to<int64_t>(o.at("price"));
    d.currency = json::value_to<std::string>(o.at("currency"));
    d.max_per_buyer = json::value_to<int32_t>(o.at("max_per_buyer"));
    const auto& inv = o.at("inv").as_array();
    auto& i = p.inventory;
    i.product_id = d.id;
    i.initial = json::value_to<int64_t>(inv.at(0));
    i.restocked = json::value_to<int64_t>(inv.at(1));
    i.available = json::value_to<int64_t>(inv.at(2));
    i.reserved = json::value_to<int64_t>(inv.at(3));
    i.sold = json::value_to<int64_t>(inv.at(4));
    i.low_threshold = json::value_to<int64_t>(inv.at(5));
    i.version = json::value_to<uint64_t>(inv.at(6));
    d.low_threshold = i.low_threshold;
    return p;
  } catch (const std::exception& error) {
    return make_error(ErrorCode::kIo, std::string("corrupt product record: ") + error.what());
  }
}

std::string encode_order(const market::OrderRecord& r) {
  json::object o;
  o["id"] = r.order_id;
  o["product"] = r.product_id;
  o["buyer"] = r.buyer;
  o["seller"] = r.seller;
  o["qty"] = r.quantity;
  o["amount"] = r.amount_cents;
  o["currency"] = r.currency;
  o["token"] = r.payment_token;
  o["processor"] = r.processor;
  o["status"] = static_cast<int>(r.status);
  o["reason"] = static_cast<int>(r.reason);
  o["accepted"] = r.accepted_us;
  o["updated"] = r.updated_us;
  return json::serialize(o);
}

Result<market::OrderRecord> decode_order(std::string_view bytes) {
  boost::system::error_code ec;
  json::value value = json::parse(bytes, ec);
  if (ec || !value.is_object()) return make_error(ErrorCode::kIo, "corrupt order record");
  try {
    const auto& o = value.as_object();
    market::OrderRecord r;
    r.order_id = json::value_to<uint64_t>(o.at("id"));
    r.product_id = json::value_to<uint64_t>(o.at("product"));
    r.buyer = json::value_to<std::string>(o.at("buyer"));
    r.seller = json::value_to<std::string>(o.at("seller"));
    r.quantity = json::value_to<int32_t>(o.at("qty"));
    r.amount_cents = json::value_to<int64_t>(o.at("amount"));
    r.currency = json::value_to<std::string>(o.at("currency"));
    r.payment_token = json::value_to<std::string>(o.at("token"));
    r.processor = json::value_to<std::string>(o.at("processor"));
    r.status = static_cast<market::OrderStatus>(json::value_to<int>(o.at("status")));
    r.reason = static_cast<market::RejectReason>(json::value_to<int>(o.at("reason")));
    r.accepted_us = json::value_to<int64_t>(o.at("accepted"));
    r.updated_us = json::value_to<int64_t>(o.at("updated"));
    return r;
  } catch (const std::exception& error) {
    return make_error(ErrorCode::kIo, std::string("corrupt order record: ") + error.what());
  }
}

Status validate_commit(const ProductCommit& commit, const std::optional<ProductSnapshot>& stored) {
  const uint64_t stored_version = stored ? stored->inventory.version : 0;
  if (stored_version != commit.expected_version)
    return make_error(ErrorCode::kVersionConflict, "product version changed");
  if (!stored && !commit.definition) return make_error(ErrorCode::kInternal, "create without a definition");
  if (commit.inventory.version != commit.expected_version + 1)
    return make_error(ErrorCode::kInternal, "commit must bump the version by one");
  if (commit.inventory.product_id != commit.product_id || !market::inventory_conserved(commit.inventory))
    return make_error(ErrorCode::kInternal, "commit breaks conservation");
  return {};
}

}  // namespace hawker::store
