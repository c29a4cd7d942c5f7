#include "http/send_queue.h"

#include <algorithm>
#include <cassert>

namespace hawker::http {

SendQueue::SendQueue(SendQueueLimits limits) : limits_(limits) {
  assert(limits_.frames_max > 0);
  assert(limits_.bytes_max > 0);
}

PushResult SendQueue::push(Frame frame, uint64_t replace_key) {
  assert(frame != nullptr);
  if (replace_key != 0) {
    for (size_t offset = 1; offset < size_; ++offset)  // 0 is being written
      if (keys_[(head_ + offset) % ring_.size()] == replace_key) {
        erase_waiting(offset);
        break;  // at most one waits per key
      }
  }
  const size_t frame_bytes = frame->size();
  if (size_ > 0 && (size_ >= limits_.frames_max || bytes_ + frame_bytes > limits_.bytes_max)) return PushResult::kFull;
  if (size_ == ring_.size()) grow();
  ring_[(head_ + size_) % ring_.size()] = std::move(frame);
  keys_[(head_ + size_) % ring_.size()] = replace_key;
  ++size_;
  bytes_ += frame_bytes;
  assert(size_ <= limits_.frames_max);
  return size_ == 1 ? PushResult::kStartWrite : PushResult::kQueued;
}

const Frame& SendQueue::front() const {
  assert(writing());
  return ring_[head_];
}

bool SendQueue::pop() {
  assert(writing());
  assert(bytes_ >= ring_[head_]->size());
  bytes_ -= ring_[head_]->size();
  ring_[head_].reset();
  head_ = (head_ + 1) % ring_.size();
  --size_;
  if (size_ == 0) head_ = 0;
  assert(size_ > 0 || bytes_ == 0);
  return size_ > 0;
}

void SendQueue::erase_waiting(size_t offset) {
  assert(offset >= 1 && offset < size_);
  const size_t capacity = ring_.size();
  bytes_ -= ring_[(head_ + offset) % capacity]->size();
  for (size_t i = offset; i + 1 < size_; ++i) {
    ring_[(head_ + i) % capacity] = std::move(ring_[(head_ + i + 1) % capacity]);
    keys_[(head_ + i) % capacity] = keys_[(head_ + i + 1) % capacity];
  }
  --size_;
  ring_[(head_ + size_) % capacity].reset();
  keys_[(head_ + size_) % capacity] = 0;
}

void SendQueue::clear() {
  for (Frame& frame : ring_) frame.reset();
  head_ = 0;
  size_ = 0;
  bytes_ = 0;
}

void SendQueue::grow() {
  assert(ring_.size() < limits_.frames_max);
  const size_t capacity = std::min(limits_.frames_max, std::max<size_t>(4, ring_.size() * 2));
  std::vector<Frame> bigger(capacity);
  std::vector<uint64_t> bigger_keys(capacity, 0);
  for (size_t i = 0; i < size_; ++i) {
    bigger[i] = std::move(ring_[(head_ + i) % ring_.size()]);
    bigger_keys[i] = keys_[(head_ + i) % ring_.size()];
  }
  ring_ = std::move(bigger);
  keys_ = std::move(bigger_keys);
  head_ = 0;
}

}  // namespace hawker::http
