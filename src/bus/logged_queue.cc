#include "bus/logged_queue.h"

#include "core/binary.h"

namespace hawker::bus {

Status LoggedQueue::append(std::span<const Enqueue> items, std::span<EnqueueResult> results) {
  if (items.size() != results.size()) return make_error(ErrorCode::kInternal, "append: results size mismatch");
  std::lock_guard lock(append_mutex_);
  std::unordered_map<std::string_view, KeyRecord> batch_keys;
  std::vector<NewEntry> fresh;
  fresh.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const Enqueue& item = items[i];
    std::optional<KeyRecord> known;
    if (auto in_batch = batch_keys.find(item.idempotency_key); in_batch != batch_keys.end()) {
      known = in_batch->second;
    } else {
      auto stored = lookup_key(item.idempotency_key);
      if (!stored) return stored.error();
      known = *stored;
    }
    if (known) {
      results[i] = EnqueueResult{
          known->fingerprint == item.fingerprint ? EnqueueOutcome::kDuplicate : EnqueueOutcome::kKeyReused,
          known->order_id};
      continue;
    }
    batch_keys.emplace(item.idempotency_key, KeyRecord{item.request.order_id, item.fingerprint});
    fresh.push_back(NewEntry{next_id_ + fresh.size(), &item});
    results[i] = EnqueueResult{EnqueueOutcome::kAppended, item.request.order_id};
  }
  if (fresh.empty()) return {};
  if (Status persisted = persist(fresh); !persisted) return persisted;
  next_id_ += fresh.size();
  std::vector<std::pair<uint64_t, market::PurchaseRequest>> entries;
  entries.reserve(fresh.size());
  for (const auto& entry : fresh) entries.emplace_back(entry.id, entry.item->request);
  leases_.add(entries);
  return {};
}

Result<std::optional<EnqueueResult>> LoggedQueue::find_key(std::string_view idempotency_key, uint64_t fingerprint) {
  auto stored = lookup_key(idempotency_key);
  if (!stored) return stored.error();
  if (!*stored) return std::optional<EnqueueResult>();
  return std::optional<EnqueueResult>(EnqueueResult{
      (*stored)->fingerprint == fingerprint ? EnqueueOutcome::kDuplicate : EnqueueOutcome::kKeyReused,
      (*stored)->order_id});
}

Status LoggedQueue::ack(std::span<const uint64_t> delivery_ids) {
  std::vector<uint64_t> removed = leases_.ack(delivery_ids);
  if (removed.empty()) return {};
  return erase(removed);
}


std::string encode_request(const market::PurchaseRequest& r) {
  std::string out;
  out.reserve(40 + r.buyer.size() + r.payment_token.size());
  BinaryWriter writer(out);
  writer.put<uint8_t>(1);  // format version
  writer.put(r.order_id).put(r.product_id).put(r.quantity).put(r.accepted_us);
  writer.put_string(r.buyer).put_string(r.payment_token);
  return out;
}

Result<market::PurchaseRequest> decode_request(std::string_view in) {
  market::PurchaseRequest r;
  BinaryReader reader(in);
  uint8_t format = 0;
  if (!reader.get(format) || format != 1 || !reader.get(r.order_id) || !reader.get(r.product_id) ||
      !reader.get(r.quantity) || !reader.get(r.accepted_us) || !reader.get_string(r.buyer) ||
      !reader.get_string(r.payment_token) || !reader.done())
    return make_error(ErrorCode::kIo, "corrupt queue record");
  return r;
}

}  // namespace hawker::bus
