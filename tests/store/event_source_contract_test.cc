// Contract of the EventSource port (store/event_source.h), run against every
// adapter: the write stores' outboxes (Memory, Rocks, Postgres) and the
// JetStream event log (bus/jetstream_event_log.h, on the test binary's
// nats-server). It proves that events come back in order with gap-free seqs
// 1, 2, 3, ...; that read_events pages exactly by `after` and `limit`; that
// last_event_seq follows what was written; that wait_for_events wakes
// promptly for an event written from another thread (through another object
// where the adapter can be opened twice, as another process would) and
// otherwise returns when its timeout passes; that what last_event_seq
// announces is readable at once, also while events are being written
// (nothing is announced before it is stored); and, for durable adapters,
// that the events survive closing and reopening.
//
// The suite lives in store_tests (which links every layer, bus included).
// To add an adapter, write a factory like MemoryEventSourceFactory and list
// it in EventSourceFactories.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

#include "bus/jetstream_event_log.h"
#include "store/event_source.h"
#include "store/test_products.h"
#include "store/write_store.h"
#include "support/nats_server.h"

namespace hawker::store {

// Defined in postgres_write_store_test.cc (same binary).
Result<WriteStorePtr> open_postgres_write_store_for_directory(const std::string& directory);

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Bounded waits: long enough never to fire on a loaded machine, only there so
// a broken adapter fails instead of hanging.
constexpr milliseconds kWaitBound{30'000};
// A wake-up slower than this is not "prompt" (it is a poll or a timeout).
constexpr milliseconds kPromptBound{5'000};

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(steady_clock::now().time_since_epoch()).count();
}

// ---- Factories -------------------------------------------------------------
// Each factory opens a Handle on a directory (the same directory reopens the
// same data when kSurvivesReopen), gives its EventSource, and produces
// `count` new events through it.

// The write stores make events by committing product creations.
struct WriteStoreProducer {
  using Handle = WriteStorePtr;
  static EventSource& source(Handle& handle) { return *handle; }
  static Status produce(Handle& handle, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      auto id = handle->allocate_product_id();
      if (!id) return id.error();
      auto committed = handle->commit(product_creation_commit(make_definition(*id, 10), 10, now_us()));
      if (!committed) return committed.error();
    }
    return {};
  }
};

struct MemoryEventSourceFactory : WriteStoreProducer {
  static constexpr bool kSurvivesReopen = false;
  static constexpr bool kOpensTwice = false;  // a second object would be another store
  static Result<Handle> open(const std::string&) { return make_memory_write_store(); }
};

struct RocksEventSourceFactory : WriteStoreProducer {
  static constexpr bool kSurvivesReopen = true;
  static constexpr bool kOpensTwice = false;  // RocksDB locks its folder
  static Result<Handle> open(const std::string& directory) { return open_rocks_write_store(directory + "/write"); }
};

struct PostgresEventSourceFactory : WriteStoreProducer {
  static constexpr bool kSurvivesReopen = true;
  static constexpr bool kOpensTwice = true;
  static Result<Handle> open(const std::string& directory) {
    return open_postgres_write_store_for_directory(directory + "/events");
  }
};

// The JetStream log makes events by appending them (the relay's job).
struct JetStreamEventSourceFactory {
  using Handle = bus::JetStreamEventLogPtr;
  static constexpr bool kSurvivesReopen = true;
  static constexpr bool kOpensTwice = true;
  static Result<Handle> open(const std::string& directory) {
    std::string why;
    testing::NatsServer* server = testing::NatsServer::shared(&why);
    if (server == nullptr) return make_error(ErrorCode::kUnavailable, "no nats-server: " + why);
    bus::JetStreamEventLogOptions options;
    options.url = server->url();
    // The same directory names the same stream.
    options.name_prefix = "evc_" + std::to_string(std::hash<std::string>{}(directory));
    return bus::open_jetstream_event_log(options);
  }
  static EventSource& source(Handle& handle) { return *handle; }
  static Status produce(Handle& handle, size_t count) {
    std::vector<market::Event> events;
    const uint64_t first = handle->last_event_seq() + 1;
    for (uint64_t seq = first; seq < first + count; ++seq) {
      market::Event event = product_creation_commit(make_definition(seq, 10), 10, now_us()).events.at(0);
      event.seq = seq;
      events.push_back(std::move(event));
    }
    return handle->append(events);
  }
};

// ---- Fixture ---------------------------------------------------------------

template <typename Factory>
class EventSourceContractTest : public ::testing::Test {
 protected:
  using Handle = typename Factory::Handle;

