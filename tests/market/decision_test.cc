// Proves the batch decision (market/decision.h) sells exactly what it has, to
// whom it may, in arrival order:
//  - quantities outside 1..kQuantityMax are invalid and change nothing;
//  - the per-buyer limit counts what the buyer already holds plus every earlier
//    reservation in the same batch; a limit of 0 means unlimited;
//  - a request is reserved whole or rejected whole (no partial fills), so an
//    early large request that does not fit is sold_out while a later small one
//    that fits is still reserved; the last unit sells exactly at the boundary;
//  - precedence when several rules fail: invalid, then limit_exceeded, then
//    sold_out;
//  - stock is conserved after every single decision and every payment outcome
//    (apply_confirmation, apply_release, apply_restock);
//  - over many seeded random batches (the seed is printed on failure), every
//    verdict matches an independent reference model, counts never go negative,
//    the reserved count moves by exactly the reserved quantities, and no buyer
//    ends above the limit.
#include "market/decision.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hawker::market {
namespace {

constexpr int32_t kNoLimit = 0;
// A value decide_batch never writes, so a verdict it forgot to set shows up.
constexpr Verdict kUnwritten = static_cast<Verdict>(0xEE);

Inventory make_inventory(int64_t stock) {
  Inventory inventory;
  inventory.product_id = 42;
  inventory.initial = stock;
  inventory.available = stock;
  inventory.low_threshold = default_low_threshold(stock);
  inventory.version = 9;
  return inventory;
}

// One product's decision inputs, with helpers to add requests and decide them.
struct Scenario {
  Scenario(int64_t stock, int32_t limit, size_t buyers) : inventory(make_inventory(stock)), max_per_buyer(limit) {
    holdings.assign(buyers, 0);
  }

  Scenario& request(uint32_t buyer, int32_t quantity) {
    items.push_back(BatchItem{next_order_id++, buyer, quantity});
    return *this;
  }

  size_t decide() {
    verdicts.assign(items.size(), kUnwritten);
    return decide_batch(inventory, max_per_buyer, holdings, items, verdicts);
  }

  Inventory inventory;
  int32_t max_per_buyer;
  std::vector<int32_t> holdings;
  std::vector<BatchItem> items;
  std::vector<Verdict> verdicts;
  uint64_t next_order_id = 1;
};

std::string verdict_label(Verdict verdict) {
  switch (verdict) {
    case Verdict::kReserve:
      return "reserve";
    case Verdict::kSoldOut:
      return "sold_out";
    case Verdict::kLimitExceeded:
      return "limit_exceeded";
    case Verdict::kInvalid:
      return "invalid";
  }
  return "unwritten(" + std::to_string(static_cast<int>(verdict)) + ")";
}

std::vector<std::string> labels(const std::vector<Verdict>& verdicts) {
  std::vector<std::string> out;
  for (Verdict verdict : verdicts) out.push_back(verdict_label(verdict));
  return out;
}

using Labels = std::vector<std::string>;

// Fields the decision must never touch.
void expect_identity_unchanged(const Inventory& before, const Inventory& after) {
  EXPECT_EQ(after.product_id, before.product_id);
  EXPECT_EQ(after.initial, before.initial);
  EXPECT_EQ(after.restocked, before.restocked);
  EXPECT_EQ(after.sold, before.sold);
  EXPECT_EQ(after.low_threshold, before.low_threshold);
  EXPECT_EQ(after.version, before.version);
}

// --- Basics ------------------------------------------------------------------

TEST(DecideBatch, EmptyBatchChangesNothing) {
  Scenario s(10, 2, 3);
  Inventory before = s.inventory;
  EXPECT_EQ(s.decide(), 0u);
  EXPECT_EQ(s.inventory, before);
  EXPECT_EQ(s.holdings, (std::vector<int32_t>{0, 0, 0}));
}

TEST(DecideBatch, ReservesEverythingThatFits) {
  Scenario s(10, kNoLimit, 3);
  s.request(0, 2).request(1, 3).request(2, 5);
  Inventory before = s.inventory;
  EXPECT_EQ(s.decide(), 3u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"reserve", "reserve", "reserve"}));
  EXPECT_EQ(s.inventory.available, 0);
  EXPECT_EQ(s.inventory.reserved, 10);
  EXPECT_EQ(s.holdings, (std::vector<int32_t>{2, 3, 5}));
  EXPECT_TRUE(inventory_conserved(s.inventory));
  expect_identity_unchanged(before, s.inventory);
}

