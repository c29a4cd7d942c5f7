// PostgresWriteStore: the WriteStore port on PostgreSQL (libpq).
//
// Schema (migration 1; schema_migrations records each applied version):
//   products(product_id pk, seller, title, price_cents, currency, max_per_buyer)
//   inventory(product_id pk -> products, initial, restocked, available,
//             reserved, sold, low_threshold, version)
//   orders(order_id pk, product_id, buyer, seller, quantity, amount_cents,
//          currency, payment_token, processor, status, reason, accepted_us,
//          updated_us), with a partial index on the reserved ones (awaiting
//          payment)
//   holdings(product_id, buyer, units), primary key (product_id, buyer)
//   events(seq pk, type, product_id, body): the outbox. `body` is a bytea
//          holding market::encode_event's bytes (the event codec every other
//          consumer uses: little-endian binary, the same on every machine;
//          rows older versions wrote hold JSON text, which still decodes); `seq`
//          is the authority for the event's number; type and product_id are
//          copies for operators' queries.
//   event_counter(id = 1, last): the last seq handed out.
//   sequence product_ids: allocate_product_id().
//   sequence node_numbers (migration 2): allocate_node_number().
//   migration 3 changes no table: event bodies written from then on are
//          binary, so older builds must refuse the database.
// Ids are uint64 stored bit for bit in bigint columns (an id of 2^63 or more
// would read as negative in SQL; time-ordered order ids reach that in 2039).
// The definition's low_threshold is the inventory's, as in RocksWriteStore.
//
// A commit is ONE transaction (READ COMMITTED): the conditional inventory
// write first (UPDATE ... WHERE version = expected, or INSERT ... ON CONFLICT
// DO NOTHING on create; 0 rows means a lost race: ROLLBACK, kVersionConflict),
// then the order and holding upserts (one statement each, arrays unnested),
// then the events: `UPDATE event_counter SET last = last + n RETURNING last`
// numbers them, they are inserted, and pg_notify tells listeners. The counter
// row's lock is held until COMMIT, so seqs are gap-free and in commit order
// (a rolled-back commit gives its numbers back). Cost: every commit that
// carries events, on any product, waits for the previous one's COMMIT (its
// WAL flush): event-carrying commits are serialised database-wide. That is
// why the counter is touched last, just before COMMIT.
//
// Connections: a bounded pool; each call borrows one. A borrowed connection
// that the server closed is reset first; a read that fails because its
// connection broke is retried once on another; a commit is retried only if
// COMMIT was never sent (otherwise its outcome is unknown and it reports
// kUnavailable: the caller reloads, as after a conflict). One dedicated
// connection LISTENs on hawker_events; its thread keeps last_event_seq() up to
// date with other processes' commits and wakes wait_for_events().
// Every value travels as a query parameter (PQexecParams); SQL text is
// constant. The statement helpers, the pool and the migration runner are
// store/pg.h's, shared with the read and show stores; this store's migrations
// are recorded in public.schema_migrations (the other components keep theirs
// in their own schemas).
#include "store/postgres_write_store.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "store/codec.h"
#include "store/pg.h"
#include "store/seq_watch.h"

