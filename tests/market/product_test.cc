// Proves the product-level rules every purchase decision and live badge reads:
// the stock-state thresholds (sold out at or under zero, low at or under the
// threshold, in stock above it), the default low threshold (10% of the initial
// stock, at least 1 unit when there is stock), the conservation check that
// rejects every negative count and every unbalanced inventory, and the names
// the wire uses for stock states.
#include "market/product.h"

#include <cstdint>
#include <limits>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace hawker::market {
namespace {

constexpr StockState kAllStockStates[] = {StockState::kInStock, StockState::kLow, StockState::kSoldOut};

Inventory balanced_inventory() {
  Inventory inventory;
  inventory.product_id = 7;
  inventory.initial = 100;
  inventory.restocked = 20;
  inventory.available = 70;
  inventory.reserved = 30;
  inventory.sold = 20;
  inventory.low_threshold = 10;
  return inventory;
}

TEST(StockStateName, NamesEveryStateDistinctly) {
  EXPECT_EQ(stock_state_name(StockState::kInStock), "in_stock");
  EXPECT_EQ(stock_state_name(StockState::kLow), "low");
  EXPECT_EQ(stock_state_name(StockState::kSoldOut), "sold_out");
  std::set<std::string> names;
  for (StockState state : kAllStockStates) names.emplace(stock_state_name(state));
  EXPECT_EQ(names.size(), std::size(kAllStockStates));
}

TEST(DefaultLowThreshold, IsZeroWithoutStock) {
  EXPECT_EQ(default_low_threshold(0), 0);
  EXPECT_EQ(default_low_threshold(-1), 0);
  EXPECT_EQ(default_low_threshold(std::numeric_limits<int64_t>::min()), 0);
}

TEST(DefaultLowThreshold, IsAtLeastOneUnitWhenStockIsSmall) {
  for (int64_t initial = 1; initial <= 19; ++initial) {
    SCOPED_TRACE(initial);
    EXPECT_EQ(default_low_threshold(initial), 1);
  }
}

TEST(DefaultLowThreshold, IsTenPercentRoundedDown) {
  EXPECT_EQ(default_low_threshold(20), 2);
  EXPECT_EQ(default_low_threshold(29), 2);
  EXPECT_EQ(default_low_threshold(30), 3);
  EXPECT_EQ(default_low_threshold(99), 9);
  EXPECT_EQ(default_low_threshold(100), 10);
  EXPECT_EQ(default_low_threshold(1001), 100);
  EXPECT_EQ(default_low_threshold(kStockMax), kStockMax / 10);
}

TEST(DefaultLowThreshold, NeverExceedsTheStockItGuards) {
  for (int64_t initial = 1; initial <= 10'000; ++initial) {
    int64_t threshold = default_low_threshold(initial);
    ASSERT_GE(threshold, 1) << initial;
    ASSERT_LE(threshold, initial) << initial;
    ASSERT_LE(threshold, initial / 10 + 1) << initial;
  }
}

TEST(StockState, SoldOutAtOrUnderZero) {
  EXPECT_EQ(stock_state(0, 0), StockState::kSoldOut);
  EXPECT_EQ(stock_state(0, 10), StockState::kSoldOut);
  EXPECT_EQ(stock_state(-1, 10), StockState::kSoldOut);
  EXPECT_EQ(stock_state(std::numeric_limits<int64_t>::min(), 0), StockState::kSoldOut);
}

TEST(StockState, LowAtOrUnderTheThreshold) {
  EXPECT_EQ(stock_state(1, 10), StockState::kLow);
  EXPECT_EQ(stock_state(9, 10), StockState::kLow);
  EXPECT_EQ(stock_state(10, 10), StockState::kLow);
  EXPECT_EQ(stock_state(11, 10), StockState::kInStock);
}

TEST(StockState, ZeroThresholdSkipsLow) {
  EXPECT_EQ(stock_state(1, 0), StockState::kInStock);
  EXPECT_EQ(stock_state(std::numeric_limits<int64_t>::max(), 0), StockState::kInStock);
}

TEST(StockState, ExhaustiveOverSmallValues) {
  for (int64_t threshold = 0; threshold <= 20; ++threshold) {
    for (int64_t available = -5; available <= 30; ++available) {
      StockState expected = available <= 0           ? StockState::kSoldOut
                            : available <= threshold ? StockState::kLow
                                                     : StockState::kInStock;
      ASSERT_EQ(stock_state(available, threshold), expected) << available << " / " << threshold;
    }
  }
}

TEST(StockState, InventoryOverloadReadsAvailableAndThreshold) {
  Inventory inventory = balanced_inventory();
  EXPECT_EQ(stock_state(inventory), StockState::kInStock);
  inventory.available = inventory.low_threshold;
  EXPECT_EQ(stock_state(inventory), StockState::kLow);
  inventory.available = 0;
  EXPECT_EQ(stock_state(inventory), StockState::kSoldOut);
}

TEST(InventoryConserved, AcceptsBalancedCounts) {
  EXPECT_TRUE(inventory_conserved(Inventory{}));
  EXPECT_TRUE(inventory_conserved(balanced_inventory()));
  Inventory all_sold = balanced_inventory();
  all_sold.available = 0;
  all_sold.reserved = 0;
  all_sold.sold = 120;
  EXPECT_TRUE(inventory_conserved(all_sold));
}

TEST(InventoryConserved, IgnoresFieldsOutsideTheEquation) {
  Inventory inventory = balanced_inventory();
  inventory.low_threshold = 1'000'000;
  inventory.version = std::numeric_limits<uint64_t>::max();
  inventory.product_id = 0;
  EXPECT_TRUE(inventory_conserved(inventory));
}

TEST(InventoryConserved, RejectsEveryNegativeCount) {
  // Each case keeps the sum balanced so only the sign is wrong.
  Inventory inventory = balanced_inventory();
  inventory.available = -1;
  inventory.reserved = 101;
  EXPECT_FALSE(inventory_conserved(inventory));

  inventory = balanced_inventory();
  inventory.reserved = -1;
  inventory.available = 101;
  EXPECT_FALSE(inventory_conserved(inventory));

  inventory = balanced_inventory();
  inventory.sold = -1;
  inventory.available = 91;
  EXPECT_FALSE(inventory_conserved(inventory));

  inventory = balanced_inventory();
  inventory.initial = -1;
  inventory.restocked = 121;
  EXPECT_FALSE(inventory_conserved(inventory));

  inventory = balanced_inventory();
  inventory.restocked = -1;
  inventory.initial = 121;
  EXPECT_FALSE(inventory_conserved(inventory));
}

TEST(InventoryConserved, RejectsUnbalancedCounts) {
  for (int64_t Inventory::*field :
       {&Inventory::initial, &Inventory::restocked, &Inventory::available, &Inventory::reserved, &Inventory::sold}) {
    for (int64_t delta : {-1, 1}) {
      Inventory inventory = balanced_inventory();
      inventory.*field += delta;
      EXPECT_FALSE(inventory_conserved(inventory));
    }
  }
}

TEST(ProductLimits, AreSane) {
  EXPECT_GT(kQuantityMax, 0);
  EXPECT_GT(kStockMax, kQuantityMax);
  EXPECT_GT(kPriceCentsMax, 0);
  EXPECT_GT(kTitleBytesMax, 0u);
  // Sums of the largest stock plus restocks stay far from int64 overflow.
  EXPECT_LT(kStockMax, std::numeric_limits<int64_t>::max() / 1024);
}

TEST(ProductDefinition, DefaultsMeanNoLimitAndUsd) {
  ProductDefinition definition;
  EXPECT_EQ(definition.max_per_buyer, 0);
  EXPECT_EQ(definition.currency, "USD");
}

}  // namespace
}  // namespace hawker::market
