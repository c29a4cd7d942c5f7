// Plain libpq handles for tests that look at a PostgreSQL database from
// outside the adapters (the test server's set-up, the PostgreSQL adapter
// tests): owners that PQfinish / PQclear, and the first column of a query.
// Header-only; include it only where libpq is wanted.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hawker::testing {

struct PgConnFinish {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultClear {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgConnection = std::unique_ptr<PGconn, PgConnFinish>;
using PgQueryResult = std::unique_ptr<PGresult, PgResultClear>;

// The first column of every row of `sql` on `conn`, as text; a query that
// returns no rows set is a test failure (and an empty list).
inline std::vector<std::string> first_column(PGconn* conn, const char* sql) {
  PgQueryResult result(PQexec(conn, sql));
  std::vector<std::string> out;
  EXPECT_EQ(PQresultStatus(result.get()), PGRES_TUPLES_OK) << sql << ": " << PQresultErrorMessage(result.get());
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) return out;
  for (int row = 0; row < PQntuples(result.get()); ++row) out.emplace_back(PQgetvalue(result.get(), row, 0));
  return out;
}

}  // namespace hawker::testing
