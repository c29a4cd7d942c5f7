// What the JetStream adapter promises beyond the PurchaseQueue contract
// (purchase_queue_contract_test.cc runs that against it too): two queue
// objects on one prefix (two workers) share the pull consumer and never hold
// the same request's lease at once, and a worker that closes hands its leases
// to the other; the same idempotency key appended from two objects at once,
// or published again under the same Nats-Msg-Id, is stored once; an
// unreachable server, or one that goes away, is a clear error within the
// timeouts, never a hang or a crash; a key whose request was lost is queued
// again when it is looked up.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bus/jetstream_purchase_queue.h"
#include "core/jwt.h"
#include "support/nats_test.h"

namespace hawker::bus {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kWaitBound{30'000};

Enqueue make_item(uint64_t order_id, const std::string& key, uint64_t fingerprint) {
  Enqueue item;
  item.request.order_id = order_id;
  item.request.product_id = 100 + order_id % 3;
  item.request.buyer = "buyer-" + std::to_string(order_id % 7);
  item.request.quantity = 1;
  item.request.payment_token = "tok-" + std::to_string(order_id);
  item.request.accepted_us = static_cast<int64_t>(order_id);
  item.idempotency_key = key;
  item.fingerprint = fingerprint;
  return item;
}

// A plain cnats JetStream context on the test's server, for what the tests do
// behind the adapter's back (publish, delete a message, read stream info).
struct RawJetStream {
  natsConnection* connection = nullptr;
  jsCtx* js = nullptr;
  explicit RawJetStream(const std::string& url) {
    if (natsConnection_ConnectTo(&connection, url.c_str()) == NATS_OK)
      (void)natsConnection_JetStream(&js, connection, nullptr);
  }
  ~RawJetStream() {
    if (js != nullptr) jsCtx_Destroy(js);
    if (connection != nullptr) natsConnection_Destroy(connection);
  }
  RawJetStream(const RawJetStream&) = delete;
  RawJetStream& operator=(const RawJetStream&) = delete;
};

class JetStreamPurchaseQueueTest : public testing::NatsTest<JetStreamOptions> {
 protected:
  PurchaseQueuePtr open(QueueOptions queue_options = {}) {
    auto opened = open_jetstream_purchase_queue(options_, queue_options);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  // A queue holding `item` (null, with a failure recorded, if that failed).
  PurchaseQueuePtr open_with(const Enqueue& item) {
    PurchaseQueuePtr queue = open();
    std::vector<EnqueueResult> results(1);
    if (!queue) return nullptr;
    Status appended = queue->append(std::span(&item, 1), results);
    EXPECT_TRUE(appended.ok()) << appended.error().message;
    return appended.ok() ? std::move(queue) : nullptr;
  }

};

TEST_F(JetStreamPurchaseQueueTest, TwoWorkersShareTheConsumerWithoutHoldingTheSameLease) {
  PurchaseQueuePtr first = open();
  PurchaseQueuePtr second = open();
  ASSERT_TRUE(first && second);
  constexpr uint64_t kRequests = 400;
  std::vector<Enqueue> items;
  for (uint64_t id = 1; id <= kRequests; ++id) items.push_back(make_item(id, "key-" + std::to_string(id), id));
  std::vector<EnqueueResult> results(items.size());
  ASSERT_TRUE(first->append(items, results).ok());

  // Both workers fetch at once until the queue is drained; nobody acks yet,
  // so a request seen twice would be two leases held at the same time.
  std::mutex mutex;
  std::map<uint64_t, int> holder;  // order id -> worker
  std::vector<std::string> overlaps;
  auto work = [&](PurchaseQueue& queue, int worker) {
    for (uint64_t round = 0; round < kRequests; ++round) {  // bounded
      auto got = queue.fetch(9, milliseconds(0));
      ASSERT_TRUE(got.ok()) << got.error().message;
      if (got->empty()) return;
      std::lock_guard lock(mutex);
      for (const Delivery& delivery : *got) {
        EXPECT_EQ(delivery.attempt, 1u);
        auto [slot, fresh] = holder.emplace(delivery.request.order_id, worker);
        if (!fresh) overlaps.push_back(std::to_string(delivery.request.order_id));
      }
    }
  };
  std::thread one([&] { work(*first, 1); });
  std::thread two([&] { work(*second, 2); });
  one.join();
  two.join();
  EXPECT_TRUE(overlaps.empty()) << "leased twice: " << overlaps.size() << ", e.g. " << overlaps.front();
  EXPECT_EQ(holder.size(), kRequests) << "every request leased once";
  EXPECT_EQ(first->depth(), kRequests);

  // The first worker closes: its leases go to the second at once, as
  // attempt 2; the second's own leases stay with it.
  std::set<uint64_t> held_by_first;
  for (const auto& [order, worker] : holder)
    if (worker == 1) held_by_first.insert(order);
  first.reset();
  std::set<uint64_t> handed_over;
  for (int round = 0; round < 100 && handed_over.size() < held_by_first.size(); ++round) {  // bounded
    auto got = second->fetch(100, milliseconds(200));
    ASSERT_TRUE(got.ok()) << got.error().message;
    for (const Delivery& delivery : *got) {
      EXPECT_EQ(delivery.attempt, 2u);
      EXPECT_TRUE(handed_over.insert(delivery.request.order_id).second);
    }
  }
  EXPECT_EQ(handed_over, held_by_first);
  EXPECT_TRUE(second->fetch(100, milliseconds(50))->empty()) << "the second worker's own leases came back";
}

TEST_F(JetStreamPurchaseQueueTest, OneKeyAppendedFromTwoWorkersAtOnceIsStoredOnce) {
  PurchaseQueuePtr first = open();
  PurchaseQueuePtr second = open();
  ASSERT_TRUE(first && second);
  constexpr uint64_t kKeys = 100;
  std::vector<Enqueue> from_first, from_second;
  for (uint64_t k = 0; k < kKeys; ++k) {
    from_first.push_back(make_item(1'000 + k, "shared-" + std::to_string(k), k));
    from_second.push_back(make_item(2'000 + k, "shared-" + std::to_string(k), k));
  }
  std::vector<EnqueueResult> first_results(kKeys), second_results(kKeys);
  std::atomic<int> ready{0};
  auto run = [&](PurchaseQueue& queue, std::vector<Enqueue>& items, std::vector<EnqueueResult>& results) {
    ready.fetch_add(1);
    while (ready.load() < 2) std::this_thread::yield();
    for (size_t i = 0; i < items.size(); i += 10) {  // ten spans each, interleaved with the other worker
      Status status = queue.append(std::span(items).subspan(i, 10), std::span(results).subspan(i, 10));
      ASSERT_TRUE(status.ok()) << status.error().message;
    }
  };
  std::thread one([&] { run(*first, from_first, first_results); });
  std::thread two([&] { run(*second, from_second, second_results); });
  one.join();
  two.join();
  for (uint64_t k = 0; k < kKeys; ++k) {
    const EnqueueResult& a = first_results[k];
    const EnqueueResult& b = second_results[k];
    EXPECT_EQ(a.order_id, b.order_id) << "key " << k << " maps to two orders";
    const int appended = (a.outcome == EnqueueOutcome::kAppended) + (b.outcome == EnqueueOutcome::kAppended);
    const int duplicate = (a.outcome == EnqueueOutcome::kDuplicate) + (b.outcome == EnqueueOutcome::kDuplicate);
    EXPECT_EQ(appended, 1) << "key " << k;
    EXPECT_EQ(duplicate, 1) << "key " << k;
  }
  auto left = first->unacked();
  ASSERT_TRUE(left.ok()) << left.error().message;
  EXPECT_EQ(left->size(), kKeys) << "one stored request per key";
  EXPECT_EQ(second->depth(), kKeys);
}

TEST_F(JetStreamPurchaseQueueTest, TheSameMsgIdPublishedAgainIsStoredOnce) {
  PurchaseQueuePtr queue = open();
  ASSERT_TRUE(queue);
  const Enqueue item = make_item(7, "buyer-7\nclient-key", 1);
  std::vector<EnqueueResult> results(1);
  ASSERT_TRUE(queue->append(std::span(&item, 1), results).ok());

  // A second publisher (say, a gateway retrying after a lost PubAck) sends the
  // request again under the same Nats-Msg-Id: the stream keeps one copy.
  RawJetStream raw(options_.url);
  ASSERT_NE(raw.js, nullptr) << "cannot reach " << options_.url;
  jsCtx* js = raw.js;
  jsPubOptions publish;
  jsPubOptions_Init(&publish);
  const std::string msg_id = "k" + base64url_encode(item.idempotency_key);
  publish.MsgId = msg_id.c_str();
  const std::string subject = options_.name_prefix + ".orders.101.7";
  jsPubAck* ack = nullptr;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  natsStatus status = js_Publish(&ack, js, subject.c_str(), "again", 5, &publish, &js_code);
  EXPECT_EQ(status, NATS_OK) << natsStatus_GetText(status) << " " << js_code;
  if (ack != nullptr) {
    EXPECT_TRUE(ack->Duplicate) << "the stream stored the same key twice";
    jsPubAck_Destroy(ack);
  }

  EXPECT_EQ(queue->depth(), 1u);
  auto got = queue->fetch(10, milliseconds(0));
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].request.payment_token, "tok-7");
}

TEST_F(JetStreamPurchaseQueueTest, LookingUpAClaimedKeyQueuesItsRequestWhenTheRequestWasLost) {
  // The claim and the request are two writes: in a leader election the claim
  // can land while the request does not (the gateway answered 503). The
  // buyer's retry is answered from find_key() with the first order id, so
  // find_key() must queue that request. Here the request is deleted from the
  // stream after the dedupe window, as if it had never been published.
  options_.duplicate_window = milliseconds(200);
  const Enqueue item = make_item(11, "buyer-4\nlost-request", 5);
  PurchaseQueuePtr queue = open_with(item);
  ASSERT_TRUE(queue);
  std::this_thread::sleep_for(milliseconds(400));  // past the dedupe window

  RawJetStream raw(options_.url);
  ASSERT_NE(raw.js, nullptr) << "cannot reach " << options_.url;
  jsCtx* js = raw.js;
  jsErrCode js_code = static_cast<jsErrCode>(0);
  const std::string stream = options_.name_prefix + "_orders";
  EXPECT_EQ(js_DeleteMsg(js, stream.c_str(), 1, nullptr, &js_code), NATS_OK) << js_code;
  auto gone = queue->find_order(11);
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  ASSERT_FALSE(gone->has_value()) << "the request should be gone from the stream";

  auto known = queue->find_key(item.idempotency_key, item.fingerprint);
  ASSERT_TRUE(known.ok()) << known.error().message;
  ASSERT_TRUE(known->has_value());
  EXPECT_EQ((*known)->outcome, EnqueueOutcome::kDuplicate);
  EXPECT_EQ((*known)->order_id, 11u);
  auto queued = queue->find_order(11);
  ASSERT_TRUE(queued.ok()) << queued.error().message;
  ASSERT_TRUE(queued->has_value()) << "the looked-up key's request is queued nowhere";
  auto got = queue->fetch(10, milliseconds(0));
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].request.order_id, 11u);
  EXPECT_EQ((*got)[0].request.payment_token, "tok-11");
}

TEST_F(JetStreamPurchaseQueueTest, KeysExpireAfterTheirTtlAndAReopenAppliesANewTtl) {
  // Keys carry the first request, payment token included: they are kept for
  // key_ttl, not forever.
  options_.key_ttl = std::chrono::seconds(1);
  options_.duplicate_window = milliseconds(500);
  const Enqueue item = make_item(21, "buyer-0\nshort-lived", 9);
  PurchaseQueuePtr queue = open_with(item);
  ASSERT_TRUE(queue);
  auto known = queue->find_key(item.idempotency_key, item.fingerprint);
  ASSERT_TRUE(known.ok() && known->has_value());
  bool expired = false;
  for (auto until = steady_clock::now() + kWaitBound; !expired && steady_clock::now() < until;) {
    std::this_thread::sleep_for(milliseconds(200));
    auto now_known = queue->find_key(item.idempotency_key, item.fingerprint);
    ASSERT_TRUE(now_known.ok()) << now_known.error().message;
    expired = !now_known->has_value();
  }
  EXPECT_TRUE(expired) << "the key outlived its 1 s TTL";

  // Another opener with another TTL moves the bucket to it.
  options_.key_ttl = std::chrono::seconds(7200);
  PurchaseQueuePtr reopened = open();
  ASSERT_TRUE(reopened);
  RawJetStream raw(options_.url);
  ASSERT_NE(raw.js, nullptr) << "cannot reach " << options_.url;
  jsCtx* js = raw.js;
  jsStreamInfo* info = nullptr;
  const std::string stream = "KV_" + options_.name_prefix + "_keys";
  ASSERT_EQ(js_GetStreamInfo(&info, js, stream.c_str(), nullptr, nullptr), NATS_OK);
  ASSERT_NE(info->Config, nullptr);
  EXPECT_EQ(info->Config->MaxAge, int64_t{7200} * 1'000'000'000);
  jsStreamInfo_Destroy(info);
}

TEST_F(JetStreamPurchaseQueueTest, AnUnreachableServerIsAClearUnavailableError) {
  JetStreamOptions nowhere = options_;
  nowhere.url = "nats://127.0.0.1:1";  // nothing listens on port 1
  nowhere.connect_timeout = milliseconds(1'000);
  auto start = steady_clock::now();
  auto opened = open_jetstream_purchase_queue(nowhere);
  auto took = steady_clock::now() - start;
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(static_cast<int>(opened.error().code), static_cast<int>(ErrorCode::kUnavailable)) << opened.error().message;
  EXPECT_NE(opened.error().message.find("127.0.0.1:1"), std::string::npos) << opened.error().message;
  EXPECT_LT(took, kWaitBound);
}

TEST_F(JetStreamPurchaseQueueTest, AServerThatGoesAwayGivesErrorsWithinTheTimeouts) {
  testing::NatsServer own;  // this test stops its server
  std::string why;
  ASSERT_TRUE(own.start(why)) << why;
  options_.url = own.url();
  options_.request_timeout = milliseconds(1'000);
  PurchaseQueuePtr queue = open();
  ASSERT_TRUE(queue);
  std::vector<Enqueue> items = {make_item(1, "a", 1), make_item(2, "b", 2)};
  std::vector<EnqueueResult> results(items.size());
  ASSERT_TRUE(queue->append(items, results).ok());
  auto leased = queue->fetch(1, milliseconds(0));
  ASSERT_TRUE(leased.ok() && leased->size() == 1u);
  own.stop();

  auto start = steady_clock::now();
  std::vector<Enqueue> more = {make_item(3, "c", 3)};
  std::vector<EnqueueResult> more_results(1);
  Status appended = queue->append(more, more_results);
  EXPECT_FALSE(appended.ok());
  if (!appended.ok()) {
    // kUnavailable once cnats has seen the connection go; kTimeout if the
    // publish went out just before.
    EXPECT_TRUE(appended.error().code == ErrorCode::kUnavailable || appended.error().code == ErrorCode::kTimeout)
        << appended.error().message;
    EXPECT_FALSE(appended.error().message.empty());
  }
  auto fetched = queue->fetch(10, milliseconds(200));
  EXPECT_TRUE(!fetched.ok() || fetched->empty());
  EXPECT_FALSE(queue->ack(std::vector<uint64_t>{(*leased)[0].delivery_id}).ok());
  EXPECT_FALSE(queue->find_key("a", 1).ok());
  EXPECT_FALSE(queue->find_order(2).ok());
  EXPECT_FALSE(queue->unacked().ok());
  (void)queue->depth();  // the last known value; must not hang
  queue.reset();         // closing without a server is bounded too
  EXPECT_LT(steady_clock::now() - start, kWaitBound);
}

}  // namespace
}  // namespace hawker::bus