TEST(DecideBatch, WritesEveryVerdictAndCountsOnlyReserves) {
  Scenario s(3, 2, 2);
  s.request(0, 0).request(0, 2).request(0, 1).request(1, 2).request(1, 1);
  // Buyer 1's 2 units pass the limit but only 1 unit is left; the 1 that follows fits.
  EXPECT_EQ(s.decide(), 2u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"invalid", "reserve", "limit_exceeded", "sold_out", "reserve"}));
  EXPECT_EQ(std::count(s.verdicts.begin(), s.verdicts.end(), kUnwritten), 0);
}

TEST(DecideBatch, LeavesBuyersOutsideTheBatchAlone) {
  Scenario s(10, kNoLimit, 4);
  s.holdings = {7, 0, 5, 0};
  s.request(1, 2).request(3, 1);
  ASSERT_EQ(s.decide(), 2u);
  EXPECT_EQ(s.holdings, (std::vector<int32_t>{7, 2, 5, 1}));
}

// --- Invalid quantities ------------------------------------------------------

TEST(DecideBatch, RefusesQuantitiesOutsideOneToMax) {
  for (int32_t quantity : {0, -1, -kQuantityMax, std::numeric_limits<int32_t>::min(), kQuantityMax + 1,
                           2 * kQuantityMax, std::numeric_limits<int32_t>::max()}) {
    SCOPED_TRACE(quantity);
    Scenario s(1'000'000, kNoLimit, 1);
    s.request(0, quantity);
    Inventory before = s.inventory;
    EXPECT_EQ(s.decide(), 0u);
    EXPECT_EQ(labels(s.verdicts), (Labels{"invalid"}));
    EXPECT_EQ(s.inventory, before);
    EXPECT_EQ(s.holdings[0], 0);
  }
}

TEST(DecideBatch, AcceptsTheQuantityBounds) {
  Scenario s(1'000'000, kNoLimit, 2);
  s.request(0, 1).request(1, kQuantityMax);
  EXPECT_EQ(s.decide(), 2u);
  EXPECT_EQ(s.inventory.reserved, 1 + kQuantityMax);
  EXPECT_EQ(s.holdings, (std::vector<int32_t>{1, kQuantityMax}));
}

TEST(DecideBatch, InvalidRequestDoesNotBlockLaterOnes) {
  Scenario s(5, 3, 1);
  s.request(0, -4).request(0, kQuantityMax + 1).request(0, 3);
  EXPECT_EQ(s.decide(), 1u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"invalid", "invalid", "reserve"}));
  EXPECT_EQ(s.holdings[0], 3);
}

// --- Precedence --------------------------------------------------------------

TEST(DecideBatch, InvalidWinsOverLimitAndSoldOut) {
  Scenario s(0, 1, 1);
  s.holdings[0] = 1;  // at the limit, and nothing left
  s.request(0, 0).request(0, kQuantityMax + 1);
  s.decide();
  EXPECT_EQ(labels(s.verdicts), (Labels{"invalid", "invalid"}));
}

TEST(DecideBatch, LimitWinsOverSoldOut) {
  Scenario s(0, 2, 1);
  s.request(0, 3);
  s.decide();
  EXPECT_EQ(labels(s.verdicts), (Labels{"limit_exceeded"}));
}

// --- Per-buyer limits --------------------------------------------------------

TEST(DecideBatch, SingleRequestAboveLimitIsRefusedWhole) {
  Scenario s(100, 2, 1);
  s.request(0, 3).request(0, 2);
  EXPECT_EQ(s.decide(), 1u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"limit_exceeded", "reserve"}));
  EXPECT_EQ(s.holdings[0], 2);
}

TEST(DecideBatch, SeveralRequestsFromOneBuyerInOneBatchShareTheLimit) {
  Scenario s(100, 3, 1);
  s.request(0, 1).request(0, 1).request(0, 1).request(0, 1);
  EXPECT_EQ(s.decide(), 3u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"reserve", "reserve", "reserve", "limit_exceeded"}));
  EXPECT_EQ(s.holdings[0], 3);
  EXPECT_EQ(s.inventory.reserved, 3);
}

