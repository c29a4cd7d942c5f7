// Proves ShowChannel (live/channel.h) fans out correctly:
//  - one serialisation per broadcast: every subscriber gets the identical
//    pointer, the same one the history keeps;
//  - every frame is a JSON object opening with "type" and "seq"; seq goes up
//    by exactly one per broadcast, across every kind of broadcast; frames for
//    one subscriber (hello, replay, direct) take no seq of their own;
//  - hello carries the show, the pinned product with its live stock, the last
//    50 chat messages (deleted ones gone) and the viewer count;
//  - resume: replay_since returns exactly the missed frames (pointer-equal to
//    what others got), nothing when up to date, nullopt when too old (frame or
//    byte bound) or from the future; a reconnect with since_seq gets the missed
//    frames instead of a hello, a too-old one a fresh hello;
//  - a subscriber gets nothing after unsubscribing; a destroyed one is skipped
//    and forgotten;
//  - a full SendQueue refuses, its connection is closed (1008) and counted and
//    unsubscribes from inside deliver, and every other subscriber keeps
//    receiving every frame;
//  - inventory is broadcast only for the pinned product, never from an older
//    version, never twice the same; viewers only when the count changed; an
//    older pin generation loses;
//  - frames for some subscribers only reach those subscribed at that moment;
//  - a subscriber may publish from inside deliver without deadlock or reordering.
#include "live/channel.h"

#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/metrics.h"
#include "live/test_subscribers.h"

namespace hawker::live {
namespace {

namespace json = boost::json;
using testing::parse;
using testing::QueuedSubscriber;
using testing::RecordingSubscriber;
using testing::seq_of;
using testing::type_of;

json::object show_json() {
  json::object show;
  show["id"] = "shw_1";
  show["seller"] = "sel_a";
  show["title"] = "Spring drop";
  show["status"] = "live";
  return show;
}

json::object product_json(uint64_t id) {
  json::object product;
  product["id"] = "prd_" + std::to_string(id);
  product["seller"] = "sel_a";
  product["title"] = "Linen jacket";
  product["price_cents"] = 4900;
  product["available"] = -1;  // overwritten by the channel
  return product;
}

json::object note(int n) {
  json::object body;
  body["n"] = n;
  return body;
}

ChannelOptions roomy_chat() {
  ChannelOptions options;
  options.chat.burst = 1000;
  return options;
}

class ShowChannelTest : public ::testing::Test {
 protected:
  std::shared_ptr<RecordingSubscriber> add_subscriber(std::optional<uint64_t> since = std::nullopt) {
    auto subscriber = std::make_shared<RecordingSubscriber>();
    EXPECT_TRUE(channel_.subscribe(subscriber, since).ok());
    return subscriber;
  }

