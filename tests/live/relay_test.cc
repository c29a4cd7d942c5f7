// Proves the cluster relay of LiveHub (live/hub.h, live/relay.h): two hubs,
// joined by an in-memory LiveRelay, serve one show's viewers as if they were
// one node:
//  - a chat message posted on A reaches B's viewers with the same id, user,
//    text and ts, and is in B's hello chat tail; ids of the two nodes never
//    collide (the node id is in their high bits, below 2^53);
//  - a deletion on B removes A's message on both; only the seller may delete;
//  - mute, unmute and blocked words set on A apply to chat posted on B;
//  - B does not apply its own rate limit to A's messages (A applied A's);
//  - a pin on A is a showcase on B, where B's own newer stock level wins;
//    concurrent pins on A and B settle on the same product on both;
//  - open_show on A updates (or creates) the show on B;
//  - nothing applied from the relay is published again (no loops);
//  - malformed, unknown-version or unauthorised relayed messages are errors
//    that change nothing and send nothing, never a crash;
//  - end to end, two hubs joined by app::NatsLiveRelay through a real
//    nats-server share chat and deletions (bounded waits).
#include "live/relay.h"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "app/live_relay.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/metrics.h"
#include "live/hub.h"
#include "live/test_subscribers.h"
#include "support/nats_server.h"

namespace hawker::live {
namespace {

namespace json = boost::json;
using market::EventType;
using market::StockState;
using testing::parse;
using testing::product_json;
using testing::RecordingSubscriber;
using testing::stock_event;
using testing::type_of;

// Records what a hub publishes and hands it to the peer hub at once, or when
// flushed (hold()).
class MemoryLink final : public LiveRelay {
 public:
  void connect(LiveHub* peer) { peer_ = peer; }
  void hold() { held_ = true; }
  // Forgets what was held and delivers at once again.
  void discard_held() {
    std::lock_guard lock(mutex_);
    queued_.clear();
    held_ = false;
  }
  void flush() {
    std::vector<std::string> queued;
    {
      std::lock_guard lock(mutex_);
      queued.swap(queued_);
    }
    for (const std::string& bytes : queued) deliver(bytes);
  }

  void publish(uint64_t show_id, std::string bytes) override {
    {
      std::lock_guard lock(mutex_);
      published_.push_back(bytes);
      shows_.push_back(show_id);
      if (held_) {
        queued_.push_back(std::move(bytes));
        return;
      }
    }
    deliver(bytes);
  }

  std::vector<std::string> published() const {
    std::lock_guard lock(mutex_);
    return published_;
  }
  size_t count() const {
    std::lock_guard lock(mutex_);
    return published_.size();
  }
  uint64_t last_show() const {
    std::lock_guard lock(mutex_);
    return shows_.empty() ? 0 : shows_.back();
  }

 private:
  void deliver(const std::string& bytes) {
    if (peer_ == nullptr) return;
    Status applied = peer_->on_relayed(bytes);
    EXPECT_TRUE(applied.ok()) << bytes << ": " << (applied ? "" : applied.error().message);
  }

  LiveHub* peer_ = nullptr;
  bool held_ = false;
  mutable std::mutex mutex_;
  std::vector<std::string> published_;
  std::vector<uint64_t> shows_;
  std::vector<std::string> queued_;
};

json::object show_json(uint64_t id, const std::string& status = "live") {
  return json::object{{"id", format_show_id(id)}, {"seller", "sel_a"}, {"title", "show"}, {"status", status}};
}

HubOptions node(uint32_t id, int64_t chat_burst) {
  HubOptions options;
  options.node_id = id;
  options.channel.chat.burst = chat_burst;
  return options;
}

class LiveRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Opened before the link: nothing published yet.
    ASSERT_TRUE(a_.open_show(1, "sel_a", show_json(1)).ok());
    ASSERT_TRUE(b_.open_show(1, "sel_a", show_json(1)).ok());
    ASSERT_TRUE(a_.open_show(2, "sel_a", show_json(2)).ok());
    ASSERT_TRUE(b_.open_show(2, "sel_a", show_json(2)).ok());
    a_.set_relay(&a_out_);
    b_.set_relay(&b_out_);
    a_out_.connect(&b_);
    b_out_.connect(&a_);
  }

