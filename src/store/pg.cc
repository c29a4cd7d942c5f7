// pg: see pg.h. Moved out of postgres_write_store.cc unchanged in behaviour;
// the migration runner now takes the component's migrations table, so several
// components keep independent schemas in one database.
#include "store/pg.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <type_traits>

namespace hawker::store::pg {

static_assert(std::is_same_v<Oid, ::Oid>);
static_assert(std::is_same_v<pg_conn, ::PGconn> && std::is_same_v<pg_result, ::PGresult>);

namespace {

constexpr int64_t kMigrationLockKey = 0x6861776b6572'01;  // "hawker" + 1: pg_advisory_xact_lock while migrating

void append_be(std::string& out, uint64_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

// The server's notices (e.g. "relation already exists, skipping") and the
// FATAL of a terminated idle connection would go to stderr; the stores report
// what matters through their results instead.
void ignore_notice(void*, const char*) {}

}  // namespace

void ResultFree::operator()(pg_result* result) const { PQclear(result); }

// ---- Parameters ------------------------------------------------------------------

ArrayParam& ArrayParam::bytes(std::string_view value) {
  append_be(elements_, value.size(), 4);
  elements_.append(value);
  ++count_;
  return *this;
}

std::string ArrayParam::encode() const {
  std::string out;
  append_be(out, count_ == 0 ? 0 : 1, 4);  // dimensions
  append_be(out, 0, 4);                    // no nulls
  append_be(out, element_, 4);
  if (count_ > 0) {
    append_be(out, count_, 4);  // size
    append_be(out, 1, 4);       // lower bound
  }
  out.append(elements_);
  return out;
}

ArrayParam& ArrayParam::add_fixed(uint64_t value, int bytes) {
  append_be(elements_, static_cast<uint64_t>(bytes), 4);
  append_be(elements_, value, bytes);
  ++count_;
  return *this;
}

std::vector<const char*> Params::values() const {
  std::vector<const char*> out;
  for (const auto& value : values_) out.push_back(value.data());
  return out;
}

std::vector<int> Params::lengths() const {
  std::vector<int> out;
  for (const auto& value : values_) out.push_back(static_cast<int>(value.size()));
  return out;
}

// ---- Statements --------------------------------------------------------------------

std::string trimmed(const char* text) {
  std::string out = text ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

Error postgres_error(PGconn* conn, const PGresult* result, std::string_view what) {
  std::string message = result ? trimmed(PQresultErrorMessage(result)) : "";
  if (message.empty()) message = trimmed(PQerrorMessage(conn));
  const char* sqlstate = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string text = "postgres: " + std::string(what) + ": " + message;
  if (sqlstate) text += std::string(" (SQLSTATE ") + sqlstate + ")";
  return make_error(PQstatus(conn) == CONNECTION_BAD ? ErrorCode::kUnavailable : ErrorCode::kIo, std::move(text));
}

Result<PgResult> exec(PGconn* conn, std::string_view what, const char* sql, const Params& params, int result_format,
                      std::string* sqlstate) {
  const std::vector<const char*> values = params.values();
  const std::vector<int> lengths = params.lengths();
  PgResult result(PQexecParams(conn, sql, params.size(), params.types(), values.data(), lengths.data(),
                               params.formats(), result_format));
  const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Result<PgResult>(std::move(result));
  if (sqlstate) {
    const char* state = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
    *sqlstate = state ? state : "";
  }
  return postgres_error(conn, result.get(), what);
}

Result<PgResult> exec(PGconn* conn, std::string_view what, const char* sql) { return exec(conn, what, sql, Params()); }

Status exec_script(PGconn* conn, std::string_view what, const char* sql) {
  PgResult result(PQexec(conn, sql));
  const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return {};
  return postgres_error(conn, result.get(), what);
}

void rollback_quietly(PGconn* conn) {
  if (PQstatus(conn) == CONNECTION_OK) PgResult(PQexec(conn, "ROLLBACK"));
}

uint64_t rows_affected(const PGresult* result) {
  const char* text = PQcmdTuples(const_cast<PGresult*>(result));
  uint64_t rows = 0;
  std::from_chars(text, text + std::strlen(text), rows);
  return rows;
}

int row_count(const PGresult* result) { return PQntuples(result); }

bool connection_broken(PGconn* conn) { return PQstatus(conn) == CONNECTION_BAD; }

// ---- Rows ----------------------------------------------------------------------------

int64_t Row::i64(int column) {
  int64_t value = 0;
  const char* text = PQgetvalue(result_, row_, column);
  const char* end = text + PQgetlength(result_, row_, column);
  auto [stop, error] = std::from_chars(text, end, value);
  if (error != std::errc() || stop != end || PQgetisnull(result_, row_, column)) ok_ = false;
  return value;
}

std::string Row::text(int column) {
  return std::string(PQgetvalue(result_, row_, column), static_cast<size_t>(PQgetlength(result_, row_, column)));
}

bool parse_int_array(const PGresult* result, int row, int column, std::vector<int64_t>& out) {
  out.clear();
  if (PQgetisnull(result, row, column)) return true;
  std::string_view text(PQgetvalue(result, row, column), static_cast<size_t>(PQgetlength(result, row, column)));
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') return false;
  text = text.substr(1, text.size() - 2);
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    int64_t value = 0;
    auto [stop, error] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (error != std::errc() || stop != item.data() + item.size()) return false;
    out.push_back(value);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return true;
}

// ---- Connections -----------------------------------------------------------------

Result<PGconn*> connect(const std::string& conninfo, const char* application_name) {
  const char* keys[] = {"connect_timeout", "client_encoding", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {"10", "UTF8", application_name, conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  if (conn == nullptr) return make_error(ErrorCode::kUnavailable, "postgres: cannot connect: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    Error error = make_error(ErrorCode::kUnavailable, "postgres: cannot connect: " + trimmed(PQerrorMessage(conn)));
    PQfinish(conn);
    return error;
  }
  PQsetNoticeProcessor(conn, ignore_notice, nullptr);
  return conn;
}

void disconnect(PGconn* conn) { PQfinish(conn); }

namespace {

// An idle connection has nothing to read; if it has, the server may have
// closed it (restart, idle timeout): consume and look.
bool alive(PGconn* conn) {
  if (PQstatus(conn) != CONNECTION_OK) return false;
  pollfd entry{PQsocket(conn), POLLIN, 0};
  if (::poll(&entry, 1, 0) > 0 && !PQconsumeInput(conn)) return false;
  return PQstatus(conn) == CONNECTION_OK;
}

}  // namespace

ConnectionPool::ConnectionPool(std::string conninfo, const char* application_name, size_t size,
                               std::chrono::milliseconds acquire_timeout)
    : conninfo_(std::move(conninfo)),
      application_name_(application_name),
      size_(std::max<size_t>(size, 1)),
      acquire_timeout_(acquire_timeout) {}

ConnectionPool::~ConnectionPool() {
  // Precondition: every Lease was given back (the store outlives its calls).
  for (PGconn* conn : idle_) PQfinish(conn);
}

Result<Lease> ConnectionPool::acquire() {
  PGconn* conn = nullptr;
  {
    std::unique_lock lock(mutex_);
    if (!freed_.wait_for(lock, acquire_timeout_, [&] { return !idle_.empty() || open_ < size_; }))
      return make_error(ErrorCode::kUnavailable,
                        "postgres: no free connection within " + std::to_string(acquire_timeout_.count()) + " ms");
    if (!idle_.empty()) {
      conn = idle_.back();
      idle_.pop_back();
    } else {
      ++open_;
    }
  }
  if (conn == nullptr) {
    Result<PGconn*> made = connect(conninfo_, application_name_);
    if (!made) {
      forget_one();
      return made.error();
    }
    return Lease(this, *made);
  }
  if (!alive(conn)) {
    PQreset(conn);
    if (PQstatus(conn) != CONNECTION_OK) {
      Error error = make_error(ErrorCode::kUnavailable, "postgres: reconnect failed: " + trimmed(PQerrorMessage(conn)));
      PQfinish(conn);
      forget_one();
      return error;
    }
  }
  return Lease(this, conn);
}

void ConnectionPool::give_back(PGconn* conn) {
  if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE) PgResult(PQexec(conn, "ROLLBACK"));
  if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE) {
    PQfinish(conn);
    forget_one();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(conn);
  }
  freed_.notify_one();
}

void ConnectionPool::forget_one() {
  {
    std::lock_guard lock(mutex_);
    --open_;
  }
  freed_.notify_one();
}

// ---- Migrations ------------------------------------------------------------------

namespace {

// The newest migration version recorded in `table` (0 when none).
Result<int64_t> newest_applied(PGconn* conn, std::string_view what, const std::string& table) {
  const std::string sql = "SELECT COALESCE(max(version), 0) FROM " + table;
  Result<PgResult> newest = exec(conn, what, sql.c_str());
  if (!newest) return newest.error();
  Row row(newest->get(), 0);
  const int64_t applied = row.i64(0);
  if (!row.ok()) return make_error(ErrorCode::kIo, "postgres: unreadable " + table);
  return applied;
}

}  // namespace

Status migrate(PGconn* conn, const SchemaDefinition& schema) {
  const Params lock = Params().i64(kMigrationLockKey);
  const std::string table = schema.table;
  const int known = static_cast<int>(schema.migrations.size());
  auto step = [&](std::string_view what, const char* sql, const Params& params = Params()) -> Status {
    Result<PgResult> result = exec(conn, what, sql, params);
    if (!result) return result.error();
    return {};
  };
  // On any failure below the connection may be inside a transaction; the
  // pool's give_back rolls it back.
  // Concurrent openers queue on the advisory lock, so each migration runs
  // once; the lock goes with the transaction.
  if (Status s = step("migrate", "BEGIN"); !s) return s;
  if (Status s = step("migrate", "SELECT pg_advisory_xact_lock($1)", lock); !s) return s;
  if (schema.create_schema != nullptr) {
    if (Status s = step("migrate", schema.create_schema); !s) return s;
  }
  const std::string create_table =
      "CREATE TABLE IF NOT EXISTS " + table + " (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())";
  if (Status s = step("migrate", create_table.c_str()); !s) return s;
  Result<int64_t> newest = newest_applied(conn, "migrate", table);
  if (!newest) return newest.error();
  const int64_t applied = *newest;
  if (applied > known)
    return make_error(ErrorCode::kUnavailable, "postgres: the database's " + std::string(schema.component) +
                                                   " schema is version " + std::to_string(applied) +
                                                   ", newer than this build's " + std::to_string(known));
  if (Status s = step("migrate", "COMMIT"); !s) return s;

  const std::string done_sql = "SELECT 1 FROM " + table + " WHERE version = $1";
  const std::string record_sql = "INSERT INTO " + table + " (version, applied_at) VALUES ($1, now())";
  for (const Migration& migration : schema.migrations) {
    const std::string what = std::string(schema.component) + " migration " + std::to_string(migration.version);
    const Params version = Params().i32(migration.version);
    if (Status s = step(what, "BEGIN"); !s) return s;
    if (Status s = step(what, "SELECT pg_advisory_xact_lock($1)", lock); !s) return s;
    Result<PgResult> done = exec(conn, what, done_sql.c_str(), version);
    if (!done) return done.error();
    if (PQntuples(done->get()) == 0) {
      if (Status s = exec_script(conn, what, migration.sql); !s) return s;
      if (Status s = step(what, record_sql.c_str(), version); !s) return s;
    }
    if (Status s = step(what, "COMMIT"); !s) return s;
  }
  return {};
}

std::string describe_server(PGconn* conn) {
  const char* host = PQhost(conn);
  const char* port = PQport(conn);
  const char* database = PQdb(conn);
  return std::string(host ? host : "?") + ":" + (port ? port : "?") + "/" + (database ? database : "?");
}

Status check_migrated(PGconn* conn, const SchemaDefinition& schema, std::string_view remedy) {
  const std::string table = schema.table;
  const int known = static_cast<int>(schema.migrations.size());
  const std::string where = std::string(schema.component) + " schema on " + describe_server(conn);
  // to_regclass answers NULL for a missing table (or schema) instead of failing.
  Result<PgResult> exists =
      exec(conn, "check migrations", "SELECT to_regclass($1) IS NOT NULL", Params().text(table));
  if (!exists) return exists.error();
  if (row_count(exists->get()) != 1) return make_error(ErrorCode::kIo, "postgres: to_regclass answered no row");
  if (Row(exists->get(), 0).text(0) != "t")
    return make_error(ErrorCode::kUnavailable, "postgres: the " + where + " is not there (no " + table +
                                                   "), this build needs version " + std::to_string(known) + "; " +
                                                   std::string(remedy));
  Result<int64_t> newest = newest_applied(conn, "check migrations", table);
  if (!newest) return newest.error();
  const int64_t applied = *newest;
  if (applied > known)
    return make_error(ErrorCode::kUnavailable, "postgres: the " + where + " is version " + std::to_string(applied) +
                                                   ", newer than this build's " + std::to_string(known));
  if (applied < known)
    return make_error(ErrorCode::kUnavailable, "postgres: the " + where + " is at version " +
                                                   std::to_string(applied) + ", this build needs " +
                                                   std::to_string(known) + "; " + std::string(remedy));
  return {};
}

}  // namespace hawker::store::pg
