// Contract of the PurchaseQueue port (bus/purchase_queue.h), run against every
// adapter. It proves that append is idempotent by key (kAppended with the
// caller's order id; the same key and fingerprint again, in a later append or
// inside one append, is kDuplicate with the first order id and queues
// nothing; another fingerprint is kKeyReused); that find_key and find_order
// see what was appended, also after an ack; that fetch leases in append
// order, respects max, waits about `wait` when empty and wakes when another
// thread appends; that a leased entry is not handed out twice while leased;
// that ack removes, release redelivers at once with the next attempt, and an
// unacked lease comes back after the ack wait; that unacked() lists what is
// left; and, for durable adapters, that after a reopen every unacked entry is
// delivered again, acked ones are not, keys are still known and delivery ids
// are never reused.
//
// To add an adapter, write a factory like RocksPurchaseQueueFactory and list
// it in PurchaseQueueFactories.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "bus/jetstream_purchase_queue.h"
#include "bus/purchase_queue.h"
#include "core/ids.h"
#include "support/nats_server.h"

namespace hawker::bus {
// gtest's namespace, not hawker::testing (support/nats_server.h).
namespace testing = ::testing;
namespace {

using market::PurchaseRequest;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Bounded waits: long enough never to fire on a loaded machine, only there so
// a broken adapter fails instead of hanging.
constexpr milliseconds kWaitBound{30'000};

// Opens the queue kept under `directory`; opening the same directory again
// reopens the same data when kSurvivesReopen.
struct RocksPurchaseQueueFactory {
  static constexpr bool kSurvivesReopen = true;
  static Result<PurchaseQueuePtr> open(const std::string& directory, QueueOptions options) {
    return open_rocks_purchase_queue(directory + "/queue", options);
  }
};

struct MemoryPurchaseQueueFactory {
  static constexpr bool kSurvivesReopen = false;
  static Result<PurchaseQueuePtr> open(const std::string&, QueueOptions options) {
    return make_memory_purchase_queue(options);
  }
};

// NATS JetStream on the test binary's nats-server. The directory names the
// queue: the same directory maps to the same stream, bucket and consumer on
// every call, so a reopen finds what the test left on the server.
struct JetStreamPurchaseQueueFactory {
  static constexpr bool kSurvivesReopen = true;
  static Result<PurchaseQueuePtr> open(const std::string& directory, QueueOptions options) {
    std::string why;
    hawker::testing::NatsServer* server = hawker::testing::NatsServer::shared(&why);
    if (server == nullptr) return make_error(ErrorCode::kUnavailable, why);
    JetStreamOptions jetstream;
    jetstream.url = server->url();
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a64(directory)));
    jetstream.name_prefix = std::string("contract_") + hash;
    return open_jetstream_purchase_queue(jetstream, options);
  }
};

Enqueue make_enqueue(uint64_t order_id, const std::string& key, uint64_t fingerprint, int32_t quantity = 1) {
  Enqueue item;
  item.request.order_id = order_id;
  item.request.product_id = 7;
  item.request.buyer = "buyer-" + std::to_string(order_id % 5);
  item.request.quantity = quantity;
  item.request.payment_token = "tok-" + std::to_string(order_id);
  item.request.accepted_us = 1'000 + static_cast<int64_t>(order_id);
  item.idempotency_key = key;
  item.fingerprint = fingerprint;
  return item;
}

// A fresh request: key and fingerprint derived from the order id.
Enqueue fresh(uint64_t order_id) { return make_enqueue(order_id, "key-" + std::to_string(order_id), order_id * 31); }

void expect_same_request(const PurchaseRequest& got, const PurchaseRequest& want) {
  EXPECT_EQ(got.order_id, want.order_id);
  EXPECT_EQ(got.product_id, want.product_id);
  EXPECT_EQ(got.buyer, want.buyer);
  EXPECT_EQ(got.quantity, want.quantity);
  EXPECT_EQ(got.payment_token, want.payment_token);
  EXPECT_EQ(got.accepted_us, want.accepted_us);
}

std::vector<uint64_t> order_ids(const std::vector<Delivery>& deliveries) {
  std::vector<uint64_t> ids;
  for (const Delivery& delivery : deliveries) ids.push_back(delivery.request.order_id);
  return ids;
}

std::vector<uint64_t> delivery_ids(const std::vector<Delivery>& deliveries) {
  std::vector<uint64_t> ids;
  for (const Delivery& delivery : deliveries) ids.push_back(delivery.delivery_id);
  return ids;
}

// ---- Fixture ---------------------------------------------------------------

template <typename Factory>
class PurchaseQueueContractTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/hawker_purchase_queue_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    directory_ = pattern;
    reopen();
  }

  void TearDown() override {
    queue_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  void reopen(QueueOptions options = {}) {
    queue_.reset();
    Result<PurchaseQueuePtr> opened = Factory::open(directory_, options);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    queue_ = std::move(opened).value();
  }

  std::vector<EnqueueResult> append(const std::vector<Enqueue>& items) {
    std::vector<EnqueueResult> results(items.size());
    Status status = queue_->append(items, results);
    EXPECT_TRUE(status.ok()) << status.error().message;
    return results;
  }

  EnqueueResult append_one(const Enqueue& item) { return append({item}).at(0); }

  std::vector<Delivery> fetch(size_t max, milliseconds wait = milliseconds(0)) {
    Result<std::vector<Delivery>> result = queue_->fetch(max, wait);
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? *result : std::vector<Delivery>{};
  }

  void ack(const std::vector<uint64_t>& ids) {
    Status status = queue_->ack(ids);
    EXPECT_TRUE(status.ok()) << status.error().message;
  }

  void release(const std::vector<uint64_t>& ids) {
    Status status = queue_->release(ids);
    EXPECT_TRUE(status.ok()) << status.error().message;
  }

  std::optional<EnqueueResult> find_key(const std::string& key, uint64_t fingerprint) {
    Result<std::optional<EnqueueResult>> result = queue_->find_key(key, fingerprint);
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? *result : std::nullopt;
  }

  std::optional<PurchaseRequest> find_order(uint64_t order_id) {
    Result<std::optional<PurchaseRequest>> result = queue_->find_order(order_id);
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? *result : std::nullopt;
  }

  std::vector<uint64_t> unacked_ids() {
    Result<std::vector<PurchaseRequest>> result = queue_->unacked();
    EXPECT_TRUE(result.ok()) << result.error().message;
    std::vector<uint64_t> ids;
    if (result.ok())
      for (const PurchaseRequest& request : *result) ids.push_back(request.order_id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  std::string directory_;
  PurchaseQueuePtr queue_;
};

using PurchaseQueueFactories =
    testing::Types<RocksPurchaseQueueFactory, MemoryPurchaseQueueFactory, JetStreamPurchaseQueueFactory>;

class FactoryNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, RocksPurchaseQueueFactory>) return "Rocks";
    if constexpr (std::is_same_v<T, MemoryPurchaseQueueFactory>) return "Memory";
    if constexpr (std::is_same_v<T, JetStreamPurchaseQueueFactory>) return "JetStream";
    return "Unknown";
  }
};

