// PostgresReadStore and PostgresShowStore beyond their contracts (which they
// also pass, in read_store_contract_test.cc and show_store_contract_test.cc),
// on the test binary's real PostgreSQL 15. It proves that the read models and
// the shows live in schemas of their own, next to the write store's tables in
// one database, each component with its own migrations record; that several
// stores opening a fresh database at once migrate it once; that a read-model
// schema newer than the build is refused; and that two read stores applying
// the same events at once (two projector processes) apply each event once.
//
// Read-only (a gateway's read models, possibly on a replica): it opens a
// migrated database and serves every query and the checkpoint, even over a
// connection whose every transaction is read-only (so it never tries a
// write); it refuses, creating nothing, a database whose read models are
// missing, older or newer; its apply() is an error that changes nothing; and
// on a real hot standby (pg_basebackup of a primary) it sees what a
// read-write store applies on the primary once it has replayed.
//
// It also defines the contract suites' "Postgres" factories: the support
// header's hawker::testing would hide ::testing in those files.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.h"
#include "store/postgres_read_store.h"
#include "store/postgres_show_store.h"
#include "store/postgres_write_store.h"
#include "support/pg_client.h"
#include "support/postgres_server.h"

namespace hawker::store {

namespace {

using hawker::testing::PostgresServer;
using hawker::testing::shared_database_for;

}  // namespace

Result<ReadStorePtr> open_postgres_read_store_for_directory(const std::string& directory) {
  Result<std::string> conninfo = shared_database_for("hawker_read_", directory);
  if (!conninfo) return conninfo.error();
  return open_postgres_read_store(*conninfo);
}

Result<ShowStorePtr> open_postgres_show_store_for_directory(const std::string& folder) {
  Result<std::string> conninfo = shared_database_for("hawker_shows_", folder);
  if (!conninfo) return conninfo.error();
  return open_postgres_show_store(*conninfo);
}

namespace {

using Connection = testing::PgConnection;
using QueryResult = testing::PgQueryResult;

class PostgresReadStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    Result<std::string> made = shared_database_for("hawker_pgread_", std::string(info->name()) + random_hex(8));
    ASSERT_TRUE(made.ok()) << made.error().message;
    conninfo_ = *made;
    admin_.reset(PQconnectdb(conninfo_.c_str()));
    ASSERT_EQ(PQstatus(admin_.get()), CONNECTION_OK) << PQerrorMessage(admin_.get());
  }

  // The first column of every row of `sql`, as text.
  std::vector<std::string> column(const char* sql) { return testing::first_column(admin_.get(), sql); }

  std::string conninfo_;
  Connection admin_;
};

market::Event created(uint64_t seq, uint64_t product_id) {
  market::Event event;
  event.seq = seq;
  event.type = market::EventType::kProductCreated;
  event.product_id = product_id;
  event.seller = "ada";
  event.definition.id = product_id;
  event.definition.seller = "ada";
  event.definition.title = "P";
  event.definition.price_cents = 100;
  event.definition.currency = "EUR";
  event.definition.max_per_buyer = 3;
  event.inventory.product_id = product_id;
  event.inventory.initial = 10;
  event.inventory.available = 10;
  event.inventory.version = 1;
  return event;
}

market::Event confirmed(uint64_t seq, uint64_t product_id, uint64_t order_id) {
  market::Event event;
  event.seq = seq;
  event.type = market::EventType::kOrderConfirmed;
  event.product_id = product_id;
  event.seller = "ada";
  event.order_id = order_id;
  event.buyer = "bob";
  event.quantity = 1;
  event.amount_cents = 100;
  return event;
}

