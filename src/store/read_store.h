// ReadStore: the read side — the catalog and the projections (product stock
// counts, order status, seller totals) — fed only by events.
//
// Port (abstract). Adapters: SqliteReadStore (embedded; WAL, synchronous=FULL)
// and PostgresReadStore (cluster mode; store/postgres_read_store.h, its own
// `read_model` schema). Both pass tests/store/read_store_contract_test.cc.
//
// Contract:
// - apply() takes events in seq order and applies them and the new checkpoint
//   in one transaction; events at or below the checkpoint are skipped, so
//   replaying after a crash is harmless.
// - Queries see only what apply() has committed.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "market/event.h"
#include "market/order.h"
#include "market/product.h"

namespace hawker::store {

struct ProductView {
  market::ProductDefinition definition;
  market::Inventory inventory;
  market::StockState state = market::StockState::kInStock;
};

struct OrderView {
  uint64_t order_id = 0;
  uint64_t product_id = 0;
  std::string buyer;
  std::string seller;
  int32_t quantity = 0;
  int64_t amount_cents = 0;
  market::OrderStatus status = market::OrderStatus::kAccepted;
  market::RejectReason reason = market::RejectReason::kNone;
  int64_t accepted_us = 0;
  int64_t updated_us = 0;
};

struct SellerTotals {
  std::string seller;
  int64_t orders_confirmed = 0;
  int64_t units_sold = 0;
  int64_t revenue_cents = 0;
};

struct ProductPage {
  std::vector<ProductView> items;
  std::optional<uint64_t> next_after;  // pass as `after` for the next page
};

class ReadStore {
 public:
  virtual ~ReadStore() = default;

  virtual Status apply(std::span<const market::Event> events) = 0;
  virtual Result<uint64_t> checkpoint() = 0;

  virtual Result<std::optional<ProductView>> get_product(uint64_t product_id) = 0;
  // Products of one seller (all sellers if empty) with id > after, by id.
  virtual Result<ProductPage> list_products(const std::string& seller, uint64_t after, size_t limit) = 0;
  virtual Result<std::optional<OrderView>> get_order(uint64_t order_id) = 0;
  virtual Result<SellerTotals> seller_totals(const std::string& seller) = 0;
};

using ReadStorePtr = std::unique_ptr<ReadStore>;

// Opens (creating if needed) the SQLite read store at `path`.
Result<ReadStorePtr> open_sqlite_read_store(const std::string& path);

}  // namespace hawker::store