TYPED_TEST_SUITE(PurchaseQueueContractTest, PurchaseQueueFactories, FactoryNames);

void expect_result(const EnqueueResult& got, EnqueueOutcome outcome, uint64_t order_id) {
  EXPECT_EQ(static_cast<int>(got.outcome), static_cast<int>(outcome));
  EXPECT_EQ(got.order_id, order_id);
}

// ---- Append and idempotency ----------------------------------------------------

TYPED_TEST(PurchaseQueueContractTest, AppendReturnsAppendedWithTheCallersOrderId) {
  EXPECT_EQ(this->queue_->depth(), 0u);
  std::vector<EnqueueResult> results = this->append({fresh(11), fresh(12), fresh(13)});
  ASSERT_EQ(results.size(), 3u);
  expect_result(results[0], EnqueueOutcome::kAppended, 11);
  expect_result(results[1], EnqueueOutcome::kAppended, 12);
  expect_result(results[2], EnqueueOutcome::kAppended, 13);
  expect_result(this->append_one(fresh(14)), EnqueueOutcome::kAppended, 14);
  EXPECT_EQ(this->queue_->depth(), 4u);
  EXPECT_TRUE(this->append({}).empty());
  EXPECT_EQ(this->queue_->depth(), 4u);
}

TYPED_TEST(PurchaseQueueContractTest, SameKeyAndFingerprintInALaterAppendIsDuplicate) {
  expect_result(this->append_one(make_enqueue(1, "k", 99)), EnqueueOutcome::kAppended, 1);
  expect_result(this->append_one(make_enqueue(2, "k", 99, 3)), EnqueueOutcome::kDuplicate, 1);
  std::vector<EnqueueResult> mixed = this->append({fresh(3), make_enqueue(4, "k", 99)});
  expect_result(mixed[0], EnqueueOutcome::kAppended, 3);
  expect_result(mixed[1], EnqueueOutcome::kDuplicate, 1);
  EXPECT_EQ(this->queue_->depth(), 2u);
  EXPECT_FALSE(this->find_order(2).has_value()) << "a duplicate must queue nothing";
  EXPECT_FALSE(this->find_order(4).has_value());
  std::vector<Delivery> got = this->fetch(10);
  EXPECT_EQ(order_ids(got), (std::vector<uint64_t>{1, 3}));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].request.quantity, 1) << "the first request stands";
}

