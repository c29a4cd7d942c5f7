// PostgresWriteStore beyond the WriteStore contract (which it also passes, in
// write_store_contract_test.cc), on a real PostgreSQL 15 started for this test
// binary. It proves that migrations run once and are recorded, also when
// several stores open the same fresh database at once; that two stores (two
// pools, as two worker processes would have) racing conditional commits on
// one product have exactly one winner per version while every loser gets
// kVersionConflict and changes nothing; that a commit made through one store
// wakes wait_for_events on another (LISTEN/NOTIFY); that connections the
// server drops are replaced; and that a bad connection string is a clear
// error, not a crash.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.h"
#include "store/postgres_write_store.h"
#include "store/test_products.h"
#include "support/pg_client.h"
#include "support/postgres_server.h"

namespace hawker::store {

namespace {

using hawker::testing::shared_database_for;

}  // namespace

Result<WriteStorePtr> open_postgres_write_store_for_directory(const std::string& directory) {
  Result<std::string> conninfo = shared_database_for("hawker_contract_", directory);
  if (!conninfo) return conninfo.error();
  return open_postgres_write_store(*conninfo);
}

namespace {

using market::Event;
using market::EventType;
using market::Inventory;
using market::OrderRecord;
using market::OrderStatus;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kWaitBound{30'000};

using Connection = testing::PgConnection;
using QueryResult = testing::PgQueryResult;

ProductCommit create_commit(uint64_t product_id, int64_t stock) {
  return product_creation_commit(make_definition(product_id, stock), stock, 1'000'000);
}

// Sells one unit of `current` to `buyer` as order `order_id`.
ProductCommit sell_commit(const Inventory& current, uint64_t order_id, const std::string& buyer, int32_t held_after) {
  ProductCommit commit;
  commit.product_id = current.product_id;
  commit.expected_version = current.version;
  commit.inventory = current;
  commit.inventory.version = current.version + 1;
  commit.inventory.available -= 1;
  commit.inventory.sold += 1;
  OrderRecord order;
  order.order_id = order_id;
  order.product_id = current.product_id;
  order.buyer = buyer;
  order.seller = "ada";
  order.quantity = 1;
  order.amount_cents = 2500;
  order.currency = "EUR";
  order.status = OrderStatus::kConfirmed;
  commit.orders.push_back(order);
  commit.holdings.emplace_back(buyer, held_after);
  Event event;
  event.type = EventType::kOrderConfirmed;
  event.product_id = current.product_id;
  event.seller = "ada";
  event.order_id = order_id;
  event.buyer = buyer;
  event.quantity = 1;
  event.inventory = commit.inventory;
  commit.events.push_back(event);
  return commit;
}

class PostgresWriteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    Result<std::string> conninfo =
        shared_database_for("hawker_pg_", std::string(test->test_suite_name()) + "." + test->name() + random_hex(8));
    ASSERT_TRUE(conninfo.ok()) << conninfo.error().message;
    conninfo_ = *conninfo;
  }

  WriteStorePtr open() {
    Result<WriteStorePtr> opened = open_postgres_write_store(conninfo_);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  // A plain libpq connection for looking at the database from outside.
  Connection admin() {
    Connection conn(PQconnectdb(conninfo_.c_str()));
    EXPECT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
    return conn;
  }

  // The first column of every row of a constant query, as text.
  std::vector<std::string> column(const char* sql) { return testing::first_column(admin().get(), sql); }

  std::string conninfo_;
};

TEST_F(PostgresWriteStoreTest, MigrationsRunOnceAndAreRecorded) {
  // Several stores open the fresh database at once: all succeed.
  constexpr int kOpeners = 4;
  std::vector<WriteStorePtr> stores(kOpeners);
  std::vector<std::string> errors(kOpeners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i)
    threads.emplace_back([&, i] {
      Result<WriteStorePtr> opened = open_postgres_write_store(conninfo_);
      if (opened.ok()) stores[i] = std::move(opened).value();
      else errors[i] = opened.error().message;
    });
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < kOpeners; ++i) EXPECT_TRUE(stores[i] != nullptr) << "opener " << i << ": " << errors[i];
  ASSERT_TRUE(stores[0] != nullptr);
  ASSERT_TRUE(stores[0]->commit(create_commit(1, 10)).ok());
  stores.clear();

  // Opening again finds the schema in place, runs nothing, keeps the data.
  WriteStorePtr again = open();
  ASSERT_TRUE(again != nullptr);
  Result<std::optional<ProductSnapshot>> product = again->get_product(1);
  ASSERT_TRUE(product.ok()) << product.error().message;
  EXPECT_TRUE(product->has_value());
  EXPECT_EQ(again->last_event_seq(), 1u);

