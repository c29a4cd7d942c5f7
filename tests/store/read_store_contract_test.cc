// Contract of the ReadStore port (store/read_store.h), run against every
// adapter. It proves that the projections follow the events: a created
// product is readable with its counts; later events move available, reserved
// and sold; stale inventory versions and replayed events (seq at or below the
// checkpoint) change nothing; the checkpoint survives a reopen; orders go
// reserved -> confirmed/rejected (never backwards) and confirmed sales add up
// in seller_totals; notices move only the checkpoint; list_products pages by
// seller and id; unknown ids read as empty; readers never see half a batch;
// a batch leaves the tables exactly as its events applied one per batch
// (adapters may fold a batch, but not change its outcome).
//
// To add an adapter, write a factory like SqliteReadStoreFactory and list it
// in ReadStoreFactories.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "store/read_store.h"

namespace hawker::store {
namespace {

using market::Event;
using market::EventType;
using market::Inventory;
using market::OrderStatus;
using market::RejectReason;

// Opens the store kept under `directory`; opening the same directory again
// reopens the same data.
struct SqliteReadStoreFactory {
  static Result<ReadStorePtr> open(const std::string& directory) {
    return open_sqlite_read_store(directory + "/read_store.db");
  }
};

}  // namespace

// The PostgreSQL database of `directory` on the test binary's server
// (tests/support/postgres_server.h), created on first use, so a reopen finds
// the same data. Defined in postgres_read_store_test.cc: the support header's
// hawker::testing would hide ::testing in this file.
Result<ReadStorePtr> open_postgres_read_store_for_directory(const std::string& directory);

namespace {

struct PostgresReadStoreFactory {
  static Result<ReadStorePtr> open(const std::string& directory) {
    return open_postgres_read_store_for_directory(directory);
  }
};

// ---- Event builders --------------------------------------------------------

Inventory make_inventory(uint64_t product_id, int64_t initial, int64_t available, int64_t reserved, int64_t sold,
                         uint64_t version, int64_t restocked = 0) {
  Inventory inventory;
  inventory.product_id = product_id;
  inventory.initial = initial;
  inventory.restocked = restocked;
  inventory.available = available;
  inventory.reserved = reserved;
  inventory.sold = sold;
  inventory.low_threshold = market::default_low_threshold(initial);
  inventory.version = version;
  return inventory;
}

Event product_created(uint64_t seq, uint64_t product_id, const std::string& seller, int64_t initial) {
  Event event;
  event.seq = seq;
  event.type = EventType::kProductCreated;
  event.ts_us = static_cast<int64_t>(seq) * 1000;
  event.product_id = product_id;
  event.seller = seller;
  event.definition.id = product_id;
  event.definition.seller = seller;
  event.definition.title = "Product " + std::to_string(product_id);
  event.definition.price_cents = 2500;
  event.definition.currency = "EUR";
  event.definition.max_per_buyer = 3;
  event.definition.low_threshold = market::default_low_threshold(initial);
  event.inventory = make_inventory(product_id, initial, initial, 0, 0, 1);
  return event;
}

Event product_event(uint64_t seq, EventType type, const std::string& seller, const Inventory& inventory) {
  Event event;
  event.seq = seq;
  event.type = type;
  event.ts_us = static_cast<int64_t>(seq) * 1000;
  event.product_id = inventory.product_id;
  event.seller = seller;
  event.inventory = inventory;
  return event;
}

struct OrderFields {
  uint64_t order_id = 0;
  uint64_t product_id = 0;
  std::string buyer = "buyer-1";
  std::string seller = "ada";
  int32_t quantity = 2;
  int64_t amount_cents = 5000;
  int64_t accepted_us = 500;
};

Event order_event(uint64_t seq, EventType type, const OrderFields& order, const Inventory& inventory,
                  RejectReason reason = RejectReason::kNone) {
  Event event = product_event(seq, type, order.seller, inventory);
  event.product_id = order.product_id;
  event.order_id = order.order_id;
  event.buyer = order.buyer;
  event.quantity = order.quantity;
  event.amount_cents = order.amount_cents;
  event.accepted_us = order.accepted_us;
  event.reason = reason;
  event.was_reserved = type == EventType::kOrderRejected &&
                       (reason == RejectReason::kPaymentDeclined || reason == RejectReason::kPaymentFailed);
  return event;
}

// ---- Fixture ---------------------------------------------------------------

template <typename Factory>
class ReadStoreContractTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "hawker_read_store_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    directory_ = pattern;
    reopen();
  }

  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  void reopen() {
    store_.reset();
    Result<ReadStorePtr> opened = Factory::open(directory_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
  }

  void apply(const std::vector<Event>& events) {
    Status status = store_->apply(events);
    ASSERT_TRUE(status.ok()) << status.error().message;
  }

  uint64_t checkpoint() {
    Result<uint64_t> result = store_->checkpoint();
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? *result : 0;
  }

  std::optional<ProductView> product(uint64_t product_id) {
    Result<std::optional<ProductView>> result = store_->get_product(product_id);
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? *result : std::nullopt;
  }

  std::optional<OrderView> order(uint64_t order_id) {
    Result<std::optional<OrderView>> result = store_->get_order(order_id);
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? *result : std::nullopt;
  }

  SellerTotals totals(const std::string& seller) {
    Result<SellerTotals> result = store_->seller_totals(seller);
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? *result : SellerTotals{};
  }

  std::vector<uint64_t> page_ids(const std::string& seller, uint64_t after, size_t limit,
                                 std::optional<uint64_t>& next_after) {
    Result<ProductPage> result = store_->list_products(seller, after, limit);
    EXPECT_TRUE(result.ok()) << result.error().message;
    std::vector<uint64_t> ids;
    next_after.reset();
    if (!result.ok()) return ids;
    for (const ProductView& view : result->items) ids.push_back(view.definition.id);
    next_after = result->next_after;
    return ids;
  }

  std::string directory_;
  ReadStorePtr store_;
};

using ReadStoreFactories = testing::Types<SqliteReadStoreFactory, PostgresReadStoreFactory>;

class FactoryNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, SqliteReadStoreFactory>) return "Sqlite";
    if constexpr (std::is_same_v<T, PostgresReadStoreFactory>) return "Postgres";
    return "Unknown";
  }
};

