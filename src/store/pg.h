// pg: the libpq plumbing the PostgreSQL adapters share (PostgresWriteStore,
// PostgresReadStore, PostgresShowStore): parameterised statements, a row
// reader, a bounded connection pool, a migration runner and its read-only
// version check.
//
// Internal to src/store: only the adapters' .cc files include it. libpq's
// types are forward-declared here (as libpq-fe.h itself declares them), so
// nothing outside those .cc files sees libpq.
//
// Every value travels as a query parameter (PQexecParams); SQL text is
// constant. Failures come back as errors carrying the server's message:
// kUnavailable when the connection is gone, kIo otherwise; nothing throws.
//
// Threads: a connection (and a PgResult) is used by one thread at a time;
// ConnectionPool is thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

struct pg_conn;
struct pg_result;

namespace hawker::store::pg {

using Oid = unsigned int;  // libpq's Oid (postgres_ext.h); pg.cc checks they agree

// Type OIDs of pg_type (stable across PostgreSQL versions).
inline constexpr Oid kInt2Oid = 21;
inline constexpr Oid kInt4Oid = 23;
inline constexpr Oid kInt8Oid = 20;
inline constexpr Oid kTextOid = 25;
inline constexpr Oid kByteaOid = 17;
inline constexpr Oid kInt2ArrayOid = 1005;
inline constexpr Oid kInt4ArrayOid = 1007;
inline constexpr Oid kInt8ArrayOid = 1016;
inline constexpr Oid kTextArrayOid = 1009;
inline constexpr Oid kByteaArrayOid = 1001;

inline constexpr int kTextFormat = 0;
inline constexpr int kBinaryFormat = 1;

struct ResultFree {
  void operator()(pg_result* result) const;
};
using PgResult = std::unique_ptr<pg_result, ResultFree>;

// A one-dimensional array parameter in PostgreSQL's binary array format.
class ArrayParam {
 public:
  explicit ArrayParam(Oid element) : element_(element) {}
  ArrayParam& i64(int64_t value) { return add_fixed(static_cast<uint64_t>(value), 8); }
  ArrayParam& i32(int32_t value) { return add_fixed(static_cast<uint32_t>(value), 4); }
  ArrayParam& i16(int16_t value) { return add_fixed(static_cast<uint16_t>(value), 2); }
  ArrayParam& bytes(std::string_view value);
  std::string encode() const;
  size_t size() const { return count_; }

 private:
  ArrayParam& add_fixed(uint64_t value, int bytes);
  Oid element_;
  std::string elements_;
  uint64_t count_ = 0;
};

// The parameters of one statement. Numbers go as text; strings and bytes as
// binary with their length (no NUL truncation; the server still validates
// text's encoding and refuses NUL bytes in text).
class Params {
 public:
  Params& i64(int64_t value) { return add(std::to_string(value), kInt8Oid, kTextFormat); }
  Params& u64(uint64_t value) { return i64(static_cast<int64_t>(value)); }
  Params& i32(int32_t value) { return add(std::to_string(value), kInt4Oid, kTextFormat); }
  Params& text(std::string_view value) { return add(std::string(value), kTextOid, kBinaryFormat); }
  Params& array(Oid array_type, const ArrayParam& value) { return add(value.encode(), array_type, kBinaryFormat); }

  int size() const { return static_cast<int>(values_.size()); }
  const Oid* types() const { return types_.data(); }
  const int* formats() const { return formats_.data(); }
  std::vector<const char*> values() const;
  std::vector<int> lengths() const;

 private:
  Params& add(std::string value, Oid type, int format) {
    values_.push_back(std::move(value));
    types_.push_back(type);
    formats_.push_back(format);
    return *this;
  }
  std::vector<std::string> values_;
  std::vector<Oid> types_;
  std::vector<int> formats_;
};

std::string trimmed(const char* text);

// The server's (or libpq's) message as an error: kUnavailable when the
// connection is gone, kIo otherwise.
Error postgres_error(pg_conn* conn, const pg_result* result, std::string_view what);

// Runs one parameterised statement. On failure `sqlstate` (when given) gets
// the server's SQLSTATE.
Result<PgResult> exec(pg_conn* conn, std::string_view what, const char* sql, const Params& params,
                      int result_format = kTextFormat, std::string* sqlstate = nullptr);
Result<PgResult> exec(pg_conn* conn, std::string_view what, const char* sql);

// Runs constant SQL that may hold several statements (migrations only).
Status exec_script(pg_conn* conn, std::string_view what, const char* sql);

// Sends ROLLBACK if the connection is still up; its outcome does not matter
// (the first error is the one to report, and the pool discards a connection
// left inside a transaction).
void rollback_quietly(pg_conn* conn);

uint64_t rows_affected(const pg_result* result);
int row_count(const pg_result* result);
// True once the server closed the connection or it broke.
bool connection_broken(pg_conn* conn);

// Reads one row of a text-format result; ok() turns false on a value that
// does not parse (a schema this build does not know).
class Row {
 public:
  Row(const pg_result* result, int row) : result_(result), row_(row) {}
  int64_t i64(int column);
  uint64_t u64(int column) { return static_cast<uint64_t>(i64(column)); }
  int32_t i32(int column) { return static_cast<int32_t>(i64(column)); }
  std::string text(int column);
  bool ok() const { return ok_; }

