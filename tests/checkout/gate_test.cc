// Gate: stock from events, pending units from the intake, and — in cluster
// mode — only this gateway's own orders counted down.
#include "checkout/gate.h"

#include <gtest/gtest.h>

#include "core/ids.h"

namespace hawker::checkout {
namespace {

using market::Event;
using market::EventType;

constexpr uint64_t kProduct = 42;

market::Inventory inventory(int64_t available, int64_t reserved, uint64_t version) {
  market::Inventory out;
  out.product_id = kProduct;
  out.initial = 10;
  out.available = available;
  out.reserved = reserved;
  out.version = version;
  return out;
}

void create(Gate& gate, int64_t stock) {
  market::ProductDefinition definition;
  definition.id = kProduct;
  definition.seller = "s";
  gate.upsert(definition, inventory(stock, 0, 1));
}

Event reserved(uint64_t order_id, int32_t quantity, const market::Inventory& after) {
  Event event;
  event.type = EventType::kOrderReserved;
  event.product_id = kProduct;
  event.order_id = order_id;
  event.quantity = quantity;
  event.inventory = after;
  return event;
}

// An order id as gateway `node` makes them (core/ids.h layout).
uint64_t order_of(uint32_t node, uint64_t serial) { return (serial << kOrderNodeBits) | node; }

TEST(Gate, PendingUnitsCountAgainstStockUntilDecided) {
  Gate gate;
  create(gate, 2);
  gate.add_pending(kProduct, 2);
  ASSERT_NE(gate.find(kProduct), nullptr);
  EXPECT_TRUE(gate.find(kProduct)->sold_out());
  gate.on_event(reserved(order_of(0, 1), 1, inventory(1, 1, 2)));
  EXPECT_EQ(gate.find(kProduct)->pending.load(), 1);
  EXPECT_EQ(gate.find(kProduct)->available.load(), 1);
  EXPECT_TRUE(gate.find(kProduct)->sold_out()) << "1 available, 1 still queued";
}

TEST(Gate, WithoutANodeEveryDecisionCountsDown) {
  Gate gate;  // embedded: one node accepts every order
  create(gate, 5);
  gate.add_pending(kProduct, 2);
  gate.on_event(reserved(order_of(3, 1), 1, inventory(4, 1, 2)));
  gate.on_event(reserved(order_of(9, 2), 1, inventory(3, 2, 3)));
  EXPECT_EQ(gate.find(kProduct)->pending.load(), 0);
}

TEST(Gate, WithItsOwnNodeOnlyItsOrdersCountDown) {
  Gate gate;
  gate.set_own_node(3);
  create(gate, 5);
  gate.add_pending(kProduct, 2);
  // Another gateway's decision moves the stock but not this gate's queue.
  gate.on_event(reserved(order_of(4, 1), 1, inventory(4, 1, 2)));
  EXPECT_EQ(gate.find(kProduct)->pending.load(), 2);
  EXPECT_EQ(gate.find(kProduct)->available.load(), 4);
  gate.on_event(reserved(order_of(3, 2), 1, inventory(3, 2, 3)));
  EXPECT_EQ(gate.find(kProduct)->pending.load(), 1);
  Event rejected;
  rejected.type = EventType::kOrderRejected;
  rejected.product_id = kProduct;
  rejected.order_id = order_of(3, 3);
  rejected.quantity = 1;
  rejected.reason = market::RejectReason::kSoldOut;
  rejected.inventory = inventory(3, 2, 3);
  gate.on_event(rejected);
  EXPECT_EQ(gate.find(kProduct)->pending.load(), 0);
  EXPECT_FALSE(gate.find(kProduct)->sold_out());
}

}  // namespace
}  // namespace hawker::checkout