TYPED_TEST_SUITE(ReadStoreContractTest, ReadStoreFactories, FactoryNames);

// ---- Products --------------------------------------------------------------

TYPED_TEST(ReadStoreContractTest, EmptyStoreHasCheckpointZero) {
  EXPECT_EQ(this->checkpoint(), 0u);
  this->apply({});
  EXPECT_EQ(this->checkpoint(), 0u);
}

TYPED_TEST(ReadStoreContractTest, ProductCreatedIsReadableWithCounts) {
  this->apply({product_created(1, 7, "ada", 100)});

  std::optional<ProductView> view = this->product(7);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->definition.id, 7u);
  EXPECT_EQ(view->definition.seller, "ada");
  EXPECT_EQ(view->definition.title, "Product 7");
  EXPECT_EQ(view->definition.price_cents, 2500);
  EXPECT_EQ(view->definition.currency, "EUR");
  EXPECT_EQ(view->definition.max_per_buyer, 3);
  EXPECT_EQ(view->definition.low_threshold, 10);
  EXPECT_EQ(view->inventory, make_inventory(7, 100, 100, 0, 0, 1));
  EXPECT_EQ(view->state, market::StockState::kInStock);
  EXPECT_EQ(this->checkpoint(), 1u);
}

TYPED_TEST(ReadStoreContractTest, LaterEventsUpdateCountsAndState) {
  const OrderFields first{.order_id = 11, .product_id = 7, .quantity = 9, .amount_cents = 22500};
  this->apply({product_created(1, 7, "ada", 10)});

  this->apply({order_event(2, EventType::kOrderReserved, first, make_inventory(7, 10, 1, 9, 0, 2))});
  std::optional<ProductView> view = this->product(7);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->inventory, make_inventory(7, 10, 1, 9, 0, 2));  // low threshold is 1
  EXPECT_EQ(view->state, market::StockState::kLow);

  const OrderFields second{.order_id = 12, .product_id = 7, .buyer = "buyer-2", .quantity = 1, .amount_cents = 2500};
  this->apply({order_event(3, EventType::kOrderConfirmed, first, make_inventory(7, 10, 1, 0, 9, 3)),
               order_event(4, EventType::kOrderReserved, second, make_inventory(7, 10, 0, 1, 9, 4))});
  view = this->product(7);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->inventory, make_inventory(7, 10, 0, 1, 9, 4));
  EXPECT_EQ(view->state, market::StockState::kSoldOut);

  this->apply({product_event(5, EventType::kProductRestocked, "ada", make_inventory(7, 10, 50, 1, 9, 5, 50))});
  view = this->product(7);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->inventory, make_inventory(7, 10, 50, 1, 9, 5, 50));
  EXPECT_EQ(view->state, market::StockState::kInStock);
  EXPECT_EQ(this->checkpoint(), 5u);
}

