// Outbox delivery by network thread: subscribers that live on a thread get
// their frames there, in one posted task per thread per frame, in order.
#include "live/fanout.h"

#include <deque>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>

#include <gtest/gtest.h>

#include "live/frame.h"
#include "test_subscribers.h"

namespace hawker::live {
namespace {

using testing::RecordingSubscriber;

// A network thread whose tasks run only when the test says so.
class ManualThread final : public http::NetworkThread {
 public:
  void post(std::function<void()> work) override {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(work));
  }
  size_t pending() const {
    std::lock_guard lock(mutex_);
    return tasks_.size();
  }
  void run_one() {
    std::function<void()> task;
    {
      std::lock_guard lock(mutex_);
      ASSERT_FALSE(tasks_.empty());
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
  void run_all() {
    for (;;) {
      std::function<void()> task;
      {
        std::lock_guard lock(mutex_);
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

 private:
  mutable std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;
};

class HomedSubscriber final : public RecordingSubscriber {
 public:
  explicit HomedSubscriber(std::shared_ptr<http::NetworkThread> home) : home_(std::move(home)) {}
  std::shared_ptr<http::NetworkThread> home() const override { return home_.lock(); }

 private:
  std::weak_ptr<http::NetworkThread> home_;
};

Frame text(const std::string& body) { return std::make_shared<const std::string>(body); }

class OutboxThreadsTest : public ::testing::Test {
 protected:
  // What the owner of an outbox does: push under its mutex, drain without.
  void publish(const Frame& frame, TargetsPtr targets, uint64_t replace_key = 0) {
    {
      std::lock_guard lock(mutex_);
      outbox_.push(frame, std::move(targets), replace_key);
    }
    outbox_.drain(mutex_);
  }

  // A set these subscribers joined, in this order.
  static SubscriberSet joined(std::initializer_list<SubscriberPtr> subscribers) {
    SubscriberSet set;
    for (const SubscriberPtr& subscriber : subscribers) EXPECT_TRUE(set.insert(subscriber));
    return set;
  }

  std::mutex mutex_;
  Outbox outbox_;
  std::shared_ptr<ManualThread> a_ = std::make_shared<ManualThread>();
  std::shared_ptr<ManualThread> b_ = std::make_shared<ManualThread>();
};

TEST_F(OutboxThreadsTest, OneTaskPerThreadPerFrameAndFramesInOrderOnEachThread) {
  SubscriberSet set;
  std::vector<std::shared_ptr<HomedSubscriber>> on_a, on_b;
  // Interleaved joins: the snapshot must still group them by thread.
  for (int i = 0; i < 3; ++i) {
    on_a.push_back(std::make_shared<HomedSubscriber>(a_));
    ASSERT_TRUE(set.insert(on_a.back()));
    if (i < 2) {
      on_b.push_back(std::make_shared<HomedSubscriber>(b_));
      ASSERT_TRUE(set.insert(on_b.back()));
    }
  }
  auto local = std::make_shared<RecordingSubscriber>();  // no thread of its own
  ASSERT_TRUE(set.insert(local));

  const Frame first = text("first");
  const Frame second = text("second");
  publish(first, set.snapshot());
  publish(second, set.snapshot());

  EXPECT_EQ(a_->pending(), 2u);  // one task per frame, not one per subscriber
  EXPECT_EQ(b_->pending(), 2u);
  ASSERT_EQ(local->size(), 2u);  // delivered on the publishing thread
  for (const auto& subscriber : on_a) EXPECT_EQ(subscriber->size(), 0u);

  a_->run_all();
  for (const auto& subscriber : on_a) {
    ASSERT_EQ(subscriber->size(), 2u);
    EXPECT_EQ(subscriber->frames()[0], first);  // the same bytes, in order
    EXPECT_EQ(subscriber->frames()[1], second);
  }
  for (const auto& subscriber : on_b) EXPECT_EQ(subscriber->size(), 0u);
  b_->run_all();
  for (const auto& subscriber : on_b) {
    ASSERT_EQ(subscriber->size(), 2u);
    EXPECT_EQ(subscriber->frames()[0], first);
    EXPECT_EQ(subscriber->frames()[1], second);
  }
}

TEST_F(OutboxThreadsTest, AWeakTargetIsDeliveredOnItsHomeAfterWhatWasPostedBefore) {
  auto buyer = std::make_shared<HomedSubscriber>(a_);
  SubscriberSet set = joined({buyer});
  const Frame broadcast = text("inventory");
  const Frame direct = text("order");
  publish(broadcast, set.snapshot());
  publish(direct, std::make_shared<const Targets>(Targets{Target(std::weak_ptr<Subscriber>(buyer))}));
  EXPECT_EQ(buyer->size(), 0u);
  EXPECT_EQ(a_->pending(), 2u);
  a_->run_all();
  ASSERT_EQ(buyer->size(), 2u);
  EXPECT_EQ(buyer->frames()[0], broadcast);
  EXPECT_EQ(buyer->frames()[1], direct);
}

TEST_F(OutboxThreadsTest, AWaitingFrameIsReplacedByANewerOneWithItsKeyWhichGoesToTheBack) {
  auto viewer = std::make_shared<HomedSubscriber>(a_);
  auto elsewhere = std::make_shared<HomedSubscriber>(b_);
  SubscriberSet set = joined({viewer, elsewhere});
  const Frame stale = text("stock 5");
  const Frame chat = text("chat");
  const Frame latest = text("stock 4");
  const Frame other_product = text("other 9");
  publish(stale, set.snapshot(), 7);
  publish(chat, set.snapshot());
  b_->run_all();  // thread B is keeping up: it sent stock 5 and the chat
  publish(latest, set.snapshot(), 7);
  publish(other_product, set.snapshot(), 8);
  a_->run_all();
  b_->run_all();
  ASSERT_EQ(viewer->size(), 3u);  // stock 5 was still waiting on thread A: dropped
  EXPECT_EQ(viewer->frames()[0], chat);
  EXPECT_EQ(viewer->frames()[1], latest);
  EXPECT_EQ(viewer->frames()[2], other_product);
  ASSERT_EQ(elsewhere->size(), 4u);
  EXPECT_EQ(elsewhere->frames()[0], stale);
  EXPECT_EQ(elsewhere->frames()[2], latest);
}

TEST_F(OutboxThreadsTest, ANewerFrameStartsWithTheSubscribersTheDroppedTasksHadNotReached) {
  constexpr size_t kPerTask = Outbox::kSubscribersPerTask;
  SubscriberSet set;
  std::vector<std::shared_ptr<HomedSubscriber>> viewers;
  for (size_t i = 0; i < 3 * kPerTask; ++i) {
    viewers.push_back(std::make_shared<HomedSubscriber>(a_));
    ASSERT_TRUE(set.insert(viewers.back()));
  }
  TargetsPtr targets = set.snapshot();  // the order the tasks follow
  auto at = [&](size_t position) {
    return std::static_pointer_cast<HomedSubscriber>((*targets)[position].subscriber.lock());
  };
  const Frame older = text("stock 9");
  const Frame newer = text("stock 8");
  publish(older, targets, 7);
  EXPECT_EQ(a_->pending(), 3u);
  a_->run_one();  // the first kPerTask viewers got "stock 9"; the thread falls behind
  publish(newer, targets, 7);
  a_->run_one();  // the superseded tasks' no-ops, then the newer frame's first task
  a_->run_one();
  a_->run_one();
  EXPECT_EQ(at(kPerTask)->frames(), std::vector<Frame>{newer}) << "the first viewer not reached goes first";
  EXPECT_EQ(at(2 * kPerTask)->frames(), std::vector<Frame>{}) << "its task is next";
  EXPECT_EQ(at(0)->frames(), std::vector<Frame>{older}) << "those reached get the newer frame last";
  a_->run_all();
  for (size_t position = 0; position < targets->size(); ++position) {
    std::vector<Frame> expected;
    if (position < kPerTask) expected.push_back(older);
    expected.push_back(newer);
    EXPECT_EQ(at(position)->frames(), expected) << position;
  }
}

TEST_F(OutboxThreadsTest, SubscribersGoneBeforeTheirTaskRunsReceiveNothing) {
  auto viewer = std::make_shared<HomedSubscriber>(a_);
  auto stays = std::make_shared<HomedSubscriber>(a_);
  SubscriberSet set = joined({viewer, stays});
  publish(text("tick"), set.snapshot());
  std::weak_ptr<HomedSubscriber> weak = viewer;
  viewer.reset();
  a_->run_all();
  EXPECT_TRUE(weak.expired());
  EXPECT_EQ(stays->size(), 1u);
}

TEST_F(OutboxThreadsTest, AThreadThatIsGoneIsPostedNothing) {
  auto viewer = std::make_shared<HomedSubscriber>(a_);
  SubscriberSet set = joined({viewer});
  TargetsPtr targets = set.snapshot();
  std::weak_ptr<ManualThread> thread = a_;
  a_.reset();  // its server stopped
  ASSERT_TRUE(thread.expired());
  publish(text("tick"), targets);
  EXPECT_EQ(viewer->size(), 0u);
}

}  // namespace
}  // namespace hawker::live
