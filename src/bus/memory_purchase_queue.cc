// MemoryPurchaseQueue: the PurchaseQueue port in memory, for tests and the
// simulator ("durable" for the life of the object). Thread-safe.
#include <map>
#include <mutex>

#include "bus/memory_purchase_queue.h"

namespace hawker::bus {

MemoryPurchaseQueue::MemoryPurchaseQueue(QueueOptions options) : LoggedQueue(options) {}

Result<std::optional<KeyRecord>> MemoryPurchaseQueue::lookup_key(std::string_view key) {
  std::lock_guard lock(mutex_);
  auto found = keys_.find(std::string(key));
  if (found == keys_.end()) return std::optional<KeyRecord>();
  return std::optional<KeyRecord>(found->second);
}

Status MemoryPurchaseQueue::persist(std::span<const NewEntry> entries) {
  if (fail_appends_) return make_error(ErrorCode::kIo, "injected append failure");
  std::lock_guard lock(mutex_);
  for (const auto& entry : entries) {
    keys_[entry.item->idempotency_key] = KeyRecord{entry.item->request.order_id, entry.item->fingerprint};
  }
  return {};
}

Status MemoryPurchaseQueue::erase(std::span<const uint64_t>) { return {}; }

PurchaseQueuePtr make_memory_purchase_queue(QueueOptions options) {
  return std::make_unique<MemoryPurchaseQueue>(options);
}

}  // namespace hawker::bus
