// PostgresReadStore: the ReadStore port on PostgreSQL (libpq, via store/pg.h).
//
// Schema `read_model` (migration 1; read_model.schema_migrations records it):
//   products(id pk, seller, title, price_cents, currency, max_per_buyer,
//            low_threshold, initial, restocked, available, reserved, sold,
//            version), indexed by (seller, id) for list_products
//   orders(id pk, product_id, buyer, seller, quantity, amount_cents, status,
//          reason, accepted_us, updated_us); status and reason are the
//          names order_status_name()/reject_reason_name() give
//   seller_totals(seller pk, orders_confirmed, units_sold, revenue_cents)
//   checkpoint(id = 1, seq): the seq of the last applied event
// Ids are uint64 stored bit for bit in bigint columns, as in SqliteReadStore.
//
// Invariants (the same as SqliteReadStore's):
// - checkpoint holds one row; its seq only grows.
// - A product's stored counts come from the event with the highest inventory
//   version seen for it (UPDATE ... WHERE version < new version).
// - An order's status never moves backwards: a confirmed or rejected row is
//   final, and seller_totals counts each order's confirmation once.
//
// apply() is ONE transaction: it locks the checkpoint row (SELECT ... FOR
// UPDATE, so concurrent appliers take turns), skips events at or below it,
// folds the rest as SqliteReadStore does, and writes the fold with one
// statement per table (arrays unnested): all inventories, all orders (the
// upsert RETURNs the rows it changed, which tells the new sales), all
// seller totals, then the checkpoint. Product inserts are written as they
// are met, in seq order, each after flushing the inventory folded so far for
// its id, so the tables end exactly as if events were applied one by one.
// Because replay is harmless, apply() is retried once on another connection
// when its connection broke.
//
// Read-only, start() only runs pg::check_migrated (SELECTs) and apply()
// refuses before it borrows a connection, so no statement that writes is
// ever sent.
//
// Thread-safety: no shared mutable state besides the pool; each call works
// on its own borrowed connection and its own locals.
#include "store/postgres_read_store.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "store/pg.h"
#include "store/projection_fold.h"

namespace hawker::store {
namespace {

using projection::PendingOrderEvent;
using projection::created_product_id;
using projection::inventory_product_id;
using projection::is_notice;
using projection::row_event;
using projection::written_status;

using pg::ArrayParam;
using pg::exec;
using pg::Params;
using pg::PgResult;
using pg::Row;

constexpr const char* kApplicationName = "hawker-read-store";
// The most products one list_products() call returns; a larger `limit` is
// clamped, and next_after still leads to the next page.
constexpr size_t kProductPageMax = 1000;

constexpr pg::Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE read_model.products (
  id            bigint PRIMARY KEY,
  seller        text   NOT NULL,
  title         text   NOT NULL,
  price_cents   bigint NOT NULL,
  currency      text   NOT NULL,
  max_per_buyer int    NOT NULL,
  low_threshold bigint NOT NULL,
  initial       bigint NOT NULL,
  restocked     bigint NOT NULL,
  available     bigint NOT NULL,
  reserved      bigint NOT NULL,
  sold          bigint NOT NULL,
  version       bigint NOT NULL
);
CREATE INDEX products_by_seller ON read_model.products (seller, id);
CREATE TABLE read_model.orders (
  id           bigint PRIMARY KEY,
  product_id   bigint NOT NULL,
  buyer        text   NOT NULL,
  seller       text   NOT NULL,
  quantity     int    NOT NULL,
  amount_cents bigint NOT NULL,
  status       text   NOT NULL,
  reason       text   NOT NULL,
  accepted_us  bigint NOT NULL,
  updated_us   bigint NOT NULL
);
CREATE TABLE read_model.seller_totals (
  seller           text   PRIMARY KEY,
  orders_confirmed bigint NOT NULL,
  units_sold       bigint NOT NULL,
  revenue_cents    bigint NOT NULL
);
CREATE TABLE read_model.checkpoint (
  id  int    PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL
);
INSERT INTO read_model.checkpoint (id, seq) VALUES (1, 0);
)sql"},
};
static_assert(std::size(kMigrations) == kPostgresReadStoreSchemaVersion);