TEST(DecideBatch, LimitIsNeverPartiallyFilled) {
  Scenario s(100, 3, 1);
  s.request(0, 2).request(0, 2).request(0, 1);
  EXPECT_EQ(s.decide(), 2u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"reserve", "limit_exceeded", "reserve"}));
  EXPECT_EQ(s.holdings[0], 3);
}

TEST(DecideBatch, LimitCountsWhatTheBuyerAlreadyHolds) {
  Scenario s(100, 3, 1);
  s.holdings[0] = 2;
  s.request(0, 2).request(0, 1).request(0, 1);
  EXPECT_EQ(s.decide(), 1u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"limit_exceeded", "reserve", "limit_exceeded"}));
  EXPECT_EQ(s.holdings[0], 3);
}

TEST(DecideBatch, BuyerAlreadyAtLimitGetsNothing) {
  Scenario s(100, 2, 1);
  s.holdings[0] = 2;
  s.request(0, 1);
  Inventory before = s.inventory;
  EXPECT_EQ(s.decide(), 0u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"limit_exceeded"}));
  EXPECT_EQ(s.inventory, before);
}

TEST(DecideBatch, LimitsAreKeptPerBuyer) {
  Scenario s(100, 2, 3);
  s.request(0, 2).request(1, 1).request(0, 1).request(1, 1).request(2, 2).request(1, 1);
  EXPECT_EQ(s.decide(), 4u);
  EXPECT_EQ(labels(s.verdicts),
            (Labels{"reserve", "reserve", "limit_exceeded", "reserve", "reserve", "limit_exceeded"}));
  EXPECT_EQ(s.holdings, (std::vector<int32_t>{2, 2, 2}));
}

TEST(DecideBatch, LimitZeroMeansUnlimited) {
  Scenario s(10 * kQuantityMax, kNoLimit, 1);
  for (int i = 0; i < 10; ++i) s.request(0, kQuantityMax);
  EXPECT_EQ(s.decide(), 10u);
  EXPECT_EQ(s.holdings[0], 10 * kQuantityMax);
  EXPECT_EQ(s.inventory.available, 0);
}

TEST(DecideBatch, LimitZeroIgnoresLargeExistingHoldings) {
  Scenario s(10, kNoLimit, 1);
  s.holdings[0] = 1'000'000;
  s.request(0, 5);
  EXPECT_EQ(s.decide(), 1u);
  EXPECT_EQ(s.holdings[0], 1'000'005);
}

TEST(DecideBatch, RejectionsDoNotCountTowardTheLimit) {
  Scenario s(1, 2, 1);
  s.request(0, 2)      // sold_out: only 1 left
      .request(0, 3)   // limit_exceeded
      .request(0, 0)   // invalid
      .request(0, 1)   // fits the stock and the limit
      .request(0, 1);  // within the limit, but nothing left
  EXPECT_EQ(s.decide(), 1u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"sold_out", "limit_exceeded", "invalid", "reserve", "sold_out"}));
  EXPECT_EQ(s.holdings[0], 1);
}

TEST(DecideBatch, LimitRejectionDoesNotConsumeStock) {
  Scenario s(3, 1, 2);
  s.request(0, 1).request(0, 1).request(0, 1).request(1, 1);
  EXPECT_EQ(s.decide(), 2u);
  EXPECT_EQ(s.inventory.available, 1);
  EXPECT_EQ(s.inventory.reserved, 2);
}

// --- Sold out and arrival order ---------------------------------------------

TEST(DecideBatch, LastUnitsSellExactlyAtTheBoundary) {
  Scenario s(5, kNoLimit, 2);
  s.request(0, 5).request(1, 1);
  EXPECT_EQ(s.decide(), 1u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"reserve", "sold_out"}));
  EXPECT_EQ(s.inventory.available, 0);
  EXPECT_EQ(s.inventory.reserved, 5);
  EXPECT_EQ(stock_state(s.inventory), StockState::kSoldOut);
}

TEST(DecideBatch, OneOverTheBoundaryIsSoldOutAndTakesNothing) {
  Scenario s(5, kNoLimit, 2);
  s.request(0, 6).request(1, 5);
  EXPECT_EQ(s.decide(), 1u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"sold_out", "reserve"}));
  EXPECT_EQ(s.holdings, (std::vector<int32_t>{0, 5}));
  EXPECT_EQ(s.inventory.available, 0);
}

