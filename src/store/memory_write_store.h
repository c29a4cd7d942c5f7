// MemoryWriteStore: the WriteStore port held in memory, for tests and the
// deterministic simulator. It passes the same contract suite as RocksWriteStore
// and adds fault hooks the simulator uses to inject failures and races.
// Thread-safe; set the hooks before sharing the store.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "store/write_store.h"

namespace hawker::store {

class MemoryWriteStore final : public WriteStore {
 public:
  // Runs before a commit is applied, outside the lock; a non-ok status fails
  // the commit with that status and applies nothing (a crash before the write,
  // or a race: the hook may itself commit).
  std::function<Status(const ProductCommit&)> before_commit;
  // Runs after a commit was applied; a non-ok status is returned to the caller
  // though the commit is durable (a lost acknowledgement).
  std::function<Status(const ProductCommit&)> after_commit;

  Result<uint64_t> commit(const ProductCommit& commit) override;
  Result<std::optional<ProductSnapshot>> get_product(uint64_t product_id) override;
  Result<std::vector<ProductSnapshot>> list_products() override;
  Result<uint64_t> allocate_product_id() override;
  Result<uint32_t> allocate_node_number() override;
  Result<DecisionLoad> load_for_decision(uint64_t product_id, std::span<const std::string_view> buyers,
                                         std::span<const uint64_t> order_ids) override;
  Result<std::optional<market::OrderRecord>> get_order(uint64_t order_id) override;
  Result<std::vector<market::OrderRecord>> awaiting_payment(size_t limit) override;
  Result<std::vector<market::Event>> read_events(uint64_t after_seq, size_t limit) override;
  uint64_t last_event_seq() override;
  void wait_for_events(uint64_t after_seq, std::chrono::milliseconds timeout) override;

 private:
  std::mutex mutex_;
  std::condition_variable events_changed_;
  std::map<uint64_t, ProductSnapshot> products_;
  std::unordered_map<uint64_t, market::OrderRecord> orders_;
  std::map<std::pair<uint64_t, std::string>, int32_t> holdings_;
  std::set<uint64_t> awaiting_payment_;
  std::vector<market::Event> events_;  // events_[i].seq == i + 1
  uint64_t next_product_id_ = 1;
  uint32_t next_node_number_ = 0;
};

}  // namespace hawker::store
