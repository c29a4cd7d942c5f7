// The spike's verdict: each invariant passes on a consistent sale and fails,
// saying why, on the one broken number.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "spike/stats.h"
#include "spike/verdict.h"

namespace hawker::spike {
namespace {

// 50,000 buyers, 1,000 units, 2,000 viewers: what a correct spike reports.
Tally correct_sale() {
  Tally t;
  t.stock = 1000;
  t.buyers = 50'000;
  t.clicks = 50'000;
  t.answered = 50'000;
  t.accepted = 1'050;
  t.sold_out = 48'950;
  t.confirmed = 1000;
  t.rejected_sold_out = 50;
  t.books_read = true;
  t.initial = 1000;
  t.available = 0;
  t.sold = 1000;
  t.viewers = 2000;
  t.viewers_saw_final = 2000;
  return t;
}

const Check& find(const std::vector<Check>& checks, const std::string& prefix) {
  for (const auto& check : checks)
    if (check.name.rfind(prefix, 0) == 0) return check;
  static const Check missing{"missing", false, ""};
  ADD_FAILURE() << "no check named " << prefix;
  return missing;
}

TEST(VerdictTest, ACorrectSalePassesEveryCheck) {
  const auto checks = verdict(correct_sale());
  EXPECT_EQ(checks.size(), 6u);
  for (const auto& check : checks) EXPECT_TRUE(check.pass) << check.name << ": " << check.detail;
  EXPECT_TRUE(all_pass(checks));
}

TEST(VerdictTest, ExpectedConfirmedIsStockOrDemandUnderTheLimit) {
  Tally t;
  t.stock = 1000;
  t.buyers = 300;
  t.clicks_per_buyer = 3;
  EXPECT_EQ(expected_confirmed(t), 900);  // no limit: every click is demand
  t.max_per_buyer = 2;
  EXPECT_EQ(expected_confirmed(t), 600);
  t.max_per_buyer = 5;
  EXPECT_EQ(expected_confirmed(t), 900);
  t.stock = 100;
  EXPECT_EQ(expected_confirmed(t), 100);
}

struct Breakage {
  const char* check;
  std::function<void(Tally&)> breaks;
};

TEST(VerdictTest, EachBrokenNumberFailsItsCheck) {
  const Breakage breakages[] = {
      {"nothing oversold", [](Tally& t) { t.confirmed = 1001, t.sold = 1001, t.available = -1; }},
      {"nothing oversold", [](Tally& t) { t.reserved = -1; }},
      {"confirmed ==", [](Tally& t) { t.confirmed = 999, t.rejected_sold_out = 51; }},
      {"every buyer answered", [](Tally& t) { t.answered = 49'999; }},
      {"every buyer answered", [](Tally& t) { t.unresolved = 1; }},
      {"every buyer answered", [](Tally& t) { t.throttled = 1; }},
      {"every buyer answered", [](Tally& t) { t.dropped = 1; }},
      {"counts conserved", [](Tally& t) { t.reserved = 1; }},
      {"counts conserved", [](Tally& t) { t.sold = 999, t.available = 1; }},
      {"counts conserved", [](Tally& t) { t.books_read = false; }},
      {"every viewer saw", [](Tally& t) { t.viewers_saw_final = 1999; }},
      {"no 5xx", [](Tally& t) { t.server_errors = 1; }},
      {"no 5xx", [](Tally& t) { t.client_errors = 1; }},
      {"no 5xx", [](Tally& t) { t.replays_mismatched = 1; }},
  };
  for (const auto& breakage : breakages) {
    Tally t = correct_sale();
    breakage.breaks(t);
    const auto checks = verdict(t);
    const Check& check = find(checks, breakage.check);
    EXPECT_FALSE(check.pass) << breakage.check << ": " << check.detail;
    EXPECT_FALSE(check.detail.empty());
    EXPECT_FALSE(all_pass(checks));
  }
}

TEST(StatsTest, NearestRankPercentiles) {
  std::vector<double> values;
  for (int i = 1000; i >= 1; --i) values.push_back(i);  // unsorted on purpose
  const Summary s = summarize(values);
  EXPECT_EQ(s.count, 1000u);
  EXPECT_DOUBLE_EQ(s.p50, 500);
  EXPECT_DOUBLE_EQ(s.p90, 900);
  EXPECT_DOUBLE_EQ(s.p99, 990);
  EXPECT_DOUBLE_EQ(s.p999, 999);
  EXPECT_DOUBLE_EQ(s.max, 1000);

  std::vector<double> one{7.5};
  const Summary single = summarize(one);
  EXPECT_DOUBLE_EQ(single.p50, 7.5);
  EXPECT_DOUBLE_EQ(single.p999, 7.5);
  std::vector<double> none;
  EXPECT_EQ(summarize(none).count, 0u);
  EXPECT_DOUBLE_EQ(summarize(none).max, 0);
}

}  // namespace
}  // namespace hawker::spike
