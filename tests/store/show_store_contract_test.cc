// Proves the ShowStore port's contract on every adapter (SQLite today; the
// PostgreSQL adapter joins the type list in cluster mode): ids are fresh,
// get/list see what was written, list puts live shows first then scheduled
// then ended (newest first), pins and status changes stick, unknown shows are
// kNotFound, and everything survives reopening.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "store/show_store.h"

namespace hawker::store {
namespace {

struct SqliteShowStoreFactory {
  static Result<ShowStorePtr> open(const std::string& folder) { return open_sqlite_show_store(folder + "/shows.sqlite"); }
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
    auto show = store_->create(seller, title, 1000);
    EXPECT_TRUE(show.ok());
    return show.ok() ? *show : ShowRecord{};
  }
  std::string folder_;
  ShowStorePtr store_;
};

using Adapters = ::testing::Types<SqliteShowStoreFactory>;
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