constexpr pg::SchemaDefinition kSchema{"read model", "CREATE SCHEMA IF NOT EXISTS read_model",
                                       "read_model.schema_migrations", kMigrations};

#define HAWKER_READ_PRODUCT_COLUMNS                                                                           \
  "id, seller, title, price_cents, currency, max_per_buyer, low_threshold, initial, restocked, available, " \
  "reserved, sold, version"

constexpr const char* kSelectProduct =
    "SELECT " HAWKER_READ_PRODUCT_COLUMNS " FROM read_model.products WHERE id = $1";
constexpr const char* kListAllProducts =
    "SELECT " HAWKER_READ_PRODUCT_COLUMNS " FROM read_model.products WHERE id > $1 ORDER BY id LIMIT $2";
constexpr const char* kListSellerProducts = "SELECT " HAWKER_READ_PRODUCT_COLUMNS
                                            " FROM read_model.products WHERE seller = $1 AND id > $2 "
                                            "ORDER BY id LIMIT $3";
constexpr const char* kInsertProduct =
    "INSERT INTO read_model.products (" HAWKER_READ_PRODUCT_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING";
#undef HAWKER_READ_PRODUCT_COLUMNS

// Each id at most once per statement (the fold keeps one inventory per id).
constexpr const char* kUpdateInventories =
    "UPDATE read_model.products p SET initial = u.initial, restocked = u.restocked, available = u.available, "
    "reserved = u.reserved, sold = u.sold, low_threshold = u.low_threshold, version = u.version "
    "FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[]) "
    "AS u(id, initial, restocked, available, reserved, sold, low_threshold, version) "
    "WHERE p.id = u.id AND p.version < u.version";

// The status literals are order_status_name()'s; a final row is never
// updated, and RETURNING lists only the rows inserted or updated.
constexpr const char* kUpsertOrders =
    "INSERT INTO read_model.orders AS o (id, product_id, buyer, seller, quantity, amount_cents, status, reason, "
    "accepted_us, updated_us) "
    "SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::int4[], $6::int8[], $7::text[], "
    "$8::text[], $9::int8[], $10::int8[]) "
    "ON CONFLICT (id) DO UPDATE SET product_id = EXCLUDED.product_id, buyer = EXCLUDED.buyer, "
    "seller = EXCLUDED.seller, quantity = EXCLUDED.quantity, amount_cents = EXCLUDED.amount_cents, "
    "status = EXCLUDED.status, reason = EXCLUDED.reason, accepted_us = EXCLUDED.accepted_us, "
    "updated_us = EXCLUDED.updated_us "
    "WHERE o.status NOT IN ('confirmed', 'rejected') RETURNING o.id";

constexpr const char* kAddSellerTotals =
    "INSERT INTO read_model.seller_totals AS t (seller, orders_confirmed, units_sold, revenue_cents) "
    "SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[]) "
    "ON CONFLICT (seller) DO UPDATE SET orders_confirmed = t.orders_confirmed + EXCLUDED.orders_confirmed, "
    "units_sold = t.units_sold + EXCLUDED.units_sold, revenue_cents = t.revenue_cents + EXCLUDED.revenue_cents";

int64_t to_stored_id(uint64_t id) { return static_cast<int64_t>(id); }

// Reads a row in HAWKER_READ_PRODUCT_COLUMNS order.
Result<ProductView> product_from_row(const pg_result* result, int row_index) {
  Row row(result, row_index);
  ProductView view;
  view.definition.id = row.u64(0);
  view.definition.seller = row.text(1);
  view.definition.title = row.text(2);
  view.definition.price_cents = row.i64(3);
  view.definition.currency = row.text(4);
  view.definition.max_per_buyer = row.i32(5);
  view.definition.low_threshold = row.i64(6);
  view.inventory.product_id = view.definition.id;
  view.inventory.low_threshold = view.definition.low_threshold;
  view.inventory.initial = row.i64(7);
  view.inventory.restocked = row.i64(8);
  view.inventory.available = row.i64(9);
  view.inventory.reserved = row.i64(10);
  view.inventory.sold = row.i64(11);
  view.inventory.version = row.u64(12);
  if (!row.ok()) return make_error(ErrorCode::kIo, "postgres read store: corrupt product row");
  view.state = market::stock_state(view.inventory);
  return view;
}


