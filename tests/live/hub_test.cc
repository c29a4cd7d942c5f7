// Proves LiveHub (live/hub.h) routes domain events to the right connections:
//  - `order` frames {order_id, status, reason?} reach only the buyer's
//    connections (on every show the buyer watches, one serialisation per show,
//    carrying that show's current seq), never other viewers or guests, and stop
//    after the connection unsubscribes;
//  - `notice` frames {kind: sale|low_stock|sold_out|payment_failed, product_id,
//    order_id?} reach only the product's seller's connections, never another
//    seller or a viewer; order_reserved makes no notice;
//  - stock from events becomes `inventory` on every show pinning the product
//    and no other, through the coalescer: the first at once, then at most one
//    per 100 ms carrying the latest value (tick at next_due_us); an older
//    inventory version never overwrites a newer one; a re-pin moves the flow;
//  - pin takes the hub's latest known stock when the caller's is older;
//  - viewer counts are broadcast at most every 2 s with the last count;
//  - unknown shows, full per-user connection tables, closed shows and refused
//    chats give the documented errors and metrics.
#include "live/hub.h"

#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/ids.h"
#include "core/metrics.h"
#include "live/test_subscribers.h"

namespace hawker::live {
namespace {

namespace json = boost::json;
using market::EventType;
using market::StockState;
using testing::parse;
using testing::product_json;
using testing::QueuedSubscriber;
using testing::RecordingSubscriber;
using testing::seq_of;
using testing::stock_event;
using testing::type_of;

json::object show_json(uint64_t id, const std::string& seller) {
  json::object show;
  show["id"] = format_show_id(id);
  show["seller"] = seller;
  show["title"] = "show " + std::to_string(id);
  show["status"] = "live";
  return show;
}

market::Event order_event(EventType type, uint64_t order, std::string buyer, uint64_t product, int64_t available,
                          uint64_t version, market::RejectReason reason = market::RejectReason::kNone) {
  market::Event event = stock_event(type, product, available, version);
  event.order_id = order;
  event.buyer = std::move(buyer);
  event.quantity = 2;
  event.amount_cents = 9800;
  event.reason = reason;
  return event;
}

class LiveHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(hub_.open_show(1, "sel_a", show_json(1, "sel_a")).ok());
    ASSERT_TRUE(hub_.open_show(2, "sel_a", show_json(2, "sel_a")).ok());
    ASSERT_TRUE(hub_.open_show(3, "sel_b", show_json(3, "sel_b")).ok());
  }

  std::shared_ptr<RecordingSubscriber> viewer(uint64_t show, const std::string& user) {
    auto subscriber = std::make_shared<RecordingSubscriber>();
    EXPECT_TRUE(hub_.subscribe(show, subscriber, user).ok());
    return subscriber;
  }

  std::shared_ptr<RecordingSubscriber> seller_connection(const std::string& seller) {
    auto subscriber = std::make_shared<RecordingSubscriber>();
    hub_.subscribe_seller(seller, subscriber);
    return subscriber;
  }

  void pin(uint64_t show, uint64_t product, int64_t available = 1000, uint64_t version = 1) {
    ASSERT_TRUE(hub_.pin(show, product, product_json(product), StockLevel{available, StockState::kInStock, version}).ok());
  }

  void advance_ms(int64_t ms) { clock_.advance_us(ms * 1000); }

  ManualClock clock_;
  Registry registry_;
  LiveHub hub_{clock_, registry_};
};

