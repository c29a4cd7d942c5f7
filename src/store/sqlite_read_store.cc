// SqliteReadStore: the embedded adapter of the ReadStore port (read_store.h).
//
// One SQLite connection in WAL mode with synchronous=FULL, so a committed
// apply() survives a crash of the process or the machine. Every statement is
// prepared once at open and kept for the store's life.
//
// Invariants:
// - meta holds exactly one row; its checkpoint is the seq of the last applied
//   event and only grows.
// - A product's stored counts come from the event with the highest inventory
//   version seen for it.
// - An order's status never moves backwards: a confirmed or rejected row is
//   final, and seller_totals counts each order's confirmation once.
// apply() folds a batch before writing it: one inventory UPDATE per product
// (its newest version), one order upsert per order (the row the order ends
// the batch with) and one seller_totals upsert per seller. The tables end up
// exactly as if every event had been written in seq order; only the number of
// statements changes, which is most of the projection's cost in a sale.
// Ids are 64-bit unsigned; they are stored bit for bit in SQLite's signed
// INTEGER (order ids are random and may exceed INT64_MAX). Product ids are
// small sequential numbers, so ordering products by the stored id is their
// numeric order.
//
// Thread-safety: every public method takes mutex_, so the connection and its
// statements are used by one thread at a time; nothing calls out while
// holding it.
#include <sqlite3.h>

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/projection_fold.h"
#include "store/read_store.h"