TEST_F(PostgresReadStoreTest, ComponentsKeepTheirOwnSchemasAndMigrationRecords) {
  Result<WriteStorePtr> write = open_postgres_write_store(conninfo_);
  ASSERT_TRUE(write.ok()) << write.error().message;
  Result<ReadStorePtr> read = open_postgres_read_store(conninfo_);
  ASSERT_TRUE(read.ok()) << read.error().message;
  Result<ShowStorePtr> shows = open_postgres_show_store(conninfo_);
  ASSERT_TRUE(shows.ok()) << shows.error().message;

  EXPECT_EQ(column("SELECT table_name FROM information_schema.tables WHERE table_schema = 'read_model' "
                   "ORDER BY table_name"),
            (std::vector<std::string>{"checkpoint", "orders", "products", "schema_migrations", "seller_totals"}));
  EXPECT_EQ(column("SELECT table_name FROM information_schema.tables WHERE table_schema = 'show_store' "
                   "ORDER BY table_name"),
            (std::vector<std::string>{"schema_migrations", "shows"}));
  // The write store's tables and record are where they were.
  std::vector<std::string> write_versions;
  for (int version = 1; version <= kPostgresWriteStoreSchemaVersion; ++version)
    write_versions.push_back(std::to_string(version));
  EXPECT_EQ(column("SELECT version::text FROM public.schema_migrations ORDER BY version"), write_versions);
  EXPECT_EQ(column("SELECT version::text FROM read_model.schema_migrations ORDER BY version"),
            (std::vector<std::string>{std::to_string(kPostgresReadStoreSchemaVersion)}));
  EXPECT_EQ(column("SELECT version::text FROM show_store.schema_migrations ORDER BY version"),
            (std::vector<std::string>{std::to_string(kPostgresShowStoreSchemaVersion)}));

  // A product in the read model is not one in the write store, and back.
  const std::vector<market::Event> events = {created(1, 7)};
  ASSERT_TRUE((*read)->apply(events).ok());
  Result<std::optional<ProductSnapshot>> in_write = (*write)->get_product(7);
  ASSERT_TRUE(in_write.ok()) << in_write.error().message;
  EXPECT_FALSE(in_write->has_value());
  Result<std::optional<ProductView>> in_read = (*read)->get_product(7);
  ASSERT_TRUE(in_read.ok() && in_read->has_value());
}