TEST_F(LiveHubTest, OrderFramesReachOnlyTheBuyersConnections) {
  auto alice_phone = viewer(1, "alice");
  auto alice_laptop = viewer(1, "alice");
  auto alice_other_show = viewer(2, "alice");
  auto bob = viewer(1, "bob");
  auto guest = viewer(1, "");
  auto seller = seller_connection("sel_a");
  hub_.find_show(1)->publish("announcement", json::object{});

  hub_.on_event(order_event(EventType::kOrderReserved, 42, "alice", 7, 998, 2));

  for (const auto& connection : {alice_phone, alice_laptop, alice_other_show}) {
    auto orders = connection->of_type("order");
    ASSERT_EQ(orders.size(), 1u);
    json::object frame = parse(orders[0]);
    EXPECT_EQ(json::value_to<std::string>(frame.at("order_id")), format_order_id(42));
    EXPECT_EQ(frame.at("status"), "reserved");
    EXPECT_FALSE(frame.contains("reason"));
  }
  EXPECT_EQ(alice_phone->of_type("order")[0].get(), alice_laptop->of_type("order")[0].get())
      << "one serialisation per show";
  EXPECT_EQ(seq_of(alice_phone->of_type("order")[0]), hub_.find_show(1)->seq()) << "show 1's current seq";
  EXPECT_EQ(seq_of(alice_other_show->of_type("order")[0]), hub_.find_show(2)->seq()) << "show 2's current seq";
  EXPECT_NE(hub_.find_show(1)->seq(), hub_.find_show(2)->seq());
  EXPECT_TRUE(bob->of_type("order").empty());
  EXPECT_TRUE(guest->of_type("order").empty());
  EXPECT_TRUE(seller->frames().empty()) << "a reservation is no notice";
  EXPECT_EQ(registry_.render().find("hawker_live_order_frames_total 3") != std::string::npos, true);

  hub_.on_event(order_event(EventType::kOrderRejected, 43, "bob", 7, 998, 3, market::RejectReason::kSoldOut));
  json::object rejected = parse(bob->of_type("order").at(0));
  EXPECT_EQ(rejected.at("status"), "rejected");
  EXPECT_EQ(rejected.at("reason"), "sold_out");
  EXPECT_EQ(alice_phone->of_type("order").size(), 1u);

  hub_.unsubscribe(1, alice_phone.get());
  hub_.on_event(order_event(EventType::kOrderConfirmed, 42, "alice", 7, 998, 4));
  EXPECT_EQ(alice_phone->of_type("order").size(), 1u) << "unsubscribed";
  ASSERT_EQ(alice_laptop->of_type("order").size(), 2u);
  EXPECT_EQ(parse(alice_laptop->of_type("order")[1]).at("status"), "confirmed");
}

TEST_F(LiveHubTest, NoticesReachOnlyTheProductsSeller) {
  auto seller_phone = seller_connection("sel_a");
  auto seller_desk = seller_connection("sel_a");
  auto other_seller = seller_connection("sel_b");
  auto watcher = viewer(1, "alice");

  hub_.on_event(order_event(EventType::kOrderConfirmed, 42, "alice", 7, 9, 5));
  auto low = stock_event(EventType::kLowStock, 7, 9, 5);
  hub_.on_event(low);
  auto failed = order_event(EventType::kPaymentFailed, 44, "carol", 7, 9, 6, market::RejectReason::kPaymentDeclined);
  hub_.on_event(failed);
  hub_.on_event(stock_event(EventType::kSoldOut, 7, 0, 7));

  for (const auto& connection : {seller_phone, seller_desk}) {
    const auto frames = connection->frames();
    ASSERT_EQ(frames.size(), 4u);
    for (size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ(type_of(frames[i]), "notice");
      EXPECT_EQ(seq_of(frames[i]), i + 1) << "per-seller seq";
    }
    json::object sale = parse(frames[0]);
    EXPECT_EQ(sale.at("kind"), "sale");
    EXPECT_EQ(sale.at("product_id"), "prd_7");
    EXPECT_EQ(json::value_to<std::string>(sale.at("order_id")), format_order_id(42));
    EXPECT_EQ(sale.at("quantity"), 2);
    EXPECT_EQ(sale.at("amount_cents"), 9800);
    json::object low_notice = parse(frames[1]);
    EXPECT_EQ(low_notice.at("kind"), "low_stock");
    EXPECT_EQ(low_notice.at("available"), 9);
    EXPECT_FALSE(low_notice.contains("order_id"));
    json::object failed_notice = parse(frames[2]);
    EXPECT_EQ(failed_notice.at("kind"), "payment_failed");
    EXPECT_EQ(json::value_to<std::string>(failed_notice.at("order_id")), format_order_id(44));
    EXPECT_EQ(failed_notice.at("reason"), "payment_declined");
    EXPECT_EQ(parse(frames[3]).at("kind"), "sold_out");
  }
  EXPECT_EQ(seller_phone->frames()[0].get(), seller_desk->frames()[0].get()) << "one serialisation";
  EXPECT_TRUE(other_seller->frames().empty());
  EXPECT_TRUE(watcher->of_type("notice").empty());

  hub_.unsubscribe_seller("sel_a", seller_phone.get());
  hub_.on_event(stock_event(EventType::kSoldOut, 7, 0, 8));
  EXPECT_EQ(seller_phone->frames().size(), 4u);
  EXPECT_EQ(seller_desk->frames().size(), 5u);
}