namespace hawker::store {
namespace {

using projection::PendingOrderEvent;
using projection::created_product_id;
using projection::inventory_product_id;
using projection::is_notice;
using projection::row_event;
using projection::written_status;

constexpr int kBusyTimeoutMs = 5000;
// The most products one list_products() call returns; a larger `limit` is
// clamped, and next_after still leads to the next page.
constexpr size_t kProductPageMax = 1000;

constexpr std::string_view kSchemaSql = R"sql(
CREATE TABLE IF NOT EXISTS products(
  id INTEGER PRIMARY KEY,
  seller TEXT NOT NULL,
  title TEXT NOT NULL,
  price_cents INTEGER NOT NULL,
  currency TEXT NOT NULL,
  max_per_buyer INTEGER NOT NULL,
  low_threshold INTEGER NOT NULL,
  initial INTEGER NOT NULL,
  restocked INTEGER NOT NULL,
  available INTEGER NOT NULL,
  reserved INTEGER NOT NULL,
  sold INTEGER NOT NULL,
  version INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS products_by_seller ON products(seller, id);
CREATE TABLE IF NOT EXISTS orders(
  id INTEGER PRIMARY KEY,
  product_id INTEGER NOT NULL,
  buyer TEXT NOT NULL,
  seller TEXT NOT NULL,
  quantity INTEGER NOT NULL,
  amount_cents INTEGER NOT NULL,
  status TEXT NOT NULL,
  reason TEXT NOT NULL,
  accepted_us INTEGER NOT NULL,
  updated_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seller_totals(
  seller TEXT PRIMARY KEY,
  orders_confirmed INTEGER NOT NULL,
  units_sold INTEGER NOT NULL,
  revenue_cents INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  checkpoint INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(id, checkpoint) VALUES (1, 0);
)sql";

constexpr std::string_view kProductColumns =
    "id, seller, title, price_cents, currency, max_per_buyer, low_threshold, "
    "initial, restocked, available, reserved, sold, version";

// The status literals are order_status_name()'s; a final row is never updated.
constexpr std::string_view kUpsertOrderSql =
    "INSERT INTO orders(id, product_id, buyer, seller, quantity, amount_cents, status, reason, "
    "accepted_us, updated_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
    "ON CONFLICT(id) DO UPDATE SET product_id = excluded.product_id, buyer = excluded.buyer, "
    "seller = excluded.seller, quantity = excluded.quantity, amount_cents = excluded.amount_cents, "
    "status = excluded.status, reason = excluded.reason, accepted_us = excluded.accepted_us, "
    "updated_us = excluded.updated_us "
    "WHERE orders.status NOT IN ('confirmed', 'rejected')";

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using ConnectionPtr = std::unique_ptr<sqlite3, ConnectionCloser>;
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

Error io_error(sqlite3* db, std::string_view what) {
  std::string message = "sqlite read store: ";
  message.append(what);
  message.append(": ");
  message.append(db != nullptr ? sqlite3_errmsg(db) : "out of memory");
  return make_error(ErrorCode::kIo, std::move(message));
}

int64_t to_stored_id(uint64_t id) { return static_cast<int64_t>(id); }
uint64_t from_stored_id(int64_t id) { return static_cast<uint64_t>(id); }

// Binds parameters 1, 2, ... in order and remembers the first failure, so a
// caller checks every bind with one test.
class Binder {
 public:
  explicit Binder(sqlite3_stmt* statement) : statement_(statement) {}

  Binder& integer(int64_t value) {
    record(sqlite3_bind_int64(statement_, ++index_, value));
    return *this;
  }
  Binder& id(uint64_t value) { return integer(to_stored_id(value)); }
  // The text must outlive the statement's use: StatementUse clears bindings.
  Binder& text(std::string_view value) {
    record(sqlite3_bind_text(statement_, ++index_, value.data(), static_cast<int>(value.size()), SQLITE_STATIC));
    return *this;
  }
  bool ok() const { return rc_ == SQLITE_OK; }

 private:
  void record(int rc) {
    if (rc_ == SQLITE_OK) rc_ = rc;
  }

  sqlite3_stmt* statement_;
  int index_ = 0;
  int rc_ = SQLITE_OK;
};

// Scope of one use of a kept statement: resets it and drops its bindings on
// exit, whatever path the caller leaves by.
class StatementUse {
 public:
  explicit StatementUse(const StatementPtr& statement) : statement_(statement.get()) {}
  ~StatementUse() {
    sqlite3_reset(statement_);  // returns the last step's error, already handled
    sqlite3_clear_bindings(statement_);
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;

  sqlite3_stmt* get() const { return statement_; }
  Binder bind() const { return Binder(statement_); }

 private:
  sqlite3_stmt* statement_;
};

std::string column_text(sqlite3_stmt* statement, int column) {
  const unsigned char* text = sqlite3_column_text(statement, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(statement, column)));
}

int64_t column_integer(sqlite3_stmt* statement, int column) { return sqlite3_column_int64(statement, column); }

// Reads a row in kProductColumns order.
ProductView read_product(sqlite3_stmt* statement) {
  ProductView view;
  view.definition.id = from_stored_id(column_integer(statement, 0));
  view.definition.seller = column_text(statement, 1);
  view.definition.title = column_text(statement, 2);
  view.definition.price_cents = column_integer(statement, 3);
  view.definition.currency = column_text(statement, 4);
  view.definition.max_per_buyer = static_cast<int32_t>(column_integer(statement, 5));
  view.definition.low_threshold = column_integer(statement, 6);
  view.inventory.product_id = view.definition.id;
  view.inventory.low_threshold = view.definition.low_threshold;
  view.inventory.initial = column_integer(statement, 7);
  view.inventory.restocked = column_integer(statement, 8);
  view.inventory.available = column_integer(statement, 9);
  view.inventory.reserved = column_integer(statement, 10);
  view.inventory.sold = column_integer(statement, 11);
  view.inventory.version = from_stored_id(column_integer(statement, 12));
  view.state = market::stock_state(view.inventory);
  return view;
}

// A confirmation that changed its order's row, i.e. a sale not counted yet.
struct NewSale {
  std::string_view seller;  // points into the batch's event
  int64_t quantity = 0;
  int64_t amount_cents = 0;
};


class SqliteReadStore final : public ReadStore {
 public:
  static Result<ReadStorePtr> open(const std::string& path);

  Status apply(std::span<const market::Event> events) override;
  Result<uint64_t> checkpoint() override;
  Result<std::optional<ProductView>> get_product(uint64_t product_id) override;
  Result<ProductPage> list_products(const std::string& seller, uint64_t after, size_t limit) override;
  Result<std::optional<OrderView>> get_order(uint64_t order_id) override;
  Result<SellerTotals> seller_totals(const std::string& seller) override;

 private:
  explicit SqliteReadStore(ConnectionPtr db) : db_(std::move(db)) {}

  Status prepare_all();
  Status prepare(StatementPtr& statement, std::string_view sql);
  Status step_done(const StatementUse& use, std::string_view what);
  Status execute(const StatementPtr& statement, std::string_view what);
  Result<uint64_t> read_checkpoint();
  Status apply_in_transaction(std::span<const market::Event> events);
  Status fold_event(const market::Event& event);
  void fold_inventory(uint64_t product_id, const market::Inventory& inventory);
  Status write_folded_inventory(uint64_t product_id);
  Status write_newest_inventories();
  Status write_orders();
  Status write_seller_totals();
  Status insert_product(const market::Event& event);
  Status update_inventory(uint64_t product_id, const market::Inventory& inventory);
  Status upsert_order(const market::Event& event, market::OrderStatus status);
  Status add_seller_totals(std::string_view seller, int64_t orders, int64_t units, int64_t revenue_cents);
  Status write_checkpoint(uint64_t seq);

  std::mutex mutex_;
  ConnectionPtr db_;  // declared first: outlives the statements below
  StatementPtr begin_;
  StatementPtr commit_;
  StatementPtr rollback_;
  StatementPtr select_checkpoint_;
  StatementPtr update_checkpoint_;
  StatementPtr insert_product_;
  StatementPtr update_inventory_;
  StatementPtr upsert_order_;
  StatementPtr add_seller_totals_;
  StatementPtr select_product_;
  StatementPtr list_all_products_;
  StatementPtr list_seller_products_;
  StatementPtr select_order_;
  StatementPtr select_seller_totals_;

  // apply()'s fold of the current batch; the pointers and views point into
  // its events and are dropped before the next batch. Kept as members so a
  // batch allocates nothing here once they have grown to the largest batch
  // (bounded by the caller's batch size).
  std::unordered_map<uint64_t, const market::Inventory*> newest_inventory_;  // by product id
  std::vector<PendingOrderEvent> order_events_;
  std::vector<NewSale> new_sales_;
};

Result<ReadStorePtr> SqliteReadStore::open(const std::string& path) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  ConnectionPtr db(raw);  // a handle comes back even on failure; close it
  if (rc != SQLITE_OK) return io_error(db.get(), "open " + path);
  // journal_mode answers with the mode in force; anything but WAL means a
  // filesystem that cannot give the durability we promise.
  StatementPtr journal;
  sqlite3_stmt* journal_raw = nullptr;
  if (sqlite3_prepare_v2(db.get(), "PRAGMA journal_mode=WAL", -1, &journal_raw, nullptr) != SQLITE_OK) {
    return io_error(db.get(), "journal_mode");
  }
  journal.reset(journal_raw);
  if (sqlite3_step(journal.get()) != SQLITE_ROW) return io_error(db.get(), "journal_mode");
  if (column_text(journal.get(), 0) != "wal") {
    return make_error(ErrorCode::kIo, "sqlite read store: WAL journal mode unavailable for " + path);
  }
  journal.reset();
  const std::string settings =
      "PRAGMA synchronous=FULL; PRAGMA busy_timeout=" + std::to_string(kBusyTimeoutMs) + ";" + std::string(kSchemaSql);
  if (sqlite3_exec(db.get(), settings.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return io_error(db.get(), "create schema");
  }
  std::unique_ptr<SqliteReadStore> store(new SqliteReadStore(std::move(db)));
  if (Status status = store->prepare_all(); !status) return status.error();
  return ReadStorePtr(std::move(store));
}

Status SqliteReadStore::prepare(StatementPtr& statement, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                    &raw, nullptr);
  statement.reset(raw);
  if (rc != SQLITE_OK) return io_error(db_.get(), "prepare");
  return ok_status();
}

Status SqliteReadStore::prepare_all() {
  // kUpsertOrderSql spells the final statuses as order_status_name() does.
  assert(market::order_status_name(market::OrderStatus::kConfirmed) == "confirmed");
  assert(market::order_status_name(market::OrderStatus::kRejected) == "rejected");
  const std::string columns(kProductColumns);
  const std::pair<StatementPtr*, std::string> statements[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&select_checkpoint_, "SELECT checkpoint FROM meta WHERE id = 1"},
      {&update_checkpoint_, "UPDATE meta SET checkpoint = ?1 WHERE id = 1"},
      {&insert_product_, "INSERT INTO products(" + columns +
                             ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
                             "ON CONFLICT(id) DO NOTHING"},
      {&update_inventory_,
       "UPDATE products SET initial = ?2, restocked = ?3, available = ?4, reserved = ?5, sold = ?6, "
       "low_threshold = ?7, version = ?8 WHERE id = ?1 AND version < ?8"},
      {&upsert_order_, std::string(kUpsertOrderSql)},
      {&add_seller_totals_,
       "INSERT INTO seller_totals(seller, orders_confirmed, units_sold, revenue_cents) VALUES (?1, ?2, ?3, ?4) "
       "ON CONFLICT(seller) DO UPDATE SET orders_confirmed = orders_confirmed + excluded.orders_confirmed, "
       "units_sold = units_sold + excluded.units_sold, revenue_cents = revenue_cents + excluded.revenue_cents"},
      {&select_product_, "SELECT " + columns + " FROM products WHERE id = ?1"},
      {&list_all_products_, "SELECT " + columns + " FROM products WHERE id > ?1 ORDER BY id LIMIT ?2"},
      {&list_seller_products_,
       "SELECT " + columns + " FROM products WHERE seller = ?1 AND id > ?2 ORDER BY id LIMIT ?3"},
      {&select_order_,
       "SELECT id, product_id, buyer, seller, quantity, amount_cents, status, reason, accepted_us, updated_us "
       "FROM orders WHERE id = ?1"},
      {&select_seller_totals_,
       "SELECT orders_confirmed, units_sold, revenue_cents FROM seller_totals WHERE seller = ?1"},
  };
  for (const auto& [statement, sql] : statements) {
    if (Status status = prepare(*statement, sql); !status) return status;
  }
  return ok_status();
}

Status SqliteReadStore::step_done(const StatementUse& use, std::string_view what) {
  if (sqlite3_step(use.get()) != SQLITE_DONE) return io_error(db_.get(), what);
  return ok_status();
}

Status SqliteReadStore::execute(const StatementPtr& statement, std::string_view what) {
  StatementUse use(statement);
  return step_done(use, what);
}

Result<uint64_t> SqliteReadStore::read_checkpoint() {
  StatementUse use(select_checkpoint_);
  if (sqlite3_step(use.get()) != SQLITE_ROW) return io_error(db_.get(), "read checkpoint");
  return from_stored_id(column_integer(use.get(), 0));
}

Status SqliteReadStore::apply(std::span<const market::Event> events) {
  if (events.empty()) return ok_status();
  std::lock_guard lock(mutex_);
  if (Status status = execute(begin_, "begin"); !status) return status;
  Status status = apply_in_transaction(events);
  if (status) status = execute(commit_, "commit");
  if (!status) (void)execute(rollback_, "rollback");  // the first error is the one to report
  return status;
}

// Folds the events above the checkpoint, then writes the fold and the new
// checkpoint. Runs inside apply()'s transaction, which rolls back on error.
Status SqliteReadStore::apply_in_transaction(std::span<const market::Event> events) {
  Result<uint64_t> start = read_checkpoint();
  if (!start) return start.error();
  newest_inventory_.clear();
  order_events_.clear();
  new_sales_.clear();
  uint64_t checkpoint = *start;
  for (const market::Event& event : events) {
    if (event.seq <= checkpoint) continue;  // applied before: replay is harmless
    if (Status status = fold_event(event); !status) return status;
    checkpoint = event.seq;  // so the folded events' seqs strictly increase
  }
  if (checkpoint == *start) return ok_status();  // nothing folded
  if (Status status = write_newest_inventories(); !status) return status;
  if (Status status = write_orders(); !status) return status;
  if (Status status = write_seller_totals(); !status) return status;
  return write_checkpoint(checkpoint);
}

// Folds one event above the checkpoint into the batch's pending writes.
// Product inserts are written at once, in seq order, so that every later
// inventory finds the row as it would have one event at a time.
Status SqliteReadStore::fold_event(const market::Event& event) {
  if (is_notice(event.type)) return ok_status();  // for live channels only
  if (event.type == market::EventType::kProductCreated) {
    // Inventories of this id seen earlier in the batch were written before
    // the insert when events were written one by one; write them first.
    const uint64_t product_id = created_product_id(event);
    if (Status status = write_folded_inventory(product_id); !status) return status;
    if (Status status = insert_product(event); !status) return status;
  }
  if (event.inventory.version > 0) fold_inventory(inventory_product_id(event), event.inventory);
  if (const std::optional<market::OrderStatus> status = written_status(event.type)) {
    order_events_.push_back({to_stored_id(event.order_id), event.seq, &event, *status});
  }
  return ok_status();
}

// Keeps the newest inventory per product. Of two with the same version the
// first stays, as the UPDATE's `version < ?8` guard would have kept it.
void SqliteReadStore::fold_inventory(uint64_t product_id, const market::Inventory& inventory) {
  const auto [entry, inserted] = newest_inventory_.try_emplace(product_id, &inventory);
  if (!inserted && inventory.version > entry->second->version) entry->second = &inventory;
}

// Writes and forgets the inventory folded so far for `product_id`, if any.
Status SqliteReadStore::write_folded_inventory(uint64_t product_id) {
  const auto entry = newest_inventory_.find(product_id);
  if (entry == newest_inventory_.end()) return ok_status();
  const market::Inventory& inventory = *entry->second;
  newest_inventory_.erase(entry);
  return update_inventory(product_id, inventory);
}

// One UPDATE per product: its version guard still ignores an inventory older
// than the stored row's.
Status SqliteReadStore::write_newest_inventories() {
  for (const auto& [product_id, inventory] : newest_inventory_) {
    if (Status status = update_inventory(product_id, *inventory); !status) return status;
  }
  return ok_status();
}

// One upsert per order. Sorting by (order id, seq) groups each order's events
// in seq order, and walks the orders table in key order.
Status SqliteReadStore::write_orders() {
  std::sort(order_events_.begin(), order_events_.end(), [](const PendingOrderEvent& a, const PendingOrderEvent& b) {
    return a.stored_order_id != b.stored_order_id ? a.stored_order_id < b.stored_order_id : a.seq < b.seq;
  });
  const std::span<const PendingOrderEvent> pending(order_events_);
  for (size_t first = 0; first < pending.size();) {
    size_t end = first + 1;
    while (end < pending.size() && pending[end].stored_order_id == pending[first].stored_order_id) ++end;
    const PendingOrderEvent& row = row_event(pending.subspan(first, end - first));
    if (Status status = upsert_order(*row.event, row.status); !status) return status;
    // No change means the stored row was already final: a sale was counted then.
    if (row.status == market::OrderStatus::kConfirmed && sqlite3_changes(db_.get()) > 0) {
      new_sales_.push_back({row.event->seller, row.event->quantity, row.event->amount_cents});
    }
    first = end;
  }
  return ok_status();
}

// One upsert per seller for the batch's new sales; sorting groups them.
Status SqliteReadStore::write_seller_totals() {
  std::sort(new_sales_.begin(), new_sales_.end(),
            [](const NewSale& a, const NewSale& b) { return a.seller < b.seller; });
  for (size_t first = 0; first < new_sales_.size();) {
    int64_t orders = 0;
    int64_t units = 0;
    int64_t revenue_cents = 0;
    size_t end = first;
    for (; end < new_sales_.size() && new_sales_[end].seller == new_sales_[first].seller; ++end) {
      ++orders;
      units += new_sales_[end].quantity;
      revenue_cents += new_sales_[end].amount_cents;
    }
    if (Status status = add_seller_totals(new_sales_[first].seller, orders, units, revenue_cents); !status) {
      return status;
    }
    first = end;
  }
  return ok_status();
}

Status SqliteReadStore::insert_product(const market::Event& event) {
  const market::ProductDefinition& definition = event.definition;
  const market::Inventory& inventory = event.inventory;
  StatementUse use(insert_product_);
  const bool bound = use.bind()
                         .id(created_product_id(event))
                         .text(definition.seller)
                         .text(definition.title)
                         .integer(definition.price_cents)
                         .text(definition.currency)
                         .integer(definition.max_per_buyer)
                         .integer(inventory.version > 0 ? inventory.low_threshold : definition.low_threshold)
                         .integer(inventory.initial)
                         .integer(inventory.restocked)
                         .integer(inventory.available)
                         .integer(inventory.reserved)
                         .integer(inventory.sold)
                         .id(inventory.version)
                         .ok();
  if (!bound) return io_error(db_.get(), "bind product");
  return step_done(use, "insert product");
}

Status SqliteReadStore::update_inventory(uint64_t product_id, const market::Inventory& inventory) {
  StatementUse use(update_inventory_);
  const bool bound = use.bind()
                         .id(product_id)
                         .integer(inventory.initial)
                         .integer(inventory.restocked)
                         .integer(inventory.available)
                         .integer(inventory.reserved)
                         .integer(inventory.sold)
                         .integer(inventory.low_threshold)
                         .id(inventory.version)
                         .ok();
  if (!bound) return io_error(db_.get(), "bind inventory");
  return step_done(use, "update inventory");
}

Status SqliteReadStore::upsert_order(const market::Event& event, market::OrderStatus status) {
  const market::RejectReason reason =
      status == market::OrderStatus::kRejected ? event.reason : market::RejectReason::kNone;
  StatementUse use(upsert_order_);
  const bool bound = use.bind()
                         .id(event.order_id)
                         .id(event.product_id)
                         .text(event.buyer)
                         .text(event.seller)
                         .integer(event.quantity)
                         .integer(event.amount_cents)
                         .text(market::order_status_name(status))
                         .text(market::reject_reason_name(reason))
                         .integer(event.accepted_us)
                         .integer(event.ts_us)
                         .ok();
  if (!bound) return io_error(db_.get(), "bind order");
  return step_done(use, "upsert order");
}

Status SqliteReadStore::add_seller_totals(std::string_view seller, int64_t orders, int64_t units,
                                          int64_t revenue_cents) {
  StatementUse use(add_seller_totals_);
  const bool bound = use.bind().text(seller).integer(orders).integer(units).integer(revenue_cents).ok();
  if (!bound) return io_error(db_.get(), "bind seller totals");
  return step_done(use, "add seller totals");
}

Status SqliteReadStore::write_checkpoint(uint64_t seq) {
  StatementUse use(update_checkpoint_);
  if (!use.bind().id(seq).ok()) return io_error(db_.get(), "bind checkpoint");
  return step_done(use, "write checkpoint");
}

Result<uint64_t> SqliteReadStore::checkpoint() {
  std::lock_guard lock(mutex_);
  return read_checkpoint();
}

Result<std::optional<ProductView>> SqliteReadStore::get_product(uint64_t product_id) {
  std::lock_guard lock(mutex_);
  StatementUse use(select_product_);
  if (!use.bind().id(product_id).ok()) return io_error(db_.get(), "bind product id");
  const int rc = sqlite3_step(use.get());
  if (rc == SQLITE_DONE) return std::optional<ProductView>();
  if (rc != SQLITE_ROW) return io_error(db_.get(), "get product");
  return std::optional<ProductView>(read_product(use.get()));
}

Result<ProductPage> SqliteReadStore::list_products(const std::string& seller, uint64_t after, size_t limit) {
  const size_t page_limit = std::min(limit, kProductPageMax);
  ProductPage page;
  if (page_limit == 0) return page;
  page.items.reserve(page_limit);
  std::lock_guard lock(mutex_);
  const bool all_sellers = seller.empty();
  StatementUse use(all_sellers ? list_all_products_ : list_seller_products_);
  Binder binder = use.bind();
  if (!all_sellers) binder.text(seller);
  if (!binder.id(after).integer(static_cast<int64_t>(page_limit)).ok()) {
    return io_error(db_.get(), "bind product page");
  }
  int rc = SQLITE_ROW;
  // The loop is bounded by LIMIT; the size check keeps it so if SQL changes.
  while (page.items.size() < page_limit && (rc = sqlite3_step(use.get())) == SQLITE_ROW) {
    page.items.push_back(read_product(use.get()));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return io_error(db_.get(), "list products");
  if (page.items.size() == page_limit) page.next_after = page.items.back().definition.id;
  return page;
}

Result<std::optional<OrderView>> SqliteReadStore::get_order(uint64_t order_id) {
  std::lock_guard lock(mutex_);
  StatementUse use(select_order_);
  if (!use.bind().id(order_id).ok()) return io_error(db_.get(), "bind order id");
  const int rc = sqlite3_step(use.get());
  if (rc == SQLITE_DONE) return std::optional<OrderView>();
  if (rc != SQLITE_ROW) return io_error(db_.get(), "get order");
  sqlite3_stmt* row = use.get();
  OrderView view;
  view.order_id = from_stored_id(column_integer(row, 0));
  view.product_id = from_stored_id(column_integer(row, 1));
  view.buyer = column_text(row, 2);
  view.seller = column_text(row, 3);
  view.quantity = static_cast<int32_t>(column_integer(row, 4));
  view.amount_cents = column_integer(row, 5);
  const std::string status = column_text(row, 6);
  const std::string reason = column_text(row, 7);
  if (!market::parse_order_status(status, view.status) || !market::parse_reject_reason(reason, view.reason)) {
    return make_error(ErrorCode::kIo, "sqlite read store: corrupt order row: status '" + status + "' reason '" +
                                          reason + "'");
  }
  view.accepted_us = column_integer(row, 8);
  view.updated_us = column_integer(row, 9);
  return std::optional<OrderView>(std::move(view));
}

Result<SellerTotals> SqliteReadStore::seller_totals(const std::string& seller) {
  std::lock_guard lock(mutex_);
  StatementUse use(select_seller_totals_);
  if (!use.bind().text(seller).ok()) return io_error(db_.get(), "bind seller");
  SellerTotals totals;
  totals.seller = seller;
  const int rc = sqlite3_step(use.get());
  if (rc == SQLITE_DONE) return totals;  // no confirmed sale yet
  if (rc != SQLITE_ROW) return io_error(db_.get(), "seller totals");
  totals.orders_confirmed = column_integer(use.get(), 0);
  totals.units_sold = column_integer(use.get(), 1);
  totals.revenue_cents = column_integer(use.get(), 2);
  return totals;
}

}  // namespace

Result<ReadStorePtr> open_sqlite_read_store(const std::string& path) { return SqliteReadStore::open(path); }

}  // namespace hawker::store
