#include "checkout/gate.h"

#include <mutex>

namespace hawker::checkout {

void Gate::advance(Entry& entry, const market::Inventory& inventory) {
  uint64_t seen = entry.version.load();
  while (inventory.version > seen) {
    if (entry.version.compare_exchange_weak(seen, inventory.version)) {
      entry.available.store(inventory.available);
      entry.initial_plus_restocked.store(inventory.initial + inventory.restocked);
      return;
    }
  }
}

void Gate::upsert(const market::ProductDefinition& definition, const market::Inventory& inventory) {
  Entry* entry = find(definition.id);
  if (entry == nullptr) {
    std::unique_lock lock(mutex_);
    auto& slot = entries_[definition.id];
    if (!slot) {
      slot = std::make_unique<Entry>();
      slot->definition = definition;
    }
    entry = slot.get();
  }
  advance(*entry, inventory);
}

Gate::Entry* Gate::find(uint64_t product_id) const {
  std::shared_lock lock(mutex_);
  auto found = entries_.find(product_id);
  return found == entries_.end() ? nullptr : found->second.get();
}

void Gate::add_pending(uint64_t product_id, int64_t units) {
  if (Entry* entry = find(product_id)) entry->pending.fetch_add(units);
}

void Gate::on_event(const market::Event& event) {
  using market::EventType;
  if (event.type == EventType::kProductCreated) {
    upsert(event.definition, event.inventory);
    return;
  }
  Entry* entry = find(event.product_id);
  if (entry == nullptr) return;
  // A queued request was decided: it no longer waits in line.
  const bool decided =
      event.type == EventType::kOrderReserved || (event.type == EventType::kOrderRejected && !event.was_reserved);
  if (decided && counts_order(event.order_id)) entry->pending.fetch_sub(event.quantity);
  advance(*entry, event.inventory);
}

}  // namespace hawker::checkout
