// What JetStreamEventLog promises beyond the EventSource contract (which
// tests/store/event_source_contract_test.cc runs against it too), on a real
// nats-server: two appenders (two relays in two worker processes) racing to
// append the same overlapping runs of events leave each event in the stream
// exactly once, in order; an append that would leave a gap, or whose events
// are not consecutive, is refused and stores nothing; a reopened log keeps
// its seq mapping (also a non-zero offset) and reads from the right place; a
// reader object sees events appended through a writer object promptly (also
// through an EventTail); bad bytes in the stream are a clear error, never a
// crash; an unreachable server is a clear error within the timeouts. It also
// prints the append and read rates it measured.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/jetstream_event_log.h"
#include "store/event_tail.h"
#include "support/nats_test.h"

namespace hawker::bus {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kWaitBound{30'000};

market::Event make_event(uint64_t seq) {
  market::Event event;
  event.seq = seq;
  event.type = market::EventType::kOrderReserved;
  event.ts_us = 1'000'000 + static_cast<int64_t>(seq);
  event.product_id = 7;
  event.seller = "ada";
  event.order_id = 10'000 + seq;
  event.buyer = "buyer-" + std::to_string(seq % 13);
  event.quantity = 1;
  event.amount_cents = 2500;
  event.inventory.product_id = 7;
  event.inventory.version = seq + 1;
  return event;
}

std::vector<market::Event> make_events(uint64_t first, uint64_t last) {
  std::vector<market::Event> events;
  for (uint64_t seq = first; seq <= last; ++seq) events.push_back(make_event(seq));
  return events;
}

class JetStreamEventLogTest : public testing::NatsTest<JetStreamEventLogOptions> {
 protected:
  JetStreamEventLogPtr open() {
    auto opened = open_jetstream_event_log(options_);
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  // Every event after `after`, paged; fails the test on an error.
  static std::vector<market::Event> read_all(JetStreamEventLog& log, uint64_t after = 0) {
    std::vector<market::Event> out;
    for (int page = 0; page < 10'000; ++page) {
      auto events = log.read_events(after, 1'000);
      EXPECT_TRUE(events.ok()) << events.error().message;
      if (!events.ok() || events->empty()) break;
      after = events->back().seq;
      for (market::Event& event : *events) out.push_back(std::move(event));
    }
    return out;
  }

  void race_overlapping_appends();

};

TEST_F(JetStreamEventLogTest, TwoAppendersRacingOverlappingRunsStoreEachEventOnceInOrder) {
  // Several rounds, each on a fresh stream, so the racers meet in many ways.
  const std::string prefix = options_.name_prefix;
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    options_.name_prefix = prefix + "_" + std::to_string(round);
    race_overlapping_appends();
    if (HasFatalFailure()) return;
  }
}

void JetStreamEventLogTest::race_overlapping_appends() {
  JetStreamEventLogPtr first = open();
  JetStreamEventLogPtr second = open();
  ASSERT_TRUE(first && second);
  constexpr uint64_t kEvents = 3'000;
  const std::vector<market::Event> events = make_events(1, kEvents);
  // Each appender walks the same events in runs of its own size, every run
  // starting a little before the previous one ended (as a relay that re-reads
  // the outbox from its last confirmed position would).
  auto appender = [&](JetStreamEventLog& log, size_t run, size_t overlap, Status& result) {
    for (size_t start = 0; start < events.size();) {
      const size_t end = std::min(events.size(), start + run);
      result = log.append(std::span(events).subspan(start, end - start));
      if (!result.ok() || end == events.size()) return;
      start = end - std::min(overlap, end);
    }
  };
  Status first_result;
  Status second_result;
  std::barrier start_line(2);
  std::thread a([&] {
    start_line.arrive_and_wait();
    appender(*first, 170, 40, first_result);
  });
  std::thread b([&] {
    start_line.arrive_and_wait();
    appender(*second, 230, 90, second_result);
  });
  a.join();
  b.join();
  ASSERT_TRUE(first_result.ok()) << first_result.error().message;
  ASSERT_TRUE(second_result.ok()) << second_result.error().message;

  JetStreamEventLogPtr reader = open();
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->last_event_seq(), kEvents) << "the stream holds more (or fewer) messages than events";
  std::vector<market::Event> stored = read_all(*reader);
  ASSERT_EQ(stored.size(), kEvents);
  for (uint64_t i = 0; i < kEvents; ++i) {
    ASSERT_EQ(stored[i].seq, i + 1);
    ASSERT_EQ(stored[i].order_id, 10'000 + i + 1);
  }
  // Appending everything again changes nothing.
  ASSERT_TRUE(first->append(events).ok());
  JetStreamEventLogPtr again = open();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->last_event_seq(), kEvents);
}

TEST_F(JetStreamEventLogTest, GapsAndNonConsecutiveRunsAreRefused) {
  JetStreamEventLogPtr log = open();
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->append(make_events(1, 3)).ok());