  void SetUp() override {
    std::string pattern = "/tmp/hawker_event_source_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    directory_ = pattern;
    reopen();
  }

  void TearDown() override {
    handle_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  void reopen() {
    handle_.reset();
    auto opened = Factory::open(directory_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    handle_ = std::move(opened).value();
  }

  EventSource& source() { return Factory::source(handle_); }

  void produce(size_t count) {
    Status made = Factory::produce(handle_, count);
    ASSERT_TRUE(made.ok()) << made.error().message;
  }

  std::vector<uint64_t> seqs(uint64_t after, size_t limit) {
    auto events = source().read_events(after, limit);
    EXPECT_TRUE(events.ok()) << events.error().message;
    std::vector<uint64_t> out;
    if (events.ok())
      for (const market::Event& event : *events) out.push_back(event.seq);
    return out;
  }

  static std::vector<uint64_t> range(uint64_t first, uint64_t last) {
    std::vector<uint64_t> out;
    for (uint64_t seq = first; seq <= last; ++seq) out.push_back(seq);
    return out;
  }

  std::string directory_;
  Handle handle_;
};

using EventSourceFactories = ::testing::Types<MemoryEventSourceFactory, RocksEventSourceFactory,
                                              PostgresEventSourceFactory, JetStreamEventSourceFactory>;

class FactoryNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, MemoryEventSourceFactory>) return "Memory";
    if constexpr (std::is_same_v<T, RocksEventSourceFactory>) return "Rocks";
    if constexpr (std::is_same_v<T, PostgresEventSourceFactory>) return "Postgres";
    if constexpr (std::is_same_v<T, JetStreamEventSourceFactory>) return "JetStream";
    return "Unknown";
  }
};

TYPED_TEST_SUITE(EventSourceContractTest, EventSourceFactories, FactoryNames);

TYPED_TEST(EventSourceContractTest, EmptySourceHasNothing) {
  EXPECT_EQ(this->source().last_event_seq(), 0u);
  EXPECT_TRUE(this->seqs(0, 100).empty());
}

TYPED_TEST(EventSourceContractTest, EventsComeBackInOrderWithoutGaps) {
  this->produce(25);
  EXPECT_EQ(this->source().last_event_seq(), 25u);
  auto events = this->source().read_events(0, 1000);
  ASSERT_TRUE(events.ok()) << events.error().message;
  ASSERT_EQ(events->size(), 25u);
  for (size_t i = 0; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].seq, i + 1);
    EXPECT_EQ((*events)[i].type, market::EventType::kProductCreated);
  }
  this->produce(3);
  EXPECT_EQ(this->seqs(25, 1000), this->range(26, 28));
  EXPECT_EQ(this->source().last_event_seq(), 28u);
}

TYPED_TEST(EventSourceContractTest, ReadsPageByAfterAndLimit) {
  this->produce(10);
  EXPECT_EQ(this->seqs(0, 3), this->range(1, 3));
  EXPECT_EQ(this->seqs(3, 3), this->range(4, 6));
  EXPECT_EQ(this->seqs(4, 100), this->range(5, 10));
  EXPECT_EQ(this->seqs(9, 5), this->range(10, 10));
  EXPECT_TRUE(this->seqs(10, 5).empty());
  EXPECT_TRUE(this->seqs(0, 0).empty());
  // Paging through one at a time sees every event once.
  std::vector<uint64_t> paged;
  for (uint64_t after = 0; paged.size() < 20;) {
    std::vector<uint64_t> page = this->seqs(after, 1);
    if (page.empty()) break;
    paged.push_back(page[0]);
    after = page[0];
  }
  EXPECT_EQ(paged, this->range(1, 10));
}