TEST_F(LiveHubTest, InventoryReachesEveryShowPinningTheProductAndNoOther) {
  pin(1, 7);
  pin(2, 7);
  pin(3, 8);
  auto on_one = viewer(1, "");
  auto also_on_one = viewer(1, "");
  auto on_two = viewer(2, "");
  auto on_three = viewer(3, "");

  hub_.on_event(stock_event(EventType::kOrderReserved, 7, 995, 2));

  for (const auto& connection : {on_one, also_on_one, on_two}) {
    auto frames = connection->of_type("inventory");
    ASSERT_EQ(frames.size(), 1u);
    json::object frame = parse(frames[0]);
    EXPECT_EQ(frame.at("product_id"), "prd_7");
    EXPECT_EQ(frame.at("available"), 995);
    EXPECT_EQ(frame.at("state"), "in_stock");
  }
  EXPECT_EQ(on_one->of_type("inventory")[0].get(), also_on_one->of_type("inventory")[0].get());
  EXPECT_TRUE(on_three->of_type("inventory").empty());
  EXPECT_EQ(parse(hub_.find_show(1)->hello()).at("product").at("available"), 995);
}

TEST_F(LiveHubTest, InventoryIsCoalescedAndTheLatestValueAlwaysArrives) {
  pin(1, 7);
  auto watcher = viewer(1, "");
  uint64_t version = 1;
  int64_t available = 1000;
  hub_.on_event(stock_event(EventType::kOrderReserved, 7, --available, ++version));
  ASSERT_EQ(watcher->of_type("inventory").size(), 1u) << "the first change goes out at once";
  for (int i = 0; i < 50; ++i) {
    advance_ms(1);
    hub_.on_event(stock_event(EventType::kOrderReserved, 7, --available, ++version));
  }
  EXPECT_EQ(watcher->of_type("inventory").size(), 1u) << "folded while inside the interval";
  ASSERT_TRUE(hub_.next_due_us().has_value());
  clock_.advance_us(*hub_.next_due_us() - clock_.now_us());
  hub_.tick();
  auto frames = watcher->of_type("inventory");
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(parse(frames[1]).at("available"), available);

  // A sustained stream for 3 s: never more than 10 a second, the last value last.
  std::vector<int64_t> sent_at;
  for (int ms = 0; ms < 3000; ++ms) {
    const size_t before = watcher->of_type("inventory").size();
    hub_.on_event(stock_event(EventType::kOrderReserved, 7, --available, ++version));
    hub_.tick();
    if (watcher->of_type("inventory").size() > before) sent_at.push_back(clock_.now_us());
    advance_ms(1);
  }
  advance_ms(100);
  hub_.tick();
  EXPECT_EQ(parse(watcher->last()).at("available"), available);
  EXPECT_FALSE(hub_.next_due_us().has_value());
  ASSERT_GE(sent_at.size(), 29u);
  for (size_t i = 1; i < sent_at.size(); ++i) EXPECT_GE(sent_at[i] - sent_at[i - 1], kInventoryIntervalUs);
}

TEST_F(LiveHubTest, AnOlderInventoryVersionNeverOverwritesANewerOne) {
  pin(1, 7);
  auto watcher = viewer(1, "");
  hub_.on_event(stock_event(EventType::kOrderReserved, 7, 500, 10));
  advance_ms(200);
  hub_.on_event(stock_event(EventType::kOrderReserved, 7, 600, 9));  // late duplicate of an older commit
  advance_ms(200);
  hub_.tick();
  auto frames = watcher->of_type("inventory");
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(parse(frames[0]).at("available"), 500);

  auto on_two = viewer(2, "");
  pin(2, 7, 1000, 1);  // pinned elsewhere after the late event: still the newest stock
  EXPECT_EQ(parse(on_two->of_type("showcase").at(0)).at("product").at("available"), 500);
}