  Status gap = log->append(make_events(5, 6));
  ASSERT_FALSE(gap.ok());
  EXPECT_EQ(gap.error().code, ErrorCode::kInvalid);
  EXPECT_NE(gap.error().message.find("gap"), std::string::npos) << gap.error().message;

  std::vector<market::Event> holes = {make_event(4), make_event(6)};
  Status broken = log->append(holes);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, ErrorCode::kInvalid);

  // Another object refuses the same gap.
  JetStreamEventLogPtr other = open();
  ASSERT_TRUE(other);
  Status far = other->append(make_events(9, 9));
  ASSERT_FALSE(far.ok());
  EXPECT_EQ(far.error().code, ErrorCode::kInvalid);

  EXPECT_EQ(log->last_event_seq(), 3u);
  ASSERT_TRUE(log->append(make_events(2, 5)).ok());  // 2-3 are skipped
  std::vector<market::Event> stored = read_all(*log);
  ASSERT_EQ(stored.size(), 5u);
  for (uint64_t i = 0; i < 5; ++i) EXPECT_EQ(stored[i].seq, i + 1);
}

TEST_F(JetStreamEventLogTest, ReopenKeepsTheMappingAndReadsFromTheRightPlace) {
  options_.first_event_seq = 101;  // the log starts at event 101: offset 100
  {
    JetStreamEventLogPtr log = open();
    ASSERT_TRUE(log);
    EXPECT_EQ(log->offset(), 100u);
    EXPECT_EQ(log->last_event_seq(), 100u);
    Status early = log->append(make_events(1, 50));  // before the log's start: nothing to store
    EXPECT_TRUE(early.ok()) << early.error().message;
    ASSERT_TRUE(log->append(make_events(95, 150)).ok());
  }
  options_.first_event_seq = 1;  // ignored: the stream keeps the offset it was made with
  JetStreamEventLogPtr log = open();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->offset(), 100u);
  EXPECT_EQ(log->last_event_seq(), 150u);
  auto page = log->read_events(120, 10);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->size(), 10u);
  EXPECT_EQ(page->front().seq, 121u);
  EXPECT_EQ(page->back().seq, 130u);
  EXPECT_EQ(read_all(*log, 100).size(), 50u);
  auto before_start = log->read_events(50, 10);
  ASSERT_FALSE(before_start.ok());
  EXPECT_EQ(before_start.error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(log->append(make_events(149, 152)).ok());
  auto tail = log->read_events(148, 100);
  ASSERT_TRUE(tail.ok()) << tail.error().message;
  ASSERT_EQ(tail->size(), 4u);
  EXPECT_EQ(tail->back().seq, 152u);
}