TYPED_TEST(PurchaseQueueContractTest, SameKeyTwiceInOneAppendIsDuplicate) {
  std::vector<EnqueueResult> results =
      this->append({make_enqueue(1, "k", 99), make_enqueue(2, "k", 99), fresh(3), make_enqueue(4, "k", 99)});
  expect_result(results[0], EnqueueOutcome::kAppended, 1);
  expect_result(results[1], EnqueueOutcome::kDuplicate, 1);
  expect_result(results[2], EnqueueOutcome::kAppended, 3);
  expect_result(results[3], EnqueueOutcome::kDuplicate, 1);
  EXPECT_EQ(this->queue_->depth(), 2u);
  EXPECT_FALSE(this->find_order(2).has_value());
  EXPECT_EQ(order_ids(this->fetch(10)), (std::vector<uint64_t>{1, 3}));
}

TYPED_TEST(PurchaseQueueContractTest, SameKeyWithAnotherFingerprintIsKeyReused) {
  expect_result(this->append_one(make_enqueue(1, "k", 99)), EnqueueOutcome::kAppended, 1);
  expect_result(this->append_one(make_enqueue(2, "k", 100)), EnqueueOutcome::kKeyReused, 1);
  std::vector<EnqueueResult> inside = this->append({make_enqueue(3, "j", 5), make_enqueue(4, "j", 6)});
  expect_result(inside[0], EnqueueOutcome::kAppended, 3);
  expect_result(inside[1], EnqueueOutcome::kKeyReused, 3);
  EXPECT_EQ(this->queue_->depth(), 2u);
  EXPECT_FALSE(this->find_order(2).has_value());
  EXPECT_FALSE(this->find_order(4).has_value());
  EXPECT_EQ(order_ids(this->fetch(10)), (std::vector<uint64_t>{1, 3}));
}

TYPED_TEST(PurchaseQueueContractTest, FindKeySeesAppendsAlsoAfterAckFindOrderUntilAck) {
  EXPECT_FALSE(this->find_key("k", 99).has_value());
  EXPECT_FALSE(this->find_order(1).has_value());
  const Enqueue item = make_enqueue(1, "k", 99, 2);
  this->append_one(item);
  auto check = [&](bool acked) {
    std::optional<EnqueueResult> same = this->find_key("k", 99);
    ASSERT_TRUE(same.has_value());
    expect_result(*same, EnqueueOutcome::kDuplicate, 1);
    std::optional<EnqueueResult> other = this->find_key("k", 98);
    ASSERT_TRUE(other.has_value());
    expect_result(*other, EnqueueOutcome::kKeyReused, 1);
    EXPECT_FALSE(this->find_key("K", 99).has_value()) << "keys are exact";
    std::optional<PurchaseRequest> request = this->find_order(1);
    if (acked) {
      EXPECT_FALSE(request.has_value()) << "an acked request is the write store's to answer for";
    } else {
      ASSERT_TRUE(request.has_value());
      expect_same_request(*request, item.request);
    }
    EXPECT_FALSE(this->find_order(2).has_value());
  };
  check(false);
  EXPECT_EQ(this->queue_->depth(), 1u) << "find_key appends nothing";
  std::vector<Delivery> got = this->fetch(10);
  ASSERT_EQ(got.size(), 1u);
  this->ack({got[0].delivery_id});
  EXPECT_EQ(this->queue_->depth(), 0u);
  check(true);
  expect_result(this->append_one(make_enqueue(5, "k", 99)), EnqueueOutcome::kDuplicate, 1);
  expect_result(this->append_one(make_enqueue(6, "k", 7)), EnqueueOutcome::kKeyReused, 1);
  EXPECT_EQ(this->queue_->depth(), 0u) << "a key acked long ago still deduplicates";
}

