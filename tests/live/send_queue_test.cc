// Proves SendQueue (live/subscriber.h) is the bounded, one-write-in-flight
// queue a WebSocket session needs:
//  - the first frame into an idle queue says "start writing"; later ones wait,
//    and each completed write hands over the next frame, in push order;
//  - it refuses (kFull) at its frame bound and at its byte bound, counts the
//    frame being written, and accepts again once a write completes;
//  - one frame bigger than the byte bound still goes out through an empty
//    queue, so no frame can wedge a connection;
//  - frames are shared pointers: queueing one frame on many connections copies
//    no bytes;
//  - against a std::deque model over a seeded random push/pop schedule the
//    ring keeps FIFO order and exact counts while it wraps and grows;
//  - a frame with a replace key drops the waiting frame of the same key (never
//    the one being written), goes to the back, and keeps the others' order and
//    the byte count exact, also after the ring wrapped.
#include "live/subscriber.h"

#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hawker::live {
namespace {

Frame frame_of(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

TEST(SendQueueTest, IdleQueueStartsAWriteAndLaterFramesWait) {
  SendQueue queue;
  EXPECT_FALSE(queue.writing());
  Frame first = frame_of("one");
  Frame second = frame_of("two");
  EXPECT_EQ(queue.push(first), PushResult::kStartWrite);
  EXPECT_TRUE(queue.writing());
  EXPECT_EQ(queue.front(), first);
  EXPECT_EQ(queue.push(second), PushResult::kQueued);
  EXPECT_EQ(queue.front(), first) << "the write in flight stays at the front";
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_EQ(queue.bytes(), 6u);

  EXPECT_TRUE(queue.pop()) << "another frame waits: the caller writes it next";
  EXPECT_EQ(queue.front(), second);
  EXPECT_FALSE(queue.pop()) << "nothing left: the connection goes idle";
  EXPECT_FALSE(queue.writing());
  EXPECT_EQ(queue.bytes(), 0u);
  EXPECT_EQ(queue.push(frame_of("three")), PushResult::kStartWrite) << "idle again";
}

TEST(SendQueueTest, KeepsPushOrder) {
  SendQueue queue;
  std::vector<Frame> pushed;
  for (int i = 0; i < 100; ++i) {
    pushed.push_back(frame_of("frame " + std::to_string(i)));
    EXPECT_EQ(queue.push(pushed.back()), i == 0 ? PushResult::kStartWrite : PushResult::kQueued);
  }
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(queue.front(), pushed[i]);
    EXPECT_EQ(queue.pop(), i < 99);
  }
}

TEST(SendQueueTest, RefusesAtTheFrameBoundAndRecoversAfterAWrite) {
  SendQueue queue(SendQueueLimits{3, 1 << 20});
  EXPECT_EQ(queue.push(frame_of("a")), PushResult::kStartWrite);
  EXPECT_EQ(queue.push(frame_of("b")), PushResult::kQueued);
  EXPECT_EQ(queue.push(frame_of("c")), PushResult::kQueued);
  EXPECT_EQ(queue.push(frame_of("d")), PushResult::kFull);
  EXPECT_EQ(queue.size(), 3u) << "a refused frame is not kept";
  EXPECT_EQ(queue.bytes(), 3u);
  EXPECT_TRUE(queue.pop());
  EXPECT_EQ(queue.push(frame_of("e")), PushResult::kQueued);
  EXPECT_EQ(queue.push(frame_of("f")), PushResult::kFull);
}

TEST(SendQueueTest, RefusesAtTheByteBound) {
  SendQueue queue(SendQueueLimits{100, 100});
  const std::string forty(40, 'x');
  EXPECT_EQ(queue.push(frame_of(forty)), PushResult::kStartWrite);
  EXPECT_EQ(queue.push(frame_of(forty)), PushResult::kQueued);
  EXPECT_EQ(queue.push(frame_of(forty)), PushResult::kFull) << "120 bytes > 100";
  EXPECT_EQ(queue.push(frame_of(std::string(20, 'y'))), PushResult::kQueued) << "exactly 100 bytes fits";
  EXPECT_EQ(queue.bytes(), 100u);
  EXPECT_EQ(queue.push(frame_of("z")), PushResult::kFull);
  EXPECT_TRUE(queue.pop());
  EXPECT_EQ(queue.bytes(), 60u) << "the completed write no longer counts";
  EXPECT_EQ(queue.push(frame_of(forty)), PushResult::kQueued);
}

TEST(SendQueueTest, AnOversizedFrameStillGoesThroughAnEmptyQueue) {
  SendQueue queue(SendQueueLimits{10, 100});
  EXPECT_EQ(queue.push(frame_of(std::string(500, 'h'))), PushResult::kStartWrite);
  EXPECT_EQ(queue.push(frame_of("small")), PushResult::kFull) << "nothing joins it until it is written";
  EXPECT_FALSE(queue.pop());
  EXPECT_EQ(queue.push(frame_of("small")), PushResult::kStartWrite);
}

TEST(SendQueueTest, ClearDropsEverything) {
  SendQueue queue(SendQueueLimits{4, 1000});
  Frame frame = frame_of("abc");
  for (int i = 0; i < 4; ++i) (void)queue.push(frame);
  EXPECT_EQ(frame.use_count(), 5);
  queue.clear();
  EXPECT_FALSE(queue.writing());
  EXPECT_EQ(queue.size(), 0u);
  EXPECT_EQ(queue.bytes(), 0u);
  EXPECT_EQ(frame.use_count(), 1) << "a closed connection pins no frames";
  EXPECT_EQ(queue.push(frame), PushResult::kStartWrite);
}

TEST(SendQueueTest, QueueingOneFrameOnManyConnectionsSharesItsBytes) {
  Frame frame = frame_of(std::string(1000, 'j'));
  std::vector<SendQueue> queues(1000);
  for (SendQueue& queue : queues) ASSERT_EQ(queue.push(frame), PushResult::kStartWrite);
  EXPECT_EQ(frame.use_count(), 1001);
  for (const SendQueue& queue : queues) EXPECT_EQ(queue.front().get(), frame.get());
}

TEST(SendQueueTest, AReplaceKeyDropsTheWaitingFrameOfThatKeyOnly) {
  SendQueue queue;
  Frame writing = frame_of("stock-1");
  ASSERT_EQ(queue.push(writing, 7), PushResult::kStartWrite);
  ASSERT_EQ(queue.push(frame_of("stock-2"), 7), PushResult::kQueued);
  EXPECT_EQ(queue.size(), 2u) << "the frame being written is never replaced";
  ASSERT_EQ(queue.push(frame_of("chat-a"), 0), PushResult::kQueued);
  ASSERT_EQ(queue.push(frame_of("other-1"), 9), PushResult::kQueued);
  ASSERT_EQ(queue.push(frame_of("stock-3"), 7), PushResult::kQueued);
  ASSERT_EQ(queue.push(frame_of("chat-b"), 0), PushResult::kQueued);
  ASSERT_EQ(queue.push(frame_of("chat-c"), 0), PushResult::kQueued);
  // stock-2 gave way to stock-3, which went to the back.
  std::vector<std::string> sent;
  size_t bytes = 0;
  EXPECT_EQ(queue.front(), writing);
  do {
    sent.push_back(*queue.front());
    bytes += queue.front()->size();
  } while (queue.pop());
  EXPECT_EQ(sent, (std::vector<std::string>{"stock-1", "chat-a", "other-1", "stock-3", "chat-b", "chat-c"}));
  EXPECT_EQ(queue.bytes(), 0u);
  EXPECT_EQ(bytes, 7u * 3 + 6u * 3);
}

TEST(SendQueueTest, ReplacingKeepsALaggingConnectionToOneFramePerKey) {
  SendQueueLimits limits;
  limits.frames_max = 8;
  SendQueue queue(limits);
  ASSERT_EQ(queue.push(frame_of("w"), 0), PushResult::kStartWrite);
  // Far more stock ticks than the queue holds: never full, one waits.
  for (int i = 0; i < 1000; ++i) ASSERT_NE(queue.push(frame_of("s" + std::to_string(i)), 3), PushResult::kFull);
  EXPECT_EQ(queue.size(), 2u);
  ASSERT_TRUE(queue.pop());
  EXPECT_EQ(*queue.front(), "s999") << "the latest value is the one delivered";
  // Wrap the ring, then replace across the wrap point.
  ASSERT_EQ(queue.push(frame_of("a"), 0), PushResult::kQueued);
  ASSERT_EQ(queue.push(frame_of("k1"), 5), PushResult::kQueued);
  ASSERT_EQ(queue.push(frame_of("b"), 0), PushResult::kQueued);
  ASSERT_FALSE(queue.pop() == false);
  ASSERT_EQ(queue.push(frame_of("k2"), 5), PushResult::kQueued);
  std::vector<std::string> sent;
  do sent.push_back(*queue.front());
  while (queue.pop());
  EXPECT_EQ(sent, (std::vector<std::string>{"a", "b", "k2"}));
}

TEST(SendQueueTest, MatchesADequeModelOverRandomSchedules) {
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    const SendQueueLimits limits{1 + random() % 40, 50 + random() % 400};
    SendQueue queue(limits);
    std::deque<Frame> model;
    size_t model_bytes = 0;
    for (int step = 0; step < 2000; ++step) {
      if (random() % 3 != 0) {
        Frame frame = frame_of(std::string(1 + random() % 30, 'a' + static_cast<char>(step % 26)));
        const bool fits = model.empty() || (model.size() < limits.frames_max &&
                                            model_bytes + frame->size() <= limits.bytes_max);
        const PushResult result = queue.push(frame);
        if (!fits) {
          ASSERT_EQ(result, PushResult::kFull);
        } else {
          ASSERT_EQ(result, model.empty() ? PushResult::kStartWrite : PushResult::kQueued);
          model_bytes += frame->size();
          model.push_back(frame);
        }
      } else if (!model.empty()) {
        ASSERT_EQ(queue.front(), model.front());
        model_bytes -= model.front()->size();
        model.pop_front();
        ASSERT_EQ(queue.pop(), !model.empty());
      }
      ASSERT_EQ(queue.size(), model.size());
      ASSERT_EQ(queue.bytes(), model_bytes);
      ASSERT_LE(queue.size(), limits.frames_max);
      if (!model.empty()) {
        ASSERT_EQ(queue.front(), model.front());
      }
    }
  }
}

}  // namespace
}  // namespace hawker::live
