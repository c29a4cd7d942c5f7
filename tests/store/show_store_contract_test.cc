// Proves the ShowStore port's contract on every adapter (SQLite, PostgreSQL):
// ids are fresh, get/list see what was written, list puts live shows first
// then scheduled then ended (newest first), pins and status changes stick,
// unknown shows are kNotFound, and everything survives reopening.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "core/ids.h"
#include "store/show_store.h"

#include <sqlite3.h>

namespace hawker::store {
namespace {

struct SqliteShowStoreFactory {
  static Result<ShowStorePtr> open(const std::string& folder) { return open_sqlite_show_store(folder + "/shows.sqlite"); }
};

}  // namespace

// The PostgreSQL database of `folder` on the test binary's server
// (tests/support/postgres_server.h), created on first use, so a reopen finds
// the same data. Defined in postgres_read_store_test.cc.
Result<ShowStorePtr> open_postgres_show_store_for_directory(const std::string& folder);

namespace {

struct PostgresShowStoreFactory {
  static Result<ShowStorePtr> open(const std::string& folder) { return open_postgres_show_store_for_directory(folder); }
};

template <typename Factory>
class ShowStoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hawker-shows-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    folder_ = pattern;
    reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(folder_);
  }
  void reopen() {
    store_.reset();
    auto opened = Factory::open(folder_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
  }
  ShowRecord create(const std::string& seller, const std::string& title) {
    auto show = store_->create(seller, title, random_hex(16), 1000);
    EXPECT_TRUE(show.ok());
    return show.ok() ? *show : ShowRecord{};
  }
  std::string folder_;
  ShowStorePtr store_;
};

using Adapters = ::testing::Types<SqliteShowStoreFactory, PostgresShowStoreFactory>;
TYPED_TEST_SUITE(ShowStoreContractTest, Adapters);

TYPED_TEST(ShowStoreContractTest, CreateGivesFreshIdsAndGetReadsThemBack) {
  ShowRecord a = this->create("ava", "Morning drop");
  ShowRecord b = this->create("ben", "Evening drop");
  EXPECT_NE(a.id, 0u);
  EXPECT_NE(a.id, b.id);
  auto got = this->store_->get(a.id);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->seller, "ava");
  EXPECT_EQ((*got)->title, "Morning drop");
  EXPECT_EQ((*got)->status, ShowStatus::kScheduled);
  EXPECT_EQ((*got)->showcase_product_id, 0u);
  auto missing = this->store_->get(a.id + b.id + 100);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TYPED_TEST(ShowStoreContractTest, ListPutsLiveFirstThenScheduledThenEndedNewestFirst) {
  ShowRecord ended = this->create("s", "ended");
  ShowRecord live_old = this->create("s", "live old");
  ShowRecord scheduled = this->create("s", "scheduled");
  ShowRecord live_new = this->create("s", "live new");
  ASSERT_TRUE(this->store_->set_status(ended.id, ShowStatus::kEnded).ok());
  ASSERT_TRUE(this->store_->set_status(live_old.id, ShowStatus::kLive).ok());
  ASSERT_TRUE(this->store_->set_status(live_new.id, ShowStatus::kLive).ok());
  auto all = this->store_->list(0, 10);
  ASSERT_TRUE(all.ok());
  std::vector<uint64_t> ids;
  for (const auto& show : *all) ids.push_back(show.id);
  EXPECT_EQ(ids, (std::vector<uint64_t>{live_new.id, live_old.id, scheduled.id, ended.id}));
  auto page = this->store_->list(1, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, live_old.id);
  EXPECT_EQ((*page)[1].id, scheduled.id);
}

TYPED_TEST(ShowStoreContractTest, PinsAndStatusStickAndUnknownShowsAreNotFound) {
  ShowRecord show = this->create("s", "pins");
  ASSERT_TRUE(this->store_->set_showcase(show.id, 42, 5000).ok());
  ASSERT_TRUE(this->store_->set_status(show.id, ShowStatus::kLive).ok());
  auto got = this->store_->get(show.id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->showcase_product_id, 42u);
  EXPECT_EQ((*got)->showcase_us, 5000);
  EXPECT_EQ((*got)->status, ShowStatus::kLive);
  Status pin_missing = this->store_->set_showcase(show.id + 999, 1, 1);
  ASSERT_FALSE(pin_missing.ok());
  EXPECT_EQ(pin_missing.error().code, ErrorCode::kNotFound);
  Status status_missing = this->store_->set_status(show.id + 999, ShowStatus::kEnded);
  ASSERT_FALSE(status_missing.ok());
  EXPECT_EQ(status_missing.error().code, ErrorCode::kNotFound);
}

TYPED_TEST(ShowStoreContractTest, EverythingSurvivesReopen) {
  ShowRecord show = this->create("s", "durable");
  ASSERT_TRUE(this->store_->set_showcase(show.id, 7, 99).ok());
  ASSERT_TRUE(this->store_->set_status(show.id, ShowStatus::kEnded).ok());
  this->reopen();
  auto got = this->store_->get(show.id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->title, "durable");
  EXPECT_EQ((*got)->showcase_product_id, 7u);
  EXPECT_EQ((*got)->status, ShowStatus::kEnded);
  ShowRecord next = this->create("s", "after reopen");
  EXPECT_GT(next.id, show.id) << "ids are never reused";
}

TYPED_TEST(ShowStoreContractTest, StreamKeyFindsItsShowUntilRotated) {
  ShowRecord a = this->create("s", "a");
  ShowRecord b = this->create("s", "b");
  ASSERT_FALSE(a.stream_key.empty());
  EXPECT_NE(a.stream_key, b.stream_key);
  auto found = this->store_->find_by_stream_key(a.stream_key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, a.id);
  EXPECT_EQ((*found)->stream_key, a.stream_key);

  const std::string old_key = a.stream_key;
  ASSERT_TRUE(this->store_->set_stream_key(a.id, "rotated-key-1").ok());
  auto by_old = this->store_->find_by_stream_key(old_key);
  ASSERT_TRUE(by_old.ok());
  EXPECT_FALSE(by_old->has_value()) << "a rotated key must stop working";
  auto by_new = this->store_->find_by_stream_key("rotated-key-1");
  ASSERT_TRUE(by_new.ok() && by_new->has_value());
  EXPECT_EQ((*by_new)->id, a.id);

  auto unknown = this->store_->find_by_stream_key("nobody");
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
  auto empty = this->store_->find_by_stream_key("");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());

