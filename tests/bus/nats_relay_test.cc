// Proves the NATS core relay (bus/nats_relay.h) against a real nats-server:
// two relay objects on one prefix each receive every message the other
// publishes, for several shows, in the order it was published per show, with
// the bytes intact, on the subject `<prefix>.live.<show_id>`, and never their
// own; a relay on another prefix hears nothing of them; bad options and an
// unreachable server are clear errors within the timeouts; destroying a relay
// while messages arrive is safe; publishing while disconnected drops (counted)
// rather than blocks. Every wait is bounded.
#include "bus/nats_relay.h"

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/nats_test.h"

namespace hawker::bus {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kWaitBound{10'000};
constexpr milliseconds kQuietWait{300};  // how long "nothing arrives" is watched

// What one relay's handler received, in arrival order.
class Inbox {
 public:
  void add(std::string_view bytes) {
    {
      std::lock_guard lock(mutex_);
      received_.emplace_back(bytes);
    }
    changed_.notify_all();
  }
  // Waits (bounded) until at least `count` messages arrived.
  bool wait_for(size_t count, milliseconds bound = kWaitBound) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, bound, [&] { return received_.size() >= count; });
  }
  std::vector<std::string> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> received_;
};

class NatsRelayTest : public testing::NatsTest<NatsRelayOptions> {
 protected:
  NatsRelayPtr open(Inbox& inbox, NatsRelayOptions options) {
    auto opened = open_nats_relay(options, [&inbox](std::string_view bytes) { inbox.add(bytes); });
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    return opened.ok() ? std::move(opened).value() : nullptr;
  }
  NatsRelayPtr open(Inbox& inbox) { return open(inbox, options_); }

};

// "<who>:<show>:<n>"
std::string message(const std::string& who, uint64_t show, int n) {
  return who + ":" + std::to_string(show) + ":" + std::to_string(n);
}

TEST_F(NatsRelayTest, EachRelayReceivesTheOthersMessagesForEveryShowAndNotItsOwn) {
  Inbox inbox_a, inbox_b;
  NatsRelayPtr a = open(inbox_a);
  NatsRelayPtr b = open(inbox_b);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->origin(), b->origin());
  constexpr int kPerShow = 20;
  const std::vector<uint64_t> shows = {1, 2, 42, 18'446'744'073'709'551'615ull};
  for (int n = 0; n < kPerShow; ++n) {
    for (uint64_t show : shows) {
      a->publish(show, message("a", show, n));
      b->publish(show, message("b", show, n));
    }
  }
  const size_t expected = shows.size() * kPerShow;
  ASSERT_TRUE(inbox_a.wait_for(expected)) << inbox_a.received().size();
  ASSERT_TRUE(inbox_b.wait_for(expected)) << inbox_b.received().size();
  std::this_thread::sleep_for(kQuietWait);  // nothing more (no echo) arrives
  for (auto [inbox, other] : {std::pair{&inbox_a, "b"}, std::pair{&inbox_b, "a"}}) {
    auto received = inbox->received();
    ASSERT_EQ(received.size(), expected);
    std::map<uint64_t, std::vector<std::string>> by_show;
    for (const std::string& bytes : received) {
      ASSERT_EQ(bytes.rfind(std::string(other) + ":", 0), 0u) << "only the other's messages: " << bytes;
      const size_t first = bytes.find(':'), second = bytes.find(':', first + 1);
      by_show[std::stoull(bytes.substr(first + 1, second - first - 1))].push_back(bytes);
    }
    for (uint64_t show : shows) {
      ASSERT_EQ(by_show[show].size(), static_cast<size_t>(kPerShow));
      for (int n = 0; n < kPerShow; ++n) EXPECT_EQ(by_show[show][n], message(other, show, n)) << "in order";
    }
  }
  EXPECT_EQ(a->dropped_published(), 0u);
  EXPECT_EQ(b->dropped_received(), 0u);
}

