// PostgresShowStore: live shows on PostgreSQL, for cluster mode. It
// implements the ShowStore port (store/show_store.h) and passes the same
// contract suite as SqliteShowStore.
//
// The shows live in their own schema, `show_store` (table shows, migrations
// table show_store.schema_migrations). Ids come from an identity column (a
// sequence: never reused, even after a rollback); stream keys are unique by
// a constraint, so a duplicate is kConflict even between processes.
//
// Thread-safe: each call borrows one connection from a bounded pool.
#pragma once

#include <string>

#include "store/show_store.h"

namespace hawker::store {

// The highest show-store migration this build knows.
inline constexpr int kPostgresShowStoreSchemaVersion = 1;

// Connects with a libpq connection string or URI, applies pending migrations
// of the show_store schema, and returns the store.
Result<ShowStorePtr> open_postgres_show_store(const std::string& conninfo);

}  // namespace hawker::store
