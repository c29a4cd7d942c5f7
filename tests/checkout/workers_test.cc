// CheckoutWorkers with real threads on the in-memory adapters: every queued
// request is decided and settled, and while payments are held up, deciding
// stops at the settle backlog bound so the overload waits in the queue.
#include "checkout/workers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/memory_purchase_queue.h"
#include "checkout/payment_router.h"
#include "core/clock.h"
#include "core/ids.h"
#include "store/memory_write_store.h"

namespace hawker::checkout {
namespace {

using namespace std::chrono_literals;

// Approves every charge, but only while open: a closed processor holds its
// callers until opened (a payment provider that has stopped answering).
class GatedProcessor final : public PaymentProcessor {
 public:
  const std::string& name() const override { return name_; }
  bool supports(std::string_view) const override { return true; }
  PaymentOutcome authorize(const ChargeRequest&) override {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    --waiting_;
    return PaymentOutcome::kApproved;
  }
  PaymentOutcome void_charge(const ChargeRequest&) override { return PaymentOutcome::kApproved; }

  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  // Until `count` callers wait inside authorize(), at most 10 s.
  bool wait_for_waiting(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return waiting_ >= count; });
  }

 private:
  const std::string name_ = "gated";
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  int waiting_ = 0;
};

// Opens the processor when the test leaves, however it leaves: a failed
// assertion must not leave a payment thread stuck for the workers' stop().
struct OpenOnExit {
  GatedProcessor& processor;
  ~OpenOnExit() { processor.open(); }
};

class CheckoutWorkersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto id = store_.allocate_product_id();
    ASSERT_TRUE(id.ok());
    product_id_ = *id;
    market::ProductDefinition definition;
    definition.id = product_id_;
    definition.seller = "seller";
    definition.title = "mug";
    definition.price_cents = 1000;
    definition.low_threshold = 0;
    ASSERT_TRUE(store_.commit(store::product_creation_commit(definition, 1'000'000, clock_.now_us())).ok());
    router_ = std::make_unique<PaymentRouter>(std::vector<PaymentProcessor*>{&processor_}, RouterOptions{}, clock_);
    engine_ = std::make_unique<CheckoutEngine>(store_, queue_, *router_, clock_);
  }

  void enqueue(int count) {
    std::vector<bus::Enqueue> items(static_cast<size_t>(count));
    for (auto& item : items) {
      item.request.order_id = new_order_id();
      item.request.product_id = product_id_;
      item.request.buyer = "buyer-" + std::to_string(next_buyer_++);
      item.request.quantity = 1;
      item.request.payment_token = "tok_visa";
      item.idempotency_key = item.request.buyer + "\nkey";
      item.fingerprint = 1;
    }
    std::vector<bus::EnqueueResult> results(items.size());
    ASSERT_TRUE(queue_.append(items, results).ok());
  }

  int64_t sold() {
    auto product = store_.get_product(product_id_);
    return product.ok() && *product ? (*product)->inventory.sold : -1;
  }

  // Polls `done` every 5 ms for at most 10 s.
  template <typename Done>
  static bool eventually(Done done) {
    for (int i = 0; i < 2000; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return done();
  }

  SystemClock& clock_ = SystemClock::instance();
  store::MemoryWriteStore store_;
  bus::MemoryPurchaseQueue queue_;
  GatedProcessor processor_;
  std::unique_ptr<PaymentRouter> router_;
  std::unique_ptr<CheckoutEngine> engine_;
  uint64_t product_id_ = 0;
  int next_buyer_ = 0;
};

TEST_F(CheckoutWorkersTest, DecidingPausesAtTheSettleBacklogBoundAndResumesWhenPaymentsDrain) {
  const WorkerOptions options{.decide_threads = 2, .payment_threads = 1, .batch_max = 10, .batch_wait_ms = 1,
                              .settle_batch_max = 5, .settle_backlog_max = 20};
  CheckoutWorkers workers(*engine_, store_, queue_, options);
  OpenOnExit open_on_exit{processor_};  // destroyed before `workers`
  enqueue(200);
  workers.start();

  // The payment thread holds 5 orders inside the processor; the backlog
  // fills to its bound (a decide batch in flight may overshoot it by one
  // batch per decide thread) and deciding stops there.
  ASSERT_TRUE(processor_.wait_for_waiting(1));
  ASSERT_TRUE(eventually([&] { return workers.settle_backlog() >= options.settle_backlog_max; }));
  std::this_thread::sleep_for(200ms);  // would let unbounded deciding take everything
  EXPECT_LE(workers.settle_backlog(), options.settle_backlog_max + 2 * options.batch_max);
  EXPECT_GE(queue_.depth(), 200u - (options.settle_batch_max + options.settle_backlog_max + 2 * options.batch_max));
  EXPECT_EQ(sold(), 0);

  // Payments answer again: everything queued is decided and confirmed.
  processor_.open();
  EXPECT_TRUE(eventually([&] { return sold() == 200; })) << "sold " << sold();
  EXPECT_EQ(queue_.depth(), 0u);
  EXPECT_EQ(workers.settle_backlog(), 0u);
  workers.stop();
}

TEST_F(CheckoutWorkersTest, StopReturnsWhileDecidingIsPausedAndPaymentsAreHeld) {
  const WorkerOptions options{.decide_threads = 1, .payment_threads = 1, .batch_max = 4, .batch_wait_ms = 1,
                              .settle_batch_max = 2, .settle_backlog_max = 4};
  auto workers = std::make_unique<CheckoutWorkers>(*engine_, store_, queue_, options);
  OpenOnExit open_on_exit{processor_};
  enqueue(50);
  workers->start();
  ASSERT_TRUE(eventually([&] { return workers->settle_backlog() >= options.settle_backlog_max; }));
  // The decide thread is paused and the payment thread is stuck in the
  // processor until it opens: stop() must wake the one and then join the
  // other, so it returns soon after the processor answers.
  std::thread opener([&] {
    std::this_thread::sleep_for(100ms);
    processor_.open();
  });
  auto stopped = std::async(std::launch::async, [&] { workers->stop(); });
  const bool returned = stopped.wait_for(10s) == std::future_status::ready;
  opener.join();
  ASSERT_TRUE(returned) << "stop() did not return";
  // Nothing was lost: every request is still queued, or its order is
  // reserved (awaiting payment, for the next start) or sold.
  auto product = store_.get_product(product_id_);
  ASSERT_TRUE(product.ok() && *product);
  const auto& inventory = (*product)->inventory;
  EXPECT_EQ(static_cast<int64_t>(queue_.depth()) + inventory.reserved + inventory.sold, 50);
  EXPECT_GT(static_cast<int64_t>(queue_.depth()), 0) << "deciding did not pause";
}

}  // namespace
}  // namespace hawker::checkout
