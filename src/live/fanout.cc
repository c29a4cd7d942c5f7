#include "live/fanout.h"

#include <cassert>
#include <utility>

namespace hawker::live {

bool SubscriberSet::insert(const SubscriberPtr& subscriber) {
  assert(subscriber != nullptr);
  const bool inserted = members_.try_emplace(subscriber.get(), subscriber).second;
  if (inserted) snapshot_.reset();
  return inserted;
}

bool SubscriberSet::erase(const Subscriber* subscriber) {
  const bool erased = members_.erase(subscriber) > 0;
  if (erased) snapshot_.reset();
  return erased;
}

bool SubscriberSet::contains(const Subscriber* subscriber) const { return members_.contains(subscriber); }

TargetsPtr SubscriberSet::snapshot() {
  if (snapshot_) return snapshot_;
  auto targets = std::make_shared<Targets>();
  targets->reserve(members_.size());
  for (auto it = members_.begin(); it != members_.end();) {
    if (it->second.expired()) {
      it = members_.erase(it);
    } else {
      targets->push_back(it->second);
      ++it;
    }
  }
  snapshot_ = std::move(targets);
  return snapshot_;
}

void Outbox::push(Frame frame, TargetsPtr targets, uint64_t replace_key) {
  assert(frame != nullptr && targets != nullptr);
  queue_.push_back(Entry{std::move(frame), std::move(targets), replace_key});
}

void Outbox::drain(std::mutex& owner_mutex) {
  std::unique_lock lock(owner_mutex);
  if (draining_) return;  // the drainer will deliver what we left behind
  draining_ = true;
  std::vector<Entry> batch = std::move(spare_);
  while (!queue_.empty()) {
    batch.swap(queue_);
    lock.unlock();
    for (const Entry& entry : batch) {
      for (const auto& weak : *entry.targets) {
        // The strong reference lives only for this call and dies outside the
        // lock, so a session's destructor may unsubscribe.
        if (SubscriberPtr subscriber = weak.lock()) subscriber->deliver(entry.frame, entry.replace_key);
      }
    }
    batch.clear();  // frames and snapshots released outside the lock
    lock.lock();
  }
  spare_ = std::move(batch);
  draining_ = false;
}

}  // namespace hawker::live