TEST_F(LiveHubTest, EventsWithoutInventoryChangeNoStock) {
  pin(1, 7);
  auto watcher = viewer(1, "");
  market::Event event = stock_event(EventType::kOrderReserved, 7, 0, 0);  // version 0: no inventory carried
  hub_.on_event(event);
  EXPECT_TRUE(watcher->of_type("inventory").empty());
}

TEST_F(LiveHubTest, PinUsesTheHubsLatestStockWhenTheCallersIsOlder) {
  pin(1, 7, 1000, 1);
  hub_.on_event(stock_event(EventType::kOrderReserved, 7, 90, 30));
  auto watcher = viewer(2, "");
  pin(2, 7, 1000, 1);  // the caller read the catalog before the rush
  auto showcase = watcher->of_type("showcase");
  ASSERT_EQ(showcase.size(), 1u);
  EXPECT_EQ(parse(showcase[0]).at("product").at("available"), 90);
  EXPECT_TRUE(watcher->of_type("inventory").empty()) << "nothing newer to send";
}

TEST_F(LiveHubTest, ARepinMovesTheStockFlowToTheNewProduct) {
  pin(1, 7);
  auto watcher = viewer(1, "");
  pin(1, 8);
  hub_.on_event(stock_event(EventType::kOrderReserved, 7, 500, 5));
  hub_.on_event(stock_event(EventType::kOrderReserved, 7, 499, 6));
  EXPECT_TRUE(watcher->of_type("inventory").empty()) << "7 is no longer pinned here";
  EXPECT_FALSE(hub_.next_due_us().has_value()) << "a product pinned nowhere is not even coalesced";
  hub_.on_event(stock_event(EventType::kOrderReserved, 8, 400, 5));
  auto frames = watcher->of_type("inventory");
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(parse(frames[0]).at("product_id"), "prd_8");
}

TEST_F(LiveHubTest, ViewerCountsAtMostEveryTwoSecondsWithTheLastCount) {
  auto first = viewer(1, "");
  auto counts = first->of_type("viewers");
  ASSERT_EQ(counts.size(), 1u) << "the first change goes out at once";
  EXPECT_EQ(parse(counts[0]).at("count"), 1);
  std::vector<std::shared_ptr<RecordingSubscriber>> crowd;
  for (int i = 0; i < 20; ++i) {
    advance_ms(50);
    crowd.push_back(viewer(1, ""));
  }
  hub_.unsubscribe(1, crowd.back().get());
  EXPECT_EQ(first->of_type("viewers").size(), 1u);
  clock_.advance_us(*hub_.next_due_us() - clock_.now_us());
  hub_.tick();
  counts = first->of_type("viewers");
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(parse(counts[1]).at("count"), 20);
  EXPECT_EQ(parse(crowd.front()->frames()[0]).at("viewers"), 2) << "hello has the live count";
}