// The fold of one apply() call; its pointers point into the call's events.
struct Batch {
  std::unordered_map<uint64_t, const market::Inventory*> newest_inventory;  // by product id
  std::vector<PendingOrderEvent> order_events;
};

class PostgresReadStore final : public ReadStore {
 public:
  PostgresReadStore(const std::string& conninfo, const PostgresReadStoreOptions& options)
      : pool_(conninfo, kApplicationName, options.pool_size, options.acquire_timeout),
        read_only_(options.read_only) {}

  Status start() {
    Result<pg::Lease> lease = pool_.acquire();
    if (!lease) return lease.error();
    if (read_only_) return pg::check_migrated(lease->get(), kSchema, "start a worker (it migrates) first");
    return pg::migrate(lease->get(), kSchema);
  }

  Status apply(std::span<const market::Event> events) override {
    if (read_only_)
      return make_error(ErrorCode::kInvalid,
                        "postgres read store: opened read-only (e.g. on a replica): only the workers' projection, "
                        "on the primary, applies events");
    if (events.empty()) return ok_status();
    return pool_.with_connection([&](pg_conn* conn) -> Status {
      Status status = apply_once(conn, events);
      if (!status) pg::rollback_quietly(conn);
      return status;
    });
  }

  Result<uint64_t> checkpoint() override {
    return pool_.with_connection([&](pg_conn* conn) { return read_checkpoint(conn, false); });
  }

  Result<std::optional<ProductView>> get_product(uint64_t product_id) override {
    return pool_.with_connection([&](pg_conn* conn) -> Result<std::optional<ProductView>> {
      Result<PgResult> result = exec(conn, "get product", kSelectProduct, Params().u64(product_id));
      if (!result) return result.error();
      if (pg::row_count(result->get()) == 0) return std::optional<ProductView>();
      Result<ProductView> view = product_from_row(result->get(), 0);
      if (!view) return view.error();
      return std::optional<ProductView>(std::move(*view));
    });
  }

  Result<ProductPage> list_products(const std::string& seller, uint64_t after, size_t limit) override {
    const size_t page_limit = std::min(limit, kProductPageMax);
    if (page_limit == 0) return ProductPage{};
    Params params;
    if (!seller.empty()) params.text(seller);
    params.u64(after).i64(static_cast<int64_t>(page_limit));
    const char* sql = seller.empty() ? kListAllProducts : kListSellerProducts;
    return pool_.with_connection([&](pg_conn* conn) -> Result<ProductPage> {
      Result<PgResult> result = exec(conn, "list products", sql, params);
      if (!result) return result.error();
      ProductPage page;
      const int rows = pg::row_count(result->get());
      page.items.reserve(static_cast<size_t>(rows));
      // Bounded by LIMIT; the size check keeps it so if SQL changes.
      for (int row = 0; row < rows && page.items.size() < page_limit; ++row) {
        Result<ProductView> view = product_from_row(result->get(), row);
        if (!view) return view.error();
        page.items.push_back(std::move(*view));
      }
      if (page.items.size() == page_limit) page.next_after = page.items.back().definition.id;
      return page;
    });
  }