TEST_F(NatsRelayTest, PublishesOneSubjectPerShowAndKeepsBytesIntact) {
  Inbox inbox;
  NatsRelayPtr relay = open(inbox);
  ASSERT_TRUE(relay);
  // A plain NATS client sees the subject; it publishes binary bytes back.
  natsConnection* connection = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&connection, server_->url().c_str()), NATS_OK);
  natsSubscription* sub = nullptr;
  const std::string subject = options_.name_prefix + ".live.7";
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, connection, (options_.name_prefix + ".live.>").c_str()), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(connection), NATS_OK);
  relay->publish(7, "{\"v\":1}");
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, static_cast<int64_t>(kWaitBound.count())), NATS_OK);
  EXPECT_EQ(std::string(natsMsg_GetSubject(msg)), subject);
  EXPECT_EQ(std::string(natsMsg_GetData(msg), natsMsg_GetDataLength(msg)), "{\"v\":1}");
  natsMsg_Destroy(msg);

  const std::string binary("\0\xff\x01 zero and high bytes", 24);
  ASSERT_EQ(natsConnection_Publish(connection, subject.c_str(), binary.data(), static_cast<int>(binary.size())),
            NATS_OK);
  ASSERT_EQ(natsConnection_Flush(connection), NATS_OK);
  ASSERT_TRUE(inbox.wait_for(1));
  EXPECT_EQ(inbox.received().at(0), binary);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(connection);
}

TEST_F(NatsRelayTest, AnotherPrefixHearsNothing) {
  Inbox inbox_a, inbox_b, inbox_other;
  NatsRelayPtr a = open(inbox_a);
  NatsRelayPtr b = open(inbox_b);
  NatsRelayOptions other_options = options_;
  other_options.name_prefix += "_other";
  NatsRelayPtr other = open(inbox_other, other_options);
  ASSERT_TRUE(a && b && other);
  a->publish(5, "hello");
  ASSERT_TRUE(inbox_b.wait_for(1));
  std::this_thread::sleep_for(kQuietWait);
  EXPECT_TRUE(inbox_other.received().empty());
  EXPECT_TRUE(inbox_a.received().empty());
}

TEST_F(NatsRelayTest, BadOptionsAndAnUnreachableServerAreClearErrors) {
  auto handler = [](std::string_view) {};
  NatsRelayOptions bad = options_;
  bad.name_prefix = "has.dot";
  auto opened = open_nats_relay(bad, handler);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kInvalid);

  EXPECT_EQ(open_nats_relay(options_, nullptr).error().code, ErrorCode::kInvalid);

  bad = options_;
  bad.url = server_->url() + ",,";
  EXPECT_EQ(open_nats_relay(bad, handler).error().code, ErrorCode::kInvalid);

  bad = options_;
  bad.url = "nats://127.0.0.1:1";  // nothing listens on port 1
  bad.connect_timeout = milliseconds{500};
  const auto started = steady_clock::now();
  opened = open_nats_relay(bad, handler);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kUnavailable) << opened.error().message;
  EXPECT_LT(steady_clock::now() - started, kWaitBound);
}

TEST_F(NatsRelayTest, AServerListWithADeadEntryStillConnects) {
  Inbox inbox_a, inbox_b;
  NatsRelayOptions listed = options_;
  listed.url = "nats://127.0.0.1:1, " + server_->url();
  NatsRelayPtr a = open(inbox_a, listed);
  NatsRelayPtr b = open(inbox_b);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->connected());
  b->publish(3, "over the list");
  ASSERT_TRUE(inbox_a.wait_for(1));
  EXPECT_EQ(inbox_a.received().at(0), "over the list");
}

TEST_F(NatsRelayTest, DestroyingARelayWhileMessagesArriveIsSafe) {
  Inbox inbox_b;
  NatsRelayPtr b = open(inbox_b);
  ASSERT_TRUE(b);
  for (int round = 0; round < 5; ++round) {
    Inbox inbox_a;
    NatsRelayPtr a = open(inbox_a);
    ASSERT_TRUE(a);
    for (int n = 0; n < 500; ++n) b->publish(static_cast<uint64_t>(n % 7 + 1), message("b", 1, n));
    (void)inbox_a.wait_for(1);
    a.reset();  // mid-stream: the handler stops, nothing runs after
  }
}

TEST_F(NatsRelayTest, OversizedPublishIsDroppedAndCounted) {
  Inbox inbox_a, inbox_b;
  NatsRelayPtr a = open(inbox_a);
  NatsRelayPtr b = open(inbox_b);
  ASSERT_TRUE(a && b);
  a->publish(1, std::string(64 << 20, 'x'));  // above nats-server's 1 MiB default max payload
  EXPECT_EQ(a->dropped_published(), 1u);
  a->publish(1, "small");
  ASSERT_TRUE(inbox_b.wait_for(1));
  EXPECT_EQ(inbox_b.received().at(0), "small");
}

}  // namespace
}  // namespace hawker::bus