  static std::shared_ptr<RecordingSubscriber> viewer(LiveHub& hub, uint64_t show = 1, const std::string& user = "") {
    auto subscriber = std::make_shared<RecordingSubscriber>();
    EXPECT_TRUE(hub.subscribe(show, subscriber, user).ok());
    return subscriber;
  }

  static json::object hello_of(LiveHub& hub, uint64_t show = 1) { return parse(hub.find_show(show)->hello()); }

  ManualClock clock_;
  Registry registry_a_, registry_b_;
  LiveHub a_{clock_, registry_a_, node(1, 10)};
  LiveHub b_{clock_, registry_b_, node(2, 1)};
  MemoryLink a_out_, b_out_;
};

TEST_F(LiveRelayTest, ChatOnAReachesBWithTheSameIdAndIsInBsHello) {
  auto on_a = viewer(a_);
  auto on_b = viewer(b_);
  auto posted = a_.chat(1, "alice", "hello from A");
  ASSERT_TRUE(posted.ok());
  EXPECT_EQ(posted->id >> kChatIdCounterBits, 1u) << "node id in the high bits";
  EXPECT_LT(posted->id, uint64_t{1} << 53) << "exact in a JavaScript number";
  ASSERT_EQ(a_out_.count(), 1u);
  EXPECT_EQ(a_out_.last_show(), 1u);

  for (const auto& connection : {on_a, on_b}) {
    auto chats = connection->of_type("chat");
    ASSERT_EQ(chats.size(), 1u);
    json::object frame = parse(chats[0]);
    EXPECT_EQ(json::value_to<uint64_t>(frame.at("id")), posted->id);
    EXPECT_EQ(frame.at("user"), "alice");
    EXPECT_EQ(frame.at("text"), "hello from A");
    EXPECT_EQ(json::value_to<int64_t>(frame.at("ts")), posted->ts_ms);
  }
  auto tail = b_.find_show(1)->chat_tail();
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].id, posted->id);
  json::array hello_chat = hello_of(b_).at("chat").as_array();
  ASSERT_EQ(hello_chat.size(), 1u);
  EXPECT_EQ(json::value_to<uint64_t>(hello_chat[0].at("id")), posted->id);

  EXPECT_EQ(b_out_.count(), 0u) << "B applied it without publishing it again";
  EXPECT_EQ(b_.metrics().relay_applied.value(), 1u);
}

TEST_F(LiveRelayTest, ChatIdsOfTwoNodesNeverCollide) {
  auto from_a = a_.chat(1, "alice", "one");
  auto from_b = b_.chat(1, "bob", "two");
  ASSERT_TRUE(from_a.ok() && from_b.ok());
  EXPECT_NE(from_a->id, from_b->id);
  for (LiveHub* hub : {&a_, &b_}) {
    auto tail = hub->find_show(1)->chat_tail();
    ASSERT_EQ(tail.size(), 2u);
    EXPECT_EQ(tail[0].id, from_a->id);
    EXPECT_EQ(tail[1].id, from_b->id);
  }
}