TEST_F(LiveHubTest, UnknownShowsAndFullTablesAreRefused) {
  auto subscriber = std::make_shared<RecordingSubscriber>();
  EXPECT_EQ(hub_.subscribe(99, subscriber, "alice").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(hub_.pin(99, 7, product_json(7), StockLevel{}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(hub_.chat(99, "alice", "hi").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(hub_.resume(99, subscriber, 0).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(hub_.open_show(1, "sel_b", show_json(1, "sel_b")).error().code, ErrorCode::kConflict);

  std::vector<std::shared_ptr<RecordingSubscriber>> tabs;
  for (size_t i = 0; i < kConnectionsPerUserMax; ++i) tabs.push_back(viewer(1, "alice"));
  auto one_more = std::make_shared<RecordingSubscriber>();
  EXPECT_EQ(hub_.subscribe(1, one_more, "alice").error().code, ErrorCode::kOverloaded);
  EXPECT_EQ(one_more->size(), 0u);
  hub_.unsubscribe(1, tabs.back().get());
  EXPECT_TRUE(hub_.subscribe(1, one_more, "alice").ok());
}

TEST_F(LiveHubTest, AClosedShowIsGone) {
  pin(1, 7);
  auto watcher = viewer(1, "alice");
  hub_.close_show(1);
  EXPECT_EQ(hub_.find_show(1), nullptr);
  EXPECT_EQ(hub_.show_count(), 2u);
  const size_t before = watcher->size();
  hub_.on_event(order_event(EventType::kOrderReserved, 42, "alice", 7, 10, 9));
  EXPECT_EQ(watcher->size(), before);
  hub_.unsubscribe(1, watcher.get());  // the session still says goodbye: harmless
}

TEST_F(LiveHubTest, ChatThroughTheHubAndRefusalsAreCounted) {
  auto watcher = viewer(1, "bob");
  auto message = hub_.chat(1, "alice", "hello show");
  ASSERT_TRUE(message.ok());
  EXPECT_EQ(parse(watcher->last()).at("text"), "hello show");
  ASSERT_TRUE(hub_.mute(1, "sel_a", "alice").ok());
  EXPECT_EQ(hub_.chat(1, "alice", "hey").error().code, ErrorCode::kForbidden);
  EXPECT_EQ(hub_.chat(1, "", "guest").error().code, ErrorCode::kUnauthorized);
  const std::vector<std::string> words = {"spam"};
  ASSERT_TRUE(hub_.set_blocked_words(1, "sel_a", words).ok());
  EXPECT_EQ(hub_.chat(1, "bob", "SPAM").error().code, ErrorCode::kInvalid);
  EXPECT_NE(registry_.render().find("hawker_live_chat_rejected_total 3"), std::string::npos);
  ASSERT_TRUE(hub_.delete_chat(1, "sel_a", message->id).ok());
  EXPECT_EQ(parse(watcher->last()).at("type"), "chat_deleted");
  ASSERT_TRUE(hub_.unmute(1, "sel_a", "alice").ok());
  EXPECT_TRUE(hub_.chat(1, "alice", "back").ok());
}

TEST_F(LiveHubTest, ResumeAfterADisconnectReplaysExactlyTheMissedFrames) {
  pin(1, 7);
  auto phone = viewer(1, "alice");
  hub_.on_event(stock_event(EventType::kOrderReserved, 7, 900, 2));
  const uint64_t last_seen = seq_of(phone->last());
  hub_.unsubscribe(1, phone.get());
  advance_ms(150);
  hub_.on_event(stock_event(EventType::kOrderReserved, 7, 800, 3));
  ASSERT_TRUE(hub_.chat(1, "bob", "still selling?").ok());

  auto again = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(hub_.subscribe(1, again, "alice", last_seen).ok());
  const auto frames = again->frames();
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(type_of(frames[0]), "inventory");
  EXPECT_EQ(seq_of(frames[0]), last_seen + 1);
  EXPECT_EQ(type_of(frames[1]), "chat");
  for (size_t i = 1; i < frames.size(); ++i) EXPECT_EQ(seq_of(frames[i]), seq_of(frames[i - 1]) + 1);
}

TEST_F(LiveHubTest, ASlowViewerIsClosedAndCountedWhileOthersKeepUp) {
  pin(1, 7);
  Counter& closed = hub_.metrics().slow_consumers_closed;
  auto fast = std::make_shared<QueuedSubscriber>(SendQueueLimits{}, closed, true);
  auto slow = std::make_shared<QueuedSubscriber>(SendQueueLimits{8, 1 << 20}, closed, false);
  slow->on_close([this](QueuedSubscriber* self) { hub_.unsubscribe(1, self); });
  ASSERT_TRUE(hub_.subscribe(1, fast, "").ok());
  ASSERT_TRUE(hub_.subscribe(1, slow, "").ok());
  int64_t available = 1000;
  for (uint64_t version = 2; version < 40; ++version) {
    hub_.on_event(stock_event(EventType::kOrderReserved, 7, --available, version));
    advance_ms(100);
  }
  EXPECT_TRUE(slow->closed());
  EXPECT_EQ(closed.value(), 1u);
  EXPECT_NE(registry_.render().find("hawker_live_slow_consumers_closed_total 1"), std::string::npos);
  EXPECT_EQ(hub_.find_show(1)->viewer_count(), 1u);
  Frame last_inventory;
  for (const Frame& frame : fast->written())
    if (type_of(frame) == "inventory") last_inventory = frame;
  ASSERT_NE(last_inventory, nullptr);
  EXPECT_EQ(parse(last_inventory).at("available"), available) << "the fast viewer saw every change";
}

}  // namespace
}  // namespace hawker::live