TEST_F(JetStreamEventLogTest, AReaderObjectSeesAWritersEventsPromptly) {
  JetStreamEventLogPtr writer = open();
  JetStreamEventLogPtr reader = open();
  ASSERT_TRUE(writer && reader);
  milliseconds slowest{0};
  for (uint64_t seq = 1; seq <= 20; ++seq) {
    std::atomic<bool> woke{false};
    steady_clock::time_point woke_at;
    std::thread waiter([&] {
      reader->wait_for_events(seq - 1, kWaitBound);
      woke_at = steady_clock::now();
      woke = true;
    });
    std::this_thread::sleep_for(milliseconds(5));
    const auto appended_at = steady_clock::now();
    ASSERT_TRUE(writer->append(make_events(seq, seq)).ok());
    waiter.join();
    slowest = std::max(slowest, std::chrono::duration_cast<milliseconds>(woke_at - appended_at));
    EXPECT_EQ(reader->last_event_seq(), seq);
  }
  std::printf("slowest wake of a reader object after an append: %lld ms\n", static_cast<long long>(slowest.count()));
  EXPECT_LT(slowest, milliseconds(1'000));

  // An EventTail on the reader follows a burst of appends.
  std::mutex mutex;
  std::vector<uint64_t> handled;
  store::EventTail tail("test", *reader, 20, [&](std::span<const market::Event> events) {
    std::lock_guard lock(mutex);
    for (const market::Event& event : events) handled.push_back(event.seq);
    return ok_status();
  });
  tail.start();
  for (uint64_t first = 21; first <= 520; first += 50) ASSERT_TRUE(writer->append(make_events(first, first + 49)).ok());
  EXPECT_TRUE(tail.wait_for(520, kWaitBound));
  tail.stop();
  std::lock_guard lock(mutex);
  ASSERT_EQ(handled.size(), 500u);
  for (size_t i = 0; i < handled.size(); ++i) EXPECT_EQ(handled[i], 21 + i);
}

// Publishes `bytes` into the log's stream as a foreign client would, with
// `msg_id` as its Nats-Msg-Id (none when empty), and waits for it to be stored.
void publish_foreign(const std::string& url, const std::string& subject, const std::string& bytes,
                     const std::string& msg_id) {
  natsConnection* connection = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&connection, url.c_str()), NATS_OK);
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsMsg_Create(&msg, subject.c_str(), nullptr, bytes.data(), static_cast<int>(bytes.size())), NATS_OK);
  if (!msg_id.empty()) {
    ASSERT_EQ(natsMsgHeader_Set(msg, "Nats-Msg-Id", msg_id.c_str()), NATS_OK);
  }
  natsMsg* reply = nullptr;
  EXPECT_EQ(natsConnection_RequestMsg(&reply, connection, msg, 5'000), NATS_OK);
  if (reply != nullptr) {
    const char* data = natsMsg_GetData(reply);
    EXPECT_NE(std::strstr(data == nullptr ? "" : data, "\"seq\""), nullptr) << "not stored: " << data;
    natsMsg_Destroy(reply);
  }
  natsMsg_Destroy(msg);
  natsConnection_Destroy(connection);
}

TEST_F(JetStreamEventLogTest, BadBytesInTheStreamAreAClearError) {
  JetStreamEventLogPtr log = open();
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->append(make_events(1, 2)).ok());
  const std::string subject = options_.name_prefix + ".events";
  publish_foreign(server_->url(), subject, "\x01\x02 not an event \xff", "3");

  JetStreamEventLogPtr reader = open();
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->last_event_seq(), 3u);
  auto good = reader->read_events(0, 10);  // what comes before the bad message
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->size(), 2u);
  auto bad = reader->read_events(2, 10);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kIo);
  EXPECT_NE(bad.error().message.find("is not event 3"), std::string::npos) << bad.error().message;

  // A message without our headers (someone else's publish) is refused too,
  // and an appender will not build on top of it.
  publish_foreign(server_->url(), subject, "{}", "");
  reader->wait_for_events(3, milliseconds(2'000));  // no notice: found by polling
  EXPECT_EQ(reader->last_event_seq(), 4u);
  auto foreign = reader->read_events(3, 10);
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code, ErrorCode::kIo);
  Status appended = log->append(make_events(3, 5));
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, ErrorCode::kIo) << appended.error().message;
}

TEST_F(JetStreamEventLogTest, BadOptionsAndUnreachableServersAreClearErrors) {
  JetStreamEventLogOptions bad = options_;
  bad.name_prefix = "no spaces";
  auto refused = open_jetstream_event_log(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalid);

  JetStreamEventLogOptions unreachable = options_;
  unreachable.url = "nats://127.0.0.1:1";
  unreachable.connect_timeout = milliseconds(500);
  const auto started = steady_clock::now();
  auto failed = open_jetstream_event_log(unreachable);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(failed.error().code == ErrorCode::kUnavailable || failed.error().code == ErrorCode::kTimeout)
      << failed.error().message;
  EXPECT_LT(steady_clock::now() - started, milliseconds(10'000));
}

TEST_F(JetStreamEventLogTest, MeasuredAppendAndReadRates) {
  JetStreamEventLogPtr log = open();
  JetStreamEventLogPtr reader = open();
  ASSERT_TRUE(log && reader);
  constexpr uint64_t kEvents = 20'000;
  constexpr uint64_t kBatch = 500;
  const std::vector<market::Event> events = make_events(1, kEvents);
  const auto append_start = steady_clock::now();
  for (uint64_t start = 0; start < kEvents; start += kBatch)
    ASSERT_TRUE(log->append(std::span(events).subspan(start, kBatch)).ok());
  const double append_s = std::chrono::duration<double>(steady_clock::now() - append_start).count();
  reader->wait_for_events(kEvents - 1, kWaitBound);
  const auto read_start = steady_clock::now();
  const size_t read = read_all(*reader).size();
  const double read_s = std::chrono::duration<double>(steady_clock::now() - read_start).count();
  EXPECT_EQ(read, kEvents);
  std::printf("event log: appended %llu events in batches of %llu at %.0f/s; read them in pages of 1000 at %.0f/s\n",
              static_cast<unsigned long long>(kEvents), static_cast<unsigned long long>(kBatch), kEvents / append_s,
              kEvents / read_s);
}

}  // namespace
}  // namespace hawker::bus