  Result<std::optional<OrderView>> get_order(uint64_t order_id) override {
    return pool_.with_connection([&](pg_conn* conn) -> Result<std::optional<OrderView>> {
      Result<PgResult> result = exec(conn, "get order",
                                     "SELECT id, product_id, buyer, seller, quantity, amount_cents, status, reason, "
                                     "accepted_us, updated_us FROM read_model.orders WHERE id = $1",
                                     Params().u64(order_id));
      if (!result) return result.error();
      if (pg::row_count(result->get()) == 0) return std::optional<OrderView>();
      Row row(result->get(), 0);
      OrderView view;
      view.order_id = row.u64(0);
      view.product_id = row.u64(1);
      view.buyer = row.text(2);
      view.seller = row.text(3);
      view.quantity = row.i32(4);
      view.amount_cents = row.i64(5);
      const std::string status = row.text(6);
      const std::string reason = row.text(7);
      view.accepted_us = row.i64(8);
      view.updated_us = row.i64(9);
      if (!row.ok() || !market::parse_order_status(status, view.status) ||
          !market::parse_reject_reason(reason, view.reason)) {
        return make_error(ErrorCode::kIo, "postgres read store: corrupt order row: status '" + status +
                                              "' reason '" + reason + "'");
      }
      return std::optional<OrderView>(std::move(view));
    });
  }

  Result<SellerTotals> seller_totals(const std::string& seller) override {
    return pool_.with_connection([&](pg_conn* conn) -> Result<SellerTotals> {
      Result<PgResult> result = exec(conn, "seller totals",
                                     "SELECT orders_confirmed, units_sold, revenue_cents "
                                     "FROM read_model.seller_totals WHERE seller = $1",
                                     Params().text(seller));
      if (!result) return result.error();
      SellerTotals totals;
      totals.seller = seller;
      if (pg::row_count(result->get()) == 0) return totals;  // no confirmed sale yet
      Row row(result->get(), 0);
      totals.orders_confirmed = row.i64(0);
      totals.units_sold = row.i64(1);
      totals.revenue_cents = row.i64(2);
      if (!row.ok()) return make_error(ErrorCode::kIo, "postgres read store: corrupt seller totals row");
      return totals;
    });
  }

 private:
  // `for_update` locks the row until the transaction ends.
  static Result<uint64_t> read_checkpoint(pg_conn* conn, bool for_update) {
    Result<PgResult> result =
        exec(conn, "read checkpoint",
             for_update ? "SELECT seq FROM read_model.checkpoint WHERE id = 1 FOR UPDATE"
                        : "SELECT seq FROM read_model.checkpoint WHERE id = 1");
    if (!result) return result.error();
    if (pg::row_count(result->get()) != 1) return make_error(ErrorCode::kIo, "postgres read store: no checkpoint");
    Row row(result->get(), 0);
    const uint64_t seq = row.u64(0);
    if (!row.ok()) return make_error(ErrorCode::kIo, "postgres read store: corrupt checkpoint");
    return seq;
  }

  static Status run(pg_conn* conn, std::string_view what, const char* sql, const Params& params = Params()) {
    Result<PgResult> result = exec(conn, what, sql, params);
    if (!result) return result.error();
    return ok_status();
  }

  // One transaction; the caller rolls back on error.
  static Status apply_once(pg_conn* conn, std::span<const market::Event> events) {
    if (Status status = run(conn, "begin", "BEGIN"); !status) return status;
    Result<uint64_t> start = read_checkpoint(conn, true);
    if (!start) return start.error();
    Batch batch;
    uint64_t checkpoint = *start;
    for (const market::Event& event : events) {
      if (event.seq <= checkpoint) continue;  // applied before: replay is harmless
      if (Status status = fold_event(conn, event, batch); !status) return status;
      checkpoint = event.seq;  // so the folded events' seqs strictly increase
    }
    if (checkpoint == *start) return run(conn, "commit", "COMMIT");  // nothing folded
    std::vector<std::pair<uint64_t, const market::Inventory*>> inventories(batch.newest_inventory.begin(),
                                                                           batch.newest_inventory.end());
    if (Status status = write_inventories(conn, inventories); !status) return status;
    if (Status status = write_orders_and_totals(conn, batch.order_events); !status) return status;
    if (Status status = run(conn, "write checkpoint", "UPDATE read_model.checkpoint SET seq = $1 WHERE id = 1",
                            Params().u64(checkpoint));
        !status)
      return status;
    return run(conn, "commit", "COMMIT");
  }