 private:
  const pg_result* result_;
  int row_;
  bool ok_ = true;
};

// Parses a text-format int[] such as {2,0,3}; NULL (array_agg of nothing) is empty.
bool parse_int_array(const pg_result* result, int row, int column, std::vector<int64_t>& out);

template <typename T>
bool parse_int_array(const pg_result* result, int row, int column, std::vector<T>& out) {
  std::vector<int64_t> values;
  if (!parse_int_array(result, row, column, values)) return false;
  out.assign(values.begin(), values.end());
  return true;
}

// Connects; conninfo's own settings override the defaults (connect_timeout
// 10 s, client_encoding UTF8, fallback_application_name `application_name`).
Result<pg_conn*> connect(const std::string& conninfo, const char* application_name);
void disconnect(pg_conn* conn);

// At most `size` connections, made on demand. acquire() waits (bounded) for a
// free one and hands out one the server has not closed; the Lease gives it
// back, discarding it if it broke or was left inside a transaction.
// Thread-safe.
class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, pg_conn* conn) : pool_(pool), conn_(conn) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::exchange(other.conn_, nullptr)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_) pool_->give_back(conn_);
    }
    pg_conn* get() const { return conn_; }

   private:
    ConnectionPool* pool_;
    pg_conn* conn_;
  };

  ConnectionPool(std::string conninfo, const char* application_name, size_t size,
                 std::chrono::milliseconds acquire_timeout);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  const std::string& conninfo() const { return conninfo_; }
  const char* application_name() const { return application_name_; }

  Result<Lease> acquire();

  // Runs `call` on a borrowed connection; once more on another if the first
  // broke under it (for calls that are safe to repeat).
  template <typename Call>
  auto with_connection(Call&& call) -> decltype(call(static_cast<pg_conn*>(nullptr))) {
    for (int attempt = 0;; ++attempt) {
      Result<Lease> lease = acquire();
      if (!lease) return lease.error();
      auto result = call(lease->get());
      if (result.ok() || attempt > 0 || !connection_broken(lease->get())) return result;
    }
  }

 private:
  void give_back(pg_conn* conn);
  void forget_one();

  const std::string conninfo_;
  const char* const application_name_;
  const size_t size_;
  const std::chrono::milliseconds acquire_timeout_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<pg_conn*> idle_;  // guarded by mutex_
  size_t open_ = 0;             // idle + lent, guarded by mutex_
};

using Lease = ConnectionPool::Lease;

// ---- Migrations ------------------------------------------------------------------

struct Migration {
  int version;      // 1, 2, ... in order
  const char* sql;  // constant DDL, run in the migration's transaction
};

// One component's schema (the write store's, the read models', the shows'):
// its own migrations table, so components migrate independently in one
// database. `table` and `create_schema` are constant identifiers/SQL.
struct SchemaDefinition {
  const char* component;      // for messages: "write store"
  const char* create_schema;  // run before anything else (e.g. CREATE SCHEMA IF NOT EXISTS x), or nullptr
  const char* table;          // the migrations table, e.g. "schema_migrations" or "x.schema_migrations"
  std::span<const Migration> migrations;
};

// Applies the pending migrations, each in its own transaction under
// pg_advisory_xact_lock, so concurrent openers run each migration once.
// Refuses (kUnavailable, "... newer than this build ...") a database whose
// recorded version is higher than the highest one known here.
Status migrate(pg_conn* conn, const SchemaDefinition& schema);

// For an opener that must not write (e.g. on a hot standby, which refuses
// all DDL, even CREATE SCHEMA IF NOT EXISTS): checks with SELECTs only that
// `schema`'s migrations table exists and its highest version is exactly the
// highest one known here. Otherwise kUnavailable naming the server, the
// version found and the one needed, followed by `remedy` (e.g. "start a
// worker (it migrates) first"). Writes nothing, takes no lock.
Status check_migrated(pg_conn* conn, const SchemaDefinition& schema, std::string_view remedy);

// "HOST:PORT/DATABASE" of a connection, for messages (no user or password).
std::string describe_server(pg_conn* conn);

}  // namespace hawker::store::pg
