// PostgresShowStore: the ShowStore port on PostgreSQL (libpq, via store/pg.h).
//
// Schema `show_store` (migration 1; show_store.schema_migrations records it):
//   shows(id bigint identity pk, seller, title, status smallint (ShowStatus),
//         showcase bigint, showcase_us, created_us, stream_key text UNIQUE)
// Every statement is one round trip on a borrowed connection (autocommit):
// shows change rarely. A duplicate stream key is the unique constraint's
// violation (SQLSTATE 23505), reported as kConflict.
#include "store/postgres_show_store.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/pg.h"

namespace hawker::store {
namespace {

using pg::exec;
using pg::Params;
using pg::PgResult;
using pg::Row;

constexpr const char* kApplicationName = "hawker-show-store";
constexpr size_t kPoolSize = 2;
constexpr std::chrono::milliseconds kAcquireTimeout{30'000};
constexpr const char* kUniqueViolation = "23505";

constexpr pg::Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE show_store.shows (
  id          bigint   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  seller      text     NOT NULL,
  title       text     NOT NULL,
  status      smallint NOT NULL,
  showcase    bigint   NOT NULL DEFAULT 0,
  showcase_us bigint   NOT NULL DEFAULT 0,
  created_us  bigint   NOT NULL,
  stream_key  text     NOT NULL,
  CONSTRAINT shows_stream_key UNIQUE (stream_key)
);
)sql"},
};
static_assert(std::size(kMigrations) == kPostgresShowStoreSchemaVersion);

constexpr pg::SchemaDefinition kSchema{"show store", "CREATE SCHEMA IF NOT EXISTS show_store",
                                       "show_store.schema_migrations", kMigrations};

#define HAWKER_SHOW_COLUMNS "id, seller, title, status, showcase, showcase_us, created_us, stream_key"

static_assert(static_cast<int>(ShowStatus::kScheduled) == 0 && static_cast<int>(ShowStatus::kLive) == 1 &&
              static_cast<int>(ShowStatus::kEnded) == 2);

Result<ShowRecord> show_from_row(const pg_result* result, int index) {
  Row row(result, index);
  ShowRecord show;
  show.id = row.u64(0);
  show.seller = row.text(1);
  show.title = row.text(2);
  const int64_t status = row.i64(3);
  show.status = status == 1 ? ShowStatus::kLive : status == 2 ? ShowStatus::kEnded : ShowStatus::kScheduled;
  show.showcase_product_id = row.u64(4);
  show.showcase_us = row.i64(5);
  show.created_us = row.i64(6);
  show.stream_key = row.text(7);
  if (!row.ok()) return make_error(ErrorCode::kIo, "postgres show store: corrupt show row");
  return show;
}

Result<std::optional<ShowRecord>> first_show(const PgResult& result) {
  if (pg::row_count(result.get()) == 0) return std::optional<ShowRecord>();
  Result<ShowRecord> show = show_from_row(result.get(), 0);
  if (!show) return show.error();
  return std::optional<ShowRecord>(std::move(*show));
}

class PostgresShowStore final : public ShowStore {
 public:
  explicit PostgresShowStore(const std::string& conninfo)
      : pool_(conninfo, kApplicationName, kPoolSize, kAcquireTimeout) {}

  Status start() {
    Result<pg::Lease> lease = pool_.acquire();
    if (!lease) return lease.error();
    return pg::migrate(lease->get(), kSchema);
  }

  Result<ShowRecord> create(const std::string& seller, const std::string& title, const std::string& stream_key,
                            int64_t now_us) override {
    if (stream_key.empty()) return make_error(ErrorCode::kInvalid, "a show needs a stream key");
    // Not retried: an INSERT whose outcome is unknown must not run twice.
    Result<pg::Lease> lease = pool_.acquire();
    if (!lease) return lease.error();
    std::string sqlstate;
    Result<PgResult> result = exec(lease->get(), "insert show",
                                   "INSERT INTO show_store.shows (seller, title, status, created_us, stream_key) "
                                   "VALUES ($1, $2, 0, $3, $4) RETURNING id",
                                   Params().text(seller).text(title).i64(now_us).text(stream_key), pg::kTextFormat,
                                   &sqlstate);
    if (!result) {
      if (sqlstate == kUniqueViolation) return make_error(ErrorCode::kConflict, "stream key already in use");
      return result.error();
    }
    Row row(result->get(), 0);
    ShowRecord show;
    show.id = pg::row_count(result->get()) == 1 ? row.u64(0) : 0;
    if (pg::row_count(result->get()) != 1 || !row.ok())
      return make_error(ErrorCode::kIo, "postgres show store: no id returned");
    show.seller = seller;
    show.title = title;
    show.created_us = now_us;
    show.stream_key = stream_key;
    return show;
  }