TYPED_TEST(EventSourceContractTest, WaitWakesForAnEventWrittenElsewhere) {
  this->produce(2);
  // Another object on the same data, as another process would have.
  typename TypeParam::Handle other_handle;
  if constexpr (TypeParam::kOpensTwice) {
    auto opened = TypeParam::open(this->directory_);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    other_handle = std::move(opened).value();
  }
  auto& writer = TypeParam::kOpensTwice ? other_handle : this->handle_;
  EventSource& reader = this->source();
  std::atomic<bool> woke{false};
  steady_clock::time_point woke_at;
  std::thread waiter([&] {
    reader.wait_for_events(2, kWaitBound);
    woke_at = steady_clock::now();
    woke = true;
  });
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_FALSE(woke.load()) << "wait_for_events returned before anything new was written";
  const auto written_at = steady_clock::now();
  Status made = TypeParam::produce(writer, 1);
  waiter.join();
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_LT(woke_at - written_at, kPromptBound) << "the wait did not wake promptly";
  EXPECT_EQ(reader.last_event_seq(), 3u);
  EXPECT_EQ(this->seqs(2, 10), this->range(3, 3));
}

TYPED_TEST(EventSourceContractTest, WaitReturnsWhenItsTimeoutPasses) {
  this->produce(2);
  const auto started = steady_clock::now();
  this->source().wait_for_events(2, milliseconds(300));
  const auto waited = steady_clock::now() - started;
  EXPECT_GE(waited, milliseconds(290));
  EXPECT_LT(waited, kPromptBound);
  // Already past: no wait at all.
  const auto again = steady_clock::now();
  this->source().wait_for_events(1, kWaitBound);
  EXPECT_LT(steady_clock::now() - again, milliseconds(1'000));
}

TYPED_TEST(EventSourceContractTest, WhatLastEventSeqAnnouncesIsReadableWhileWriting) {
  constexpr size_t kEvents = 200;
  std::atomic<bool> writing{true};
  Status made;
  std::thread writer([&] {
    for (size_t written = 0; written < kEvents && made.ok(); written += 5) made = TypeParam::produce(this->handle_, 5);
    writing = false;
  });
  uint64_t position = 0;
  std::string failure;
  const auto deadline = steady_clock::now() + kWaitBound;
  while (failure.empty() && steady_clock::now() < deadline && (writing || position < kEvents)) {
    const uint64_t announced = this->source().last_event_seq();
    while (position < announced) {
      auto events = this->source().read_events(position, 64);
      if (!events.ok()) {
        failure = "read_events: " + events.error().message;
        break;
      }
      if (events->empty()) {
        failure = "last_event_seq said " + std::to_string(announced) + " but nothing after " +
                  std::to_string(position) + " could be read";
        break;
      }
      for (const market::Event& event : *events) {
        if (event.seq != position + 1) failure = "event " + std::to_string(event.seq) + " after " + std::to_string(position);
        position = event.seq;
      }
    }
    if (position >= kEvents) break;
    this->source().wait_for_events(position, milliseconds(50));
  }
  writer.join();
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_TRUE(failure.empty()) << failure;
  EXPECT_EQ(position, kEvents);
}

TYPED_TEST(EventSourceContractTest, EventsSurviveReopen) {
  if constexpr (!TypeParam::kSurvivesReopen) GTEST_SKIP() << "not durable";
  this->produce(5);
  this->reopen();
  EXPECT_EQ(this->source().last_event_seq(), 5u);
  EXPECT_EQ(this->seqs(0, 100), this->range(1, 5));
  this->produce(1);
  EXPECT_EQ(this->seqs(5, 100), this->range(6, 6));
}

}  // namespace
}  // namespace hawker::store