  ManualClock clock_;
  ShowChannel channel_{1, "sel_a", show_json(), clock_, roomy_chat()};
};

TEST_F(ShowChannelTest, OneSerialisationPerBroadcastSharedByEverySubscriber) {
  std::vector<std::shared_ptr<RecordingSubscriber>> subscribers;
  for (int i = 0; i < 100; ++i) subscribers.push_back(add_subscriber());
  const uint64_t seq = channel_.publish("announcement", note(7));

  auto history = channel_.replay_since(seq - 1);
  ASSERT_TRUE(history && history->size() == 1);
  const Frame& kept = history->front();
  for (const auto& subscriber : subscribers) {
    ASSERT_EQ(subscriber->size(), 2u);  // hello, then the broadcast
    EXPECT_EQ(subscriber->frames()[1].get(), kept.get()) << "the same bytes, not a copy";
  }
  EXPECT_EQ(kept.use_count(), 1 + 100 + 1) << "history + subscribers + this copy";
}

TEST_F(ShowChannelTest, FramesAreJsonOpeningWithTypeAndSeq) {
  auto subscriber = add_subscriber();
  channel_.publish("announcement", note(1));
  const Frame frame = subscriber->last();
  EXPECT_EQ(frame->rfind(R"({"type":"announcement","seq":1,)", 0), 0u) << *frame;
  json::object object = parse(frame);
  EXPECT_EQ(object.at("n"), 1);
}

TEST_F(ShowChannelTest, SeqGoesUpByOnePerBroadcastOfEveryKind) {
  auto subscriber = add_subscriber();
  std::vector<uint64_t> seqs;
  seqs.push_back(channel_.publish("announcement", note(1)));
  seqs.push_back(*channel_.pin(7, product_json(7), StockLevel{100, market::StockState::kInStock, 1}));
  seqs.push_back(*channel_.apply_inventory(7, StockLevel{99, market::StockState::kInStock, 2}));
  seqs.push_back(*channel_.publish_viewers());
  auto message = channel_.post_chat("alice", "hello");
  ASSERT_TRUE(message.ok());
  seqs.push_back(channel_.seq());
  seqs.push_back(*channel_.delete_chat("sel_a", message->id));
  seqs.push_back(channel_.publish("announcement", note(2)));

  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1);
  const auto frames = subscriber->frames();
  ASSERT_EQ(frames.size(), 1 + seqs.size());
  EXPECT_EQ(type_of(frames[0]), "hello");
  EXPECT_EQ(seq_of(frames[0]), 0u) << "hello sits before broadcast 1";
  const std::vector<std::string> types = {"announcement", "showcase", "inventory", "viewers",
                                          "chat",         "chat_deleted", "announcement"};
  for (size_t i = 1; i < frames.size(); ++i) {
    EXPECT_EQ(seq_of(frames[i]), i);
    EXPECT_EQ(type_of(frames[i]), types[i - 1]);
  }
}

TEST_F(ShowChannelTest, HelloCarriesShowProductChatAndViewers) {
  ASSERT_TRUE(channel_.pin(7, product_json(7), StockLevel{12, market::StockState::kLow, 3}));
  ASSERT_TRUE(channel_.post_chat("alice", "first").ok());
  ASSERT_TRUE(channel_.post_chat("bob", "second").ok());
  ASSERT_TRUE(channel_.apply_inventory(7, StockLevel{11, market::StockState::kLow, 4}));
  auto other = add_subscriber();
  auto subscriber = add_subscriber();

  const auto frames = subscriber->frames();
  ASSERT_EQ(frames.size(), 1u);
  json::object hello = parse(frames[0]);
  EXPECT_EQ(hello.at("type"), "hello");
  EXPECT_EQ(hello.at("seq"), channel_.seq());
  EXPECT_EQ(hello.at("show").at("title"), "Spring drop");
  EXPECT_EQ(hello.at("product").at("id"), "prd_7");
  EXPECT_EQ(hello.at("product").at("available"), 11) << "the live count, not the pinned one";
  EXPECT_EQ(hello.at("product").at("state"), "low");
  const json::array& chat = hello.at("chat").as_array();
  ASSERT_EQ(chat.size(), 2u);
  EXPECT_EQ(chat[0].at("user"), "alice");
  EXPECT_EQ(chat[0].at("text"), "first");
  EXPECT_EQ(chat[1].at("id"), 2);
  EXPECT_EQ(hello.at("viewers"), 2);
}

TEST_F(ShowChannelTest, HelloWithoutPinnedProductSaysNull) {
  auto subscriber = add_subscriber();
  EXPECT_TRUE(parse(subscriber->last()).at("product").is_null());
}

TEST_F(ShowChannelTest, HelloKeepsTheLast50ChatMessagesWithoutDeletedOnes) {
  for (int i = 1; i <= 60; ++i) ASSERT_TRUE(channel_.post_chat("alice", "message " + std::to_string(i)).ok());
  ASSERT_TRUE(channel_.delete_chat("sel_a", 60).ok());
  ASSERT_TRUE(channel_.delete_chat("sel_a", 30).ok());
  auto tail = channel_.chat_tail();
  ASSERT_EQ(tail.size(), 48u);
  EXPECT_EQ(tail.front().id, 11u);
  EXPECT_EQ(tail.back().id, 59u);
  for (const ChatMessage& message : tail) EXPECT_NE(message.id, 30u);
  auto subscriber = add_subscriber();
  EXPECT_EQ(parse(subscriber->last()).at("chat").as_array().size(), 48u);
}

TEST_F(ShowChannelTest, ChatAndChatDeletedAreBroadcast) {
  auto subscriber = add_subscriber();
  auto message = channel_.post_chat("alice", "hi all");
  ASSERT_TRUE(message.ok());
  json::object chat = parse(subscriber->last());
  EXPECT_EQ(chat.at("type"), "chat");
  EXPECT_EQ(chat.at("id"), message->id);
  EXPECT_EQ(chat.at("user"), "alice");
  EXPECT_EQ(chat.at("text"), "hi all");
  EXPECT_EQ(chat.at("ts"), clock_.now_ms());

  EXPECT_EQ(channel_.delete_chat("alice", message->id).error().code, ErrorCode::kForbidden);
  ASSERT_TRUE(channel_.delete_chat("sel_a", message->id).ok());
  json::object deleted = parse(subscriber->last());
  EXPECT_EQ(deleted.at("type"), "chat_deleted");
  EXPECT_EQ(deleted.at("id"), message->id);

  const size_t before = subscriber->size();
  EXPECT_EQ(channel_.post_chat("", "guest").error().code, ErrorCode::kUnauthorized);
  ASSERT_TRUE(channel_.mute("sel_a", "alice").ok());
  EXPECT_EQ(channel_.post_chat("alice", "still here?").error().code, ErrorCode::kForbidden);
  EXPECT_EQ(subscriber->size(), before) << "refused messages are not broadcast";
}

TEST_F(ShowChannelTest, ReplaySinceReturnsExactlyTheMissedFrames) {
  auto subscriber = add_subscriber();
  for (int i = 1; i <= 10; ++i) channel_.publish("announcement", note(i));
  const auto delivered = subscriber->frames();  // hello + 1..10

  auto missed = channel_.replay_since(4);
  ASSERT_TRUE(missed.has_value());
  ASSERT_EQ(missed->size(), 6u);
  for (size_t i = 0; i < missed->size(); ++i) {
    EXPECT_EQ(seq_of((*missed)[i]), 5 + i);
    EXPECT_EQ((*missed)[i].get(), delivered[5 + i].get()) << "replay resends the same bytes";
  }
  auto up_to_date = channel_.replay_since(10);
  ASSERT_TRUE(up_to_date.has_value());
  EXPECT_TRUE(up_to_date->empty());
  EXPECT_EQ(channel_.replay_since(0)->size(), 10u);
  EXPECT_FALSE(channel_.replay_since(11).has_value()) << "a seq from the future: the server restarted";
}

TEST(ShowChannelHistoryTest, TooOldForTheHistoryIsNullopt) {
  ManualClock clock;
  ChannelOptions options;
  options.history_max = 8;
  ShowChannel channel(1, "sel_a", show_json(), clock, options);
  for (int i = 1; i <= 20; ++i) channel.publish("announcement", note(i));
  EXPECT_EQ(channel.history_size(), 8u);
  auto oldest = channel.replay_since(12);  // 13..20: all still kept
  ASSERT_TRUE(oldest.has_value());
  ASSERT_EQ(oldest->size(), 8u);
  EXPECT_EQ(seq_of(oldest->front()), 13u);
  EXPECT_FALSE(channel.replay_since(11).has_value()) << "frame 12 is gone";
  EXPECT_FALSE(channel.replay_since(0).has_value());
}

TEST(ShowChannelHistoryTest, TheByteBoundAlsoTrimsButKeepsTheNewestFrame) {
  ManualClock clock;
  ChannelOptions options;
  options.history_bytes_max = 200;
  ShowChannel channel(1, "sel_a", show_json(), clock, options);
  json::object big;
  big["text"] = std::string(150, 'x');
  for (int i = 1; i <= 5; ++i) channel.publish("announcement", big);
  EXPECT_EQ(channel.history_size(), 1u);
  EXPECT_EQ(channel.replay_since(4)->size(), 1u);
  EXPECT_FALSE(channel.replay_since(3).has_value());
}

TEST_F(ShowChannelTest, ReconnectWithSinceSeqGetsTheMissedFramesInsteadOfAHello) {
  auto steady = add_subscriber();
  auto flaky = add_subscriber();
  for (int i = 1; i <= 5; ++i) channel_.publish("announcement", note(i));
  channel_.unsubscribe(flaky.get());  // the phone lost its network at seq 5
  for (int i = 6; i <= 9; ++i) channel_.publish("announcement", note(i));

  auto back = add_subscriber(5);
  channel_.publish("announcement", note(10));
  const auto frames = back->frames();
  ASSERT_EQ(frames.size(), 5u) << "6..9 replayed, then 10 live; no hello";
  const auto steady_frames = steady->frames();  // hello + 1..10
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(seq_of(frames[i]), 6 + i);
    EXPECT_EQ(frames[i].get(), steady_frames[6 + i].get());
  }
}

