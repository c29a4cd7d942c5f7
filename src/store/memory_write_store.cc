#include "store/memory_write_store.h"

#include "store/codec.h"

namespace hawker::store {

WriteStorePtr make_memory_write_store() { return std::make_unique<MemoryWriteStore>(); }

Result<uint64_t> MemoryWriteStore::commit(const ProductCommit& commit) {
  if (before_commit) {
    if (Status status = before_commit(commit); !status) return status.error();
  }
  uint64_t last_seq = 0;
  {
    std::lock_guard lock(mutex_);
    auto found = products_.find(commit.product_id);
    std::optional<ProductSnapshot> stored;
    if (found != products_.end()) stored = found->second;
    if (Status valid = validate_commit(commit, stored); !valid) return valid.error();
    ProductSnapshot& product = products_[commit.product_id];
    if (commit.definition) product.definition = *commit.definition;
    product.inventory = commit.inventory;
    if (commit.product_id >= next_product_id_) next_product_id_ = commit.product_id + 1;
    for (const auto& order : commit.orders) {
      orders_[order.order_id] = order;
      if (order.status == market::OrderStatus::kReserved) awaiting_payment_.insert(order.order_id);
      else awaiting_payment_.erase(order.order_id);
    }
    for (const auto& [buyer, units] : commit.holdings) holdings_[{commit.product_id, buyer}] = units;
    for (const auto& event : commit.events) {
      events_.push_back(event);
      events_.back().seq = events_.size();
    }
    last_seq = events_.size();
  }
  events_changed_.notify_all();
  if (after_commit) {
    if (Status status = after_commit(commit); !status) return status.error();
  }
  return last_seq;
}

Result<std::optional<ProductSnapshot>> MemoryWriteStore::get_product(uint64_t product_id) {
  std::lock_guard lock(mutex_);
  auto found = products_.find(product_id);
  if (found == products_.end()) return std::optional<ProductSnapshot>();
  return std::optional<ProductSnapshot>(found->second);
}

Result<std::vector<ProductSnapshot>> MemoryWriteStore::list_products() {
  std::lock_guard lock(mutex_);
  std::vector<ProductSnapshot> out;
  for (const auto& [id, product] : products_) out.push_back(product);
  return out;
}

Result<uint64_t> MemoryWriteStore::allocate_product_id() {
  std::lock_guard lock(mutex_);
  return next_product_id_++;
}

Result<uint32_t> MemoryWriteStore::allocate_node_number() {
  std::lock_guard lock(mutex_);
  return next_node_number_++;
}

Result<DecisionLoad> MemoryWriteStore::load_for_decision(uint64_t product_id, std::span<const std::string_view> buyers,
                                                         std::span<const uint64_t> order_ids) {
  std::lock_guard lock(mutex_);
  auto found = products_.find(product_id);
  if (found == products_.end()) return make_error(ErrorCode::kNotFound, "unknown product");
  DecisionLoad load;
  load.product = found->second;
  load.holdings.reserve(buyers.size());
  for (std::string_view buyer : buyers) {
    auto held = holdings_.find({product_id, std::string(buyer)});
    load.holdings.push_back(held == holdings_.end() ? 0 : held->second);
  }
  load.order_exists.reserve(order_ids.size());
  for (uint64_t id : order_ids) load.order_exists.push_back(orders_.count(id) ? 1 : 0);
  return load;
}

Result<std::optional<market::OrderRecord>> MemoryWriteStore::get_order(uint64_t order_id) {
  std::lock_guard lock(mutex_);
  auto found = orders_.find(order_id);
  if (found == orders_.end()) return std::optional<market::OrderRecord>();
  return std::optional<market::OrderRecord>(found->second);
}

Result<std::vector<market::OrderRecord>> MemoryWriteStore::awaiting_payment(size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<market::OrderRecord> out;
  for (uint64_t id : awaiting_payment_) {
    if (out.size() >= limit) break;
    out.push_back(orders_.at(id));
  }
  return out;
}

Result<std::vector<market::Event>> MemoryWriteStore::read_events(uint64_t after_seq, size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<market::Event> out;
  for (uint64_t seq = after_seq + 1; seq <= events_.size() && out.size() < limit; ++seq) out.push_back(events_[seq - 1]);
  return out;
}

uint64_t MemoryWriteStore::last_event_seq() {
  std::lock_guard lock(mutex_);
  return events_.size();
}

void MemoryWriteStore::wait_for_events(uint64_t after_seq, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  events_changed_.wait_for(lock, timeout, [&] { return events_.size() > after_seq; });
}

}  // namespace hawker::store
