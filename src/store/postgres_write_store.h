// PostgresWriteStore: the write side of checkout on PostgreSQL, for cluster
// mode (many gateway and worker processes sharing one database).
//
// It implements the WriteStore port (store/write_store.h) and passes the same
// contract suite as RocksWriteStore. The schema is created and upgraded at
// open by numbered migrations recorded in schema_migrations; see
// postgres_write_store.cc for the tables and for how a commit maps to one
// PostgreSQL transaction (conditional UPDATE on inventory.version, the outbox
// numbered from a single counter row).
//
// Durability is PostgreSQL's: a commit returns after COMMIT succeeded, so the
// server's synchronous_commit must not be off.
//
// Thread-safe: any number of threads may call any method at once; each call
// borrows one connection from a bounded pool (waiting at most
// acquire_timeout for one). One more connection LISTENs for the outbox's
// NOTIFY, so wait_for_events() also wakes for commits made by other
// processes. Server and connection failures come back as kIo / kUnavailable
// errors carrying the server's message; nothing throws.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "store/write_store.h"

namespace hawker::store {

struct PostgresWriteStoreOptions {
  size_t pool_size = 4;                               // connections for calls (the listener is one more)
  std::chrono::milliseconds acquire_timeout{30'000};  // bound on waiting for a free connection
};

// The highest migration this build knows; schema_migrations holds 1..this.
inline constexpr int kPostgresWriteStoreSchemaVersion = 3;

// Connects with a libpq connection string or URI ("host=... dbname=..." or
// "postgresql://..."), applies pending migrations, and returns the store.
// A connect_timeout of 10 s applies unless `conninfo` sets one.
Result<WriteStorePtr> open_postgres_write_store(const std::string& conninfo);
Result<WriteStorePtr> open_postgres_write_store(const std::string& conninfo, const PostgresWriteStoreOptions& options);

}  // namespace hawker::store
