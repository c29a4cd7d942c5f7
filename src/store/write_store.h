// WriteStore: the write side of checkout — inventory, orders, per-buyer
// holdings, and the outbox of events, changed only by conditional commits.
//
// Port (abstract). Adapters: RocksWriteStore (embedded), MemoryWriteStore
// (tests and the simulator), PostgresWriteStore (cluster mode,
// store/postgres_write_store.h). All adapters pass
// tests/store/write_store_contract_test.cc.
//
// Contract:
// - commit() applies everything in a ProductCommit atomically, and only if the
//   product's stored version equals expected_version (0 = the product must not
//   exist yet); otherwise it returns kVersionConflict and changes nothing.
// - Its events are an EventSource (store/event_source.h: gap-free increasing
//   seqs in commit order, read in that order, nothing before it is durable).
//   commit() assigns the seqs of the commit's events.
// - Orders upserted with status reserved are "awaiting payment" until an
//   upsert moves them to a final status.
// Thread-safe: any number of threads may call any method at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "store/event_source.h"
#include "market/event.h"
#include "market/order.h"
#include "market/product.h"

namespace hawker::store {

struct ProductSnapshot {
  market::ProductDefinition definition;
  market::Inventory inventory;
};

// What a worker needs to decide a batch for one product.
struct DecisionLoad {
  ProductSnapshot product;
  std::vector<int32_t> holdings;        // per buyer asked for, same order
  std::vector<uint8_t> order_exists;    // per order id asked for: already decided
};

struct ProductCommit {
  uint64_t product_id = 0;
  uint64_t expected_version = 0;  // 0: create; the product must not exist
  market::Inventory inventory;    // the new state; version == expected_version + 1
  std::optional<market::ProductDefinition> definition;  // required on create
  std::vector<market::OrderRecord> orders;              // upserts
  std::vector<std::pair<std::string, int32_t>> holdings;  // buyer -> new absolute units held
  std::vector<market::Event> events;                    // seq assigned by the store
};

// The commit that creates a product with `stock` units: version 1 and its
// kProductCreated event. Precondition: definition.id != 0.
ProductCommit product_creation_commit(const market::ProductDefinition& definition, int64_t stock, int64_t now_us);

class WriteStore : public EventSource {
 public:
  virtual ~WriteStore() = default;

  // Returns the seq of the last event written (or the previous last seq if the
  // commit had no events), or kVersionConflict.
  virtual Result<uint64_t> commit(const ProductCommit& commit) = 0;

  virtual Result<std::optional<ProductSnapshot>> get_product(uint64_t product_id) = 0;
  virtual Result<std::vector<ProductSnapshot>> list_products() = 0;
  // A product id no product has used; never returns the same id twice.
  virtual Result<uint64_t> allocate_product_id() = 0;
  // A number for a process that starts on this store: each call, from any
  // process sharing it, gets the next one (modulo 2^32), so the gateways of a
  // cluster make order ids no other gateway makes (core/ids.h node bits).
  virtual Result<uint32_t> allocate_node_number() = 0;

  virtual Result<DecisionLoad> load_for_decision(uint64_t product_id, std::span<const std::string_view> buyers,
                                                 std::span<const uint64_t> order_ids) = 0;
  virtual Result<std::optional<market::OrderRecord>> get_order(uint64_t order_id) = 0;
  virtual Result<std::vector<market::OrderRecord>> awaiting_payment(size_t limit) = 0;

  // read_events(), last_event_seq(), wait_for_events(): see EventSource.
};

using WriteStorePtr = std::unique_ptr<WriteStore>;

// Opens (creating if needed) the RocksDB write store in `directory`.
Result<WriteStorePtr> open_rocks_write_store(const std::string& directory);
WriteStorePtr make_memory_write_store();

}  // namespace hawker::store