namespace hawker::store {
namespace {

using market::OrderStatus;

using pg::ArrayParam;
using pg::exec;
using pg::kBinaryFormat;
using pg::kByteaArrayOid;
using pg::kByteaOid;
using pg::kInt2ArrayOid;
using pg::kInt2Oid;
using pg::kInt4ArrayOid;
using pg::kInt4Oid;
using pg::kInt8ArrayOid;
using pg::kInt8Oid;
using pg::kTextArrayOid;
using pg::kTextFormat;
using pg::kTextOid;
using pg::Lease;
using pg::Migration;
using pg::Params;
using pg::parse_int_array;
using pg::PgResult;
using pg::Row;
using pg::rows_affected;

constexpr const char* kApplicationName = "hawker-write-store";
constexpr int kListenerPollMs = 1'000;                    // the listener re-checks its stop flag this often
constexpr int kListenerRetryMs = 250;                     // pause between reconnects of the listener
constexpr int kAllocateAttemptsMax = 1'000;               // ids skipped because a product took them
constexpr size_t kEventsReadMax = 1'000'000;              // one read_events page at most

// ---- Migrations ----------------------------------------------------------------

// status = 1 in orders_awaiting_payment is OrderStatus::kReserved.
static_assert(static_cast<int>(OrderStatus::kReserved) == 1);

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE products (
  product_id    bigint PRIMARY KEY,
  seller        text   NOT NULL,
  title         text   NOT NULL,
  price_cents   bigint NOT NULL,
  currency      text   NOT NULL,
  max_per_buyer int    NOT NULL
);
CREATE TABLE inventory (
  product_id    bigint PRIMARY KEY REFERENCES products (product_id),
  initial       bigint NOT NULL,
  restocked     bigint NOT NULL,
  available     bigint NOT NULL,
  reserved      bigint NOT NULL,
  sold          bigint NOT NULL,
  low_threshold bigint NOT NULL,
  version       bigint NOT NULL
);
CREATE TABLE orders (
  order_id      bigint   PRIMARY KEY,
  product_id    bigint   NOT NULL,
  buyer         text     NOT NULL,
  seller        text     NOT NULL,
  quantity      int      NOT NULL,
  amount_cents  bigint   NOT NULL,
  currency      text     NOT NULL,
  payment_token text     NOT NULL,
  processor     text     NOT NULL,
  status        smallint NOT NULL,
  reason        smallint NOT NULL,
  accepted_us   bigint   NOT NULL,
  updated_us    bigint   NOT NULL
);
CREATE INDEX orders_awaiting_payment ON orders (order_id) WHERE status = 1;
CREATE TABLE holdings (
  product_id bigint NOT NULL,
  buyer      text   NOT NULL,
  units      int    NOT NULL,
  PRIMARY KEY (product_id, buyer)
);
CREATE TABLE events (
  seq        bigint   PRIMARY KEY,
  type       smallint NOT NULL,
  product_id bigint   NOT NULL,
  body       bytea    NOT NULL
);
CREATE TABLE event_counter (
  id   int    PRIMARY KEY CHECK (id = 1),
  last bigint NOT NULL
);
INSERT INTO event_counter (id, last) VALUES (1, 0);
CREATE SEQUENCE product_ids AS bigint MINVALUE 1 START 1;
)sql"},
    {2, R"sql(
CREATE SEQUENCE node_numbers AS bigint MINVALUE 0 START 0;
)sql"},
    // Changes no table: from here on event bodies are binary records, which
    // a build that knows only JSON events cannot read. The new version makes
    // such a build refuse the database at start instead of failing on the
    // first new event.
    {3, R"sql(
COMMENT ON COLUMN events.body IS 'market::encode_event: binary records (format 2) from schema 3; JSON text before';
)sql"},
};
static_assert(std::size(kMigrations) == kPostgresWriteStoreSchemaVersion);


// ---- Row mapping --------------------------------------------------------------------

#define HAWKER_PRODUCT_COLUMNS                                                                                   \
  "SELECT p.product_id, p.seller, p.title, p.price_cents, p.currency, p.max_per_buyer, i.initial, i.restocked, " \
  "i.available, i.reserved, i.sold, i.low_threshold, i.version"
#define HAWKER_PRODUCT_FROM " FROM products p JOIN inventory i USING (product_id)"
constexpr const char* kProductSelect = HAWKER_PRODUCT_COLUMNS HAWKER_PRODUCT_FROM;
constexpr int kProductColumns = 13;

Result<ProductSnapshot> product_from_row(const PGresult* result, int row_index) {
  Row row(result, row_index);
  ProductSnapshot p;
  auto& d = p.definition;
  auto& i = p.inventory;
  d.id = row.u64(0);
  d.seller = row.text(1);
  d.title = row.text(2);
  d.price_cents = row.i64(3);
  d.currency = row.text(4);
  d.max_per_buyer = row.i32(5);
  i.product_id = d.id;
  i.initial = row.i64(6);
  i.restocked = row.i64(7);
  i.available = row.i64(8);
  i.reserved = row.i64(9);
  i.sold = row.i64(10);
  i.low_threshold = row.i64(11);
  i.version = row.u64(12);
  d.low_threshold = i.low_threshold;
  if (!row.ok()) return make_error(ErrorCode::kIo, "postgres: corrupt product row");
  return p;
}

constexpr const char* kOrderSelect =
    "SELECT order_id, product_id, buyer, seller, quantity, amount_cents, currency, payment_token, processor, status, "
    "reason, accepted_us, updated_us FROM orders";

