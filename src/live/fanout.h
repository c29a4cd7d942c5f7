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
// Subscribers that live on a network thread (Subscriber::home) get their
// frames there: per frame, the drainer posts to each thread one task per
// kSubscribersPerTask of its subscribers, which calls deliver() for each in
// turn, so a broadcast to 15,000 connections on 2 threads costs 938 posts,
// not 15,000, and a thread serves its other connections between the tasks.
// Snapshots keep subscribers grouped by thread for it. Tasks for one thread
// run in the order posted, so a subscriber still sees its channel's frames in
// seq order. The tasks of a frame with a replace_key that have not started
// yet are dropped when a newer frame with that key is posted to the same
// thread (the newer one goes to the back), as SendQueue does for one
// connection: a thread that falls behind sends the latest stock count, not a
// backlog of stale ones. The newer frame's tasks start with the subscribers
// the dropped ones had not reached, so none is left behind for long.
//
// Thread-safety: both are thread-compatible and guarded by their owner's
// mutex, except Outbox::drain, which is called without it and takes it itself.
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "live/frame.h"
#include "live/subscriber.h"

namespace hawker::live {

// Who a frame goes to. Made from a strong reference it records the
// subscriber's home thread; made from a weak one (explicitly) the home is
// looked up when the frame is delivered.
struct Target {
  template <class S>
  Target(const std::shared_ptr<S>& s)  // NOLINT(google-explicit-constructor): Targets{a, b}
      : Target(SubscriberPtr(s), kResolve) {}
  explicit Target(std::weak_ptr<Subscriber> s) : subscriber(std::move(s)) {}

  std::weak_ptr<Subscriber> subscriber;
  std::weak_ptr<http::NetworkThread> home;  // weak: a stopped server's loop may go
  const http::NetworkThread* home_key = nullptr;  // identity only, for grouping
  bool resolved = false;  // home and home_key hold the subscriber's home

 private:
  enum Resolve { kResolve };
  Target(const SubscriberPtr& s, Resolve);
};

using Targets = std::vector<Target>;
using TargetsPtr = std::shared_ptr<const Targets>;

class SubscriberSet {
 public:
  // False when `subscriber` is already in the set.
  bool insert(const SubscriberPtr& subscriber);
  // False when it was not in the set.
  bool erase(const Subscriber* subscriber);
  bool contains(const Subscriber* subscriber) const;
  size_t size() const { return members_.size(); }

  // Everyone subscribed now, grouped by home thread. Forgets members that
  // were destroyed without unsubscribing.
  TargetsPtr snapshot();

 private:
  std::unordered_map<const Subscriber*, Target> members_;
  TargetsPtr snapshot_;  // null when membership changed since the last one
};

class Outbox {
 public:
  // Subscribers one posted task delivers to (see above).
  static constexpr size_t kSubscribersPerTask = 16;

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
  // A posted task's state, for frames with a replace_key.
  struct Posted {
    enum State { kWaiting, kStarted, kSuperseded };
    explicit Posted(size_t offset) : offset(offset) {}
    std::atomic<int> state{kWaiting};
    const size_t offset;  // of its first subscriber in its thread's run
  };
  void deliver(const Entry& entry);  // the drainer's
  // Supersedes the waiting tasks of the last frame with this key on this
  // thread; returns their list, emptied, for the new frame's tasks, and the
  // offset of the first task it superseded (SIZE_MAX: none).
  std::pair<std::vector<std::shared_ptr<Posted>>&, size_t> supersede(const http::NetworkThread* home,
                                                                     uint64_t replace_key);

  // The tasks of the last frame posted per (thread, replace_key). The drainer's only.
  std::map<std::pair<const http::NetworkThread*, uint64_t>, std::vector<std::shared_ptr<Posted>>> posted_;
  std::vector<Entry> queue_;
  std::vector<Entry> spare_;  // the drainer's batch buffer, reused
  bool draining_ = false;
};

}  // namespace hawker::live