TEST(ShowChannelHistoryTest, ReconnectTooLateGetsAFreshHello) {
  ManualClock clock;
  ChannelOptions options;
  options.history_max = 4;
  ShowChannel channel(1, "sel_a", show_json(), clock, options);
  for (int i = 1; i <= 10; ++i) channel.publish("announcement", note(i));
  auto subscriber = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(channel.subscribe(subscriber, 2).ok());
  ASSERT_EQ(subscriber->size(), 1u);
  EXPECT_EQ(type_of(subscriber->last()), "hello");
  EXPECT_EQ(seq_of(subscriber->last()), 10u);
}

TEST_F(ShowChannelTest, ResumeOnALiveConnection) {
  auto subscriber = add_subscriber();
  for (int i = 1; i <= 6; ++i) channel_.publish("announcement", note(i));
  subscriber->clear();
  EXPECT_EQ(channel_.resume(subscriber, 3), ShowChannel::Resume::kReplayed);
  const auto frames = subscriber->frames();
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(seq_of(frames[0]), 4u);
  EXPECT_EQ(seq_of(frames[2]), 6u);

  subscriber->clear();
  EXPECT_EQ(channel_.resume(subscriber, 99), ShowChannel::Resume::kHello);
  EXPECT_EQ(type_of(subscriber->last()), "hello");

  auto stranger = std::make_shared<RecordingSubscriber>();
  EXPECT_EQ(channel_.resume(stranger, 0), ShowChannel::Resume::kNotSubscribed);
  EXPECT_EQ(stranger->size(), 0u);
}