  // Folds one event above the checkpoint into the batch. Product inserts are
  // written at once, in seq order, after the inventory folded so far for the
  // same id (which one-by-one application would have written before them).
  static Status fold_event(pg_conn* conn, const market::Event& event, Batch& batch) {
    if (is_notice(event.type)) return ok_status();  // for live channels only
    if (event.type == market::EventType::kProductCreated) {
      const uint64_t product_id = created_product_id(event);
      if (auto folded = batch.newest_inventory.find(product_id); folded != batch.newest_inventory.end()) {
        const std::pair<uint64_t, const market::Inventory*> one[] = {*folded};
        batch.newest_inventory.erase(folded);
        if (Status status = write_inventories(conn, one); !status) return status;
      }
      if (Status status = insert_product(conn, event); !status) return status;
    }
    if (event.inventory.version > 0) {
      // Of two with the same version the first stays, as the UPDATE's guard would keep it.
      const auto [entry, inserted] = batch.newest_inventory.try_emplace(inventory_product_id(event), &event.inventory);
      if (!inserted && event.inventory.version > entry->second->version) entry->second = &event.inventory;
    }
    if (const std::optional<market::OrderStatus> status = written_status(event.type)) {
      batch.order_events.push_back({to_stored_id(event.order_id), event.seq, &event, *status});
    }
    return ok_status();
  }

  static Status insert_product(pg_conn* conn, const market::Event& event) {
    const market::ProductDefinition& d = event.definition;
    const market::Inventory& i = event.inventory;
    return run(conn, "insert product", kInsertProduct,
               Params()
                   .u64(created_product_id(event))
                   .text(d.seller)
                   .text(d.title)
                   .i64(d.price_cents)
                   .text(d.currency)
                   .i32(d.max_per_buyer)
                   .i64(i.version > 0 ? i.low_threshold : d.low_threshold)
                   .i64(i.initial)
                   .i64(i.restocked)
                   .i64(i.available)
                   .i64(i.reserved)
                   .i64(i.sold)
                   .u64(i.version));
  }

  // One UPDATE for all; its version guard ignores an inventory older than the stored row's.
  static Status write_inventories(pg_conn* conn,
                                  std::span<const std::pair<uint64_t, const market::Inventory*>> inventories) {
    if (inventories.empty()) return ok_status();
    ArrayParam ids(pg::kInt8Oid), initial(pg::kInt8Oid), restocked(pg::kInt8Oid), available(pg::kInt8Oid),
        reserved(pg::kInt8Oid), sold(pg::kInt8Oid), low(pg::kInt8Oid), versions(pg::kInt8Oid);
    for (const auto& [product_id, inventory] : inventories) {
      ids.i64(to_stored_id(product_id));
      initial.i64(inventory->initial);
      restocked.i64(inventory->restocked);
      available.i64(inventory->available);
      reserved.i64(inventory->reserved);
      sold.i64(inventory->sold);
      low.i64(inventory->low_threshold);
      versions.i64(to_stored_id(inventory->version));
    }
    Params params;
    for (const ArrayParam* column : {&ids, &initial, &restocked, &available, &reserved, &sold, &low, &versions})
      params.array(pg::kInt8ArrayOid, *column);
    return run(conn, "update inventories", kUpdateInventories, params);
  }