  Result<std::optional<ShowRecord>> get(uint64_t show_id) override {
    return pool_.with_connection([&](pg_conn* conn) -> Result<std::optional<ShowRecord>> {
      Result<PgResult> result =
          exec(conn, "select show", "SELECT " HAWKER_SHOW_COLUMNS " FROM show_store.shows WHERE id = $1",
               Params().u64(show_id));
      if (!result) return result.error();
      return first_show(*result);
    });
  }

  Result<std::optional<ShowRecord>> find_by_stream_key(const std::string& stream_key) override {
    if (stream_key.empty()) return std::optional<ShowRecord>();
    return pool_.with_connection([&](pg_conn* conn) -> Result<std::optional<ShowRecord>> {
      Result<PgResult> result =
          exec(conn, "select show by key",
               "SELECT " HAWKER_SHOW_COLUMNS " FROM show_store.shows WHERE stream_key = $1", Params().text(stream_key));
      if (!result) return result.error();
      return first_show(*result);
    });
  }

  Status set_stream_key(uint64_t show_id, const std::string& stream_key) override {
    if (stream_key.empty()) return make_error(ErrorCode::kInvalid, "a show needs a stream key");
    return update("set stream key", "UPDATE show_store.shows SET stream_key = $2 WHERE id = $1",
                  Params().u64(show_id).text(stream_key));
  }

  Result<std::vector<ShowRecord>> list(size_t offset, size_t limit) override {
    const int64_t bounded_limit = static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX));
    const int64_t bounded_offset = static_cast<int64_t>(std::min<size_t>(offset, INT64_MAX));
    return pool_.with_connection([&](pg_conn* conn) -> Result<std::vector<ShowRecord>> {
      // live (1) first, then scheduled (0), then ended (2); newest first.
      Result<PgResult> result = exec(conn, "list shows",
                                     "SELECT " HAWKER_SHOW_COLUMNS " FROM show_store.shows "
                                     "ORDER BY CASE status WHEN 1 THEN 0 WHEN 0 THEN 1 ELSE 2 END, id DESC "
                                     "LIMIT $1 OFFSET $2",
                                     Params().i64(bounded_limit).i64(bounded_offset));
      if (!result) return result.error();
      std::vector<ShowRecord> out;
      out.reserve(static_cast<size_t>(pg::row_count(result->get())));
      for (int index = 0; index < pg::row_count(result->get()); ++index) {
        Result<ShowRecord> show = show_from_row(result->get(), index);
        if (!show) return show.error();
        out.push_back(std::move(*show));
      }
      return out;
    });
  }

  Status set_showcase(uint64_t show_id, uint64_t product_id, int64_t now_us) override {
    return update("set showcase", "UPDATE show_store.shows SET showcase = $2, showcase_us = $3 WHERE id = $1",
                  Params().u64(show_id).u64(product_id).i64(now_us));
  }

  Status set_status(uint64_t show_id, ShowStatus status) override {
    return update("set status", "UPDATE show_store.shows SET status = $2 WHERE id = $1",
                  Params().u64(show_id).i32(static_cast<int32_t>(status)));
  }

 private:
  // An UPDATE of one show by id (repeating it is harmless): kNotFound when
  // no row matched, kConflict on a duplicate stream key.
  Status update(const char* what, const char* sql, const Params& params) {
    return pool_.with_connection([&](pg_conn* conn) -> Status {
      std::string sqlstate;
      Result<PgResult> result = exec(conn, what, sql, params, pg::kTextFormat, &sqlstate);
      if (!result) {
        if (sqlstate == kUniqueViolation) return make_error(ErrorCode::kConflict, "stream key already in use");
        return result.error();
      }
      if (pg::rows_affected(result->get()) == 0) return make_error(ErrorCode::kNotFound, "no such show");
      return ok_status();
    });
  }

  pg::ConnectionPool pool_;
};

#undef HAWKER_SHOW_COLUMNS

}  // namespace

Result<ShowStorePtr> open_postgres_show_store(const std::string& conninfo) {
  auto store = std::make_unique<PostgresShowStore>(conninfo);
  if (Status started = store->start(); !started) return started.error();
  return ShowStorePtr(std::move(store));
}

}  // namespace hawker::store