TEST_F(ShowChannelTest, UnsubscribedAndDestroyedSubscribersReceiveNothing) {
  auto stays = add_subscriber();
  auto leaves = add_subscriber();
  auto vanishes = add_subscriber();
  EXPECT_EQ(channel_.viewer_count(), 3u);
  EXPECT_EQ(channel_.unsubscribe(leaves.get()), 2u);
  std::weak_ptr<RecordingSubscriber> gone = vanishes;
  vanishes.reset();  // destroyed without unsubscribing
  ASSERT_TRUE(gone.expired());
  channel_.publish("announcement", note(1));
  EXPECT_EQ(stays->size(), 2u);
  EXPECT_EQ(leaves->size(), 1u) << "only its hello";
  EXPECT_EQ(channel_.viewer_count(), 1u) << "the destroyed one is forgotten";
}

TEST_F(ShowChannelTest, SubscribingTwiceSendsAnotherHelloButCountsOnce) {
  auto subscriber = add_subscriber();
  ASSERT_TRUE(channel_.subscribe(subscriber).ok());
  channel_.publish("announcement", note(1));
  EXPECT_EQ(channel_.viewer_count(), 1u);
  EXPECT_EQ(subscriber->size(), 3u);
}

TEST(ShowChannelLimitTest, AFullShowRefusesNewViewers) {
  ManualClock clock;
  ChannelOptions options;
  options.subscribers_max = 2;
  ShowChannel channel(1, "sel_a", show_json(), clock, options);
  auto a = std::make_shared<RecordingSubscriber>();
  auto b = std::make_shared<RecordingSubscriber>();
  auto c = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(channel.subscribe(a).ok());
  ASSERT_TRUE(channel.subscribe(b).ok());
  auto refused = channel.subscribe(c);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kOverloaded);
  EXPECT_EQ(c->size(), 0u);
  EXPECT_TRUE(channel.subscribe(a).ok()) << "one already in may still re-subscribe";
}