TEST_F(PostgresReadStoreTest, ConcurrentOpenersMigrateOnce) {
  constexpr int kOpeners = 6;
  std::vector<std::thread> threads;
  std::vector<int> ok(kOpeners, 0);
  std::vector<std::string> errors(kOpeners);
  for (int index = 0; index < kOpeners; ++index) {
    threads.emplace_back([&, index] {
      if (index % 2 == 0) {
        Result<ReadStorePtr> store = open_postgres_read_store(conninfo_);
        ok[index] = store.ok();
        if (!store) errors[index] = store.error().message;
      } else {
        Result<ShowStorePtr> store = open_postgres_show_store(conninfo_);
        ok[index] = store.ok();
        if (!store) errors[index] = store.error().message;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int index = 0; index < kOpeners; ++index) EXPECT_TRUE(ok[index]) << errors[index];
  EXPECT_EQ(column("SELECT count(*)::text FROM read_model.schema_migrations"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(column("SELECT count(*)::text FROM show_store.schema_migrations"), (std::vector<std::string>{"1"}));
}

TEST_F(PostgresReadStoreTest, ANewerReadModelSchemaIsRefused) {
  {
    Result<ReadStorePtr> store = open_postgres_read_store(conninfo_);
    ASSERT_TRUE(store.ok()) << store.error().message;
  }
  const std::string newer = "INSERT INTO read_model.schema_migrations (version) VALUES (" +
                            std::to_string(kPostgresReadStoreSchemaVersion + 1) + ")";
  QueryResult inserted(PQexec(admin_.get(), newer.c_str()));
  ASSERT_EQ(PQresultStatus(inserted.get()), PGRES_COMMAND_OK) << PQresultErrorMessage(inserted.get());
  Result<ReadStorePtr> refused = open_postgres_read_store(conninfo_);
  ASSERT_FALSE(refused.ok()) << "a store opened a schema newer than it knows";
  EXPECT_NE(refused.error().message.find("newer than this build"), std::string::npos) << refused.error().message;
  // The other components are not affected.
  Result<ShowStorePtr> shows = open_postgres_show_store(conninfo_);
  EXPECT_TRUE(shows.ok()) << shows.error().message;
}

TEST_F(PostgresReadStoreTest, TwoAppliersApplyEachEventOnce) {
  Result<ReadStorePtr> first = open_postgres_read_store(conninfo_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  Result<ReadStorePtr> second = open_postgres_read_store(conninfo_);
  ASSERT_TRUE(second.ok()) << second.error().message;
  constexpr int kOrders = 200;
  std::vector<market::Event> events = {created(1, 9)};
  for (int index = 0; index < kOrders; ++index)
    events.push_back(confirmed(static_cast<uint64_t>(index) + 2, 9, 1000 + static_cast<uint64_t>(index)));
  // Both apply the same events, in slices, at once.
  auto run = [&events](ReadStore* store, Status* result) {
    for (size_t begin = 0; begin < events.size(); begin += 25) {
      const size_t count = std::min<size_t>(25, events.size() - begin);
      *result = store->apply(std::span<const market::Event>(events).subspan(begin, count));
      if (!*result) return;
    }
  };
  Status first_status;
  Status second_status;
  std::thread a(run, first->get(), &first_status);
  std::thread b(run, second->get(), &second_status);
  a.join();
  b.join();
  ASSERT_TRUE(first_status.ok()) << first_status.error().message;
  ASSERT_TRUE(second_status.ok()) << second_status.error().message;
  Result<SellerTotals> totals = (*first)->seller_totals("ada");
  ASSERT_TRUE(totals.ok()) << totals.error().message;
  EXPECT_EQ(totals->orders_confirmed, kOrders);
  EXPECT_EQ(totals->units_sold, kOrders);
  Result<uint64_t> checkpoint = (*second)->checkpoint();
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(*checkpoint, static_cast<uint64_t>(kOrders) + 1);
}


// Every transaction of this connection is read-only: any write would fail.
std::string read_only_session(const std::string& conninfo) {
  return conninfo + " options='-c default_transaction_read_only=on'";
}

PostgresReadStoreOptions read_only_options() {
  PostgresReadStoreOptions options;
  options.read_only = true;
  return options;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_F(PostgresReadStoreTest, ReadOnlyServesAMigratedDatabaseWithoutWriting) {
  Result<ReadStorePtr> writer = open_postgres_read_store(conninfo_);
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  const std::vector<market::Event> events = {created(1, 7), confirmed(2, 7, 70)};
  ASSERT_TRUE((*writer)->apply(events).ok());

  Result<ReadStorePtr> reader = open_postgres_read_store(read_only_session(conninfo_), read_only_options());
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  Result<uint64_t> checkpoint = (*reader)->checkpoint();
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().message;
  EXPECT_EQ(*checkpoint, 2u);
  Result<std::optional<ProductView>> product = (*reader)->get_product(7);
  ASSERT_TRUE(product.ok()) << product.error().message;
  ASSERT_TRUE(product->has_value());
  EXPECT_EQ((*product)->definition.seller, "ada");
  Result<ProductPage> page = (*reader)->list_products("ada", 0, 10);
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->items.size(), 1u);
  Result<std::optional<OrderView>> order = (*reader)->get_order(70);
  ASSERT_TRUE(order.ok()) << order.error().message;
  ASSERT_TRUE(order->has_value());
  EXPECT_EQ((*order)->status, market::OrderStatus::kConfirmed);
  Result<SellerTotals> totals = (*reader)->seller_totals("ada");
  ASSERT_TRUE(totals.ok()) << totals.error().message;
  EXPECT_EQ(totals->orders_confirmed, 1);

  // The same read-only open over a connection that could write: it does not.
  Result<ReadStorePtr> plain = open_postgres_read_store(conninfo_, read_only_options());
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(column("SELECT count(*)::text FROM read_model.schema_migrations"), (std::vector<std::string>{"1"}));
}

TEST_F(PostgresReadStoreTest, ReadOnlyApplyIsAnErrorAndChangesNothing) {
  Result<ReadStorePtr> writer = open_postgres_read_store(conninfo_);
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  const std::vector<market::Event> first = {created(1, 7)};
  ASSERT_TRUE((*writer)->apply(first).ok());
  for (const std::string& conninfo : {conninfo_, read_only_session(conninfo_)}) {
    Result<ReadStorePtr> reader = open_postgres_read_store(conninfo, read_only_options());
    ASSERT_TRUE(reader.ok()) << reader.error().message;
    const std::vector<market::Event> more = {created(2, 8), confirmed(3, 7, 71)};
    Status applied = (*reader)->apply(more);
    ASSERT_FALSE(applied.ok()) << "a read-only store applied events";
    EXPECT_EQ(applied.error().code, ErrorCode::kInvalid);
    EXPECT_TRUE(contains(applied.error().message, "read-only")) << applied.error().message;
    // Even an empty batch is refused: the store is not an applier.
    EXPECT_FALSE((*reader)->apply({}).ok());
  }
  EXPECT_EQ(column("SELECT seq::text FROM read_model.checkpoint"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(column("SELECT id::text FROM read_model.products ORDER BY id"), (std::vector<std::string>{"7"}));
  EXPECT_EQ(column("SELECT count(*)::text FROM read_model.orders"), (std::vector<std::string>{"0"}));
  EXPECT_EQ(column("SELECT count(*)::text FROM read_model.seller_totals"), (std::vector<std::string>{"0"}));
}

TEST_F(PostgresReadStoreTest, ReadOnlyOpenOfAFreshDatabaseIsRefusedAndCreatesNothing) {
  for (const std::string& conninfo : {conninfo_, read_only_session(conninfo_)}) {
    Result<ReadStorePtr> reader = open_postgres_read_store(conninfo, read_only_options());
    ASSERT_FALSE(reader.ok()) << "a read-only store opened a database without read models";
    EXPECT_EQ(reader.error().code, ErrorCode::kUnavailable);
    EXPECT_TRUE(contains(reader.error().message, "this build needs version " +
                                                     std::to_string(kPostgresReadStoreSchemaVersion)))
        << reader.error().message;
    EXPECT_TRUE(contains(reader.error().message, "start a worker (it migrates) first")) << reader.error().message;
  }
  EXPECT_TRUE(column("SELECT schema_name FROM information_schema.schemata WHERE schema_name = 'read_model'").empty());
  EXPECT_TRUE(column("SELECT table_name FROM information_schema.tables WHERE table_name = 'schema_migrations'").empty());
}

TEST_F(PostgresReadStoreTest, ReadOnlyOpenRefusesAnOlderOrNewerSchema) {
  {
    Result<ReadStorePtr> writer = open_postgres_read_store(conninfo_);
    ASSERT_TRUE(writer.ok()) << writer.error().message;
  }
  // Older: the migrations table is there, its version is not.
  QueryResult emptied(PQexec(admin_.get(), "DELETE FROM read_model.schema_migrations"));
  ASSERT_EQ(PQresultStatus(emptied.get()), PGRES_COMMAND_OK) << PQresultErrorMessage(emptied.get());
  Result<ReadStorePtr> older = open_postgres_read_store(read_only_session(conninfo_), read_only_options());
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(contains(older.error().message, "at version 0, this build needs " +
                                                  std::to_string(kPostgresReadStoreSchemaVersion)))
      << older.error().message;
  EXPECT_TRUE(column("SELECT version::text FROM read_model.schema_migrations").empty());

  const std::string newer = "INSERT INTO read_model.schema_migrations (version) VALUES (" +
                            std::to_string(kPostgresReadStoreSchemaVersion + 1) + ")";
  QueryResult inserted(PQexec(admin_.get(), newer.c_str()));
  ASSERT_EQ(PQresultStatus(inserted.get()), PGRES_COMMAND_OK) << PQresultErrorMessage(inserted.get());
  Result<ReadStorePtr> refused = open_postgres_read_store(read_only_session(conninfo_), read_only_options());
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(contains(refused.error().message, "newer than this build")) << refused.error().message;
}

// Retries `call` until it returns true or `bound` passes.
template <typename Call>
bool eventually(Call&& call, std::chrono::milliseconds bound = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!call()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// A primary and a hot standby of it, both this test's own: the worker-side
// store migrates and applies on the primary; the gateway-side store reads the
// standby, read-only.
TEST(PostgresReadStoreReplicaTest, ReadOnlyStoreOnAStandbySeesThePrimarysProjection) {
  PostgresServer primary;
  ASSERT_TRUE(primary.start()) << primary.error();
  Result<std::string> primary_conninfo = primary.create_database("hawker_replica");
  ASSERT_TRUE(primary_conninfo.ok()) << primary_conninfo.error().message;
  PostgresServer standby;  // declared after the primary: stopped first
  ASSERT_TRUE(standby.start_standby(primary)) << standby.error();
  const std::string standby_conninfo = standby.conninfo("hawker_replica");

  // Before any worker ran: a clear refusal. A read-write open cannot migrate a standby.
  Result<ReadStorePtr> early = open_postgres_read_store(standby_conninfo, read_only_options());
  ASSERT_FALSE(early.ok());
  EXPECT_TRUE(contains(early.error().message, "start a worker")) << early.error().message;
  Result<ReadStorePtr> migrating = open_postgres_read_store(standby_conninfo);
  ASSERT_FALSE(migrating.ok()) << "a hot standby took a migration";
  EXPECT_TRUE(contains(migrating.error().message, "read-only")) << migrating.error().message;

  Result<ReadStorePtr> writer = open_postgres_read_store(*primary_conninfo);
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  Result<ReadStorePtr> reader = make_error(ErrorCode::kUnavailable, "not opened");
  ASSERT_TRUE(eventually([&] {
    reader = open_postgres_read_store(standby_conninfo, read_only_options());
    return reader.ok();
  })) << "the standby never replayed the migration: "
      << reader.error().message;
  Result<uint64_t> start = (*reader)->checkpoint();
  ASSERT_TRUE(start.ok()) << start.error().message;
  EXPECT_EQ(*start, 0u);

  std::vector<market::Event> events = {created(1, 5)};
  for (uint64_t index = 0; index < 20; ++index) events.push_back(confirmed(index + 2, 5, 500 + index));
  ASSERT_TRUE((*writer)->apply(events).ok());
  uint64_t seen = 0;
  EXPECT_TRUE(eventually([&] {
    Result<uint64_t> checkpoint = (*reader)->checkpoint();
    seen = checkpoint.ok() ? *checkpoint : 0;
    return seen == events.back().seq;
  })) << "the standby's checkpoint stayed at "
      << seen;
  Result<SellerTotals> totals = (*reader)->seller_totals("ada");
  ASSERT_TRUE(totals.ok()) << totals.error().message;
  EXPECT_EQ(totals->orders_confirmed, 20);
  Result<std::optional<OrderView>> order = (*reader)->get_order(519);
  ASSERT_TRUE(order.ok() && order->has_value());
  EXPECT_EQ((*order)->status, market::OrderStatus::kConfirmed);
  Result<std::optional<ProductView>> product = (*reader)->get_product(5);
  ASSERT_TRUE(product.ok() && product->has_value());

  Status refused = (*reader)->apply(std::span<const market::Event>(events).first(1));
  EXPECT_FALSE(refused.ok());
  // The stores close their connections before the servers stop.
  reader = make_error(ErrorCode::kUnavailable, "closed");
  writer = make_error(ErrorCode::kUnavailable, "closed");
}

}  // namespace
}  // namespace hawker::store