// ---- Fetch -----------------------------------------------------------------------

TYPED_TEST(PurchaseQueueContractTest, FetchReturnsInAppendOrderAndRespectsMax) {
  std::vector<Enqueue> first = {fresh(30), fresh(10), fresh(20)};
  std::vector<Enqueue> second = {fresh(5), fresh(40)};
  this->append(first);
  this->append(second);
  std::vector<Delivery> page1 = this->fetch(2);
  std::vector<Delivery> page2 = this->fetch(2);
  std::vector<Delivery> page3 = this->fetch(2);
  EXPECT_EQ(order_ids(page1), (std::vector<uint64_t>{30, 10}));
  EXPECT_EQ(order_ids(page2), (std::vector<uint64_t>{20, 5}));
  EXPECT_EQ(order_ids(page3), (std::vector<uint64_t>{40}));
  std::vector<Delivery> all = page1;
  all.insert(all.end(), page2.begin(), page2.end());
  all.insert(all.end(), page3.begin(), page3.end());
  std::set<uint64_t> distinct;
  for (const Delivery& delivery : all) {
    EXPECT_EQ(delivery.attempt, 1u);
    distinct.insert(delivery.delivery_id);
  }
  EXPECT_EQ(distinct.size(), all.size()) << "delivery ids are unique";
  first.insert(first.end(), second.begin(), second.end());
  ASSERT_EQ(all.size(), first.size());
  for (size_t i = 0; i < all.size(); ++i) expect_same_request(all[i].request, first[i].request);
  EXPECT_TRUE(this->fetch(0).empty());
}

TYPED_TEST(PurchaseQueueContractTest, FetchOnAnEmptyQueueWaitsAndReturnsEmpty) {
  const milliseconds wait{80};
  auto start = steady_clock::now();
  std::vector<Delivery> got = this->fetch(10, wait);
  auto waited = steady_clock::now() - start;
  EXPECT_TRUE(got.empty());
  EXPECT_GE(waited, wait) << "fetch returned before its wait was over";
  EXPECT_LT(waited, kWaitBound);
  EXPECT_TRUE(this->fetch(10, milliseconds(0)).empty());
}

TYPED_TEST(PurchaseQueueContractTest, FetchWakesWhenAnotherThreadAppends) {
  std::atomic<bool> fetching{false};
  std::vector<Delivery> got;
  milliseconds waited{0};
  std::thread fetcher([&] {
    fetching = true;
    auto start = steady_clock::now();
    Result<std::vector<Delivery>> result = this->queue_->fetch(10, kWaitBound);
    waited = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
    if (result.ok()) got = *result;
  });
  while (!fetching) std::this_thread::yield();
  this->append_one(fresh(1));
  fetcher.join();
  EXPECT_LT(waited, kWaitBound) << "fetch ran to its wait though a request was appended";
  EXPECT_EQ(order_ids(got), std::vector<uint64_t>{1});
}

TYPED_TEST(PurchaseQueueContractTest, LeasedEntriesAreNotHandedOutTwice) {
  this->append({fresh(1), fresh(2), fresh(3)});
  EXPECT_EQ(this->fetch(10).size(), 3u);
  EXPECT_TRUE(this->fetch(10, milliseconds(50)).empty()) << "leased entries were handed out again";
  EXPECT_EQ(this->queue_->depth(), 3u) << "leased is not acked";

  // Many fetchers at once share the queue without overlap.
  constexpr uint64_t kEntries = 300;
  std::vector<Enqueue> items;
  for (uint64_t id = 100; id < 100 + kEntries; ++id) items.push_back(fresh(id));
  this->append(items);
  std::mutex mutex;
  std::vector<Delivery> all;
  std::vector<std::thread> fetchers;
  for (int t = 0; t < 4; ++t)
    fetchers.emplace_back([&] {
      for (uint64_t round = 0; round < kEntries; ++round) {  // bounded
        Result<std::vector<Delivery>> got = this->queue_->fetch(7, milliseconds(0));
        if (!got.ok() || got->empty()) return;
        std::lock_guard lock(mutex);
        all.insert(all.end(), got->begin(), got->end());
      }
    });
  for (auto& fetcher : fetchers) fetcher.join();
  std::vector<uint64_t> ids = order_ids(all);
  std::sort(ids.begin(), ids.end());
  std::vector<uint64_t> want;
  for (uint64_t id = 100; id < 100 + kEntries; ++id) want.push_back(id);
  EXPECT_EQ(ids, want) << "every entry leased exactly once";
  for (const Delivery& delivery : all) EXPECT_EQ(delivery.attempt, 1u);
}