TEST_F(LiveRelayTest, DeleteOnBRemovesAsMessageOnBoth) {
  auto on_a = viewer(a_);
  auto on_b = viewer(b_);
  auto posted = a_.chat(1, "alice", "rude words");
  ASSERT_TRUE(posted.ok());

  EXPECT_EQ(b_.delete_chat(1, "alice", posted->id).error().code, ErrorCode::kForbidden);
  EXPECT_EQ(b_out_.count(), 0u) << "a refused action is not published";

  ASSERT_TRUE(b_.delete_chat(1, "sel_a", posted->id).ok());
  EXPECT_EQ(b_out_.count(), 1u);
  for (const auto& connection : {on_a, on_b}) {
    auto deleted = connection->of_type("chat_deleted");
    ASSERT_EQ(deleted.size(), 1u);
    EXPECT_EQ(json::value_to<uint64_t>(parse(deleted[0]).at("id")), posted->id);
  }
  EXPECT_TRUE(a_.find_show(1)->chat_tail().empty());
  EXPECT_TRUE(b_.find_show(1)->chat_tail().empty());
  EXPECT_TRUE(hello_of(a_).at("chat").as_array().empty());
  EXPECT_EQ(a_out_.count(), 1u) << "only A's chat; the relayed deletion was not published again";
}

TEST_F(LiveRelayTest, DeletingAnIdThisNodeNeverIssuedIsNotFound) {
  auto posted = a_.chat(1, "alice", "hi");
  ASSERT_TRUE(posted.ok());
  EXPECT_EQ(a_.delete_chat(1, "sel_a", posted->id + 1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(a_.delete_chat(1, "sel_a", 0).error().code, ErrorCode::kNotFound);
}

TEST_F(LiveRelayTest, MuteAndBlockedWordsOnAApplyToChatOnB) {
  ASSERT_TRUE(a_.mute(1, "sel_a", "troll").ok());
  auto muted = b_.chat(1, "troll", "hello?");
  ASSERT_FALSE(muted.ok());
  EXPECT_EQ(muted.error().code, ErrorCode::kForbidden);
  EXPECT_TRUE(b_.chat(2, "troll", "other show").ok()) << "muted on show 1 only";

  ASSERT_TRUE(a_.unmute(1, "sel_a", "troll").ok());
  EXPECT_TRUE(b_.chat(1, "troll", "back").ok());

  const std::vector<std::string> words{"spam"};
  ASSERT_TRUE(a_.set_blocked_words(1, "sel_a", words).ok());
  auto blocked = b_.chat(1, "carol", "buy SPAM now");
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().code, ErrorCode::kInvalid);
  EXPECT_EQ(b_out_.published().size(), 2u) << "B published its two chats only";
}

TEST_F(LiveRelayTest, RelayedChatSkipsTheReceiversRateLimit) {
  auto on_b = viewer(b_);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a_.chat(1, "alice", "message " + std::to_string(i)).ok());
  EXPECT_EQ(on_b->of_type("chat").size(), 5u) << "B (burst 1) took all of A's (burst 10)";
  EXPECT_TRUE(b_.chat(1, "alice", "mine").ok()) << "B's own bucket for alice is untouched";
  EXPECT_FALSE(b_.chat(1, "alice", "again").ok()) << "and B still limits its own posts";
}

TEST_F(LiveRelayTest, PinOnAIsAShowcaseOnBWhereBsNewerStockWins) {
  auto on_b = viewer(b_);
  // B follows product 7 (pinned on show 2) and knows a newer level than A's.
  ASSERT_TRUE(b_.pin(2, 7, product_json(7), StockLevel{1000, StockState::kInStock, 1}).ok());
  b_.on_event(stock_event(EventType::kOrderReserved, 7, 40, 9));
  on_b->clear();

  auto seq = a_.pin(1, 7, product_json(7), StockLevel{100, StockState::kInStock, 3}, "2026-11-30T00:00:00.000Z");
  ASSERT_TRUE(seq.ok());
  auto showcases = on_b->of_type("showcase");
  ASSERT_EQ(showcases.size(), 1u);
  json::object frame = parse(showcases[0]);
  EXPECT_EQ(frame.at("product").at("id"), "prd_7");
  EXPECT_EQ(frame.at("product").at("available"), 40) << "B's own version 9 beats A's version 3";
  EXPECT_EQ(frame.at("program_date_time"), "2026-11-30T00:00:00.000Z");
  EXPECT_EQ(b_.find_show(1)->pinned_product_id(), 7u);
  EXPECT_EQ(hello_of(b_).at("product").at("id"), "prd_7");

  // B follows the product on show 1 now: its stock events reach B's viewers.
  b_.on_event(stock_event(EventType::kOrderReserved, 7, 39, 10));
  clock_.advance_us(1'000'000);
  b_.tick();
  EXPECT_FALSE(on_b->of_type("inventory").empty());
  EXPECT_EQ(b_out_.count(), 1u) << "only B's own pin of show 2";
}