TEST(DecideBatch, UnitRequestsDrainStockExactly) {
  Scenario s(100, kNoLimit, 150);
  for (uint32_t buyer = 0; buyer < 150; ++buyer) s.request(buyer, 1);
  EXPECT_EQ(s.decide(), 100u);
  for (size_t i = 0; i < 150; ++i) {
    EXPECT_EQ(s.verdicts[i], i < 100 ? Verdict::kReserve : Verdict::kSoldOut) << i;
  }
  EXPECT_EQ(s.inventory.available, 0);
  EXPECT_EQ(s.inventory.reserved, 100);
}

TEST(DecideBatch, NothingToSellMeansSoldOutForEveryValidRequest) {
  Scenario s(0, kNoLimit, 2);
  s.request(0, 1).request(1, kQuantityMax);
  Inventory before = s.inventory;
  EXPECT_EQ(s.decide(), 0u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"sold_out", "sold_out"}));
  EXPECT_EQ(s.inventory, before);
}

TEST(DecideBatch, EarlyLargeRequestThatDoesNotFitLetsLaterSmallOnesThrough) {
  Scenario s(5, kNoLimit, 4);
  s.request(0, 10).request(1, 3).request(2, 3).request(3, 2);
  EXPECT_EQ(s.decide(), 2u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"sold_out", "reserve", "sold_out", "reserve"}));
  EXPECT_EQ(s.holdings, (std::vector<int32_t>{0, 3, 0, 2}));
  EXPECT_EQ(s.inventory.available, 0);
}

TEST(DecideBatch, ArrivalOrderDecidesWhoGetsTheStock) {
  Scenario forward(5, kNoLimit, 2);
  forward.request(0, 4).request(1, 3);
  forward.decide();
  EXPECT_EQ(labels(forward.verdicts), (Labels{"reserve", "sold_out"}));

  Scenario backward(5, kNoLimit, 2);
  backward.request(1, 3).request(0, 4);
  backward.decide();
  EXPECT_EQ(labels(backward.verdicts), (Labels{"reserve", "sold_out"}));
  EXPECT_EQ(backward.holdings, (std::vector<int32_t>{0, 3}));
}

TEST(DecideBatch, StartsFromAnInventoryThatAlreadyHasReservationsAndSales) {
  Scenario s(10, kNoLimit, 2);
  s.inventory.restocked = 5;
  s.inventory.available = 4;
  s.inventory.reserved = 6;
  s.inventory.sold = 5;
  ASSERT_TRUE(inventory_conserved(s.inventory));
  s.request(0, 3).request(1, 2).request(1, 1);
  EXPECT_EQ(s.decide(), 2u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"reserve", "sold_out", "reserve"}));
  EXPECT_EQ(s.inventory.available, 0);
  EXPECT_EQ(s.inventory.reserved, 10);
  EXPECT_EQ(s.inventory.sold, 5);
  EXPECT_TRUE(inventory_conserved(s.inventory));
}

// --- Conservation after every decision --------------------------------------

TEST(DecideBatch, ConservedAfterEveryDecisionAndSplittingTheBatchChangesNothing) {
  Scenario whole(20, 4, 5);
  const int32_t quantities[] = {3, 0, 2, 7, 4, 1, 1, 5, kQuantityMax + 1, 2, 3, 1, 2, 4, 1, 1};
  uint32_t buyer = 0;
  for (int32_t quantity : quantities) whole.request(buyer++ % 5, quantity);

  Scenario stepwise = whole;
  whole.decide();

  stepwise.verdicts.assign(stepwise.items.size(), kUnwritten);
  int64_t reserved_quantity = 0;
  for (size_t i = 0; i < stepwise.items.size(); ++i) {
    SCOPED_TRACE(i);
    size_t reserved =
        decide_batch(stepwise.inventory, stepwise.max_per_buyer, stepwise.holdings,
                     std::span<const BatchItem>(&stepwise.items[i], 1), std::span<Verdict>(&stepwise.verdicts[i], 1));
    if (reserved == 1) reserved_quantity += stepwise.items[i].quantity;
    ASSERT_TRUE(inventory_conserved(stepwise.inventory));
    ASSERT_GE(stepwise.inventory.available, 0);
    ASSERT_EQ(stepwise.inventory.reserved, reserved_quantity);
    ASSERT_EQ(std::accumulate(stepwise.holdings.begin(), stepwise.holdings.end(), int64_t{0}), reserved_quantity);
  }
  EXPECT_EQ(stepwise.verdicts, whole.verdicts);
  EXPECT_EQ(stepwise.inventory, whole.inventory);
  EXPECT_EQ(stepwise.holdings, whole.holdings);
}