// ---- Ack, release, redelivery ----------------------------------------------------

TYPED_TEST(PurchaseQueueContractTest, AckRemovesEntries) {
  this->append({fresh(1), fresh(2), fresh(3)});
  std::vector<Delivery> got = this->fetch(10);
  ASSERT_EQ(got.size(), 3u);
  this->ack({got[0].delivery_id, got[2].delivery_id});
  EXPECT_EQ(this->queue_->depth(), 1u);
  EXPECT_EQ(this->unacked_ids(), std::vector<uint64_t>{2});
  this->ack({got[1].delivery_id});
  EXPECT_EQ(this->queue_->depth(), 0u);
  EXPECT_TRUE(this->unacked_ids().empty());
  this->ack({got[1].delivery_id});  // acking again is harmless
  EXPECT_EQ(this->queue_->depth(), 0u);
  EXPECT_TRUE(this->fetch(10, milliseconds(20)).empty());
}

TYPED_TEST(PurchaseQueueContractTest, ReleaseMakesEntriesDeliverableAtOnce) {
  this->append({fresh(1), fresh(2), fresh(3)});
  std::vector<Delivery> got = this->fetch(10);
  ASSERT_EQ(got.size(), 3u);
  this->release({got[2].delivery_id, got[0].delivery_id});
  std::vector<Delivery> again = this->fetch(10, milliseconds(0));
  EXPECT_EQ(order_ids(again), (std::vector<uint64_t>{1, 3})) << "released entries come back in append order";
  for (const Delivery& delivery : again) EXPECT_EQ(delivery.attempt, 2u);
  EXPECT_EQ(delivery_ids(again), (std::vector<uint64_t>{got[0].delivery_id, got[2].delivery_id}));
  EXPECT_EQ(this->queue_->depth(), 3u);
  this->ack({got[1].delivery_id});
  this->release({got[1].delivery_id});  // releasing an acked entry brings nothing back
  EXPECT_TRUE(this->fetch(10, milliseconds(0)).empty());
  EXPECT_EQ(this->queue_->depth(), 2u);
}

TYPED_TEST(PurchaseQueueContractTest, UnackedLeaseIsDeliveredAgainAfterTheAckWait) {
  const milliseconds ack_wait{50};
  this->reopen(QueueOptions{ack_wait});
  this->append({fresh(1), fresh(2)});
  auto leased_at = steady_clock::now();
  std::vector<Delivery> got = this->fetch(10);
  ASSERT_EQ(got.size(), 2u);
  this->ack({got[1].delivery_id});

  std::vector<Delivery> again = this->fetch(10, kWaitBound);
  auto redelivered_after = steady_clock::now() - leased_at;
  ASSERT_EQ(order_ids(again), std::vector<uint64_t>{1}) << "only the unacked lease comes back";
  EXPECT_EQ(again[0].attempt, 2u);
  EXPECT_EQ(again[0].delivery_id, got[0].delivery_id);
  EXPECT_GE(redelivered_after, ack_wait) << "redelivered while the lease was still running";

  this->ack({again[0].delivery_id});
  EXPECT_TRUE(this->fetch(10, ack_wait * 3).empty()) << "an acked entry came back";
  EXPECT_EQ(this->queue_->depth(), 0u);
}

