// Proves the live layer is safe and ordered under concurrent use (run it
// under ThreadSanitizer: build with -DHAWKER_TSAN=ON):
//  - while several threads publish and chat on one show and others subscribe,
//    resume-subscribe and unsubscribe, every subscriber still receives a
//    contiguous run of broadcasts (each seq once, in order, none skipped from
//    its first frame to its last), and a given seq is the same pointer for
//    everyone: ordered delivery without a lock held while delivering;
//  - while one thread feeds the hub events, another ticks its timers, and
//    others churn viewer, buyer and seller connections and chat, a steady
//    viewer ends on the last stock value, a steady buyer connection gets
//    exactly its own order frames, and a steady seller connection every notice.
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/ids.h"
#include "core/metrics.h"
#include "live/channel.h"
#include "live/hub.h"
#include "live/test_subscribers.h"

namespace hawker::live {
namespace {

namespace json = boost::json;
using testing::parse;
using testing::RecordingSubscriber;
using testing::seq_of;
using testing::type_of;

bool is_broadcast(const std::string& type) { return type != "hello" && type != "order"; }

// Broadcast seqs seen by one subscriber go up by exactly one each time; frames
// for it alone (hello, order) repeat the seq of the broadcast before them.
void expect_contiguous(const std::vector<Frame>& frames, std::map<uint64_t, const std::string*>& by_seq,
                       const std::string& who) {
  bool started = false;
  uint64_t last = 0;
  for (const Frame& frame : frames) {
    const uint64_t seq = seq_of(frame);
    const std::string type = type_of(frame);
    if (!is_broadcast(type)) {
      if (started) {
        ASSERT_EQ(seq, last) << who << ": a " << type << " frame between broadcasts";
      }
      started = true;
      last = seq;
      continue;
    }
    if (started) {
      ASSERT_EQ(seq, last + 1) << who << ": a broadcast was skipped or reordered";
    }
    started = true;
    last = seq;
    auto [known, inserted] = by_seq.try_emplace(seq, frame.get());
    ASSERT_EQ(known->second, frame.get()) << who << ": seq " << seq << " was serialised twice";
  }
}

TEST(LiveConcurrencyTest, ConcurrentPublishAndSubscribeKeepEveryRunContiguous) {
  ManualClock clock;
  ChannelOptions options;
  options.chat.burst = 1'000'000;
  options.chat.refill_interval_us = 1;
  ShowChannel channel(1, "sel_a", json::object{{"id", "shw_1"}}, clock, options);
  auto steady = std::make_shared<RecordingSubscriber>(/*yield_in_deliver=*/true);
  ASSERT_TRUE(channel.subscribe(steady).ok());

  constexpr int kPublishers = 3;
  constexpr int kPublishes = 300;
  constexpr int kChurns = 80;
  std::vector<std::thread> threads;
  std::vector<std::vector<std::shared_ptr<RecordingSubscriber>>> churned(2);
  for (int p = 0; p < kPublishers; ++p) {
    threads.emplace_back([&channel, p] {
      for (int i = 0; i < kPublishes; ++i) channel.publish("announcement", json::object{{"from", p}, {"i", i}});
    });
  }
  threads.emplace_back([&channel] {
    for (int i = 0; i < kPublishes; ++i) (void)channel.post_chat("user" + std::to_string(i % 7), "hello");
  });
  for (int c = 0; c < 2; ++c) {
    threads.emplace_back([&channel, &churned, c] {
      for (int i = 0; i < kChurns; ++i) {
        auto subscriber = std::make_shared<RecordingSubscriber>(/*yield_in_deliver=*/true);
        std::optional<uint64_t> since;
        if (i % 2 == 1) {
          const uint64_t now = channel.seq();
          since = now > 5 ? now - 5 : 0;
        }
        ASSERT_TRUE(channel.subscribe(subscriber, since).ok());
        std::this_thread::yield();
        if (i % 3 == 0) (void)channel.publish_viewers();
        channel.unsubscribe(subscriber.get());
        churned[c].push_back(std::move(subscriber));
      }
    });
  }
  for (auto& thread : threads) thread.join();

  const uint64_t total = channel.seq();
  EXPECT_GE(total, uint64_t{kPublishers * kPublishes + kPublishes});
  std::map<uint64_t, const std::string*> by_seq;
  const auto frames = steady->frames();
  ASSERT_EQ(frames.size(), total + 1) << "hello + every broadcast, each once";
  expect_contiguous(frames, by_seq, "steady");
  EXPECT_EQ(seq_of(frames.back()), total);
  for (const auto& list : churned)
    for (const auto& subscriber : list) expect_contiguous(subscriber->frames(), by_seq, "churned");
}

market::Event reserved(uint64_t product, int64_t available, uint64_t version, std::string buyer, uint64_t order) {
  market::Event event;
  event.type = market::EventType::kOrderConfirmed;
  event.product_id = product;
  event.seller = "sel_a";
  event.order_id = order;
  event.buyer = std::move(buyer);
  event.quantity = 1;
  event.inventory.product_id = product;
  event.inventory.available = available;
  event.inventory.low_threshold = 10;
  event.inventory.version = version;
  return event;
}

TEST(LiveConcurrencyTest, HubUnderConcurrentEventsTicksAndConnections) {
  ManualClock clock;
  Registry registry;
  HubOptions options;
  options.channel.chat.burst = 1'000'000;
  options.channel.chat.refill_interval_us = 1;
  LiveHub hub(clock, registry, options);
  for (uint64_t show : {1, 2}) {
    ASSERT_TRUE(hub.open_show(show, "sel_a", json::object{{"id", format_show_id(show)}}).ok());
    ASSERT_TRUE(hub.pin(show, 7, json::object{{"id", "prd_7"}}, StockLevel{5000, market::StockState::kInStock, 1}).ok());
  }
  auto steady_viewer = std::make_shared<RecordingSubscriber>(/*yield_in_deliver=*/true);
  auto steady_buyer = std::make_shared<RecordingSubscriber>(/*yield_in_deliver=*/true);
  auto steady_seller = std::make_shared<RecordingSubscriber>();
  ASSERT_TRUE(hub.subscribe(1, steady_viewer, "").ok());
  ASSERT_TRUE(hub.subscribe(2, steady_buyer, "buyer0").ok());
  hub.subscribe_seller("sel_a", steady_seller);

  constexpr int kEvents = 1500;
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    for (int i = 1; i <= kEvents; ++i) hub.on_event(reserved(7, 5000 - i, 1 + i, "buyer" + std::to_string(i % 4), i));
    done = true;
  });
  threads.emplace_back([&] {
    while (!done) {
      clock.advance_us(1000);
      hub.tick();
      (void)hub.next_due_us();
    }
  });
  for (int c = 0; c < 2; ++c) {
    threads.emplace_back([&, c] {
      for (int i = 0; !done && i < 5000; ++i) {
        auto connection = std::make_shared<RecordingSubscriber>();
        const uint64_t show = 1 + (i + c) % 2;
        ASSERT_TRUE(hub.subscribe(show, connection, "buyer" + std::to_string(1 + i % 3)).ok());
        std::this_thread::yield();
        hub.unsubscribe(show, connection.get());
        std::vector<Frame> frames = connection->frames();
        std::map<uint64_t, const std::string*> own;
        expect_contiguous(frames, own, "churned viewer");
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; !done && i < 5000; ++i) {
      (void)hub.chat(1 + i % 2, "chatter" + std::to_string(i % 5), "so good");
      auto seller = std::make_shared<RecordingSubscriber>();
      hub.subscribe_seller("sel_a", seller);
      hub.unsubscribe_seller("sel_a", seller.get());
    }
  });
  for (auto& thread : threads) thread.join();

  clock.advance_us(kViewersIntervalUs);
  hub.tick();
  Frame last_inventory;
  for (const Frame& frame : steady_viewer->frames())
    if (type_of(frame) == "inventory") last_inventory = frame;
  ASSERT_NE(last_inventory, nullptr);
  EXPECT_EQ(parse(last_inventory).at("available"), 5000 - kEvents) << "the latest value always arrives";

  std::map<uint64_t, const std::string*> by_seq;
  expect_contiguous(steady_viewer->frames(), by_seq, "steady viewer");
  std::map<uint64_t, const std::string*> by_seq_2;
  expect_contiguous(steady_buyer->frames(), by_seq_2, "steady buyer");
  EXPECT_EQ(steady_buyer->of_type("order").size(), static_cast<size_t>(kEvents / 4)) << "exactly buyer0's orders";
  EXPECT_EQ(steady_seller->frames().size(), static_cast<size_t>(kEvents)) << "a sale notice per confirmed order";
}

}  // namespace
}  // namespace hawker::live