TEST_F(LiveRelayTest, ConcurrentPinsSettleOnTheSameProductOnBothNodes) {
  a_out_.hold();
  b_out_.hold();
  ASSERT_TRUE(a_.pin(1, 7, product_json(7), StockLevel{10, StockState::kInStock, 1}).ok());
  ASSERT_TRUE(b_.pin(1, 8, product_json(8), StockLevel{10, StockState::kInStock, 1}).ok());
  // Each applies the other's pin; exactly one of them is older and refused.
  a_out_.connect(nullptr);
  b_out_.connect(nullptr);
  Status on_b = b_.on_relayed(a_out_.published().at(0));
  Status on_a = a_.on_relayed(b_out_.published().at(0));
  EXPECT_NE(on_a.ok(), on_b.ok());
  EXPECT_EQ(a_.find_show(1)->pinned_product_id(), b_.find_show(1)->pinned_product_id());
  // A later pin on either node orders after both (Lamport clock).
  a_out_.discard_held();
  b_out_.discard_held();
  a_out_.connect(&b_);
  b_out_.connect(&a_);
  ASSERT_TRUE(a_.pin(1, 9, product_json(9), StockLevel{10, StockState::kInStock, 1}).ok());
  EXPECT_EQ(b_.find_show(1)->pinned_product_id(), 9u);
}

TEST_F(LiveRelayTest, OpenShowUpdatesAndCreatesTheShowOnB) {
  ASSERT_TRUE(a_.open_show(1, "sel_a", show_json(1, "ended")).ok());
  EXPECT_EQ(hello_of(b_).at("show").at("status"), "ended");

  ASSERT_TRUE(a_.open_show(9, "sel_a", show_json(9)).ok());
  ASSERT_NE(b_.find_show(9), nullptr);
  EXPECT_EQ(b_.find_show(9)->seller(), "sel_a");
  EXPECT_EQ(b_out_.count(), 0u);
}

TEST_F(LiveRelayTest, ARelayedMessageIsNotPublishedAgain) {
  auto posted = a_.chat(1, "alice", "hi");
  ASSERT_TRUE(posted.ok());
  const std::string message = a_out_.published().at(0);
  // The same bytes arriving back at A (a loop) are refused: the id is A's.
  Status looped = a_.on_relayed(message);
  ASSERT_FALSE(looped.ok());
  EXPECT_EQ(looped.error().code, ErrorCode::kConflict);
  EXPECT_EQ(a_.find_show(1)->chat_tail().size(), 1u);
  EXPECT_EQ(a_out_.count(), 1u);
  EXPECT_EQ(b_out_.count(), 0u);
}

