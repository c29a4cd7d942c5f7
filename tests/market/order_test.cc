// Proves the order state machine is exactly the one drawn in market/order.h:
// every (from, to, reason) triple — all 4 x 4 x 6 of them — is checked against
// an explicit table of the 7 legal transitions, so adding or losing an edge
// fails here. Also proves confirmed and rejected are final and reachable, and
// that status and reason names round-trip and unknown names are refused.
#include "market/order.h"

#include <algorithm>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

namespace hawker::market {
namespace {

constexpr OrderStatus kAllStatuses[] = {OrderStatus::kAccepted, OrderStatus::kReserved, OrderStatus::kConfirmed,
                                        OrderStatus::kRejected};
constexpr RejectReason kAllReasons[] = {RejectReason::kNone,          RejectReason::kSoldOut,
                                        RejectReason::kLimitExceeded, RejectReason::kPaymentDeclined,
                                        RejectReason::kPaymentFailed, RejectReason::kInvalid};

struct Transition {
  OrderStatus from;
  OrderStatus to;
  RejectReason reason;
};

// The only legal transitions. Everything else must be refused.
constexpr Transition kLegalTransitions[] = {
    {OrderStatus::kAccepted, OrderStatus::kReserved, RejectReason::kNone},
    {OrderStatus::kAccepted, OrderStatus::kRejected, RejectReason::kSoldOut},
    {OrderStatus::kAccepted, OrderStatus::kRejected, RejectReason::kLimitExceeded},
    {OrderStatus::kAccepted, OrderStatus::kRejected, RejectReason::kInvalid},
    {OrderStatus::kReserved, OrderStatus::kConfirmed, RejectReason::kNone},
    {OrderStatus::kReserved, OrderStatus::kRejected, RejectReason::kPaymentDeclined},
    {OrderStatus::kReserved, OrderStatus::kRejected, RejectReason::kPaymentFailed},
};

bool in_legal_table(OrderStatus from, OrderStatus to, RejectReason reason) {
  return std::any_of(std::begin(kLegalTransitions), std::end(kLegalTransitions),
                     [&](const Transition& t) { return t.from == from && t.to == to && t.reason == reason; });
}

std::string reason_label(RejectReason reason) {
  return reason == RejectReason::kNone ? std::string("none") : std::string(reject_reason_name(reason));
}

// One test case per triple, named e.g. accepted_to_rejected_with_sold_out.
class TransitionTable : public ::testing::TestWithParam<std::tuple<OrderStatus, OrderStatus, RejectReason>> {};

TEST_P(TransitionTable, MatchesTheExplicitTable) {
  auto [from, to, reason] = GetParam();
  EXPECT_EQ(can_transition(from, to, reason), in_legal_table(from, to, reason));
}

std::string triple_name(const ::testing::TestParamInfo<TransitionTable::ParamType>& info) {
  const OrderStatus from = std::get<0>(info.param);
  const OrderStatus to = std::get<1>(info.param);
  return std::string(order_status_name(from)) + "_to_" + std::string(order_status_name(to)) + "_with_" +
         reason_label(std::get<2>(info.param));
}

INSTANTIATE_TEST_SUITE_P(AllTriples, TransitionTable,
                         ::testing::Combine(::testing::ValuesIn(kAllStatuses), ::testing::ValuesIn(kAllStatuses),
                                            ::testing::ValuesIn(kAllReasons)),
                         triple_name);

TEST(OrderTransitions, ExactlySevenOfTheNinetySixTriplesAreLegal) {
  int legal = 0;
  int total = 0;
  for (OrderStatus from : kAllStatuses) {
    for (OrderStatus to : kAllStatuses) {
      for (RejectReason reason : kAllReasons) {
        ++total;
        if (can_transition(from, to, reason)) ++legal;
      }
    }
  }
  EXPECT_EQ(total, 96);
  EXPECT_EQ(legal, 7);
  EXPECT_EQ(static_cast<int>(std::size(kLegalTransitions)), legal);
}

TEST(OrderTransitions, FinalStatesHaveNoWayOut) {
  for (OrderStatus from : kAllStatuses) {
    bool has_exit = false;
    for (OrderStatus to : kAllStatuses) {
      for (RejectReason reason : kAllReasons) has_exit = has_exit || can_transition(from, to, reason);
    }
    EXPECT_EQ(has_exit, !is_final(from)) << order_status_name(from);
  }
}

TEST(OrderTransitions, NoStatusLoopsToItself) {
  for (OrderStatus status : kAllStatuses) {
    for (RejectReason reason : kAllReasons) EXPECT_FALSE(can_transition(status, status, reason));
  }
}

TEST(OrderTransitions, NothingReturnsToAccepted) {
  for (OrderStatus from : kAllStatuses) {
    for (RejectReason reason : kAllReasons) EXPECT_FALSE(can_transition(from, OrderStatus::kAccepted, reason));
  }
}

TEST(OrderTransitions, OnlyRejectionsCarryAReason) {
  for (const Transition& t : kLegalTransitions) {
    EXPECT_EQ(t.to == OrderStatus::kRejected, t.reason != RejectReason::kNone);
  }
}

TEST(OrderTransitions, EveryStatusIsReachableFromAccepted) {
  std::set<OrderStatus> reached{OrderStatus::kAccepted};
  std::vector<OrderStatus> frontier{OrderStatus::kAccepted};
  while (!frontier.empty()) {
    OrderStatus from = frontier.back();
    frontier.pop_back();
    for (OrderStatus to : kAllStatuses) {
      for (RejectReason reason : kAllReasons) {
        if (can_transition(from, to, reason) && reached.insert(to).second) frontier.push_back(to);
      }
    }
  }
  EXPECT_EQ(reached.size(), std::size(kAllStatuses));
}

TEST(OrderTransitions, EveryRejectReasonEndsSomePath) {
  for (RejectReason reason : kAllReasons) {
    if (reason == RejectReason::kNone) continue;
    bool used = false;
    for (OrderStatus from : kAllStatuses) used = used || can_transition(from, OrderStatus::kRejected, reason);
    EXPECT_TRUE(used) << reject_reason_name(reason);
  }
}

TEST(IsFinal, OnlyConfirmedAndRejected) {
  EXPECT_FALSE(is_final(OrderStatus::kAccepted));
  EXPECT_FALSE(is_final(OrderStatus::kReserved));
  EXPECT_TRUE(is_final(OrderStatus::kConfirmed));
  EXPECT_TRUE(is_final(OrderStatus::kRejected));
}

TEST(OrderStatusName, MatchesTheWireNames) {
  EXPECT_EQ(order_status_name(OrderStatus::kAccepted), "accepted");
  EXPECT_EQ(order_status_name(OrderStatus::kReserved), "reserved");
  EXPECT_EQ(order_status_name(OrderStatus::kConfirmed), "confirmed");
  EXPECT_EQ(order_status_name(OrderStatus::kRejected), "rejected");
}

TEST(OrderStatusName, RoundTripsThroughParse) {
  for (OrderStatus status : kAllStatuses) {
    OrderStatus parsed = status == OrderStatus::kAccepted ? OrderStatus::kRejected : OrderStatus::kAccepted;
    ASSERT_TRUE(parse_order_status(order_status_name(status), parsed));
    EXPECT_EQ(parsed, status);
  }
}

TEST(OrderStatusName, ParseRefusesUnknownTextAndLeavesOutputAlone) {
  for (std::string_view text :
       std::initializer_list<std::string_view>{"", "Accepted", "ACCEPTED", "accepted ", " reserved", "confirm",
                                               "rejected\n", "pending", std::string_view("accepted\0", 9)}) {
    OrderStatus status = OrderStatus::kReserved;
    EXPECT_FALSE(parse_order_status(text, status)) << text;
    EXPECT_EQ(status, OrderStatus::kReserved);
  }
}

TEST(RejectReasonName, MatchesTheWireNames) {
  EXPECT_EQ(reject_reason_name(RejectReason::kNone), "");
  EXPECT_EQ(reject_reason_name(RejectReason::kSoldOut), "sold_out");
  EXPECT_EQ(reject_reason_name(RejectReason::kLimitExceeded), "limit_exceeded");
  EXPECT_EQ(reject_reason_name(RejectReason::kPaymentDeclined), "payment_declined");
  EXPECT_EQ(reject_reason_name(RejectReason::kPaymentFailed), "payment_failed");
  EXPECT_EQ(reject_reason_name(RejectReason::kInvalid), "invalid");
}

TEST(RejectReasonName, RoundTripsThroughParse) {
  std::set<std::string> names;
  for (RejectReason reason : kAllReasons) {
    names.emplace(reject_reason_name(reason));
    RejectReason parsed = reason == RejectReason::kInvalid ? RejectReason::kNone : RejectReason::kInvalid;
    ASSERT_TRUE(parse_reject_reason(reject_reason_name(reason), parsed));
    EXPECT_EQ(parsed, reason);
  }
  EXPECT_EQ(names.size(), std::size(kAllReasons));
}

TEST(RejectReasonName, ParseRefusesUnknownTextAndLeavesOutputAlone) {
  for (std::string_view text : std::initializer_list<std::string_view>{
           "none", "Sold_Out", "soldout", "sold_out ", "limit", "declined", "invalid!", std::string_view("\0", 1)}) {
    RejectReason reason = RejectReason::kPaymentFailed;
    EXPECT_FALSE(parse_reject_reason(text, reason)) << text;
    EXPECT_EQ(reason, RejectReason::kPaymentFailed);
  }
}

TEST(OrderRecord, StartsAcceptedWithoutReason) {
  OrderRecord record;
  EXPECT_EQ(record.status, OrderStatus::kAccepted);
  EXPECT_EQ(record.reason, RejectReason::kNone);
}

}  // namespace
}  // namespace hawker::market
