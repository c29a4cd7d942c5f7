// The two halves every live channel shares (ShowChannel, SellerChannel):
//
// SubscriberSet: who listens. Held by weak_ptr, keyed by address. Broadcasts
// take an immutable snapshot of it (one atomic increment per broadcast); a
// change of membership drops the snapshot and the next broadcast rebuilds it,
// so a join storm costs one rebuild per broadcast, not one per join.
//
// Outbox: delivers frames in the order their owner stamped them, without
// holding the owner's lock while calling Subscriber::deliver. The owner pushes
// (seq stamped, frame serialised) under its mutex, releases it and calls
// drain(). The first thread to find the outbox idle becomes its drainer and
// delivers batches until the outbox is empty; any other thread just leaves its
// frame behind and returns. So one subscriber sees a channel's frames strictly
// in seq order, publishers never wait for each other's deliveries, and a
// subscriber may call back into the channel (e.g. unsubscribe from deliver).
// The outbox is bounded by the publishers' own rates: it holds what was
// published while one batch was being handed out.
//
// Thread-safety: both are thread-compatible and guarded by their owner's
// mutex, except Outbox::drain, which is called without it and takes it itself.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "live/frame.h"
#include "live/subscriber.h"

namespace hawker::live {

using Targets = std::vector<std::weak_ptr<Subscriber>>;
using TargetsPtr = std::shared_ptr<const Targets>;

class SubscriberSet {
 public:
  // False when `subscriber` is already in the set.
  bool insert(const SubscriberPtr& subscriber);
  // False when it was not in the set.
  bool erase(const Subscriber* subscriber);
  bool contains(const Subscriber* subscriber) const;
  size_t size() const { return members_.size(); }

  // Everyone subscribed now. Forgets members that were destroyed without
  // unsubscribing.
  TargetsPtr snapshot();

 private:
  std::unordered_map<const Subscriber*, std::weak_ptr<Subscriber>> members_;
  TargetsPtr snapshot_;  // null when membership changed since the last one
};

class Outbox {
 public:
  // Owner's mutex held.
  void push(Frame frame, TargetsPtr targets, uint64_t replace_key = 0);
  size_t pending() const { return queue_.size(); }

  // Owner's mutex NOT held; `owner_mutex` is the one push() is called under.
  void drain(std::mutex& owner_mutex);

 private:
  struct Entry {
    Frame frame;
    TargetsPtr targets;
    uint64_t replace_key = 0;
  };
  std::vector<Entry> queue_;
  std::vector<Entry> spare_;  // the drainer's batch buffer, reused
  bool draining_ = false;
};

}  // namespace hawker::live