TYPED_TEST(ReadStoreContractTest, StaleInventoryVersionIsIgnored) {
  this->apply({product_created(1, 7, "ada", 100),
               product_event(2, EventType::kProductRestocked, "ada", make_inventory(7, 100, 120, 0, 0, 3, 20))});
  // A later seq carrying an older inventory version must not roll counts back.
  this->apply({product_event(3, EventType::kProductRestocked, "ada", make_inventory(7, 100, 110, 0, 0, 2, 10))});

  std::optional<ProductView> view = this->product(7);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->inventory, make_inventory(7, 100, 120, 0, 0, 3, 20));
  EXPECT_EQ(this->checkpoint(), 3u);
}

TYPED_TEST(ReadStoreContractTest, NoticesMoveOnlyTheCheckpoint) {
  const OrderFields failed{.order_id = 21, .product_id = 7};
  this->apply({product_created(1, 7, "ada", 10)});
  this->apply({product_event(2, EventType::kLowStock, "ada", make_inventory(7, 10, 1, 9, 0, 9)),
               product_event(3, EventType::kSoldOut, "ada", make_inventory(7, 10, 0, 10, 0, 10)),
               order_event(4, EventType::kPaymentFailed, failed, make_inventory(7, 10, 0, 10, 0, 10),
                           RejectReason::kPaymentFailed)});

  std::optional<ProductView> view = this->product(7);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->inventory, make_inventory(7, 10, 10, 0, 0, 1));
  EXPECT_FALSE(this->order(21).has_value());
  EXPECT_EQ(this->totals("ada").orders_confirmed, 0);
  EXPECT_EQ(this->checkpoint(), 4u);
}

// ---- Checkpoint and replay -------------------------------------------------

TYPED_TEST(ReadStoreContractTest, ReplayAtOrBelowCheckpointChangesNothing) {
  const OrderFields order{.order_id = 31, .product_id = 7};
  const std::vector<Event> history = {
      product_created(1, 7, "ada", 100),
      order_event(2, EventType::kOrderReserved, order, make_inventory(7, 100, 98, 2, 0, 2)),
      order_event(3, EventType::kOrderConfirmed, order, make_inventory(7, 100, 98, 0, 2, 3)),
  };
  this->apply(history);
  const std::optional<ProductView> product_before = this->product(7);
  const std::optional<OrderView> order_before = this->order(31);
  ASSERT_TRUE(product_before.has_value());
  ASSERT_TRUE(order_before.has_value());

  // The same events again, as after a crash between apply and the ack.
  this->apply(history);
  // Events at or below the checkpoint whose contents would change state if applied.
  Event rewritten = product_event(2, EventType::kProductRestocked, "ada", make_inventory(7, 100, 148, 0, 2, 9, 50));
  Event confirmed_again = order_event(3, EventType::kOrderConfirmed, order, make_inventory(7, 100, 98, 0, 2, 3));
  const OrderFields other{.order_id = 32, .product_id = 7};
  Event reserved_other = order_event(1, EventType::kOrderReserved, other, make_inventory(7, 100, 96, 2, 2, 8));
  this->apply({rewritten, confirmed_again, reserved_other});

  std::optional<ProductView> product_after = this->product(7);
  ASSERT_TRUE(product_after.has_value());
  EXPECT_EQ(product_after->inventory, product_before->inventory);
  std::optional<OrderView> order_after = this->order(31);
  ASSERT_TRUE(order_after.has_value());
  EXPECT_EQ(order_after->status, OrderStatus::kConfirmed);
  EXPECT_EQ(order_after->updated_us, order_before->updated_us);
  EXPECT_FALSE(this->order(32).has_value());
  const SellerTotals ada = this->totals("ada");
  EXPECT_EQ(ada.orders_confirmed, 1);
  EXPECT_EQ(ada.units_sold, 2);
  EXPECT_EQ(ada.revenue_cents, 5000);
  EXPECT_EQ(this->checkpoint(), 3u);

  // A batch that straddles the checkpoint applies only its new events.
  this->apply({confirmed_again,
               product_event(4, EventType::kProductRestocked, "ada", make_inventory(7, 100, 108, 0, 2, 4, 10))});
  EXPECT_EQ(this->totals("ada").orders_confirmed, 1);
  product_after = this->product(7);
  ASSERT_TRUE(product_after.has_value());
  EXPECT_EQ(product_after->inventory.available, 108);
  EXPECT_EQ(this->checkpoint(), 4u);
}