// --- Verdicts and the order state machine -----------------------------------

TEST(VerdictReason, MapsEveryVerdict) {
  EXPECT_EQ(verdict_reason(Verdict::kReserve), RejectReason::kNone);
  EXPECT_EQ(verdict_reason(Verdict::kSoldOut), RejectReason::kSoldOut);
  EXPECT_EQ(verdict_reason(Verdict::kLimitExceeded), RejectReason::kLimitExceeded);
  EXPECT_EQ(verdict_reason(Verdict::kInvalid), RejectReason::kInvalid);
}

TEST(VerdictReason, EveryVerdictIsALegalStepFromAccepted) {
  for (Verdict verdict : {Verdict::kReserve, Verdict::kSoldOut, Verdict::kLimitExceeded, Verdict::kInvalid}) {
    OrderStatus to = verdict == Verdict::kReserve ? OrderStatus::kReserved : OrderStatus::kRejected;
    EXPECT_TRUE(can_transition(OrderStatus::kAccepted, to, verdict_reason(verdict))) << verdict_label(verdict);
  }
}

// --- Payment outcomes and restocks -------------------------------------------

TEST(ApplyConfirmation, MovesReservedToSold) {
  Scenario s(10, kNoLimit, 1);
  s.request(0, 5);
  ASSERT_EQ(s.decide(), 1u);
  apply_confirmation(s.inventory, 3);
  EXPECT_EQ(s.inventory.available, 5);
  EXPECT_EQ(s.inventory.reserved, 2);
  EXPECT_EQ(s.inventory.sold, 3);
  EXPECT_TRUE(inventory_conserved(s.inventory));
  apply_confirmation(s.inventory, 2);
  EXPECT_EQ(s.inventory.reserved, 0);
  EXPECT_EQ(s.inventory.sold, 5);
  EXPECT_TRUE(inventory_conserved(s.inventory));
}

TEST(ApplyRelease, ReturnsReservedStockForOthersToBuy) {
  Scenario s(5, kNoLimit, 2);
  s.request(0, 5);
  ASSERT_EQ(s.decide(), 1u);
  apply_release(s.inventory, 5);
  EXPECT_EQ(s.inventory.available, 5);
  EXPECT_EQ(s.inventory.reserved, 0);
  EXPECT_EQ(s.inventory.sold, 0);
  EXPECT_TRUE(inventory_conserved(s.inventory));

  s.items.clear();
  s.request(1, 5);
  EXPECT_EQ(s.decide(), 1u);
  EXPECT_EQ(s.inventory.available, 0);
}

TEST(ApplyRestock, AddsAvailableAndRestockedStock) {
  Scenario s(2, kNoLimit, 1);
  s.request(0, 2);
  ASSERT_EQ(s.decide(), 1u);
  ASSERT_EQ(stock_state(s.inventory), StockState::kSoldOut);
  apply_restock(s.inventory, 10);
  EXPECT_EQ(s.inventory.available, 10);
  EXPECT_EQ(s.inventory.restocked, 10);
  EXPECT_EQ(s.inventory.initial, 2);
  EXPECT_TRUE(inventory_conserved(s.inventory));
  apply_restock(s.inventory, 1);
  EXPECT_EQ(s.inventory.available, 11);
  EXPECT_EQ(s.inventory.restocked, 11);
  EXPECT_TRUE(inventory_conserved(s.inventory));
}

TEST(ApplyRestock, TurnsSoldOutIntoLowOrInStock) {
  Inventory inventory = make_inventory(0);
  inventory.low_threshold = 5;
  apply_restock(inventory, 5);
  EXPECT_EQ(stock_state(inventory), StockState::kLow);
  apply_restock(inventory, 1);
  EXPECT_EQ(stock_state(inventory), StockState::kInStock);
}

