// PostgresReadStore: the read side (catalog and projections) on PostgreSQL,
// for cluster mode. It implements the ReadStore port (store/read_store.h) and
// passes the same contract suite as SqliteReadStore.
//
// The read models live in their own schema, `read_model` (products, orders,
// seller_totals, checkpoint), with their own migrations table
// (read_model.schema_migrations), so they can share the write store's
// database or be pointed at another database or a replica's primary.
//
// Read-only (PostgresReadStoreOptions::read_only), for processes that only
// read the read models (cluster gateways), possibly on a streaming-
// replication standby: open runs no migration and writes nothing; it checks
// with SELECTs that read_model is at exactly this build's version (else
// kUnavailable: a read-write opener, a worker, must migrate the primary
// first). apply() then refuses with kInvalid and changes nothing;
// checkpoint() and every query work. On a standby they see the primary's
// projection as far as it has replayed (they may lag it).
//
// Thread-safe: any number of threads may call any method at once; each call
// borrows one connection from a bounded pool. apply() runs in ONE
// transaction that locks the checkpoint row first, so two appliers (two
// processes) take turns and neither applies an event twice. Failures come
// back as kIo / kUnavailable errors carrying the server's message.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "store/read_store.h"

namespace hawker::store {

struct PostgresReadStoreOptions {
  size_t pool_size = 4;                               // connections for calls
  std::chrono::milliseconds acquire_timeout{30'000};  // bound on waiting for a free connection
  bool read_only = false;                             // no migration, no apply(): see above
};

// The highest read-model migration this build knows.
inline constexpr int kPostgresReadStoreSchemaVersion = 1;

// Connects with a libpq connection string or URI, applies pending migrations
// of the read_model schema (read-only: checks they are all applied), and
// returns the store.
Result<ReadStorePtr> open_postgres_read_store(const std::string& conninfo);
Result<ReadStorePtr> open_postgres_read_store(const std::string& conninfo, const PostgresReadStoreOptions& options);

}  // namespace hawker::store