Result<market::OrderRecord> order_from_row(const PGresult* result, int row_index) {
  Row row(result, row_index);
  market::OrderRecord r;
  r.order_id = row.u64(0);
  r.product_id = row.u64(1);
  r.buyer = row.text(2);
  r.seller = row.text(3);
  r.quantity = row.i32(4);
  r.amount_cents = row.i64(5);
  r.currency = row.text(6);
  r.payment_token = row.text(7);
  r.processor = row.text(8);
  const int64_t status = row.i64(9);
  const int64_t reason = row.i64(10);
  r.accepted_us = row.i64(11);
  r.updated_us = row.i64(12);
  if (!row.ok() || status < 0 || status > static_cast<int64_t>(OrderStatus::kRejected) || reason < 0 ||
      reason > static_cast<int64_t>(market::RejectReason::kInvalid))
    return make_error(ErrorCode::kIo, "postgres: corrupt order row");
  r.status = static_cast<OrderStatus>(status);
  r.reason = static_cast<market::RejectReason>(reason);
  return r;
}

// The last occurrence of each key, in first-occurrence order: one upsert
// statement may not touch a row twice, and a later entry replaces an earlier.
template <typename T, typename KeyOf>
std::vector<const T*> last_per_key(const std::vector<T>& items, KeyOf key_of) {
  std::vector<const T*> out;
  std::unordered_map<decltype(key_of(items.front())), size_t> index;
  for (const T& item : items) {
    auto [found, inserted] = index.try_emplace(key_of(item), out.size());
    if (inserted) out.push_back(&item);
    else out[found->second] = &item;
  }
  return out;
}

bool is_lost_race(const std::string& sqlstate) {
  // unique_violation (a concurrent create), serialization_failure, deadlock_detected
  return sqlstate == "23505" || sqlstate == "40001" || sqlstate == "40P01";
}

// ---- The store ------------------------------------------------------------------

// $1..$6 of the products INSERT and UPDATE.
Params definition_params(uint64_t product_id, const market::ProductDefinition& d) {
  Params params;
  params.u64(product_id).text(d.seller).text(d.title).i64(d.price_cents).text(d.currency).i32(d.max_per_buyer);
  return params;
}

// $1..$8 of the inventory INSERT and UPDATE: the product id, then the counts
// in the column order both statements use.
Params inventory_params(uint64_t product_id, const market::Inventory& i) {
  Params params;
  params.u64(product_id).i64(i.initial).i64(i.restocked).i64(i.available).i64(i.reserved).i64(i.sold);
  params.i64(i.low_threshold).u64(i.version);
  return params;
}

class PostgresWriteStore final : public WriteStore {
 public:
  PostgresWriteStore(const std::string& conninfo, const PostgresWriteStoreOptions& options)
      : pool_(conninfo, kApplicationName, options.pool_size, options.acquire_timeout) {}

  ~PostgresWriteStore() override {
    stopping_ = true;
    if (stop_fd_ >= 0) {
      const uint64_t one = 1;
      (void)!::write(stop_fd_, &one, sizeof one);
    }
    if (listener_thread_.joinable()) listener_thread_.join();
    if (listener_) PQfinish(listener_);
    if (stop_fd_ >= 0) ::close(stop_fd_);
  }