TYPED_TEST(ReadStoreContractTest, CheckpointAndDataPersistAcrossReopen) {
  const OrderFields order{.order_id = 41, .product_id = 7};
  this->apply({product_created(1, 7, "ada", 100),
               order_event(2, EventType::kOrderReserved, order, make_inventory(7, 100, 98, 2, 0, 2))});
  ASSERT_NO_FATAL_FAILURE(this->reopen());

  EXPECT_EQ(this->checkpoint(), 2u);
  std::optional<ProductView> view = this->product(7);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->inventory, make_inventory(7, 100, 98, 2, 0, 2));
  std::optional<OrderView> reserved = this->order(41);
  ASSERT_TRUE(reserved.has_value());
  EXPECT_EQ(reserved->status, OrderStatus::kReserved);

  // After the reopen, replaying the old events is still skipped.
  this->apply({product_event(2, EventType::kProductRestocked, "ada", make_inventory(7, 100, 198, 2, 0, 7, 100))});
  view = this->product(7);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->inventory.available, 98);
  EXPECT_EQ(this->checkpoint(), 2u);
}

// ---- Orders ----------------------------------------------------------------

TYPED_TEST(ReadStoreContractTest, OrderLifecycleReservedThenConfirmed) {
  const OrderFields order{.order_id = 51, .product_id = 7, .buyer = "bob", .seller = "ada", .quantity = 2,
                          .amount_cents = 5000, .accepted_us = 777};
  this->apply({product_created(1, 7, "ada", 100),
               order_event(2, EventType::kOrderReserved, order, make_inventory(7, 100, 98, 2, 0, 2))});

  std::optional<OrderView> view = this->order(51);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->order_id, 51u);
  EXPECT_EQ(view->product_id, 7u);
  EXPECT_EQ(view->buyer, "bob");
  EXPECT_EQ(view->seller, "ada");
  EXPECT_EQ(view->quantity, 2);
  EXPECT_EQ(view->amount_cents, 5000);
  EXPECT_EQ(view->status, OrderStatus::kReserved);
  EXPECT_EQ(view->reason, RejectReason::kNone);
  EXPECT_EQ(view->accepted_us, 777);
  EXPECT_EQ(view->updated_us, 2000);
  EXPECT_EQ(this->totals("ada").orders_confirmed, 0);

  this->apply({order_event(3, EventType::kOrderConfirmed, order, make_inventory(7, 100, 98, 0, 2, 3))});
  view = this->order(51);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->status, OrderStatus::kConfirmed);
  EXPECT_EQ(view->accepted_us, 777);
  EXPECT_EQ(view->updated_us, 3000);

  const OrderFields another{.order_id = 52, .product_id = 7, .buyer = "cy", .quantity = 1, .amount_cents = 2500};
  this->apply({order_event(4, EventType::kOrderReserved, another, make_inventory(7, 100, 97, 1, 2, 4)),
               order_event(5, EventType::kOrderConfirmed, another, make_inventory(7, 100, 97, 0, 3, 5))});
  const SellerTotals ada = this->totals("ada");
  EXPECT_EQ(ada.seller, "ada");
  EXPECT_EQ(ada.orders_confirmed, 2);
  EXPECT_EQ(ada.units_sold, 3);
  EXPECT_EQ(ada.revenue_cents, 7500);
  EXPECT_EQ(this->totals("bea").orders_confirmed, 0);
}