  this->reopen();
  auto after = this->store_->get(a.id);
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->stream_key, "rotated-key-1");
}

TYPED_TEST(ShowStoreContractTest, StreamKeysAreUniqueAndNeverEmpty) {
  ShowRecord a = this->create("s", "a");
  ShowRecord b = this->create("s", "b");
  Status taken = this->store_->set_stream_key(b.id, a.stream_key);
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, ErrorCode::kConflict);
  auto duplicate = this->store_->create("s", "c", a.stream_key, 5);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, ErrorCode::kConflict);
  auto keyless = this->store_->create("s", "d", "", 5);
  ASSERT_FALSE(keyless.ok());
  EXPECT_EQ(keyless.error().code, ErrorCode::kInvalid);
  Status missing = this->store_->set_stream_key(b.id + 999, "k");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto unchanged = this->store_->get(b.id);
  ASSERT_TRUE(unchanged.ok() && unchanged->has_value());
  EXPECT_EQ((*unchanged)->stream_key, b.stream_key);
}

// A shows file from before stream keys existed: opening it gives each show
// a fresh, distinct key.
TEST(SqliteShowStoreMigration, ShowsWithoutKeysGetOne) {
  char pattern[] = "/tmp/hawker-shows-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string path = std::string(pattern) + "/shows.sqlite";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE shows(id INTEGER PRIMARY KEY AUTOINCREMENT, seller TEXT NOT NULL,"
                         " title TEXT NOT NULL, status INTEGER NOT NULL, showcase INTEGER NOT NULL DEFAULT 0,"
                         " showcase_us INTEGER NOT NULL DEFAULT 0, created_us INTEGER NOT NULL);"
                         "INSERT INTO shows(seller, title, status, created_us) VALUES('s', 'old one', 0, 1);"
                         "INSERT INTO shows(seller, title, status, created_us) VALUES('s', 'old two', 2, 2);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = open_sqlite_show_store(path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto shows = (*store)->list(0, 10);
  ASSERT_TRUE(shows.ok());
  ASSERT_EQ(shows->size(), 2u);
  EXPECT_EQ((*shows)[0].stream_key.size(), 32u);
  EXPECT_EQ((*shows)[1].stream_key.size(), 32u);
  EXPECT_NE((*shows)[0].stream_key, (*shows)[1].stream_key);
  auto found = (*store)->find_by_stream_key((*shows)[0].stream_key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->title, (*shows)[0].title);
  store->reset();
  std::filesystem::remove_all(pattern);
}

TEST(ShowStatusNames, RoundTripAndRejectUnknown) {
  for (auto status : {ShowStatus::kScheduled, ShowStatus::kLive, ShowStatus::kEnded}) {
    ShowStatus parsed = ShowStatus::kEnded;
    ASSERT_TRUE(parse_show_status(show_status_name(status), parsed));
    EXPECT_EQ(parsed, status);
  }
  ShowStatus parsed;
  EXPECT_FALSE(parse_show_status("LIVE", parsed));
  EXPECT_FALSE(parse_show_status("", parsed));
}

}  // namespace
}  // namespace hawker::store
