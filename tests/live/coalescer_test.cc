// Proves the coalescers (live/coalescer.h), driven only by a ManualClock:
//  - the first update after a quiet interval is due at once (leading edge);
//  - updates inside the interval fold into the latest value, due when the
//    interval has passed (trailing edge); next_due_us says exactly when;
//  - under updates every millisecond for seconds, a product never gets more
//    than 10 emits in any one-second window, emits are >= 100 ms apart, and the
//    last value is always emitted;
//  - over seeded random schedules of many products (the seed is printed on
//    failure), every product's last emitted value is its latest update once
//    the updates stop, and the spacing rule holds throughout;
//  - products are independent; a value that shows the same as the last emit is
//    not sent again; quiet keys are forgotten; a clock that jumps back does
//    not stall a pending value;
//  - viewer counts follow the same rules at one per 2 s.
#include "live/coalescer.h"

#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/clock.h"

namespace hawker::live {
namespace {

using market::StockState;

constexpr int64_t kMs = 1000;

class InventoryCoalescerTest : public ::testing::Test {
 protected:
  int64_t now() const { return clock_.now_us(); }
  void advance_ms(int64_t ms) { clock_.advance_us(ms * kMs); }

  ManualClock clock_;
  InventoryCoalescer coalescer_{clock_};
};

TEST_F(InventoryCoalescerTest, NothingPendingNothingDue) {
  EXPECT_TRUE(coalescer_.poll().empty());
  EXPECT_FALSE(coalescer_.next_due_us().has_value());
}

TEST_F(InventoryCoalescerTest, FirstUpdateIsDueAtOnce) {
  coalescer_.update(7, 100, StockState::kInStock, 1);
  ASSERT_TRUE(coalescer_.next_due_us().has_value());
  EXPECT_LE(*coalescer_.next_due_us(), now());
  auto due = coalescer_.poll();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].product_id, 7u);
  EXPECT_EQ(due[0].level.available, 100);
  EXPECT_EQ(due[0].level.version, 1u);
  EXPECT_TRUE(coalescer_.poll().empty()) << "emitted once";
}

TEST_F(InventoryCoalescerTest, UpdatesInsideTheIntervalFoldIntoTheLatest) {
  coalescer_.update(7, 100, StockState::kInStock, 1);
  ASSERT_EQ(coalescer_.poll().size(), 1u);
  const int64_t emitted_at = now();
  for (int i = 1; i <= 30; ++i) {
    advance_ms(3);
    coalescer_.update(7, 100 - i, StockState::kInStock, 1 + i);
    EXPECT_TRUE(coalescer_.poll().empty()) << "inside the interval";
  }
  EXPECT_EQ(*coalescer_.next_due_us(), emitted_at + kInventoryIntervalUs);
  advance_ms(9);  // 99 ms after the emit
  EXPECT_TRUE(coalescer_.poll().empty());
  advance_ms(1);
  auto due = coalescer_.poll();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].level.available, 70) << "only the latest value";
  EXPECT_EQ(due[0].level.version, 31u);
  EXPECT_FALSE(coalescer_.next_due_us().has_value());
}

TEST_F(InventoryCoalescerTest, AtMostTenPerSecondAndAlwaysTheLastValue) {
  std::vector<int64_t> emit_times;
  int64_t last_emitted = -1;
  int64_t available = 100'000;
  const int64_t start = now();
  for (int ms = 0; ms < 5000; ++ms) {  // an update every millisecond for 5 s
    coalescer_.update(7, --available, StockState::kInStock);
    for (const auto& update : coalescer_.poll()) {
      emit_times.push_back(now());
      last_emitted = update.level.available;
    }
    advance_ms(1);
  }
  advance_ms(100);  // the updates stop; the trailing value comes out
  for (const auto& update : coalescer_.poll()) {
    emit_times.push_back(now());
    last_emitted = update.level.available;
  }
  EXPECT_EQ(last_emitted, available);
  ASSERT_GE(emit_times.size(), 50u) << "it does keep emitting";
  for (size_t i = 1; i < emit_times.size(); ++i) EXPECT_GE(emit_times[i] - emit_times[i - 1], kInventoryIntervalUs);
  for (int64_t window = start; window < now(); window += kMs) {
    const auto in_window = std::count_if(emit_times.begin(), emit_times.end(), [&](int64_t t) {
      return t >= window && t < window + 1'000'000;
    });
    ASSERT_LE(in_window, 10) << "window starting " << (window - start) / kMs << " ms";
  }
}

