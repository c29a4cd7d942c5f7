#include "store/codec.h"

#include "core/binary.h"

namespace hawker::store {

namespace {
constexpr uint8_t kProductFormat = 1;
constexpr uint8_t kOrderFormat = 1;
}  // namespace

std::string encode_product(const ProductSnapshot& p) {
  const auto& d = p.definition;
  const auto& i = p.inventory;
  std::string out;
  out.reserve(96 + d.seller.size() + d.title.size());
  BinaryWriter writer(out);
  writer.put(kProductFormat).put(d.id).put_string(d.seller).put_string(d.title).put(d.price_cents);
  writer.put_string(d.currency).put(d.max_per_buyer);
  writer.put(i.initial).put(i.restocked).put(i.available).put(i.reserved).put(i.sold).put(i.low_threshold);
  writer.put(i.version);
  return out;
}

Result<ProductSnapshot> decode_product(std::string_view bytes) {
  ProductSnapshot p;
  auto& d = p.definition;
  auto& i = p.inventory;
  BinaryReader reader(bytes);
  uint8_t format = 0;
  if (!reader.get(format) || format != kProductFormat || !reader.get(d.id) || !reader.get_string(d.seller) ||
      !reader.get_string(d.title) || !reader.get(d.price_cents) || !reader.get_string(d.currency) ||
      !reader.get(d.max_per_buyer) || !reader.get(i.initial) || !reader.get(i.restocked) ||
      !reader.get(i.available) || !reader.get(i.reserved) || !reader.get(i.sold) || !reader.get(i.low_threshold) ||
      !reader.get(i.version) || !reader.done())
    return make_error(ErrorCode::kIo, "corrupt product record");
  i.product_id = d.id;
  d.low_threshold = i.low_threshold;
  return p;
}

std::string encode_order(const market::OrderRecord& r) {
  std::string out;
  out.reserve(80 + r.buyer.size() + r.seller.size() + r.payment_token.size() + r.processor.size());
  BinaryWriter writer(out);
  writer.put(kOrderFormat).put(r.order_id).put(r.product_id).put_string(r.buyer).put_string(r.seller);
  writer.put(r.quantity).put(r.amount_cents).put_string(r.currency).put_string(r.payment_token);
  writer.put_string(r.processor).put(r.status).put(r.reason).put(r.accepted_us).put(r.updated_us);
  return out;
}

Result<market::OrderRecord> decode_order(std::string_view bytes) {
  market::OrderRecord r;
  BinaryReader reader(bytes);
  uint8_t format = 0;
  if (!reader.get(format) || format != kOrderFormat || !reader.get(r.order_id) || !reader.get(r.product_id) ||
      !reader.get_string(r.buyer) || !reader.get_string(r.seller) || !reader.get(r.quantity) ||
      !reader.get(r.amount_cents) || !reader.get_string(r.currency) || !reader.get_string(r.payment_token) ||
      !reader.get_string(r.processor) || !reader.get(r.status) || !reader.get(r.reason) ||
      !reader.get(r.accepted_us) || !reader.get(r.updated_us) || !reader.done())
    return make_error(ErrorCode::kIo, "corrupt order record");
  if (static_cast<uint8_t>(r.status) > static_cast<uint8_t>(market::OrderStatus::kRejected) ||
      static_cast<uint8_t>(r.reason) > static_cast<uint8_t>(market::RejectReason::kInvalid))
    return make_error(ErrorCode::kIo, "corrupt order record");
  return r;
}

ProductCommit product_creation_commit(const market::ProductDefinition& definition, int64_t stock, int64_t now_us) {
  market::Inventory inventory;
  inventory.product_id = definition.id;
  inventory.initial = stock;
  inventory.available = stock;
  inventory.low_threshold = definition.low_threshold;
  inventory.version = 1;
  ProductCommit commit;
  commit.product_id = definition.id;
  commit.expected_version = 0;
  commit.inventory = inventory;
  commit.definition = definition;
  market::Event created;
  created.type = market::EventType::kProductCreated;
  created.ts_us = now_us;
  created.product_id = definition.id;
  created.seller = definition.seller;
  created.definition = definition;
  created.inventory = inventory;
  commit.events.push_back(std::move(created));
  return commit;
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