TYPED_TEST(PurchaseQueueContractTest, UnackedListsWhatIsLeft) {
  EXPECT_TRUE(this->unacked_ids().empty());
  std::vector<Enqueue> items = {fresh(4), fresh(1), fresh(3), fresh(2)};
  this->append(items);
  std::vector<Delivery> got = this->fetch(2);  // 4 and 1 leased, 3 and 2 waiting
  ASSERT_EQ(got.size(), 2u);
  this->ack({got[1].delivery_id});
  EXPECT_EQ(this->unacked_ids(), (std::vector<uint64_t>{2, 3, 4}));
  Result<std::vector<PurchaseRequest>> listed = this->queue_->unacked();
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  for (const PurchaseRequest& request : *listed)
    for (const Enqueue& item : items)
      if (item.request.order_id == request.order_id) expect_same_request(request, item.request);
  EXPECT_EQ(this->queue_->depth(), 3u);
}

// ---- Durability ------------------------------------------------------------------

TYPED_TEST(PurchaseQueueContractTest, ReopenRedeliversUnackedEntriesOnly) {
  if constexpr (!TypeParam::kSurvivesReopen) GTEST_SKIP() << "adapter keeps nothing across a reopen";
  std::vector<Enqueue> items = {fresh(1), fresh(2), fresh(3), fresh(4), fresh(5), fresh(6)};
  this->append(items);
  std::vector<Delivery> got = this->fetch(4);  // 1-4 leased for the default 30 s, 5-6 never fetched
  ASSERT_EQ(got.size(), 4u);
  this->ack({got[0].delivery_id, got[2].delivery_id});  // 1 and 3 done
  uint64_t max_delivery_id = 0;
  for (const Delivery& delivery : got) max_delivery_id = std::max(max_delivery_id, delivery.delivery_id);

  this->reopen();
  EXPECT_EQ(this->queue_->depth(), 4u);
  EXPECT_EQ(this->unacked_ids(), (std::vector<uint64_t>{2, 4, 5, 6}));
  std::vector<Delivery> again = this->fetch(10, milliseconds(0));
  EXPECT_EQ(order_ids(again), (std::vector<uint64_t>{2, 4, 5, 6})) << "leases end with a restart";
  for (const Delivery& delivery : again) {
    EXPECT_GE(delivery.attempt, 2u) << "after a restart, a request may have been delivered before";
    max_delivery_id = std::max(max_delivery_id, delivery.delivery_id);
    for (const Enqueue& item : items)
      if (item.request.order_id == delivery.request.order_id) expect_same_request(delivery.request, item.request);
  }
  for (const Enqueue& item : items) {
    std::optional<EnqueueResult> known = this->find_key(item.idempotency_key, item.fingerprint);
    ASSERT_TRUE(known.has_value()) << item.idempotency_key;
    expect_result(*known, EnqueueOutcome::kDuplicate, item.request.order_id);
    const bool acked = item.request.order_id == 1 || item.request.order_id == 3;
    EXPECT_EQ(this->find_order(item.request.order_id).has_value(), !acked) << item.request.order_id;
  }
  expect_result(this->append_one(make_enqueue(90, "key-1", 31)), EnqueueOutcome::kDuplicate, 1);
  expect_result(this->append_one(make_enqueue(91, "key-2", 1)), EnqueueOutcome::kKeyReused, 2);

  expect_result(this->append_one(fresh(7)), EnqueueOutcome::kAppended, 7);
  std::vector<Delivery> latest = this->fetch(10, milliseconds(0));
  ASSERT_EQ(order_ids(latest), std::vector<uint64_t>{7});
  EXPECT_GT(latest[0].delivery_id, max_delivery_id) << "a delivery id was reused after reopen";
}

TYPED_TEST(PurchaseQueueContractTest, DeliveryIdsAreNotReusedAfterEverythingWasAcked) {
  if constexpr (!TypeParam::kSurvivesReopen) GTEST_SKIP() << "adapter keeps nothing across a reopen";
  std::set<uint64_t> seen;
  for (int cycle = 0; cycle < 3; ++cycle) {
    this->append({fresh(10 * cycle + 1), fresh(10 * cycle + 2)});
    std::vector<Delivery> got = this->fetch(10);
    ASSERT_EQ(got.size(), 2u);
    for (const Delivery& delivery : got)
      EXPECT_TRUE(seen.insert(delivery.delivery_id).second) << "delivery id " << delivery.delivery_id << " reused";
    this->ack(delivery_ids(got));
    this->reopen();
    EXPECT_EQ(this->queue_->depth(), 0u);
    EXPECT_TRUE(this->fetch(10, milliseconds(0)).empty()) << "an acked entry came back after reopen";
  }
}

}  // namespace
}  // namespace hawker::bus
