// The open-loop schedule of `hawker spike`: parsing --arrival, where the
// clicks fall, and who makes them.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "spike/arrival.h"

namespace hawker::spike {
namespace {

TEST(ArrivalTest, ParsesRampsAndRates) {
  auto ramp = parse_arrival("ramp:1s");
  ASSERT_TRUE(ramp.ok());
  EXPECT_EQ(ramp->kind, Arrival::Kind::kRamp);
  EXPECT_EQ(ramp->ramp_us, 1'000'000);
  EXPECT_EQ(parse_arrival("ramp:250ms")->ramp_us, 250'000);
  EXPECT_EQ(parse_arrival("ramp:1.5s")->ramp_us, 1'500'000);
  EXPECT_EQ(parse_arrival("ramp:0")->ramp_us, 0);
  auto rate = parse_arrival("rate:5000");
  ASSERT_TRUE(rate.ok());
  EXPECT_EQ(rate->kind, Arrival::Kind::kRate);
  EXPECT_DOUBLE_EQ(rate->rate_per_s, 5000);
  EXPECT_EQ(describe(*ramp), "within 1 s");
  EXPECT_EQ(describe(*rate), "5000 clicks/s");
}

TEST(ArrivalTest, RejectsMalformedSpecsWithAReason) {
  for (const char* bad : {"", "ramp", "ramp:", "ramp:1", "ramp:-1s", "ramp:xs", "ramp:2h", "ramp:3601s", "rate:",
                          "rate:0", "rate:-5", "rate:abc", "rate:1e9", "burst:1s", "ramp:1s extra"}) {
    auto parsed = parse_arrival(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.error().code, ErrorCode::kInvalid) << bad;
      EXPECT_FALSE(parsed.error().message.empty()) << bad;
    }
  }
}

TEST(ArrivalTest, RampPutsEveryClickInsideTheWindowSortedAndRepeatable) {
  const Arrival ramp = *parse_arrival("ramp:1s");
  const auto offsets = schedule(ramp, 50'000, 7);
  ASSERT_EQ(offsets.size(), 50'000u);
  EXPECT_TRUE(std::is_sorted(offsets.begin(), offsets.end()));
  EXPECT_GE(offsets.front(), 0);
  EXPECT_LT(offsets.back(), 1'000'000);
  // Spread over the window, not bunched: every tenth of it holds 8-12% of the clicks.
  std::map<int64_t, int> tenths;
  for (int64_t offset : offsets) ++tenths[offset / 100'000];
  ASSERT_EQ(tenths.size(), 10u);
  for (const auto& [tenth, count] : tenths) {
    EXPECT_GT(count, 4'000) << tenth;
    EXPECT_LT(count, 6'000) << tenth;
  }
  EXPECT_EQ(schedule(ramp, 50'000, 7), offsets);
  EXPECT_NE(schedule(ramp, 50'000, 8), offsets);
}

TEST(ArrivalTest, RampOfZeroIsEveryoneAtOnce) {
  const auto offsets = schedule(*parse_arrival("ramp:0"), 100, 1);
  EXPECT_EQ(std::count(offsets.begin(), offsets.end(), 0), 100);
}

TEST(ArrivalTest, RateSpacesClicksEvenly) {
  const auto offsets = schedule(*parse_arrival("rate:4"), 5, 1);
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 250'000, 500'000, 750'000, 1'000'000}));
}

TEST(ArrivalTest, EveryBuyerMakesExactlyItsClicks) {
  const auto owners = click_owners(1000, 3, 42);
  ASSERT_EQ(owners.size(), 3000u);
  std::map<uint32_t, int> per_buyer;
  for (uint32_t owner : owners) ++per_buyer[owner];
  ASSERT_EQ(per_buyer.size(), 1000u);
  for (const auto& [buyer, clicks] : per_buyer) EXPECT_EQ(clicks, 3) << buyer;
  EXPECT_EQ(click_owners(1000, 3, 42), owners);
  // Shuffled: a buyer's clicks are not all at the start.
  EXPECT_FALSE(std::is_sorted(owners.begin(), owners.end()));
}

}  // namespace
}  // namespace hawker::spike