  Status start() {
    {
      Result<Lease> lease = pool_.acquire();
      if (!lease) return lease.error();
      if (Status migrated = migrate(lease->get()); !migrated) return migrated;
    }
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd_ < 0) return make_error(ErrorCode::kIo, std::string("eventfd: ") + std::strerror(errno));
    Result<PGconn*> listener = connect_listener();
    if (!listener) return listener.error();
    listener_ = *listener;
    listener_thread_ = std::thread([this] { listen_loop(); });
    return {};
  }

  Result<uint64_t> commit(const ProductCommit& commit) override {
    // Malformed (wrong version bump, broken conservation, create without a
    // definition) as judged against the version it expects: refuse without
    // writing, with the error validate_commit gives against what is stored.
    std::optional<ProductSnapshot> expected;
    if (commit.expected_version != 0) {
      expected.emplace();
      expected->inventory.version = commit.expected_version;
    }
    if (Status shape = validate_commit(commit, expected); !shape) return refuse(commit);

    for (int attempt = 0;; ++attempt) {
      Result<Lease> lease = pool_.acquire();
      if (!lease) return lease.error();
      bool commit_sent = false;
      Result<uint64_t> result = commit_once(lease->get(), commit, commit_sent);
      if (result.ok()) {
        advance_last_seq(*result);
        return result;
      }
      // A connection the server dropped before COMMIT: nothing was written.
      if (attempt == 0 && !commit_sent && PQstatus(lease->get()) == CONNECTION_BAD) continue;
      if (commit_sent && PQstatus(lease->get()) == CONNECTION_BAD)
        return make_error(ErrorCode::kUnavailable, "postgres: commit outcome unknown: " + result.error().message);
      return result;
    }
  }

  Result<std::optional<ProductSnapshot>> get_product(uint64_t product_id) override {
    static const std::string sql = std::string(kProductSelect) + " WHERE product_id = $1";
    return pool_.with_connection([&](PGconn* conn) -> Result<std::optional<ProductSnapshot>> {
      Result<PgResult> result = exec(conn, "get_product", sql.c_str(), Params().u64(product_id));
      if (!result) return result.error();
      if (PQntuples(result->get()) == 0) return std::optional<ProductSnapshot>();
      Result<ProductSnapshot> product = product_from_row(result->get(), 0);
      if (!product) return product.error();
      return std::optional<ProductSnapshot>(std::move(*product));
    });
  }

  Result<std::vector<ProductSnapshot>> list_products() override {
    static const std::string sql = std::string(kProductSelect) + " ORDER BY product_id";
    return pool_.with_connection([&](PGconn* conn) -> Result<std::vector<ProductSnapshot>> {
      Result<PgResult> result = exec(conn, "list_products", sql.c_str());
      if (!result) return result.error();
      std::vector<ProductSnapshot> out;
      out.reserve(static_cast<size_t>(PQntuples(result->get())));
      for (int row = 0; row < PQntuples(result->get()); ++row) {
        Result<ProductSnapshot> product = product_from_row(result->get(), row);
        if (!product) return product.error();
        out.push_back(std::move(*product));
      }
      return out;
    });
  }

  Result<uint32_t> allocate_node_number() override {
    return pool_.with_connection([&](PGconn* conn) -> Result<uint32_t> {
      Result<PgResult> result = exec(conn, "allocate_node_number", "SELECT nextval('node_numbers')");
      if (!result) return result.error();
      Row row(result->get(), 0);
      const uint64_t number = row.u64(0);
      if (!row.ok()) return make_error(ErrorCode::kIo, "postgres: corrupt node number");
      return static_cast<uint32_t>(number);
    });
  }

  Result<uint64_t> allocate_product_id() override {
    // nextval never repeats (a sequence is not rolled back and survives
    // restarts); an id a product took with an id of its own choosing is
    // skipped.
    return pool_.with_connection([&](PGconn* conn) -> Result<uint64_t> {
      for (int attempt = 0; attempt < kAllocateAttemptsMax; ++attempt) {
        Result<PgResult> result = exec(conn, "allocate_product_id",
                                       "SELECT n.id FROM (SELECT nextval('product_ids') AS id) n "
                                       "WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.product_id = n.id)");
        if (!result) return result.error();
        if (PQntuples(result->get()) == 0) continue;
        Row row(result->get(), 0);
        const uint64_t id = row.u64(0);
        if (!row.ok()) return make_error(ErrorCode::kIo, "postgres: corrupt product id");
        return id;
      }
      return make_error(ErrorCode::kIo,
                        "postgres: no free product id in " + std::to_string(kAllocateAttemptsMax) + " tries");
    });
  }

  Result<DecisionLoad> load_for_decision(uint64_t product_id, std::span<const std::string_view> buyers,
                                         std::span<const uint64_t> order_ids) override {
    // One statement, so one snapshot: the product, then per buyer asked its
    // units (0 if none) and per order id asked whether it exists, both in the
    // order asked.
    static const char* const sql = HAWKER_PRODUCT_COLUMNS
        ", held.held, known.known" HAWKER_PRODUCT_FROM
        ", LATERAL (SELECT array_agg(COALESCE(h.units, 0) ORDER BY b.ord) AS held "
        "FROM unnest($2::text[]) WITH ORDINALITY AS b(buyer, ord) "
        "LEFT JOIN holdings h ON h.product_id = $1 AND h.buyer = b.buyer) held, "
        "LATERAL (SELECT array_agg(CASE WHEN o.order_id IS NULL THEN 0 ELSE 1 END ORDER BY x.ord) AS known "
        "FROM unnest($3::int8[]) WITH ORDINALITY AS x(id, ord) "
        "LEFT JOIN orders o ON o.order_id = x.id) known "
        "WHERE product_id = $1";
    ArrayParam buyer_array(kTextOid);
    for (std::string_view buyer : buyers) buyer_array.bytes(buyer);
    ArrayParam order_array(kInt8Oid);
    for (uint64_t id : order_ids) order_array.i64(static_cast<int64_t>(id));
    Params params;
    params.u64(product_id).array(kTextArrayOid, buyer_array).array(kInt8ArrayOid, order_array);
    return pool_.with_connection([&](PGconn* conn) -> Result<DecisionLoad> {
      Result<PgResult> result = exec(conn, "load_for_decision", sql, params);
      if (!result) return result.error();
      const PGresult* rows = result->get();
      if (PQntuples(rows) == 0) return make_error(ErrorCode::kNotFound, "unknown product");
      Result<ProductSnapshot> product = product_from_row(rows, 0);
      if (!product) return product.error();
      DecisionLoad load;
      load.product = std::move(*product);
      if (!parse_int_array(rows, 0, kProductColumns, load.holdings) ||
          !parse_int_array(rows, 0, kProductColumns + 1, load.order_exists) || load.holdings.size() != buyers.size() ||
          load.order_exists.size() != order_ids.size())
        return make_error(ErrorCode::kIo, "postgres: malformed decision load");
      return load;
    });
  }

  Result<std::optional<market::OrderRecord>> get_order(uint64_t order_id) override {
    static const std::string sql = std::string(kOrderSelect) + " WHERE order_id = $1";
    return pool_.with_connection([&](PGconn* conn) -> Result<std::optional<market::OrderRecord>> {
      Result<PgResult> result = exec(conn, "get_order", sql.c_str(), Params().u64(order_id));
      if (!result) return result.error();
      if (PQntuples(result->get()) == 0) return std::optional<market::OrderRecord>();
      Result<market::OrderRecord> order = order_from_row(result->get(), 0);
      if (!order) return order.error();
      return std::optional<market::OrderRecord>(std::move(*order));
    });
  }

  Result<std::vector<market::OrderRecord>> awaiting_payment(size_t limit) override {
    static const std::string sql = std::string(kOrderSelect) + " WHERE status = 1 ORDER BY order_id LIMIT $1";
    const int64_t bounded = static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX));
    return pool_.with_connection([&](PGconn* conn) -> Result<std::vector<market::OrderRecord>> {
      Result<PgResult> result = exec(conn, "awaiting_payment", sql.c_str(), Params().i64(bounded));
      if (!result) return result.error();
      std::vector<market::OrderRecord> out;
      for (int row = 0; row < PQntuples(result->get()); ++row) {
        Result<market::OrderRecord> order = order_from_row(result->get(), row);
        if (!order) return order.error();
        out.push_back(std::move(*order));
      }
      return out;
    });
  }

  Result<std::vector<market::Event>> read_events(uint64_t after_seq, size_t limit) override {
    const int64_t bounded = static_cast<int64_t>(std::min(limit, kEventsReadMax));
    return pool_.with_connection([&](PGconn* conn) -> Result<std::vector<market::Event>> {
      // Binary results: seq as 8 big-endian bytes, body as raw bytes.
      Result<PgResult> result =
          exec(conn, "read_events", "SELECT seq, body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
               Params().u64(after_seq).i64(bounded), kBinaryFormat);
      if (!result) return result.error();
      const PGresult* rows = result->get();
      std::vector<market::Event> out;
      out.reserve(static_cast<size_t>(PQntuples(rows)));
      for (int row = 0; row < PQntuples(rows); ++row) {
        if (PQgetlength(rows, row, 0) != 8) return make_error(ErrorCode::kIo, "postgres: corrupt event seq");
        uint64_t seq = 0;
        for (int i = 0; i < 8; ++i) seq = (seq << 8) | static_cast<uint8_t>(PQgetvalue(rows, row, 0)[i]);
        Result<market::Event> event = market::decode_event(
            std::string_view(PQgetvalue(rows, row, 1), static_cast<size_t>(PQgetlength(rows, row, 1))));
        if (!event)
          return make_error(ErrorCode::kIo, "postgres: event " + std::to_string(seq) + ": " + event.error().message);
        event->seq = seq;
        out.push_back(std::move(*event));
      }
      return out;
    });
  }

  uint64_t last_event_seq() override { return events_.last(); }

  void wait_for_events(uint64_t after_seq, std::chrono::milliseconds timeout) override {
    events_.wait_past(after_seq, timeout);
  }

 private:
  static constexpr const char* kChannel = "hawker_events";

  Status migrate(PGconn* conn) {
    static constexpr pg::SchemaDefinition kSchema{"write store", nullptr, "schema_migrations", kMigrations};
    if (Status migrated = pg::migrate(conn, kSchema); !migrated) return migrated;
    Result<PgResult> counter = exec(conn, "read event counter", "SELECT last FROM event_counter WHERE id = 1");
    if (!counter) return counter.error();
    Row last(counter->get(), 0);
    const uint64_t seq = PQntuples(counter->get()) == 1 ? last.u64(0) : 0;
    if (PQntuples(counter->get()) != 1 || !last.ok()) return make_error(ErrorCode::kIo, "postgres: no event counter");
    advance_last_seq(seq);
    return {};
  }

  // The refusal of a malformed commit: kVersionConflict if the stored version
  // differs from the expected one anyway, else kInternal.
  Result<uint64_t> refuse(const ProductCommit& commit) {
    Result<std::optional<ProductSnapshot>> stored = get_product(commit.product_id);
    if (!stored) return stored.error();
    if (Status valid = validate_commit(commit, *stored); !valid) return valid.error();
    return make_error(ErrorCode::kInternal, "malformed commit");
  }

  // One attempt at the commit's transaction. `commit_sent` turns true once
  // COMMIT went to the server (from then on a broken connection leaves the
  // outcome unknown).
  Result<uint64_t> commit_once(PGconn* conn, const ProductCommit& commit, bool& commit_sent) {
    std::string sqlstate;
    auto fail = [&](Error error) -> Result<uint64_t> {
      if (PQstatus(conn) == CONNECTION_OK) PgResult(PQexec(conn, "ROLLBACK"));
      if (is_lost_race(sqlstate))
        return make_error(ErrorCode::kVersionConflict, "product version changed (" + error.message + ")");
      return error;
    };
    auto conflict = [&]() -> Result<uint64_t> {
      PgResult(PQexec(conn, "ROLLBACK"));
      return make_error(ErrorCode::kVersionConflict, "product version changed");
    };

    if (Result<PgResult> begun = exec(conn, "commit", "BEGIN"); !begun) return begun.error();
    const market::Inventory& i = commit.inventory;
    if (commit.expected_version == 0) {
      const market::ProductDefinition& d = *commit.definition;  // validate_commit ensured it
      Result<PgResult> product = exec(conn, "insert product",
                                      "INSERT INTO products (product_id, seller, title, price_cents, currency, "
                                      "max_per_buyer) VALUES ($1, $2, $3, $4, $5, $6) "
                                      "ON CONFLICT (product_id) DO NOTHING",
                                      definition_params(commit.product_id, d), kTextFormat, &sqlstate);
      if (!product) return fail(product.error());
      if (rows_affected(product->get()) != 1) return conflict();
      Result<PgResult> inventory = exec(conn, "insert inventory",
                                        "INSERT INTO inventory (product_id, initial, restocked, available, reserved, "
                                        "sold, low_threshold, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                                        inventory_params(commit.product_id, i), kTextFormat, &sqlstate);
      if (!inventory) return fail(inventory.error());
    } else {
      Result<PgResult> inventory = exec(conn, "update inventory",
                                        "UPDATE inventory SET initial = $2, restocked = $3, available = $4, "
                                        "reserved = $5, sold = $6, low_threshold = $7, version = $8 "
                                        "WHERE product_id = $1 AND version = $9",
                                        inventory_params(commit.product_id, i).u64(commit.expected_version),
                                        kTextFormat, &sqlstate);
      if (!inventory) return fail(inventory.error());
      if (rows_affected(inventory->get()) != 1) return conflict();
      if (commit.definition) {
        const market::ProductDefinition& d = *commit.definition;
        Result<PgResult> product = exec(conn, "update product",
                                        "UPDATE products SET seller = $2, title = $3, price_cents = $4, "
                                        "currency = $5, max_per_buyer = $6 WHERE product_id = $1",
                                        definition_params(commit.product_id, d), kTextFormat, &sqlstate);
        if (!product) return fail(product.error());
      }
    }
    if (Status upserted = upsert_orders(conn, commit, sqlstate); !upserted) return fail(upserted.error());
    if (Status upserted = upsert_holdings(conn, commit, sqlstate); !upserted) return fail(upserted.error());
    Result<uint64_t> last_seq = append_events(conn, commit, sqlstate);
    if (!last_seq) return fail(last_seq.error());

    commit_sent = true;
    Result<PgResult> committed = exec(conn, "commit", "COMMIT", Params(), kTextFormat, &sqlstate);
    if (!committed) return fail(committed.error());
    return *last_seq;
  }

  Status upsert_orders(PGconn* conn, const ProductCommit& commit, std::string& sqlstate) {
    if (commit.orders.empty()) return {};
    ArrayParam ids(kInt8Oid), products(kInt8Oid), buyers(kTextOid), sellers(kTextOid), quantities(kInt4Oid),
        amounts(kInt8Oid), currencies(kTextOid), tokens(kTextOid), processors(kTextOid), statuses(kInt2Oid),
        reasons(kInt2Oid), accepted(kInt8Oid), updated(kInt8Oid);
    for (const market::OrderRecord* order :
         last_per_key(commit.orders, [](const market::OrderRecord& o) { return o.order_id; })) {
      ids.i64(static_cast<int64_t>(order->order_id));
      products.i64(static_cast<int64_t>(order->product_id));
      buyers.bytes(order->buyer);
      sellers.bytes(order->seller);
      quantities.i32(order->quantity);
      amounts.i64(order->amount_cents);
      currencies.bytes(order->currency);
      tokens.bytes(order->payment_token);
      processors.bytes(order->processor);
      statuses.i16(static_cast<int16_t>(order->status));
      reasons.i16(static_cast<int16_t>(order->reason));
      accepted.i64(order->accepted_us);
      updated.i64(order->updated_us);
    }
    Params params;
    params.array(kInt8ArrayOid, ids).array(kInt8ArrayOid, products).array(kTextArrayOid, buyers);
    params.array(kTextArrayOid, sellers).array(kInt4ArrayOid, quantities).array(kInt8ArrayOid, amounts);
    params.array(kTextArrayOid, currencies).array(kTextArrayOid, tokens).array(kTextArrayOid, processors);
    params.array(kInt2ArrayOid, statuses).array(kInt2ArrayOid, reasons).array(kInt8ArrayOid, accepted);
    params.array(kInt8ArrayOid, updated);
    Result<PgResult> result =
        exec(conn, "upsert orders",
             "INSERT INTO orders (order_id, product_id, buyer, seller, quantity, amount_cents, currency, "
             "payment_token, processor, status, reason, accepted_us, updated_us) "
             "SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::int4[], $6::int8[], "
             "$7::text[], $8::text[], $9::text[], $10::int2[], $11::int2[], $12::int8[], $13::int8[]) "
             "ON CONFLICT (order_id) DO UPDATE SET product_id = EXCLUDED.product_id, buyer = EXCLUDED.buyer, "
             "seller = EXCLUDED.seller, quantity = EXCLUDED.quantity, amount_cents = EXCLUDED.amount_cents, "
             "currency = EXCLUDED.currency, payment_token = EXCLUDED.payment_token, "
             "processor = EXCLUDED.processor, status = EXCLUDED.status, reason = EXCLUDED.reason, "
             "accepted_us = EXCLUDED.accepted_us, updated_us = EXCLUDED.updated_us",
             params, kTextFormat, &sqlstate);
    if (!result) return result.error();
    return {};
  }

  Status upsert_holdings(PGconn* conn, const ProductCommit& commit, std::string& sqlstate) {
    if (commit.holdings.empty()) return {};
    ArrayParam buyers(kTextOid), units(kInt4Oid);
    for (const auto* holding :
         last_per_key(commit.holdings, [](const std::pair<std::string, int32_t>& h) { return h.first; })) {
      buyers.bytes(holding->first);
      units.i32(holding->second);
    }
    Result<PgResult> result =
        exec(conn, "upsert holdings",
             "INSERT INTO holdings (product_id, buyer, units) "
             "SELECT $1, b.buyer, b.units FROM unnest($2::text[], $3::int4[]) AS b(buyer, units) "
             "ON CONFLICT (product_id, buyer) DO UPDATE SET units = EXCLUDED.units",
             Params().u64(commit.product_id).array(kTextArrayOid, buyers).array(kInt4ArrayOid, units), kTextFormat,
             &sqlstate);
    if (!result) return result.error();
    return {};
  }

  // Numbers and inserts the commit's events and notifies listeners; returns
  // the last seq (the counter's current value when there are no events).
  Result<uint64_t> append_events(PGconn* conn, const ProductCommit& commit, std::string& sqlstate) {
    if (commit.events.empty()) {
      Result<PgResult> counter = exec(conn, "read event counter", "SELECT last FROM event_counter WHERE id = 1",
                                      Params(), kTextFormat, &sqlstate);
      if (!counter) return counter.error();
      Row row(counter->get(), 0);
      const uint64_t last = PQntuples(counter->get()) == 1 ? row.u64(0) : 0;
      if (PQntuples(counter->get()) != 1 || !row.ok()) return make_error(ErrorCode::kIo, "postgres: no event counter");
      return last;
    }
    // Takes the counter row's lock until COMMIT: see the file comment.
    Result<PgResult> counter =
        exec(conn, "number events", "UPDATE event_counter SET last = last + $1 WHERE id = 1 RETURNING last",
             Params().i64(static_cast<int64_t>(commit.events.size())), kTextFormat, &sqlstate);
    if (!counter) return counter.error();
    Row row(counter->get(), 0);
    const uint64_t last = PQntuples(counter->get()) == 1 ? row.u64(0) : 0;
    if (PQntuples(counter->get()) != 1 || !row.ok()) return make_error(ErrorCode::kIo, "postgres: no event counter");
    uint64_t seq = last - commit.events.size();
    ArrayParam seqs(kInt8Oid), types(kInt2Oid), products(kInt8Oid), bodies(kByteaOid);
    for (const market::Event& event : commit.events) {
      market::Event numbered = event;
      numbered.seq = ++seq;
      seqs.i64(static_cast<int64_t>(numbered.seq));
      types.i16(static_cast<int16_t>(numbered.type));
      products.i64(static_cast<int64_t>(numbered.product_id));
      bodies.bytes(market::encode_event(numbered));
    }
    Result<PgResult> inserted = exec(conn, "insert events",
                                     "INSERT INTO events (seq, type, product_id, body) "
                                     "SELECT * FROM unnest($1::int8[], $2::int2[], $3::int8[], $4::bytea[])",
                                     Params()
                                         .array(kInt8ArrayOid, seqs)
                                         .array(kInt2ArrayOid, types)
                                         .array(kInt8ArrayOid, products)
                                         .array(kByteaArrayOid, bodies),
                                     kTextFormat, &sqlstate);
    if (!inserted) return inserted.error();
    Result<PgResult> notified = exec(conn, "notify", "SELECT pg_notify('hawker_events', $1)",
                                     Params().text(std::to_string(last)), kTextFormat, &sqlstate);
    if (!notified) return notified.error();
    return last;
  }

  void advance_last_seq(uint64_t seq) { events_.advance(seq); }

  // A connection that LISTENs, caught up with the counter (a notification
  // sent before LISTEN took effect would otherwise be missed).
  Result<PGconn*> connect_listener() {
    Result<PGconn*> made = pg::connect(pool_.conninfo(), kApplicationName);
    if (!made) return made.error();
    PGconn* conn = *made;
    Result<PgResult> listening = exec(conn, "listen", "LISTEN hawker_events");
    Result<PgResult> counter = listening.ok()
                                   ? exec(conn, "read event counter", "SELECT last FROM event_counter WHERE id = 1")
                                   : Result<PgResult>(listening.error());
    if (!counter) {
      Error error = counter.error();
      PQfinish(conn);
      return error;
    }
    Row row(counter->get(), 0);
    const uint64_t last = PQntuples(counter->get()) == 1 ? row.u64(0) : 0;
    if (PQntuples(counter->get()) == 1 && row.ok()) advance_last_seq(last);
    return conn;
  }

  // The listener's thread: waits for notifications (or the stop signal),
  // reconnecting whenever the connection breaks.
  void listen_loop() {
    while (!stopping_) {
      if (listener_ == nullptr) {
        Result<PGconn*> made = connect_listener();
        if (made) {
          listener_ = *made;
        } else {
          pollfd stop{stop_fd_, POLLIN, 0};
          ::poll(&stop, 1, kListenerRetryMs);
          continue;
        }
      }
      pollfd fds[2] = {{PQsocket(listener_), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (::poll(fds, 2, kListenerPollMs) < 0 && errno != EINTR) continue;
      if (fds[1].revents != 0 || stopping_) break;
      if (fds[0].revents == 0) continue;
      if (!PQconsumeInput(listener_) || PQstatus(listener_) != CONNECTION_OK) {
        PQfinish(listener_);
        listener_ = nullptr;
        continue;
      }
      while (PGnotify* notify = PQnotifies(listener_)) {
        uint64_t seq = 0;
        const char* payload = notify->extra ? notify->extra : "";
        auto [end, error] = std::from_chars(payload, payload + std::strlen(payload), seq);
        (void)end;
        if (error == std::errc()) advance_last_seq(seq);
        PQfreemem(notify);
      }
    }
  }

  pg::ConnectionPool pool_;
  SeqWatch events_;  // the newest seq committed here or announced by NOTIFY
  PGconn* listener_ = nullptr;  // owned by listener_thread_ once it runs
  std::thread listener_thread_;
  int stop_fd_ = -1;
  std::atomic<bool> stopping_{false};
};

#undef HAWKER_PRODUCT_COLUMNS
#undef HAWKER_PRODUCT_FROM

}  // namespace

Result<WriteStorePtr> open_postgres_write_store(const std::string& conninfo) {
  return open_postgres_write_store(conninfo, PostgresWriteStoreOptions{});
}

Result<WriteStorePtr> open_postgres_write_store(const std::string& conninfo, const PostgresWriteStoreOptions& options) {
  auto store = std::make_unique<PostgresWriteStore>(conninfo, options);
  if (Status started = store->start(); !started) return started.error();
  return WriteStorePtr(std::move(store));
}

}  // namespace hawker::store
