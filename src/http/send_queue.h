// SendQueue: the bounded queue a connection keeps between whoever publishes
// and its socket, with "one write in flight" semantics as in Beast's advanced
// server: front() is the frame being written; pop() is called when that write
// completes and says whether another write must start. A full queue refuses
// (the connection is too slow and gets closed): memory per connection never
// grows beyond these bounds.
// Thread-compatible: its owner serialises calls (a mutex or a strand).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/websocket.h"

namespace hawker::http {

// Frames a connection may have queued, the one being written included.
inline constexpr size_t kSendQueueMax = 512;
// Bytes a connection may have queued. A frame bigger than this is still
// accepted by an empty queue, so no frame can wedge a connection forever.
inline constexpr size_t kSendQueueBytesMax = size_t{1} << 20;

struct SendQueueLimits {
  size_t frames_max = kSendQueueMax;
  size_t bytes_max = kSendQueueBytesMax;
};

enum class PushResult {
  kStartWrite,  // the queue was idle: start writing front() now
  kQueued,      // a write is in flight; this frame waits its turn
  kFull,        // refused: the client is too slow; close it (1008)
};

class SendQueue {
 public:
  explicit SendQueue(SendQueueLimits limits = {});

  // A non-zero `replace_key` first drops a waiting (not in-flight) frame
  // with the same key: a slow connection gets the latest value, not a
  // backlog of stale ones, and frames keep their order.
  [[nodiscard]] PushResult push(Frame frame, uint64_t replace_key = 0);
  // The frame being written. Precondition: writing().
  const Frame& front() const;
  // The write of front() completed: drop it. Returns true when another frame
  // is waiting, which the caller must now start writing (front()).
  // Precondition: writing().
  [[nodiscard]] bool pop();
  // Drops everything (the connection is closing).
  void clear();

  bool writing() const { return size_ > 0; }
  size_t size() const { return size_; }
  size_t bytes() const { return bytes_; }
  const SendQueueLimits& limits() const { return limits_; }

 private:
  // A ring that grows by doubling up to frames_max: an idle connection costs
  // no slots, a busy one allocates only while it catches up to its peak.
  void grow();

  SendQueueLimits limits_;
  // Drops the waiting frame at ring offset `offset` (1..size_-1) and closes the gap.
  void erase_waiting(size_t offset);

  std::vector<Frame> ring_;
  std::vector<uint64_t> keys_;  // replace_key of each ring slot
  size_t head_ = 0;  // index of front() in ring_
  size_t size_ = 0;
  size_t bytes_ = 0;
};

}  // namespace hawker::http