TEST_F(InventoryCoalescerTest, ProductsAreIndependent) {
  coalescer_.update(1, 10, StockState::kInStock);
  ASSERT_EQ(coalescer_.poll().size(), 1u);
  advance_ms(10);
  coalescer_.update(1, 9, StockState::kInStock);
  coalescer_.update(2, 50, StockState::kInStock);
  auto due = coalescer_.poll();
  ASSERT_EQ(due.size(), 1u) << "product 1 waits; product 2 has its own interval";
  EXPECT_EQ(due[0].product_id, 2u);
  EXPECT_EQ(coalescer_.pending(), 1u);
}

TEST_F(InventoryCoalescerTest, TheSameValueIsNotSentTwice) {
  coalescer_.update(7, 10, StockState::kInStock, 1);
  ASSERT_EQ(coalescer_.poll().size(), 1u);
  advance_ms(20);
  coalescer_.update(7, 9, StockState::kInStock, 2);
  coalescer_.update(7, 10, StockState::kInStock, 3);  // back where the viewers already are
  advance_ms(100);
  EXPECT_TRUE(coalescer_.poll().empty());
  EXPECT_FALSE(coalescer_.next_due_us().has_value());
  coalescer_.update(7, 10, StockState::kLow, 4);  // same count, new state: shows differently
  EXPECT_EQ(coalescer_.poll().size(), 1u);
}

TEST_F(InventoryCoalescerTest, QuietKeysAreForgotten) {
  for (uint64_t product = 1; product <= 100; ++product) coalescer_.update(product, 5, StockState::kLow);
  EXPECT_EQ(coalescer_.poll().size(), 100u);
  EXPECT_EQ(coalescer_.tracked(), 100u);
  advance_ms(100);
  EXPECT_TRUE(coalescer_.poll().empty());
  EXPECT_EQ(coalescer_.tracked(), 0u);
  coalescer_.update(1, 5, StockState::kLow);
  EXPECT_EQ(coalescer_.poll().size(), 1u) << "after forgetting, a leading edge again";
}

TEST_F(InventoryCoalescerTest, AClockThatJumpsBackDoesNotStall) {
  coalescer_.update(7, 10, StockState::kInStock);
  ASSERT_EQ(coalescer_.poll().size(), 1u);
  coalescer_.update(7, 9, StockState::kInStock);
  auto due = coalescer_.poll(now() - 3'600'000'000);  // an hour back
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].level.available, 9);
}

TEST(CoalescerModelTest, RandomSchedulesKeepSpacingAndEndOnTheLatestValue) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    ManualClock clock;
    const int64_t interval_us = 1 + random() % 200'000;
    InventoryCoalescer coalescer(clock, interval_us);
    std::map<uint64_t, int64_t> latest, last_emitted, last_emit_us;
    auto poll = [&] {
      for (const auto& update : coalescer.poll()) {
        auto previous = last_emit_us.find(update.product_id);
        if (previous != last_emit_us.end()) {
          ASSERT_GE(clock.now_us() - previous->second, interval_us);
        }
        last_emit_us[update.product_id] = clock.now_us();
        last_emitted[update.product_id] = update.level.available;
      }
    };
    for (int step = 0; step < 3000; ++step) {
      const uint64_t product = 1 + random() % 5;
      const int64_t available = random() % 20;
      coalescer.update(product, available, StockState::kInStock);
      latest[product] = available;
      clock.advance_us(random() % (interval_us / 4 + 1));
      if (random() % 3 == 0) poll();
    }
    // Updates stop; polling at next_due_us drains everything.
    for (int rounds = 0; rounds < 10 && coalescer.next_due_us(); ++rounds) {
      const int64_t due = *coalescer.next_due_us();
      if (due > clock.now_us()) clock.advance_us(due - clock.now_us());
      poll();
    }
    EXPECT_FALSE(coalescer.next_due_us().has_value());
    for (const auto& [product, value] : latest) {
      // A product whose latest equals what was emitted last is also done.
      ASSERT_TRUE(last_emitted.count(product));
      EXPECT_EQ(last_emitted[product], value) << "product " << product;
    }
  }
}

TEST(ViewerCoalescerTest, AtMostEveryTwoSecondsAndTheLastCount) {
  ManualClock clock;
  ViewerCoalescer coalescer(clock);
  coalescer.update(1, 1);
  auto due = coalescer.poll();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].show_id, 1u);
  EXPECT_EQ(due[0].count, 1);
  for (int viewers = 2; viewers <= 500; ++viewers) {
    clock.advance_us(3'000);  // 500 joins over 1.5 s
    coalescer.update(1, viewers);
    EXPECT_TRUE(coalescer.poll().empty());
  }
  EXPECT_EQ(*coalescer.next_due_us(), clock.now_us() - 1'497'000 + kViewersIntervalUs);
  clock.advance_us(*coalescer.next_due_us() - clock.now_us() - 1);
  EXPECT_TRUE(coalescer.poll().empty());
  clock.advance_us(1);
  due = coalescer.poll();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].count, 500);
}

}  // namespace
}  // namespace hawker::live