TEST(PaymentOutcomes, FullLifecycleStaysConserved) {
  Scenario s(10, 3, 3);
  s.request(0, 3).request(1, 3).request(2, 3).request(0, 1);
  ASSERT_EQ(s.decide(), 3u);
  apply_confirmation(s.inventory, 3);  // buyer 0 paid
  ASSERT_TRUE(inventory_conserved(s.inventory));
  apply_release(s.inventory, 3);  // buyer 1 declined
  s.holdings[1] -= 3;
  ASSERT_TRUE(inventory_conserved(s.inventory));
  apply_restock(s.inventory, 4);
  ASSERT_TRUE(inventory_conserved(s.inventory));
  EXPECT_EQ(s.inventory.available, 1 + 3 + 4);

  s.items.clear();
  s.request(1, 3).request(0, 1).request(2, 1).request(1, 1);
  EXPECT_EQ(s.decide(), 1u);
  EXPECT_EQ(labels(s.verdicts), (Labels{"reserve", "limit_exceeded", "limit_exceeded", "limit_exceeded"}));
  EXPECT_EQ(s.inventory.available, 5);
  EXPECT_EQ(s.inventory.reserved, 6);
  EXPECT_EQ(s.inventory.sold, 3);
  EXPECT_TRUE(inventory_conserved(s.inventory));
}

// Preconditions are programmer errors and crash, but only where asserts exist.
#ifndef NDEBUG
TEST(DecisionDeathTest, PreconditionsCrash) {
  Inventory inventory = make_inventory(5);
  EXPECT_DEATH(apply_confirmation(inventory, 1), "");  // nothing reserved
  EXPECT_DEATH(apply_release(inventory, 1), "");
  EXPECT_DEATH(apply_restock(inventory, 0), "");
  EXPECT_DEATH(apply_restock(inventory, -3), "");

  Inventory broken = inventory;
  broken.available = 6;  // not conserved
  std::vector<int32_t> holdings(1, 0);
  std::vector<BatchItem> items{BatchItem{1, 0, 1}};
  std::vector<Verdict> verdicts(1);
  EXPECT_DEATH(decide_batch(broken, 0, holdings, items, verdicts), "");
  std::vector<Verdict> too_few;
  EXPECT_DEATH(decide_batch(inventory, 0, holdings, items, too_few), "");
  std::vector<BatchItem> bad_slot{BatchItem{1, 1, 1}};
  EXPECT_DEATH(decide_batch(inventory, 0, holdings, bad_slot, verdicts), "");
}
#endif

// --- Property test over seeded random batches --------------------------------

int32_t random_quantity(std::mt19937& rng) {
  int roll = std::uniform_int_distribution<int>(0, 99)(rng);
  if (roll < 75) return std::uniform_int_distribution<int32_t>(1, 3)(rng);
  if (roll < 88) return std::uniform_int_distribution<int32_t>(4, kQuantityMax)(rng);
  constexpr int32_t kInvalid[] = {0, -1, kQuantityMax + 1, std::numeric_limits<int32_t>::max(),
                                  std::numeric_limits<int32_t>::min()};
  if (roll < 95) return kInvalid[std::uniform_int_distribution<size_t>(0, std::size(kInvalid) - 1)(rng)];
  return std::uniform_int_distribution<int32_t>(std::numeric_limits<int32_t>::min(), 0)(rng);
}

// The rule, written independently of decision.cc: what one request deserves.
Verdict reference_verdict(int64_t available, int32_t limit, int32_t holding, int32_t quantity) {
  if (quantity < 1 || quantity > kQuantityMax) return Verdict::kInvalid;
  if (limit != 0 && int64_t{holding} + quantity > limit) return Verdict::kLimitExceeded;
  if (quantity > available) return Verdict::kSoldOut;
  return Verdict::kReserve;
}

struct Reservation {
  uint32_t buyer;
  int32_t quantity;
};

