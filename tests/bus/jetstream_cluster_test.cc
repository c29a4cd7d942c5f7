// What the JetStream purchase queue survives in cluster mode: a 3-node
// cluster (support/nats_cluster.h), stream, bucket and consumer with 3
// replicas, the queue objects given all three URLs. A gateway appends
// thousands of requests in spans (several products) while two workers fetch
// and ack; the stream's leader is SIGKILLed mid-run and later restarted. A
// third worker, opened on the doomed node's URL alone, must ack again after
// the kill (cnats picks a random server of a list, so the others may never
// have to reconnect).
// Proved: nothing whose append returned OK is lost (every order is delivered
// and the queue drains to depth 0); fetch and ack continue after the clients
// reconnect to a surviving node; a key retried after a failed append (as the
// gateway does: same key, a fresh order id) or long after its first append
// answers kDuplicate with its first order id, and no key is ever delivered as
// two different orders. The outage (kill -> first append OK again) is
// measured and printed; a failure prints every server's log tail.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bus/jetstream_purchase_queue.h"
#include "support/nats_cluster.h"
#include "support/nats_server.h"

namespace hawker::bus {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint64_t kProducts = 5;
constexpr size_t kSpan = 50;
constexpr size_t kSpansBeforeKill = 40;    // 2,000 requests
constexpr size_t kSpansAfterKill = 30;     // 1,500 more, the first ones into the outage
constexpr size_t kSpansAfterRestart = 10;  // 500 more once the node is back
constexpr size_t kKeysRetried = 300;       // old keys appended again after the kill
constexpr uint64_t kRetryOrderBase = 1'000'000'000;  // fresh order ids of retries
constexpr milliseconds kAckWait{4'000};    // lost acks come back this soon
constexpr milliseconds kRequestTimeout{2'000};
constexpr milliseconds kAppendBound{60'000};  // one span, all its retries
constexpr milliseconds kDrainBound{90'000};   // everything delivered and acked
constexpr milliseconds kRetryPause{50};
constexpr size_t kFetchMax = 128;
constexpr milliseconds kFetchWait{200};

// Request k: key k, product k % kProducts, its payment token names k, so a
// delivery says which key it was appended under.
Enqueue make_item(uint64_t key_index, uint64_t order_id) {
  Enqueue item;
  item.request.order_id = order_id;
  item.request.product_id = 500 + key_index % kProducts;
  item.request.buyer = "buyer-" + std::to_string(key_index % 97);
  item.request.quantity = 1;
  item.request.payment_token = "tok-" + std::to_string(key_index);
  item.request.accepted_us = static_cast<int64_t>(key_index);
  item.idempotency_key = item.request.buyer + "\nclick-" + std::to_string(key_index);
  item.fingerprint = key_index + 1;
  return item;
}

uint64_t key_of(const market::PurchaseRequest& request) {
  return std::stoull(request.payment_token.substr(4));
}

// What the gateway and the workers saw, shared between their threads.
struct Ledger {
  std::mutex mutex;
  std::map<uint64_t, uint64_t> order_of_key;         // key index -> the order its append answered
  std::map<uint64_t, uint64_t> key_of_delivered;     // order id -> key index it came with
  std::map<uint64_t, int> deliveries;                // order id -> times delivered
  std::set<uint64_t> acked;                          // orders whose ack the server confirmed
  std::map<std::string, int> errors;                 // "operation: code" -> count
  std::map<std::string, std::string> first_message;  // "operation: code" -> its first message
  std::vector<std::string> violations;               // a key delivered as two orders, ...
  Clock::time_point last_error_at{};

  void error(const std::string& operation, const Error& error) {
    std::lock_guard lock(mutex);
    const std::string kind = operation + ": " + std::to_string(static_cast<int>(error.code));
    ++errors[kind];
    first_message.try_emplace(kind, error.message);
    last_error_at = Clock::now();
    if (error.code != ErrorCode::kUnavailable && error.code != ErrorCode::kTimeout && violations.size() < 20)
      violations.push_back(operation + " failed with code " + std::to_string(static_cast<int>(error.code)) +
                           " (not kUnavailable/kTimeout): " + error.message);
  }
};

class JetStreamClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ASSERT_TRUE(cluster_.start(why)) << why;
    options_.url = cluster_.url_list();
    options_.replicas = 3;
    options_.request_timeout = kRequestTimeout;
    options_.name_prefix = testing::unique_prefix("cluster");
  }

  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "%s\n", cluster_.log_tails().c_str());
  }

  PurchaseQueuePtr open() {
    auto opened = open_jetstream_purchase_queue(options_, QueueOptions{kAckWait});
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  // Appends keys [first, first + count) as the gateway does: on an error the
  // same keys go again with fresh order ids, until OK or kAppendBound. The
  // answers land in the ledger (and are checked against earlier ones).
  bool append_keys(PurchaseQueue& gateway, uint64_t first, size_t count, bool seen_before) {
    const auto deadline = Clock::now() + kAppendBound;
    for (uint64_t attempt = 0;; ++attempt) {
      std::vector<Enqueue> items;
      for (uint64_t k = first; k < first + count; ++k)
        items.push_back(make_item(k, attempt == 0 && !seen_before ? k + 1 : kRetryOrderBase + next_retry_id_++));
      std::vector<EnqueueResult> results(items.size());
      Status appended = gateway.append(items, results);
      if (appended) {
        record_answers(items, results, seen_before);
        return true;
      }
      ledger_.error("append", appended.error());
      if (Clock::now() >= deadline) {
        ADD_FAILURE() << "append of keys " << first << ".." << first + count - 1 << " still failing after "
                      << kAppendBound.count() << " ms: " << appended.error().message;
        return false;
      }
      std::this_thread::sleep_for(kRetryPause);
    }
  }

  void record_answers(const std::vector<Enqueue>& items, const std::vector<EnqueueResult>& results,
                      bool seen_before) {
    std::lock_guard lock(ledger_.mutex);
    for (size_t i = 0; i < items.size(); ++i) {
      const uint64_t key = key_of(items[i].request);
      auto [known, inserted] = ledger_.order_of_key.try_emplace(key, results[i].order_id);
      if (seen_before || !inserted) {
        EXPECT_EQ(results[i].outcome, EnqueueOutcome::kDuplicate) << "key " << key;
        EXPECT_EQ(results[i].order_id, known->second) << "key " << key << " answered with another order";
        continue;
      }
      // A first answer: this attempt's order, or (when an earlier attempt
      // claimed the key before failing) that attempt's, as a duplicate.
      EXPECT_NE(results[i].outcome, EnqueueOutcome::kKeyReused) << "key " << key;
      if (results[i].outcome == EnqueueOutcome::kAppended) {
        EXPECT_EQ(results[i].order_id, items[i].request.order_id) << "key " << key;
      }
    }
  }

  // One worker: fetch, note, ack, until told to stop. Errors are noted and
  // retried (a lease whose ack failed comes back after the ack wait).
  // `acked_after_kill` (when given) counts the orders this worker acked
  // once `killed_` was set.
  void work(PurchaseQueue& queue, const std::atomic<bool>& stop, std::atomic<size_t>* acked_after_kill = nullptr) {
    while (!stop.load()) {
      auto fetched = queue.fetch(kFetchMax, kFetchWait);
      if (!fetched) {
        ledger_.error("fetch", fetched.error());
        std::this_thread::sleep_for(kRetryPause);
        continue;
      }
      if (fetched->empty()) continue;
      std::vector<uint64_t> ids;
      std::vector<uint64_t> orders;
      {
        std::lock_guard lock(ledger_.mutex);
        for (const Delivery& delivery : *fetched) {
          const uint64_t order = delivery.request.order_id;
          const uint64_t key = key_of(delivery.request);
          auto [seen, inserted] = ledger_.key_of_delivered.try_emplace(order, key);
          if (!inserted && seen->second != key && ledger_.violations.size() < 20)
            ledger_.violations.push_back("order " + std::to_string(order) + " delivered for two keys");
          ++ledger_.deliveries[order];
          ids.push_back(delivery.delivery_id);
          orders.push_back(order);
        }
      }
      Status acked = queue.ack(ids);
      if (!acked) {
        ledger_.error("ack", acked.error());
        continue;
      }
      if (acked_after_kill != nullptr && killed_.load()) acked_after_kill->fetch_add(orders.size());
      std::lock_guard lock(ledger_.mutex);
      ledger_.acked.insert(orders.begin(), orders.end());
    }
  }

  testing::NatsCluster cluster_{3};
  JetStreamOptions options_;
  Ledger ledger_;
  std::atomic<bool> killed_{false};
  uint64_t next_retry_id_ = 0;
};

// Joins the worker threads however the test body leaves.
struct Workers {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  ~Workers() {
    stop.store(true);
    for (std::thread& thread : threads) thread.join();
  }
};

TEST_F(JetStreamClusterTest, ClusterSurvivesSigkillOfTheStreamLeaderWithoutLosingOrDoublingOrders) {
  PurchaseQueuePtr gateway = open();
  PurchaseQueuePtr worker_a = open();
  PurchaseQueuePtr worker_b = open();
  ASSERT_TRUE(gateway && worker_a && worker_b);
  const auto test_start = Clock::now();
  PurchaseQueuePtr worker_on_victim;  // opened later; outlives the threads below
  Workers workers;
  workers.threads.emplace_back([&] { work(*worker_a, workers.stop); });
  workers.threads.emplace_back([&] { work(*worker_b, workers.stop); });

  uint64_t next_key = 0;
  for (size_t span = 0; span < kSpansBeforeKill; ++span, next_key += kSpan)
    ASSERT_TRUE(append_keys(*gateway, next_key, kSpan, false));

  std::string why;
  const int leader = cluster_.stream_leader(options_.name_prefix + "_orders", why);
  ASSERT_GE(leader, 0) << why;
  // cnats picks a random server of the list, so the objects above may all
  // sit on surviving nodes. This worker is certain to be on the killed one
  // (given only its URL, it learns the others from the server's INFO, as a
  // client does): its acks after the kill prove the reconnect.
  JetStreamOptions pinned_options = options_;
  pinned_options.url = cluster_.url(leader);
  auto pinned = open_jetstream_purchase_queue(pinned_options, QueueOptions{kAckWait});
  ASSERT_TRUE(pinned.ok()) << pinned.error().message;
  worker_on_victim = std::move(pinned).value();
  std::atomic<size_t> acked_by_pinned_after_kill{0};
  workers.threads.emplace_back([&] { work(*worker_on_victim, workers.stop, &acked_by_pinned_after_kill); });
  std::this_thread::sleep_for(milliseconds(300));  // let it take a few leases onto the node that dies

  killed_.store(true);
  cluster_.kill(leader);
  const auto killed_at = Clock::now();

  // Into the outage: the last span before the kill again (a client that
  // never got its answer retries), then new spans (retried with fresh order
  // ids until they go through), then older keys again.
  const uint64_t keys_before_kill = kSpansBeforeKill * kSpan;
  ASSERT_TRUE(append_keys(*gateway, keys_before_kill - kSpan, kSpan, true));
  const auto first_ok_after_kill = Clock::now();
  for (size_t span = 0; span < kSpansAfterKill; ++span, next_key += kSpan)
    ASSERT_TRUE(append_keys(*gateway, next_key, kSpan, false));
  // The first span appended after the kill, and kKeysRetried of the first keys.
  ASSERT_TRUE(append_keys(*gateway, keys_before_kill, kSpan, true));
  for (uint64_t k = 0; k < kKeysRetried; k += kSpan) ASSERT_TRUE(append_keys(*gateway, k, kSpan, true));

  ASSERT_TRUE(cluster_.restart(leader, why)) << why;
  const auto restarted_at = Clock::now();
  for (size_t span = 0; span < kSpansAfterRestart; ++span, next_key += kSpan)
    ASSERT_TRUE(append_keys(*gateway, next_key, kSpan, false));

  // Drain: every answered order delivered, the queue back to 0.
  std::set<uint64_t> expected;
  {
    std::lock_guard lock(ledger_.mutex);
    for (const auto& [key, order] : ledger_.order_of_key) expected.insert(order);
  }
  ASSERT_EQ(expected.size(), next_key) << "one order per key";
  const auto drain_deadline = Clock::now() + kDrainBound;
  size_t depth = 0;
  size_t undelivered = expected.size();
  while (Clock::now() < drain_deadline) {
    {
      std::lock_guard lock(ledger_.mutex);
      undelivered = 0;
      for (uint64_t order : expected) undelivered += ledger_.deliveries.count(order) == 0;
    }
    depth = gateway->depth();
    if (undelivered == 0 && depth == 0) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  const auto drained_at = Clock::now();
  workers.stop.store(true);
  for (std::thread& thread : workers.threads) thread.join();
  workers.threads.clear();

  std::lock_guard lock(ledger_.mutex);
  std::vector<uint64_t> missing, unconfirmed;
  size_t redelivered = 0;
  for (uint64_t order : expected) {
    if (ledger_.deliveries.count(order) == 0 && missing.size() < 10) missing.push_back(order);
    if (ledger_.acked.count(order) == 0) unconfirmed.push_back(order);
  }
  for (const auto& [order, times] : ledger_.deliveries) {
    redelivered += static_cast<size_t>(times - 1);
    if (expected.count(order) == 0 && ledger_.violations.size() < 20)
      ledger_.violations.push_back("order " + std::to_string(order) + " delivered but no append answered it");
  }
  for (const auto& [order, key] : ledger_.key_of_delivered)
    if (ledger_.order_of_key.count(key) != 0 && ledger_.order_of_key.at(key) != order && ledger_.violations.size() < 20)
      ledger_.violations.push_back("key " + std::to_string(key) + " delivered as order " + std::to_string(order) +
                                   ", its append answered " + std::to_string(ledger_.order_of_key.at(key)));
  EXPECT_EQ(undelivered, 0u) << "lost orders, e.g. " << ::testing::PrintToString(missing);
  EXPECT_EQ(depth, 0u);
  auto left = gateway->unacked();
  ASSERT_TRUE(left.ok()) << left.error().message;
  EXPECT_TRUE(left->empty()) << left->size() << " requests still in the stream";
  // An ack whose reply was lost in the outage may still have been applied
  // (then the order is gone, depth 0 says so); the rest were confirmed.
  EXPECT_LE(unconfirmed.size(), 2 * kFetchMax * 2) << "orders whose ack was never confirmed";
  EXPECT_TRUE(ledger_.violations.empty()) << ::testing::PrintToString(ledger_.violations);
  EXPECT_GT(acked_by_pinned_after_kill.load(), 0u) << "the worker on the killed node never acked again";

  auto ms = [](Clock::duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); };
  std::string errors;
  for (const auto& [what, count] : ledger_.errors)
    errors += "\n  [" + what + "] x" + std::to_string(count) + ", first: " + ledger_.first_message[what];
  std::fprintf(stderr,
               "cluster failover: killed %s (stream leader) after %zu orders; first append OK %lld ms after the "
               "kill; last error %lld ms after the kill; restarted %lld ms after the kill; drained %lld ms after the "
               "restart; %zu orders, %zu redeliveries, %zu acks unconfirmed; the worker on the killed node acked %zu after "
               "the kill; whole run %lld ms; errors (code):%s\n",
               cluster_.server_name(leader).c_str(), static_cast<size_t>(keys_before_kill),
               static_cast<long long>(ms(first_ok_after_kill - killed_at)),
               static_cast<long long>(ledger_.last_error_at > killed_at ? ms(ledger_.last_error_at - killed_at) : 0),
               static_cast<long long>(ms(restarted_at - killed_at)), static_cast<long long>(ms(drained_at - restarted_at)),
               expected.size(), redelivered, unconfirmed.size(), acked_by_pinned_after_kill.load(),
               static_cast<long long>(ms(Clock::now() - test_start)),
               errors.c_str());
}

}  // namespace
}  // namespace hawker::bus