  // One upsert for all orders (each with the row it ends the batch with),
  // then one for the seller totals of the confirmations that changed a row
  // (an unchanged row was final already: its sale was counted then).
  static Status write_orders_and_totals(pg_conn* conn, std::vector<PendingOrderEvent>& pending_events) {
    if (pending_events.empty()) return ok_status();
    std::sort(pending_events.begin(), pending_events.end(), [](const PendingOrderEvent& a, const PendingOrderEvent& b) {
      return a.stored_order_id != b.stored_order_id ? a.stored_order_id < b.stored_order_id : a.seq < b.seq;
    });
    std::vector<const PendingOrderEvent*> rows;
    const std::span<const PendingOrderEvent> pending(pending_events);
    for (size_t first = 0; first < pending.size();) {
      size_t end = first + 1;
      while (end < pending.size() && pending[end].stored_order_id == pending[first].stored_order_id) ++end;
      rows.push_back(&row_event(pending.subspan(first, end - first)));
      first = end;
    }
    ArrayParam ids(pg::kInt8Oid), products(pg::kInt8Oid), buyers(pg::kTextOid), sellers(pg::kTextOid),
        quantities(pg::kInt4Oid), amounts(pg::kInt8Oid), statuses(pg::kTextOid), reasons(pg::kTextOid),
        accepted(pg::kInt8Oid), updated(pg::kInt8Oid);
    for (const PendingOrderEvent* row : rows) {
      const market::Event& event = *row->event;
      const market::RejectReason reason =
          row->status == market::OrderStatus::kRejected ? event.reason : market::RejectReason::kNone;
      ids.i64(row->stored_order_id);
      products.i64(to_stored_id(event.product_id));
      buyers.bytes(event.buyer);
      sellers.bytes(event.seller);
      quantities.i32(event.quantity);
      amounts.i64(event.amount_cents);
      statuses.bytes(market::order_status_name(row->status));
      reasons.bytes(market::reject_reason_name(reason));
      accepted.i64(event.accepted_us);
      updated.i64(event.ts_us);
    }
    Params params;
    params.array(pg::kInt8ArrayOid, ids).array(pg::kInt8ArrayOid, products).array(pg::kTextArrayOid, buyers);
    params.array(pg::kTextArrayOid, sellers).array(pg::kInt4ArrayOid, quantities).array(pg::kInt8ArrayOid, amounts);
    params.array(pg::kTextArrayOid, statuses).array(pg::kTextArrayOid, reasons);
    params.array(pg::kInt8ArrayOid, accepted).array(pg::kInt8ArrayOid, updated);
    Result<PgResult> changed = exec(conn, "upsert orders", kUpsertOrders, params);
    if (!changed) return changed.error();
    std::unordered_set<int64_t> changed_ids;
    for (int index = 0; index < pg::row_count(changed->get()); ++index) {
      Row row(changed->get(), index);
      changed_ids.insert(row.i64(0));
      if (!row.ok()) return make_error(ErrorCode::kIo, "postgres read store: corrupt order id");
    }

    struct Totals {
      int64_t orders = 0;
      int64_t units = 0;
      int64_t revenue_cents = 0;
    };
    std::unordered_map<std::string_view, Totals> by_seller;  // views into the batch's events
    for (const PendingOrderEvent* row : rows) {
      if (row->status != market::OrderStatus::kConfirmed || !changed_ids.contains(row->stored_order_id)) continue;
      Totals& totals = by_seller[row->event->seller];
      ++totals.orders;
      totals.units += row->event->quantity;
      totals.revenue_cents += row->event->amount_cents;
    }
    if (by_seller.empty()) return ok_status();
    ArrayParam sellers_param(pg::kTextOid), orders(pg::kInt8Oid), units(pg::kInt8Oid), revenue(pg::kInt8Oid);
    for (const auto& [seller, totals] : by_seller) {
      sellers_param.bytes(seller);
      orders.i64(totals.orders);
      units.i64(totals.units);
      revenue.i64(totals.revenue_cents);
    }
    return run(conn, "add seller totals", kAddSellerTotals,
               Params()
                   .array(pg::kTextArrayOid, sellers_param)
                   .array(pg::kInt8ArrayOid, orders)
                   .array(pg::kInt8ArrayOid, units)
                   .array(pg::kInt8ArrayOid, revenue));
  }

  pg::ConnectionPool pool_;
  const bool read_only_;
};

}  // namespace

Result<ReadStorePtr> open_postgres_read_store(const std::string& conninfo) {
  return open_postgres_read_store(conninfo, PostgresReadStoreOptions{});
}

Result<ReadStorePtr> open_postgres_read_store(const std::string& conninfo, const PostgresReadStoreOptions& options) {
  auto store = std::make_unique<PostgresReadStore>(conninfo, options);
  if (Status started = store->start(); !started) return started.error();
  return ReadStorePtr(std::move(store));
}

}  // namespace hawker::store