TEST_F(ShowChannelTest, AFullSendQueueClosesThatConnectionAndTheOthersKeepReceiving) {
  Registry registry;
  Counter& closed = registry.counter("closed_total", "test");
  std::vector<std::shared_ptr<QueuedSubscriber>> fast;
  for (int i = 0; i < 10; ++i) {
    fast.push_back(std::make_shared<QueuedSubscriber>(SendQueueLimits{}, closed, true));
    ASSERT_TRUE(channel_.subscribe(fast.back()).ok());
  }
  auto slow = std::make_shared<QueuedSubscriber>(SendQueueLimits{4, 1 << 20}, closed, false);
  slow->on_close([this](QueuedSubscriber* self) { channel_.unsubscribe(self); });  // from inside deliver
  ASSERT_TRUE(channel_.subscribe(slow).ok());
  EXPECT_EQ(channel_.viewer_count(), 11u);

  for (int i = 1; i <= 20; ++i) channel_.publish("announcement", note(i));

  EXPECT_TRUE(slow->closed());
  EXPECT_EQ(slow->close_code(), 1008);
  EXPECT_EQ(closed.value(), 1u);
  EXPECT_EQ(slow->queued(), 0u) << "a closed connection holds no frames";
  EXPECT_EQ(channel_.viewer_count(), 10u);
  for (const auto& subscriber : fast) {
    const auto written = subscriber->written();
    ASSERT_EQ(written.size(), 21u) << "hello + every broadcast";
    for (size_t i = 1; i < written.size(); ++i) EXPECT_EQ(seq_of(written[i]), i);
  }
}

TEST_F(ShowChannelTest, InventoryOnlyForThePinnedProductNewerAndChanged) {
  auto subscriber = add_subscriber();
  using market::StockState;
  EXPECT_FALSE(channel_.apply_inventory(7, StockLevel{5, StockState::kLow, 1})) << "nothing pinned";
  ASSERT_TRUE(channel_.pin(7, product_json(7), StockLevel{50, StockState::kInStock, 10}));
  EXPECT_FALSE(channel_.apply_inventory(8, StockLevel{5, StockState::kLow, 11})) << "another product";
  EXPECT_FALSE(channel_.apply_inventory(7, StockLevel{40, StockState::kInStock, 9})) << "older version";
  EXPECT_FALSE(channel_.apply_inventory(7, StockLevel{50, StockState::kInStock, 11})) << "nothing new to show";
  const int64_t before_us = SystemClock::instance().now_us();
  auto seq = channel_.apply_inventory(7, StockLevel{0, StockState::kSoldOut, 12});
  const int64_t after_us = SystemClock::instance().now_us();
  ASSERT_TRUE(seq);
  json::object frame = parse(subscriber->last());
  EXPECT_EQ(frame.at("type"), "inventory");
  EXPECT_EQ(frame.at("seq"), *seq);
  EXPECT_EQ(frame.at("product_id"), "prd_7");
  EXPECT_EQ(frame.at("available"), 0);
  EXPECT_EQ(frame.at("state"), "sold_out");
  EXPECT_GE(frame.at("ts_us").as_int64(), before_us) << "the server's wall clock at the broadcast";
  EXPECT_LE(frame.at("ts_us").as_int64(), after_us);
  EXPECT_EQ(frame.size(), 6u) << "type, seq, product_id, available, state, ts_us";
}

TEST_F(ShowChannelTest, ShowcaseCarriesTheProductWithItsLevel) {
  auto subscriber = add_subscriber();
  ASSERT_TRUE(channel_.pin(7, product_json(7), StockLevel{3, market::StockState::kLow, 1}));
  json::object frame = parse(subscriber->last());
  EXPECT_EQ(frame.at("type"), "showcase");
  EXPECT_EQ(frame.at("product").at("id"), "prd_7");
  EXPECT_EQ(frame.at("product").at("available"), 3);
  EXPECT_EQ(frame.at("product").at("state"), "low");
  EXPECT_EQ(channel_.pinned_product_id(), 7u);
}