// Decides one random batch and checks it against the model and the invariants.
void decide_and_check(Scenario& s, std::vector<Reservation>& outstanding) {
  const Inventory before = s.inventory;
  const std::vector<int32_t> holdings_before = s.holdings;
  const size_t reserved = s.decide();

  int64_t model_available = before.available;
  std::vector<int32_t> model_holdings = holdings_before;
  int64_t reserved_quantity = 0;
  size_t reserve_verdicts = 0;
  for (size_t i = 0; i < s.items.size(); ++i) {
    const BatchItem& item = s.items[i];
    Verdict expected =
        reference_verdict(model_available, s.max_per_buyer, model_holdings[item.buyer_slot], item.quantity);
    ASSERT_EQ(verdict_label(s.verdicts[i]), verdict_label(expected))
        << "item " << i << " buyer " << item.buyer_slot << " quantity " << item.quantity << " available "
        << model_available << " holding " << model_holdings[item.buyer_slot] << " limit " << s.max_per_buyer;
    if (expected == Verdict::kReserve) {
      model_available -= item.quantity;
      model_holdings[item.buyer_slot] += item.quantity;
      reserved_quantity += item.quantity;
      ++reserve_verdicts;
      outstanding.push_back(Reservation{item.buyer_slot, item.quantity});
    }
  }
  ASSERT_EQ(reserved, reserve_verdicts);
  ASSERT_TRUE(inventory_conserved(s.inventory));
  ASSERT_GE(s.inventory.available, 0);
  ASSERT_GE(s.inventory.reserved, 0);
  ASSERT_GE(s.inventory.sold, 0);
  ASSERT_EQ(s.inventory.available, model_available);
  ASSERT_EQ(s.inventory.reserved - before.reserved, reserved_quantity);
  ASSERT_EQ(before.available - s.inventory.available, reserved_quantity);
  ASSERT_EQ(s.holdings, model_holdings);
  expect_identity_unchanged(before, s.inventory);
  if (s.max_per_buyer > 0) {
    for (size_t buyer = 0; buyer < s.holdings.size(); ++buyer) {
      ASSERT_LE(s.holdings[buyer], s.max_per_buyer) << "buyer " << buyer;
    }
  }
  int64_t outstanding_quantity = 0;
  for (const Reservation& r : outstanding) outstanding_quantity += r.quantity;
  ASSERT_EQ(s.inventory.reserved, outstanding_quantity);
}

// Settles some outstanding reservations (paid or released) and maybe restocks.
void settle_some(std::mt19937& rng, Scenario& s, std::vector<Reservation>& outstanding) {
  std::shuffle(outstanding.begin(), outstanding.end(), rng);
  size_t settle = std::uniform_int_distribution<size_t>(0, outstanding.size())(rng);
  for (size_t i = 0; i < settle; ++i) {
    Reservation r = outstanding.back();
    outstanding.pop_back();
    if (std::bernoulli_distribution(0.7)(rng)) {
      apply_confirmation(s.inventory, r.quantity);
    } else {
      apply_release(s.inventory, r.quantity);
      s.holdings[r.buyer] -= r.quantity;
    }
    ASSERT_TRUE(inventory_conserved(s.inventory));
  }
  if (std::bernoulli_distribution(0.2)(rng)) {
    apply_restock(s.inventory, std::uniform_int_distribution<int64_t>(1, 200)(rng));
    ASSERT_TRUE(inventory_conserved(s.inventory));
  }
}

void run_random_sale(uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t stock = std::bernoulli_distribution(0.1)(rng) ? 0 : std::uniform_int_distribution<int64_t>(1, 400)(rng);
  const int32_t limit =
      std::bernoulli_distribution(0.3)(rng) ? kNoLimit : std::uniform_int_distribution<int32_t>(1, 6)(rng);
  const size_t buyers = std::uniform_int_distribution<size_t>(1, 24)(rng);
  Scenario s(stock, limit, buyers);
  for (int32_t& holding : s.holdings) {
    holding = std::uniform_int_distribution<int32_t>(0, limit == kNoLimit ? 5 : limit)(rng);
  }
  std::vector<Reservation> outstanding;
  const int rounds = std::uniform_int_distribution<int>(1, 8)(rng);
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    s.items.clear();
    const size_t batch = std::uniform_int_distribution<size_t>(0, 300)(rng);
    for (size_t i = 0; i < batch; ++i) {
      s.request(std::uniform_int_distribution<uint32_t>(0, static_cast<uint32_t>(buyers - 1))(rng),
                random_quantity(rng));
    }
    decide_and_check(s, outstanding);
    if (::testing::Test::HasFatalFailure()) return;
    settle_some(rng, s, outstanding);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(DecideBatchProperty, RandomBatchesKeepEveryInvariant) {
  for (uint32_t seed = 1; seed <= 2000; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (replay with run_random_sale(" + std::to_string(seed) + "))");
    run_random_sale(seed);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace hawker::market
