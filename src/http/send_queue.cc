#include "http/send_queue.h"

#include <algorithm>
#include <cassert>

namespace hawker::http {

SendQueue::SendQueue(SendQueueLimits limits) : limits_(limits) {
  assert(limits_.frames_max > 0);
  assert(limits_.bytes_max > 0);
}

PushResult SendQueue::push(Frame frame) {
  assert(frame != nullptr);
  const size_t frame_bytes = frame->size();
  if (size_ > 0 && (size_ >= limits_.frames_max || bytes_ + frame_bytes > limits_.bytes_max)) return PushResult::kFull;
  if (size_ == ring_.size()) grow();
  ring_[(head_ + size_) % ring_.size()] = std::move(frame);
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
  for (size_t i = 0; i < size_; ++i) bigger[i] = std::move(ring_[(head_ + i) % ring_.size()]);
  ring_ = std::move(bigger);
  head_ = 0;
}

}  // namespace hawker::http