TEST_F(ShowChannelTest, AnOlderPinGenerationLoses) {
  ASSERT_TRUE(channel_.pin(8, product_json(8), StockLevel{}, 5));
  EXPECT_FALSE(channel_.pin(7, product_json(7), StockLevel{}, 4));
  EXPECT_EQ(channel_.pinned_product_id(), 8u);
  EXPECT_TRUE(channel_.pin(7, product_json(7), StockLevel{}, 6));
  EXPECT_EQ(channel_.pinned_product_id(), 7u);
}

TEST_F(ShowChannelTest, ViewersOnlyWhenTheCountChanged) {
  auto a = add_subscriber();
  auto seq = channel_.publish_viewers();
  ASSERT_TRUE(seq);
  EXPECT_EQ(parse(a->last()).at("count"), 1);
  EXPECT_FALSE(channel_.publish_viewers());
  auto b = add_subscriber();
  ASSERT_TRUE(channel_.publish_viewers());
  EXPECT_EQ(parse(a->last()).at("count"), 2);
}

TEST_F(ShowChannelTest, DirectFramesReachOnlyTheirTargetsAndTakeNoSeq) {
  auto buyer = add_subscriber();
  auto other = add_subscriber();
  channel_.publish("announcement", note(1));
  json::object body;
  body["order_id"] = "ord_1";
  channel_.send_direct(std::make_shared<const Targets>(Targets{buyer}), "order", body);
  EXPECT_EQ(channel_.seq(), 1u);
  json::object frame = parse(buyer->last());
  EXPECT_EQ(frame.at("type"), "order");
  EXPECT_EQ(frame.at("seq"), 1) << "between broadcast 1 and 2";
  EXPECT_EQ(type_of(other->last()), "announcement");
  EXPECT_EQ(channel_.replay_since(0)->size(), 1u) << "not in the history";
  EXPECT_EQ(channel_.publish("announcement", note(2)), 2u);
}

TEST_F(ShowChannelTest, DirectFramesSkipTargetsThatAreNotSubscribed) {
  auto buyer = add_subscriber();
  auto left = add_subscriber();
  auto never = std::make_shared<RecordingSubscriber>();
  channel_.unsubscribe(left.get());
  const size_t left_before = left->size();
  channel_.send_direct(std::make_shared<const Targets>(Targets{buyer, left, never}), "order", json::object{});
  EXPECT_EQ(type_of(buyer->last()), "order");
  EXPECT_EQ(left->size(), left_before) << "nothing after its unsubscribe";
  EXPECT_EQ(never->size(), 0u) << "nothing before its hello";
}

// A subscriber that publishes from inside deliver: the channel must neither
// deadlock nor reorder (the outbox hands the new frame to the current drainer).
class EchoSubscriber : public RecordingSubscriber {
 public:
  explicit EchoSubscriber(ShowChannel& channel) : channel_(channel) {}
  void deliver(Frame frame, uint64_t /*replace_key*/) override {
    const bool echo = type_of(frame) == "announcement";
    RecordingSubscriber::deliver(std::move(frame), 0);
    if (echo && echoes_++ < 3) channel_.publish("echo", json::object{});
  }

 private:
  ShowChannel& channel_;
  int echoes_ = 0;
};

TEST_F(ShowChannelTest, ASubscriberMayPublishFromDeliver) {
  auto echo = std::make_shared<EchoSubscriber>(channel_);
  ASSERT_TRUE(channel_.subscribe(echo).ok());
  auto watcher = add_subscriber();
  channel_.publish("announcement", note(1));
  EXPECT_EQ(channel_.seq(), 2u);
  for (const auto& subscriber : {std::static_pointer_cast<RecordingSubscriber>(echo), watcher}) {
    const auto frames = subscriber->frames();
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(type_of(frames[1]), "announcement");
    EXPECT_EQ(type_of(frames[2]), "echo");
  }
}

}  // namespace
}  // namespace hawker::live