TYPED_TEST(ReadStoreContractTest, RejectedOrdersCarryTheirReason) {
  const OrderFields sold_out{.order_id = 61, .product_id = 7};
  const OrderFields declined{.order_id = 62, .product_id = 7, .buyer = "buyer-2"};
  this->apply({product_created(1, 7, "ada", 100),
               order_event(2, EventType::kOrderRejected, sold_out, make_inventory(7, 100, 100, 0, 0, 1),
                           RejectReason::kSoldOut),
               order_event(3, EventType::kOrderReserved, declined, make_inventory(7, 100, 98, 2, 0, 2)),
               order_event(4, EventType::kOrderRejected, declined, make_inventory(7, 100, 100, 0, 0, 3),
                           RejectReason::kPaymentDeclined)});

  std::optional<OrderView> view = this->order(61);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->status, OrderStatus::kRejected);
  EXPECT_EQ(view->reason, RejectReason::kSoldOut);
  view = this->order(62);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->status, OrderStatus::kRejected);
  EXPECT_EQ(view->reason, RejectReason::kPaymentDeclined);
  EXPECT_EQ(view->updated_us, 4000);
  std::optional<ProductView> product = this->product(7);
  ASSERT_TRUE(product.has_value());
  EXPECT_EQ(product->inventory, make_inventory(7, 100, 100, 0, 0, 3));
  EXPECT_EQ(this->totals("ada").orders_confirmed, 0);
}

TYPED_TEST(ReadStoreContractTest, OrderStatusNeverGoesBackwards) {
  const OrderFields confirmed{.order_id = 71, .product_id = 7};
  const OrderFields rejected{.order_id = 72, .product_id = 7, .buyer = "buyer-2"};
  this->apply({product_created(1, 7, "ada", 100),
               order_event(2, EventType::kOrderReserved, confirmed, make_inventory(7, 100, 98, 2, 0, 2)),
               order_event(3, EventType::kOrderConfirmed, confirmed, make_inventory(7, 100, 98, 0, 2, 3)),
               order_event(4, EventType::kOrderRejected, rejected, make_inventory(7, 100, 98, 0, 2, 3),
                           RejectReason::kLimitExceeded)});

  // Late events under new seqs: a reserved after the final status, a second
  // confirmation, and a confirmation of a rejected order.
  this->apply({order_event(5, EventType::kOrderReserved, confirmed, make_inventory(7, 100, 98, 0, 2, 3)),
               order_event(6, EventType::kOrderConfirmed, confirmed, make_inventory(7, 100, 98, 0, 2, 3)),
               order_event(7, EventType::kOrderReserved, rejected, make_inventory(7, 100, 98, 0, 2, 3)),
               order_event(8, EventType::kOrderConfirmed, rejected, make_inventory(7, 100, 98, 0, 2, 3))});

  std::optional<OrderView> view = this->order(71);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->status, OrderStatus::kConfirmed);
  EXPECT_EQ(view->updated_us, 3000);
  view = this->order(72);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->status, OrderStatus::kRejected);
  EXPECT_EQ(view->reason, RejectReason::kLimitExceeded);
  const SellerTotals ada = this->totals("ada");
  EXPECT_EQ(ada.orders_confirmed, 1);
  EXPECT_EQ(ada.units_sold, 2);
  EXPECT_EQ(ada.revenue_cents, 5000);
  EXPECT_EQ(this->checkpoint(), 8u);
}