TEST_F(LiveRelayTest, MalformedMessagesChangeNothing) {
  ASSERT_TRUE(a_.chat(1, "alice", "before").ok());
  ASSERT_TRUE(a_.pin(1, 7, product_json(7), StockLevel{10, StockState::kInStock, 1}).ok());
  auto on_b = viewer(b_);
  on_b->clear();
  const uint64_t seq = b_.find_show(1)->seq();
  const std::string hello = *b_.find_show(1)->hello();
  const uint64_t b_node = b_.node_id();
  const std::string long_text(kChatTextCodePointsMax + 1, 'x');
  const std::vector<std::string> bad = {
      "",
      "not json",
      "[1,2]",
      "{}",
      R"({"v":2,"kind":"chat","show":1,"id":8589934593,"user":"u","text":"t","ts":1})",
      R"({"v":"1","kind":"chat","show":1,"id":8589934593,"user":"u","text":"t","ts":1})",
      R"({"v":1,"kind":"chat","show":0,"id":8589934593,"user":"u","text":"t","ts":1})",
      R"({"v":1,"kind":"chat","show":1,"id":8589934593,"user":"u","ts":1})",
      R"({"v":1,"kind":"chat","show":1,"id":0,"user":"u","text":"t","ts":1})",
      R"({"v":1,"kind":"chat","show":1,"id":-5,"user":"u","text":"t","ts":1})",
      R"({"v":1,"kind":"chat","show":1,"id":8589934592,"user":"u","text":"t","ts":1})",
      R"({"v":1,"kind":"chat","show":1,"id":9007199254740993,"user":"u","text":"t","ts":1})",
      R"({"v":1,"kind":"chat","show":1,"id":)" + std::to_string((b_node << kChatIdCounterBits) | 1) +
          R"(,"user":"u","text":"t","ts":1})",
      R"({"v":1,"kind":"chat","show":1,"id":8589934593,"user":"","text":"t","ts":1})",
      R"({"v":1,"kind":"chat","show":1,"id":8589934593,"user":"u","text":"   ","ts":1})",
      "{\"v\":1,\"kind\":\"chat\",\"show\":1,\"id\":8589934593,\"user\":\"u\",\"text\":\"\xff\xfe\",\"ts\":1}",
      R"({"v":1,"kind":"chat","show":1,"id":8589934593,"user":"u","text":")" + long_text + R"(","ts":1})",
      R"({"v":1,"kind":"chat","show":1,"id":8589934593,"user":"u","text":"t","ts":"soon"})",
      R"({"v":1,"kind":"chat","show":777,"id":8589934593,"user":"u","text":"t","ts":1})",
      R"({"v":1,"kind":"delete_chat","show":1,"actor":"mallory","id":8589934593})",
      R"({"v":1,"kind":"delete_chat","show":1,"actor":"sel_a"})",
      R"({"v":1,"kind":"mute","show":1,"actor":"mallory","user":"alice"})",
      R"({"v":1,"kind":"mute","show":1,"user":"alice"})",
      R"({"v":1,"kind":"blocked_words","show":1,"actor":"sel_a","words":"spam"})",
      R"({"v":1,"kind":"blocked_words","show":1,"actor":"sel_a","words":[1]})",
      R"({"v":1,"kind":"blocked_words","show":1,"actor":"sel_a","words":["two words"]})",
      R"({"v":1,"kind":"pin","show":1,"product_id":8,"product":{},"available":5,"state":"bogus","version":1,"generation":99999999})",
      R"({"v":1,"kind":"pin","show":1,"product_id":8,"product":[],"available":5,"state":"low","version":1,"generation":99999999})",
      R"({"v":1,"kind":"pin","show":1,"product_id":8,"product":{},"available":-1,"state":"low","version":1,"generation":99999999})",
      R"({"v":1,"kind":"pin","show":1,"product_id":0,"product":{},"available":5,"state":"low","version":1,"generation":99999999})",
      R"({"v":1,"kind":"pin","show":1,"product_id":8,"product":{},"available":5,"state":"low","version":1,"generation":0})",
      R"({"v":1,"kind":"pin","show":1,"product_id":8,"product":{},"available":5,"state":"low","version":1,"generation":1})",
      R"({"v":1,"kind":"pin","show":1,"product_id":8,"product":{},"available":5,"state":"low","version":1,"generation":99999999,"program_date_time":5})",
      R"({"v":1,"kind":"show","show":1,"json":{"status":"ended"}})",
      R"({"v":1,"kind":"show","show":1,"seller":"sel_b","json":{"status":"ended"}})",
      R"({"v":1,"kind":"show","show":1,"seller":"sel_a","json":"ended"})",
      R"({"v":1,"kind":"explode","show":1})",
      std::string(kRelayMessageBytesMax + 1, ' '),
      std::string(100'000, '['),
  };
  for (const std::string& bytes : bad) {
    Status applied = b_.on_relayed(bytes);
    EXPECT_FALSE(applied.ok()) << bytes.substr(0, 200);
  }
  EXPECT_EQ(b_.find_show(1)->seq(), seq);
  EXPECT_EQ(*b_.find_show(1)->hello(), hello) << "chat tail, pin and show unchanged";
  EXPECT_EQ(on_b->size(), 0u) << "nothing sent to B's viewers";
  EXPECT_TRUE(b_.chat(1, "alice", "not muted").ok());
  EXPECT_TRUE(b_.chat(1, "bob", "spam is not blocked").ok());
  EXPECT_EQ(b_.find_show(777), nullptr);
  EXPECT_EQ(b_out_.count(), 2u) << "B published its own two chats, nothing of the refused";
  EXPECT_EQ(b_.metrics().relay_rejected.value(), bad.size());
}

TEST(LiveHubNodeIdTest, DefaultNodeIdIsRandomAndInRange) {
  ManualClock clock;
  Registry registry;
  LiveHub first(clock, registry);
  LiveHub second(clock, registry);
  EXPECT_GE(first.node_id(), 1u);
  EXPECT_LE(first.node_id(), kNodeIdMax);
  EXPECT_GE(second.node_id(), 1u);
  // Equal with odds of 1 in a million; a fixed id is kept.
  HubOptions fixed;
  fixed.node_id = 77;
  LiveHub third(clock, registry, fixed);
  EXPECT_EQ(third.node_id(), 77u);
}

// Polls `done` until true or the bound passes.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds bound = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST(LiveRelayOverNatsTest, ChatAndDeletionCrossTwoHubsThroughTheServer) {
  std::string why;
  ::hawker::testing::NatsServer* server = ::hawker::testing::NatsServer::shared(&why);
  ASSERT_NE(server, nullptr) << why;
  bus::NatsRelayOptions options;
  options.url = server->url();
  options.name_prefix = ::hawker::testing::unique_prefix("live_relay");
  ManualClock clock;
  Registry registry_a, registry_b;
  LiveHub a(clock, registry_a, node(1, 10));
  LiveHub b(clock, registry_b, node(2, 10));
  ASSERT_TRUE(a.open_show(1, "sel_a", show_json(1)).ok());
  ASSERT_TRUE(b.open_show(1, "sel_a", show_json(1)).ok());
  // Declared after the hubs: destroyed first (the hubs outlive their relays).
  auto relay_a = app::NatsLiveRelay::open(options, a);
  ASSERT_TRUE(relay_a.ok()) << relay_a.error().message;
  auto relay_b = app::NatsLiveRelay::open(options, b);
  ASSERT_TRUE(relay_b.ok()) << relay_b.error().message;
  auto on_b = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(b.subscribe(1, on_b, "").ok());

  auto posted = a.chat(1, "alice", "over nats");
  ASSERT_TRUE(posted.ok());
  ASSERT_TRUE(eventually([&] { return on_b->of_type("chat").size() == 1; }));
  EXPECT_EQ(json::value_to<uint64_t>(parse(on_b->of_type("chat")[0]).at("id")), posted->id);

  ASSERT_TRUE(b.delete_chat(1, "sel_a", posted->id).ok());
  EXPECT_TRUE(eventually([&] { return a.find_show(1)->chat_tail().empty(); }));
  EXPECT_EQ(a.metrics().relay_applied.value(), 1u);
  EXPECT_EQ(b.metrics().relay_applied.value(), 1u) << "no echo, no loop";
}

}  // namespace
}  // namespace hawker::live