  std::vector<std::string> expected;
  for (int version = 1; version <= kPostgresWriteStoreSchemaVersion; ++version)
    expected.push_back(std::to_string(version));
  EXPECT_EQ(column("SELECT version FROM schema_migrations ORDER BY version"), expected);
  EXPECT_EQ(column("SELECT count(*) FROM schema_migrations WHERE applied_at IS NULL OR applied_at > now()"),
            std::vector<std::string>{"0"});
  EXPECT_EQ(column("SELECT count(*) FROM event_counter"), std::vector<std::string>{"1"})
      << "the counter row was inserted once";
}

TEST_F(PostgresWriteStoreTest, NewerSchemaIsRefused) {
  ASSERT_TRUE(open() != nullptr);
  Connection conn = admin();
  const std::string newer = std::to_string(kPostgresWriteStoreSchemaVersion + 1);
  const char* values[] = {newer.c_str()};
  QueryResult inserted(PQexecParams(conn.get(), "INSERT INTO schema_migrations (version) VALUES ($1::int)", 1, nullptr,
                                    values, nullptr, nullptr, 0));
  ASSERT_EQ(PQresultStatus(inserted.get()), PGRES_COMMAND_OK) << PQerrorMessage(conn.get());
  Result<WriteStorePtr> opened = open_postgres_write_store(conninfo_);
  ASSERT_FALSE(opened.ok()) << "a store opened a schema newer than it knows";
  EXPECT_NE(opened.error().message.find("newer than this build"), std::string::npos) << opened.error().message;
}

// Two stores, as two worker processes: each round both read the same version
// and both commit on it. Exactly one wins; the loser's order, holding and
// event are nowhere.
TEST_F(PostgresWriteStoreTest, TwoStoresRacingOnOneProductHaveOneWinnerPerVersion) {
  constexpr int kRounds = 100;
  constexpr uint64_t kProduct = 1;
  WriteStorePtr stores[2] = {open(), open()};
  ASSERT_TRUE(stores[0] && stores[1]);
  ASSERT_TRUE(stores[0]->commit(create_commit(kProduct, 1'000)).ok());
  std::barrier sync(2);
  std::vector<int> winner(kRounds, -1);
  std::atomic<int> wins{0}, conflicts{0}, other_errors{0};
  int held[2] = {0, 0};
  auto order_id = [](int round, int side) { return uint64_t(round + 1) * 10 + uint64_t(side); };
  std::vector<std::thread> threads;
  for (int side = 0; side < 2; ++side)
    threads.emplace_back([&, side] {
      WriteStore& store = *stores[side];
      const std::string buyer = side == 0 ? "left" : "right";
      for (int round = 0; round < kRounds; ++round) {
        sync.arrive_and_wait();
        Result<std::optional<ProductSnapshot>> read = store.get_product(kProduct);
        sync.arrive_and_wait();
        if (!read.ok() || !*read) {
          ++other_errors;
          continue;
        }
        Result<uint64_t> result =
            store.commit(sell_commit((*read)->inventory, order_id(round, side), buyer, held[side] + 1));
        if (result.ok()) {
          ++held[side];
          ++wins;
          winner[round] = side;
        } else if (result.error().code == ErrorCode::kVersionConflict) {
          ++conflicts;
        } else {
          ++other_errors;
          ADD_FAILURE() << result.error().message;
        }
      }
    });
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_EQ(wins.load(), kRounds);
  EXPECT_EQ(conflicts.load(), kRounds);
  Result<std::optional<ProductSnapshot>> last = stores[1]->get_product(kProduct);
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->inventory.version, uint64_t(1 + kRounds));
  EXPECT_EQ((*last)->inventory.sold, kRounds);
  EXPECT_TRUE(market::inventory_conserved((*last)->inventory));

  std::vector<uint64_t> all_orders;
  for (int round = 0; round < kRounds; ++round)
    for (int side = 0; side < 2; ++side) all_orders.push_back(order_id(round, side));
  const std::vector<std::string_view> buyers = {"left", "right"};
  Result<DecisionLoad> loaded = stores[0]->load_for_decision(kProduct, buyers, all_orders);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->holdings, (std::vector<int32_t>{held[0], held[1]}));
  Result<std::vector<Event>> events = stores[0]->read_events(0, 10'000);
  ASSERT_TRUE(events.ok()) << events.error().message;
  ASSERT_EQ(events->size(), size_t(1 + kRounds));
  for (int round = 0; round < kRounds; ++round) {
    ASSERT_NE(winner[round], -1) << "round " << round;
    EXPECT_EQ(loaded->order_exists[2 * round + winner[round]], 1) << "round " << round;
    EXPECT_EQ(loaded->order_exists[2 * round + 1 - winner[round]], 0) << "the loser's order landed, round " << round;
    const Event& event = (*events)[round + 1];
    EXPECT_EQ(event.seq, uint64_t(round + 2));
    EXPECT_EQ(event.order_id, order_id(round, winner[round]));
    EXPECT_EQ(event.inventory.version, uint64_t(round + 2));
  }
  // Each store learns the other's commits (NOTIFY), not only its own.
  for (auto& store : stores) {
    const auto deadline = steady_clock::now() + kWaitBound;
    while (store->last_event_seq() < uint64_t(1 + kRounds) && steady_clock::now() < deadline)
      store->wait_for_events(store->last_event_seq(), milliseconds(100));
    EXPECT_EQ(store->last_event_seq(), uint64_t(1 + kRounds));
  }
}

TEST_F(PostgresWriteStoreTest, CommitThroughOneStoreWakesWaiterOnAnother) {
  WriteStorePtr writer = open();
  WriteStorePtr reader = open();
  ASSERT_TRUE(writer && reader);
  const uint64_t after = reader->last_event_seq();
  std::atomic<bool> waiting{false};
  milliseconds waited{0};
  std::thread waiter([&] {
    waiting = true;
    const auto start = steady_clock::now();
    reader->wait_for_events(after, kWaitBound);
    waited = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
  });
  while (!waiting) std::this_thread::yield();
  ASSERT_TRUE(writer->commit(create_commit(7, 10)).ok());
  waiter.join();
  EXPECT_LT(waited, kWaitBound) << "the other store never heard of the commit";
  EXPECT_EQ(reader->last_event_seq(), after + 1);
}

TEST_F(PostgresWriteStoreTest, ConnectionsTheServerDropsAreReplaced) {
  WriteStorePtr store = open();
  WriteStorePtr other = open();
  ASSERT_TRUE(store && other);
  ASSERT_TRUE(store->commit(create_commit(1, 10)).ok());
  Result<std::optional<ProductSnapshot>> before = store->get_product(1);
  ASSERT_TRUE(before.ok() && before->has_value());

  // Terminate every backend of `store` and `other` (pool and listener alike).
  {
    Connection conn = admin();
    QueryResult killed(PQexec(conn.get(),
                              "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND application_name = 'hawker-write-store'"));
    ASSERT_EQ(PQresultStatus(killed.get()), PGRES_TUPLES_OK) << PQerrorMessage(conn.get());
    EXPECT_NE(std::string(PQgetvalue(killed.get(), 0, 0)), "0");
  }
  Result<std::optional<ProductSnapshot>> read = store->get_product(1);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ((*read)->inventory, (*before)->inventory);
  Result<uint64_t> committed = store->commit(sell_commit((*read)->inventory, 5, "bob", 1));
  ASSERT_TRUE(committed.ok()) << committed.error().message;
  EXPECT_EQ(*committed, 2u);
  // `other`'s listener reconnects and catches up.
  const auto deadline = steady_clock::now() + kWaitBound;
  while (other->last_event_seq() < 2 && steady_clock::now() < deadline) other->wait_for_events(1, milliseconds(100));
  EXPECT_EQ(other->last_event_seq(), 2u);
}

TEST_F(PostgresWriteStoreTest, BadConninfoIsAClearError) {
  struct Case {
    std::string conninfo;
    std::string says;
  };
  hawker::testing::PostgresServer* server = hawker::testing::PostgresServer::shared();
  ASSERT_TRUE(server != nullptr);
  const std::vector<Case> cases = {
      {"host=127.0.0.1 port=1 dbname=nothing connect_timeout=5", "cannot connect"},
      {"no_such_option=1", "invalid connection option"},
      {"postgresql://[broken", "cannot connect"},
      {server->conninfo("no_such_database"), "does not exist"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.conninfo);
    Result<WriteStorePtr> opened = open_postgres_write_store(c.conninfo);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(static_cast<int>(opened.error().code), static_cast<int>(ErrorCode::kUnavailable));
    EXPECT_NE(opened.error().message.find(c.says), std::string::npos) << opened.error().message;
  }
}

TEST_F(PostgresWriteStoreTest, TextTheServerRefusesIsAnErrorNotACrash) {
  WriteStorePtr store = open();
  ASSERT_TRUE(store != nullptr);
  ASSERT_TRUE(store->commit(create_commit(1, 10)).ok());
  Result<std::optional<ProductSnapshot>> read = store->get_product(1);
  ASSERT_TRUE(read.ok() && read->has_value());
  // A NUL byte in a buyer name: PostgreSQL's text refuses it.
  ProductCommit commit = sell_commit((*read)->inventory, 9, std::string("b\0b", 3), 1);
  Result<uint64_t> result = store->commit(commit);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(static_cast<int>(result.error().code), static_cast<int>(ErrorCode::kIo)) << result.error().message;
  EXPECT_NE(result.error().message.find("postgres"), std::string::npos) << result.error().message;
  // Nothing of it landed, and the store still works.
  Result<std::optional<ProductSnapshot>> after = store->get_product(1);
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->inventory, (*read)->inventory);
  EXPECT_EQ(store->last_event_seq(), 1u);
  EXPECT_TRUE(store->commit(sell_commit((*read)->inventory, 9, "bob", 1)).ok());
}

}  // namespace
}  // namespace hawker::store