TYPED_TEST(ReadStoreContractTest, OrderIdsUseAllSixtyFourBits) {
  // Order ids are random 64-bit numbers; the top bit must survive storage.
  const OrderFields order{.order_id = 0xF123'4567'89AB'CDEFull, .product_id = 7};
  this->apply({product_created(1, 7, "ada", 100),
               order_event(2, EventType::kOrderReserved, order, make_inventory(7, 100, 98, 2, 0, 2))});
  std::optional<OrderView> view = this->order(0xF123'4567'89AB'CDEFull);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->order_id, 0xF123'4567'89AB'CDEFull);
}

// ---- Batching --------------------------------------------------------------

// Renders everything the queries show about the given rows, so that two stores
// compare in one readable EXPECT_EQ.
std::string describe(ReadStore& store, const std::vector<uint64_t>& product_ids,
                     const std::vector<uint64_t>& order_ids, const std::vector<std::string>& sellers) {
  std::ostringstream out;
  Result<uint64_t> checkpoint = store.checkpoint();
  out << "checkpoint " << (checkpoint.ok() ? std::to_string(*checkpoint) : checkpoint.error().message) << "\n";
  for (uint64_t id : product_ids) {
    Result<std::optional<ProductView>> view = store.get_product(id);
    out << "product " << id << ":";
    if (!view.ok()) out << " error " << view.error().message;
    else if (!view->has_value()) out << " none";
    else {
      const ProductView& p = **view;
      const Inventory& i = p.inventory;
      out << " " << p.definition.seller << " '" << p.definition.title << "' " << p.definition.price_cents << " "
          << p.definition.currency << " max " << p.definition.max_per_buyer << " low " << p.definition.low_threshold
          << " | " << i.initial << " +" << i.restocked << " avail " << i.available << " res " << i.reserved << " sold "
          << i.sold << " low " << i.low_threshold << " v" << i.version << " state " << static_cast<int>(p.state);
    }
    out << "\n";
  }
  for (uint64_t id : order_ids) {
    Result<std::optional<OrderView>> view = store.get_order(id);
    out << "order " << id << ":";
    if (!view.ok()) out << " error " << view.error().message;
    else if (!view->has_value()) out << " none";
    else {
      const OrderView& o = **view;
      out << " product " << o.product_id << " " << o.buyer << " -> " << o.seller << " x" << o.quantity << " "
          << o.amount_cents << " " << market::order_status_name(o.status) << " "
          << market::reject_reason_name(o.reason) << " accepted " << o.accepted_us << " updated " << o.updated_us;
    }
    out << "\n";
  }
  for (const std::string& seller : sellers) {
    Result<SellerTotals> totals = store.seller_totals(seller);
    out << "seller " << seller << ":";
    if (!totals.ok()) out << " error " << totals.error().message;
    else out << " " << totals->orders_confirmed << " orders " << totals->units_sold << " units " << totals->revenue_cents;
    out << "\n";
  }
  return out.str();
}

TYPED_TEST(ReadStoreContractTest, BatchEndsLikeItsEventsOneByOne) {
  const OrderFields a{.order_id = 81, .product_id = 7, .quantity = 2, .amount_cents = 5000};
  const OrderFields b{.order_id = 82, .product_id = 7, .buyer = "buyer-2", .quantity = 1, .amount_cents = 2500};
  const OrderFields c{.order_id = 83, .product_id = 9, .buyer = "buyer-3", .seller = "bea", .quantity = 3,
                      .amount_cents = 900};
  const OrderFields d{.order_id = 0xF000'0000'0000'0084ull, .product_id = 7, .buyer = "buyer-4", .quantity = 1,
                      .amount_cents = 2500, .accepted_us = 900};
  const OrderFields e{.order_id = 85, .product_id = 7, .buyer = "buyer-5", .quantity = 2, .amount_cents = 5000};
  const OrderFields f{.order_id = 86, .product_id = 7, .buyer = "buyer-6", .quantity = 2, .amount_cents = 5000};
  // Stored before the batch: e reserved, f confirmed.
  const std::vector<Event> before = {
      product_created(1, 7, "ada", 100),
      order_event(2, EventType::kOrderReserved, e, make_inventory(7, 100, 98, 2, 0, 2)),
      order_event(3, EventType::kOrderReserved, f, make_inventory(7, 100, 96, 4, 0, 3)),
      order_event(4, EventType::kOrderConfirmed, f, make_inventory(7, 100, 96, 2, 2, 4)),
  };
  const std::vector<Event> batch = {
      // Product 9's inventory before its creation updates nothing.
      product_event(5, EventType::kProductRestocked, "bea", make_inventory(9, 10, 60, 0, 0, 5, 50)),
      product_created(6, 9, "bea", 10),
      // a: confirmed, then late events that must change nothing.
      order_event(7, EventType::kOrderReserved, a, make_inventory(7, 100, 94, 4, 2, 5)),
      order_event(8, EventType::kOrderConfirmed, a, make_inventory(7, 100, 94, 2, 4, 6)),
      order_event(9, EventType::kOrderReserved, a, make_inventory(7, 100, 94, 2, 4, 6)),
      order_event(10, EventType::kOrderConfirmed, a, make_inventory(7, 100, 94, 2, 4, 6)),
      // b: rejected, then a confirmation that must not count.
      order_event(11, EventType::kOrderReserved, b, make_inventory(7, 100, 93, 3, 4, 7)),
      order_event(12, EventType::kOrderRejected, b, make_inventory(7, 100, 94, 2, 4, 8),
                  RejectReason::kPaymentDeclined),
      order_event(13, EventType::kOrderConfirmed, b, make_inventory(7, 100, 94, 2, 4, 8)),
      // c: confirmed without a reserve, for another seller and product.
      order_event(14, EventType::kOrderConfirmed, c, make_inventory(9, 10, 7, 0, 3, 2)),
      // d: reserved twice; the later event's fields stay.
      order_event(15, EventType::kOrderReserved, d, make_inventory(7, 100, 93, 3, 4, 9)),
      order_event(16, EventType::kOrderReserved, d, make_inventory(7, 100, 93, 3, 4, 10)),
      // e and f were stored earlier: e's confirmation counts, f's does not.
      order_event(17, EventType::kOrderConfirmed, e, make_inventory(7, 100, 93, 1, 6, 11)),
      order_event(18, EventType::kOrderConfirmed, f, make_inventory(7, 100, 93, 1, 6, 11)),
      // Two inventories of the newest version (the first stays), then stale ones.
      product_event(19, EventType::kProductRestocked, "ada", make_inventory(7, 100, 140, 0, 10, 13, 50)),
      product_event(20, EventType::kProductRestocked, "ada", make_inventory(7, 100, 150, 0, 10, 13, 60)),
      product_event(21, EventType::kProductRestocked, "ada", make_inventory(7, 100, 123, 1, 6, 12, 30)),
      product_event(22, EventType::kProductRestocked, "ada", make_inventory(7, 100, 50, 0, 0, 3)),
      product_event(23, EventType::kSoldOut, "ada", make_inventory(7, 100, 0, 0, 100, 99)),
      // Out of order within the batch: skipped like a replay.
      order_event(21, EventType::kOrderReserved, b, make_inventory(7, 100, 1, 1, 98, 98)),
  };
  this->apply(before);
  this->apply(batch);

  const std::string one_by_one_directory = this->directory_ + "/one_by_one";
  ASSERT_TRUE(std::filesystem::create_directory(one_by_one_directory));
  Result<ReadStorePtr> opened = TypeParam::open(one_by_one_directory);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  ReadStorePtr one_by_one = std::move(opened).value();
  for (const std::vector<Event>* events : {&before, &batch}) {
    for (const Event& event : *events) {
      Status status = one_by_one->apply(std::vector<Event>{event});
      ASSERT_TRUE(status.ok()) << status.error().message;
    }
  }

  const std::vector<uint64_t> products = {7, 9};
  const std::vector<uint64_t> orders = {a.order_id, b.order_id, c.order_id, d.order_id, e.order_id, f.order_id};
  const std::vector<std::string> sellers = {"ada", "bea"};
  const std::string batched = describe(*this->store_, products, orders, sellers);
  EXPECT_EQ(batched, describe(*one_by_one, products, orders, sellers));
  // Spot checks, so that both stores being wrong the same way still fails.
  const std::optional<ProductView> seven = this->product(7);
  const std::optional<ProductView> nine = this->product(9);
  const std::optional<OrderView> rejected = this->order(b.order_id);
  const std::optional<OrderView> reserved = this->order(d.order_id);
  ASSERT_TRUE(seven.has_value() && nine.has_value() && rejected.has_value() && reserved.has_value());
  EXPECT_EQ(seven->inventory, make_inventory(7, 100, 140, 0, 10, 13, 50));
  EXPECT_EQ(nine->inventory, make_inventory(9, 10, 7, 0, 3, 2));
  EXPECT_EQ(rejected->status, OrderStatus::kRejected);
  EXPECT_EQ(reserved->updated_us, 16000);
  const SellerTotals ada = this->totals("ada");
  EXPECT_EQ(ada.orders_confirmed, 3);  // f before the batch; a and e in it
  EXPECT_EQ(ada.units_sold, 6);
  EXPECT_EQ(ada.revenue_cents, 15000);
  EXPECT_EQ(this->totals("bea").orders_confirmed, 1);
  EXPECT_EQ(this->checkpoint(), 23u);
}

// ---- Queries ---------------------------------------------------------------

TYPED_TEST(ReadStoreContractTest, ListProductsPagesBySellerInIdOrder) {
  std::vector<Event> events;
  for (uint64_t id = 1; id <= 7; ++id) events.push_back(product_created(id, id, id % 2 == 1 ? "ada" : "bea", 10));
  this->apply(events);

  std::optional<uint64_t> next;
  EXPECT_EQ(this->page_ids("ada", 0, 2, next), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(next, std::optional<uint64_t>(3));
  EXPECT_EQ(this->page_ids("ada", 3, 2, next), (std::vector<uint64_t>{5, 7}));
  EXPECT_EQ(next, std::optional<uint64_t>(7));
  EXPECT_EQ(this->page_ids("ada", 7, 2, next), (std::vector<uint64_t>{}));
  EXPECT_FALSE(next.has_value());

  EXPECT_EQ(this->page_ids("bea", 0, 5, next), (std::vector<uint64_t>{2, 4, 6}));
  EXPECT_FALSE(next.has_value());
  EXPECT_EQ(this->page_ids("nobody", 0, 5, next), (std::vector<uint64_t>{}));
  EXPECT_FALSE(next.has_value());

  EXPECT_EQ(this->page_ids("", 0, 4, next), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(next, std::optional<uint64_t>(4));
  EXPECT_EQ(this->page_ids("", 4, 4, next), (std::vector<uint64_t>{5, 6, 7}));
  EXPECT_FALSE(next.has_value());

  Result<ProductPage> page = this->store_->list_products("ada", 0, 1);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].definition.seller, "ada");
  EXPECT_EQ(page->items[0].inventory, make_inventory(1, 10, 10, 0, 0, 1));
  EXPECT_EQ(page->items[0].state, market::StockState::kInStock);
}

TYPED_TEST(ReadStoreContractTest, UnknownIdsReadAsEmpty) {
  this->apply({product_created(1, 7, "ada", 100)});
  EXPECT_FALSE(this->product(8).has_value());
  EXPECT_FALSE(this->order(8).has_value());
  const SellerTotals nobody = this->totals("nobody");
  EXPECT_EQ(nobody.seller, "nobody");
  EXPECT_EQ(nobody.orders_confirmed, 0);
  EXPECT_EQ(nobody.units_sold, 0);
  EXPECT_EQ(nobody.revenue_cents, 0);
}

TYPED_TEST(ReadStoreContractTest, ReadsDuringApplySeeWholeRows) {
  // The store is thread-safe: a reader running beside apply() always gets a
  // committed, conserved product row (run under TSan to check the locking).
  constexpr int kBatches = 200;
  constexpr int64_t kInitial = 1000;
  this->apply({product_created(1, 7, "ada", kInitial)});
  std::atomic<bool> done{false};
  std::atomic<int> bad_reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      Result<std::optional<ProductView>> view = this->store_->get_product(7);
      if (!view.ok() || !view->has_value() || !market::inventory_conserved((*view)->inventory)) ++bad_reads;
    }
  });
  int failed_applies = 0;
  for (int batch = 0; batch < kBatches; ++batch) {
    const uint64_t seq = 2 + static_cast<uint64_t>(batch);
    const int64_t reserved = batch + 1;
    const OrderFields order{.order_id = 1000 + seq, .product_id = 7, .quantity = 1, .amount_cents = 2500};
    const std::vector<Event> events = {order_event(seq, EventType::kOrderReserved, order,
                                                   make_inventory(7, kInitial, kInitial - reserved, reserved, 0, seq))};
    if (!this->store_->apply(events).ok()) ++failed_applies;
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(failed_applies, 0);
  EXPECT_EQ(bad_reads.load(), 0);
  EXPECT_EQ(this->checkpoint(), static_cast<uint64_t>(kBatches + 1));
  std::optional<ProductView> view = this->product(7);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->inventory.reserved, kBatches);
}

}  // namespace
}  // namespace hawker::store
